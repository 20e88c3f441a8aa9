"""News and important notices shown to every client."""

from __future__ import annotations

import attrs

from cabinet_core import access
from cabinet_core.entities import Actor, NewsItem, Role
from cabinet_core.errors import N_, NotFound
from cabinet_core.limits import text_errors
from cabinet_core.services._base import Service, raise_if, required_text
from cabinet_core.storage import Page
from cabinet_core.sync import Topic

MAX_PAGE = 100


class NewsService(Service):
    """``cabinet.news``: managers and admins publish, everybody signed in reads."""

    def publish(self, actor: Actor, item: NewsItem) -> NewsItem:
        """Publish a news item now (or at its ``published_at``)."""
        access.require(access.can_publish_news(actor))
        raise_if([*required_text(item.title, "title"), *text_errors(item)])
        item = attrs.evolve(
            item,
            id=None,
            title=item.title.strip(),
            author_id=actor.user_id,
            published_at=item.published_at or self.now(),
            updated_at=None,
        )
        with self.store.transaction() as tx:
            stored = tx.add_news(item)
            self.record(
                tx,
                actor,
                action="news.publish",
                entity="news",
                entity_id=stored.id,
                client_id=None,
                detail={"title": stored.title},
                topic=Topic.NEWS_PUBLISHED,
                message=stored,
            )
            if stored.important:
                # Important news reaches every client's users (and their inbox, unless off).
                self.notify(
                    tx,
                    tx.list_users(role=Role.CLIENT),
                    kind="news.important",
                    text=lambda _language: stored.title,
                    link="/",
                    skip=actor.user_id,
                )
        self.fire("news_published", news_item=stored)
        return stored

    def update(self, actor: Actor, item: NewsItem) -> NewsItem:
        """Change a published item."""
        access.require(access.can_publish_news(actor))
        raise_if([*required_text(item.title, "title"), *text_errors(item)])
        with self.store.transaction() as tx:
            current = tx.get_news(item.id) if item.id is not None else None
            if current is None:
                raise NotFound(N_("Not found"), entity="news", id=item.id)
            stored = tx.update_news(
                attrs.evolve(
                    item,
                    title=item.title.strip(),
                    author_id=current.author_id,
                    published_at=item.published_at or current.published_at,
                    updated_at=self.now(),
                )
            )
            self.record(
                tx,
                actor,
                action="news.update",
                entity="news",
                entity_id=stored.id,
                client_id=None,
                detail={"title": stored.title},
                topic=Topic.NEWS_UPDATED,
                message=stored,
            )
        self.fire("news_published", news_item=stored)
        return stored

    def delete(self, actor: Actor, news_id: int) -> None:
        """Withdraw a news item."""
        access.require(access.can_publish_news(actor))
        with self.store.transaction() as tx:
            current = tx.get_news(news_id)
            if current is None:
                raise NotFound(N_("Not found"), entity="news", id=news_id)
            tx.delete_news(news_id)
            self.record(
                tx,
                actor,
                action="news.delete",
                entity="news",
                entity_id=news_id,
                client_id=None,
                detail={"title": current.title},
                topic=Topic.NEWS_DELETED,
                message=current,
            )

    def upsert_external(self, actor: Actor, item: NewsItem) -> tuple[NewsItem, str]:
        """Create or update the item a CRM published under ``item.external_id`` (``b24:post:<id>``).

        Returns the stored item and what happened: ``"created"``, ``"updated"`` or
        ``"unchanged"`` (same title, body and flag: nothing written, so a periodic pull of an
        unchanged feed is free). ``published_at`` is the CRM's publication time.
        """
        access.require(access.can_publish_news(actor))
        raise_if([*required_text(item.title, "title"), *text_errors(item)])
        if not item.external_id:
            raise ValueError("upsert_external needs item.external_id")
        title = item.title.strip()
        with self.store.transaction() as tx:
            current = tx.get_news_by_external_id(item.external_id)
            if current is None:
                stored = tx.add_news(
                    attrs.evolve(
                        item,
                        id=None,
                        title=title,
                        author_id=actor.user_id,
                        published_at=item.published_at or self.now(),
                        updated_at=None,
                    )
                )
                action, outcome = "news.publish", "created"
            elif (current.title, current.body, current.important) == (
                title,
                item.body,
                item.important,
            ):
                return current, "unchanged"
            else:
                stored = tx.update_news(
                    attrs.evolve(
                        current,
                        title=title,
                        body=item.body,
                        important=item.important,
                        updated_at=self.now(),
                    )
                )
                action, outcome = "news.update", "updated"
            # Audit only: the item came from the CRM, so no outbox row sends it back there.
            self.record(
                tx,
                actor,
                action=action,
                entity="news",
                entity_id=stored.id,
                client_id=None,
                detail={"title": stored.title, "external_id": item.external_id},
            )
        self.fire("news_published", news_item=stored)
        return stored, outcome

    def delete_external(self, actor: Actor, external_id: str) -> bool:
        """Delete the item a CRM published under ``external_id``; ``False`` if there is none."""
        access.require(access.can_publish_news(actor))
        with self.store.transaction() as tx:
            current = tx.get_news_by_external_id(external_id)
            if current is None or current.id is None:
                return False
            tx.delete_news(current.id)
            self.record(
                tx,
                actor,
                action="news.delete",
                entity="news",
                entity_id=current.id,
                client_id=None,
                detail={"title": current.title, "external_id": external_id},
            )
        return True

    def external_ids(self, actor: Actor, prefix: str) -> dict[str, int]:
        """External id → news id of every item whose external id starts with ``prefix`` (what
        a pull compares with the CRM's feed to find deleted posts)."""
        access.require(access.can_publish_news(actor))
        found: dict[str, int] = {}
        offset = 0
        with self.store.transaction(readonly=True) as tx:
            while True:
                page = tx.list_news(limit=MAX_PAGE, offset=offset)
                for news in page.items:
                    if news.external_id and news.external_id.startswith(prefix) and news.id:
                        found[news.external_id] = news.id
                offset += MAX_PAGE
                if offset >= page.total:
                    return found

    def get(self, actor: Actor, news_id: int) -> NewsItem:
        """One item; every signed-in user reads the news."""
        with self.store.transaction(readonly=True) as tx:
            item = tx.get_news(news_id)
        if item is None:
            raise NotFound(N_("Not found"), entity="news", id=news_id)
        return item

    def list(self, actor: Actor, *, limit: int = 20, offset: int = 0) -> Page[NewsItem]:
        """The newest items first; every signed-in user reads the news."""
        with self.store.transaction(readonly=True) as tx:
            return tx.list_news(limit=max(1, min(limit, MAX_PAGE)), offset=max(0, offset))
