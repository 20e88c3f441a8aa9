"""News from Bitrix24: the posts of one workgroup's feed become the cabinet's news.

The firm writes client news where it already works, in a workgroup of its portal
(``CABINET_BITRIX_NEWS_GROUP``, the group's id). :func:`pull_news` reads that group's feed
(``log.blogpost.get`` with ``LOG_RIGHTS`` ``SG<id>``, bitrix24.md §4) and makes the cabinet's
news follow it: a new post becomes a news item (``external_id`` ``b24:post:<id>``), an edited
post updates it, a post gone from the feed is deleted. News written in the cabinet itself has
no external id and is never touched.

The feed is read in pages of 50 by ``start``/``next`` (log-blogpost-get.md: outside cursor
mode the page is 50 whatever ``LIMIT`` says, and cursor mode documents no ``next``). Offsets
shift when a post is added or deleted between two pages, so a listing can miss a post: posts
are only deleted from the cabinet after a *complete* listing, one whose distinct posts number
the ``total`` every page announced (:class:`FeedListing`). A partial one still creates and
updates; its deletions wait for the next pull.

A pull reads the whole feed and compares it, which makes it its own repair: it runs on a
schedule (the worker's periodic tasks) and on the feed events ``ONLIVEFEEDPOSTADD``,
``ONLIVEFEEDPOSTUPDATE`` and ``ONLIVEFEEDPOSTDELETE`` (app mode), whose payload carries only
the post's id. Reading the group again rather than the one post matters: ``POST_ID``
overrides ``LOG_RIGHTS`` in ``log.blogpost.get``, so a single post cannot be checked for
belonging to the group, and a deleted post cannot be read at all.

A post whose news item staff deleted in the cabinet stays deleted: the backend's state keeps
the external ids the last pull left in the cabinet (:data:`STATE_KEY`, ``known``); one of them
missing from the cabinet at the next pull was deleted there, and becomes a tombstone
(``deleted``) that later pulls skip, however the post is edited. A tombstone is dropped once
its post is gone from the feed too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from cabinet_core.entities import NewsItem

if TYPE_CHECKING:
    from cabinet_core.sync import SyncPort

    from cabinet_bitrix.client import BitrixClient

log = logging.getLogger("cabinet.bitrix.news")

#: The environment variable naming the workgroup whose feed is the news.
NEWS_GROUP_ENV = "CABINET_BITRIX_NEWS_GROUP"
#: ``external_id`` prefix of news items that are Bitrix24 posts.
EXTERNAL_PREFIX = "b24:post:"
#: Feed events that make the cabinet pull the group again.
FEED_EVENTS = frozenset({"ONLIVEFEEDPOSTADD", "ONLIVEFEEDPOSTUPDATE", "ONLIVEFEEDPOSTDELETE"})
#: Posts per ``log.blogpost.get`` page outside cursor mode; fixed by the portal.
PAGE = 50
#: The backend's state key of what the pulls remember: ``known`` (external ids the last pull
#: left in the cabinet) and ``deleted`` (tombstones: posts deleted in the cabinet).
STATE_KEY = "news_feed"
#: Longest title taken from the text of a post that has none (a "micro" post).
TITLE_FROM_TEXT = 120

_BREAK = re.compile(r"\[br\]|\[/?p\]", re.IGNORECASE)
_URL = re.compile(r"\[url=([^\]]*)\](.*?)\[/url\]", re.IGNORECASE | re.DOTALL)
# Any tag, with a value ("[color=#f00]") or attributes ("[disk file id=n5]").
_TAG = re.compile(r"\[/?[a-z*]+(?:[ =][^\]]*)?\]", re.IGNORECASE)


def news_group(configured: str) -> int | None:
    """The workgroup id ``configured`` (``CABINET_BITRIX_NEWS_GROUP``, kept as
    :attr:`BitrixSettings.news_group <cabinet_bitrix.settings.BitrixSettings.news_group>`),
    ``None`` when news are not taken from Bitrix24. ``ValueError`` for a value that is not a
    group id (stop at start-up, not at each pull)."""
    value = configured.strip()
    if not value:
        return None
    # "SG12" is how the portal writes it in LOG_RIGHTS; accept that spelling too.
    digits = value[2:] if value.upper().startswith("SG") else value
    if not digits.isdigit() or int(digits) <= 0:
        raise ValueError(f"{NEWS_GROUP_ENV} must be a workgroup id such as 12, not {value!r}")
    return int(digits)


def _link(match: re.Match[str]) -> str:
    address, label = match.group(1), match.group(2)
    return label if address in label else f"{label} ({address})"


def plain_text(bbcode: str) -> str:
    """A post's BBCode ``DETAIL_TEXT`` as the plain text the cabinet shows (links keep their
    address after the text)."""
    text = _BREAK.sub("\n", bbcode)
    text = _URL.sub(_link, text)
    text = _TAG.sub("", text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _important(post: Mapping[str, Any]) -> bool:
    flag = post.get("UF_BLOG_POST_IMPRTNT")
    value = flag.get("VALUE") if isinstance(flag, Mapping) else flag
    return str(value).upper() in ("1", "Y", "TRUE")


def _published(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def news_item(post: Mapping[str, Any]) -> NewsItem:
    """The news item a feed post becomes."""
    body = plain_text(str(post.get("DETAIL_TEXT") or ""))
    title = str(post.get("TITLE") or "").strip()
    if not title:
        first = next((line for line in body.splitlines() if line.strip()), "")
        title = first if len(first) <= TITLE_FROM_TEXT else first[: TITLE_FROM_TEXT - 1] + "…"
    return NewsItem(
        title=title or f"Post {post['ID']}",
        body=body,
        important=_important(post),
        published_at=_published(post.get("DATE_PUBLISH")),
        external_id=f"{EXTERNAL_PREFIX}{post['ID']}",
    )


@attrs.frozen
class FeedListing:
    """A group's posts, newest first, and whether the listing is known to be complete (so
    that a post missing from it is gone from the feed)."""

    posts: tuple[dict[str, Any], ...]
    complete: bool


def feed_posts(client: BitrixClient, group_id: int) -> FeedListing:
    """Every post of the group's feed, page after page by ``start``/``next`` (pages of 50).

    Complete means: the last page has no ``next``, and the distinct posts read number the
    ``total`` every page gave (one short page without ``next`` and without ``total`` is
    complete by itself). A post deleted between two pages shifts the offsets and hides
    another post; the count then falls short of ``total`` and the listing is partial."""
    found: dict[str, dict[str, Any]] = {}
    totals: set[int] = set()
    pages = 0
    start = 0
    last_rows = 0
    while True:
        response = client.call_full(
            "log.blogpost.get", {"LOG_RIGHTS": [f"SG{group_id}"], "start": start}
        )
        chunk = response.result
        rows = [row for row in chunk if isinstance(row, Mapping)] if isinstance(chunk, list) else []
        for row in rows:
            found.setdefault(str(row["ID"]), dict(row))
        pages += 1
        last_rows = len(rows)
        if response.total is not None:
            totals.add(int(response.total))
        if response.next is None:
            break
        if int(response.next) <= start:
            # A portal that does not move on: what was read is all there is, but not proof.
            return FeedListing(_newest_first(found), complete=False)
        start = int(response.next)
    if totals:
        complete = len(totals) == 1 and len(found) == totals.pop()
    else:
        complete = pages == 1 and last_rows < PAGE
    return FeedListing(_newest_first(found), complete)


def _newest_first(found: Mapping[str, dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    return tuple(sorted(found.values(), key=lambda post: int(post["ID"]), reverse=True))


@attrs.frozen
class NewsPull:
    """What a pull changed (external ids)."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    unchanged: int = 0
    #: Whether the feed was listed whole; a partial listing deletes nothing.
    complete: bool = True

    @property
    def changed(self) -> bool:
        """Whether the cabinet's news changed."""
        return bool(self.created or self.updated or self.deleted)


def _client_of(backend: Any) -> BitrixClient:
    from cabinet_bitrix.client import BitrixClient

    client = getattr(backend, "client", backend)
    if not isinstance(client, BitrixClient):
        raise TypeError(f"pull_news needs a BitrixBackend or BitrixClient, not {backend!r}")
    return client


def _configured_group(backend: Any) -> str:
    # Tests hand a bare client: it has no settings, so no group unless one is passed.
    settings = getattr(backend, "settings", None)
    return str(getattr(settings, "news_group", ""))


def _memory(port: SyncPort) -> dict[str, set[str]]:
    value = port.state(STATE_KEY)
    stored = value if isinstance(value, Mapping) else {}
    return {
        key: {str(v) for v in stored.get(key) or () if isinstance(v, str)}
        for key in ("known", "deleted")
    }


def pull_news(port: SyncPort, backend: Any, *, group_id: int | None = None) -> NewsPull:
    """Make the cabinet's Bitrix24 news follow the group's feed (``group_id``, else
    ``CABINET_BITRIX_NEWS_GROUP``); nothing happens when no group is configured.

    A failing read raises before anything is deleted, so an outage never empties the news;
    a listing that may be partial (:func:`feed_posts`) deletes nothing either.
    """
    group = group_id if group_id is not None else news_group(_configured_group(backend))
    if group is None:
        return NewsPull()
    listing = feed_posts(_client_of(backend), group)
    posts = listing.posts
    memory = _memory(port)
    present = set(port.news_ids(EXTERNAL_PREFIX))
    # Known after the last pull and missing now: staff deleted it in the cabinet.
    tombstones = memory["deleted"] | (memory["known"] - present)
    outcomes: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    seen: set[str] = set()
    # Oldest first, so items created in one pull keep the feed's order by id.
    for post in sorted(posts, key=lambda p: int(p["ID"])):
        item = news_item(post)
        assert item.external_id is not None
        seen.add(item.external_id)
        if item.external_id in tombstones:
            continue
        _, outcome = port.upsert_news(item)
        outcomes[outcome].append(item.external_id)
    deleted = []
    if listing.complete:
        for external_id in sorted(port.news_ids(EXTERNAL_PREFIX)):
            if external_id not in seen and port.delete_news(external_id):
                deleted.append(external_id)
        remembered = {
            "known": sorted(seen - tombstones),
            # A tombstone is needed only while its post is still in the feed.
            "deleted": sorted(tombstones & seen),
        }
    else:
        log.warning(
            "bitrix24 news: the feed of group %s was listed only in part (%d posts); "
            "nothing deleted this time",
            group,
            len(posts),
        )
        # What was not seen may still be there: keep remembering it, tombstones too.
        remembered = {
            "known": sorted((seen | (memory["known"] & present)) - tombstones),
            "deleted": sorted(tombstones),
        }
    if remembered != {key: sorted(value) for key, value in memory.items()}:
        port.set_state(STATE_KEY, remembered)
    result = NewsPull(
        created=tuple(outcomes["created"]),
        updated=tuple(outcomes["updated"]),
        deleted=tuple(deleted),
        unchanged=len(outcomes["unchanged"]),
        complete=listing.complete,
    )
    if result.changed:
        log.info(
            "bitrix24 news: %d new, %d edited, %d deleted",
            len(result.created),
            len(result.updated),
            len(result.deleted),
        )
    return result


def handle_feed_event(port: SyncPort, backend: Any, event: str) -> str:
    """React to a feed event: pull the group again. What happened, for the caller's log."""
    if event.upper() not in FEED_EVENTS:
        return "ignored"
    if news_group(_configured_group(backend)) is None:
        return "ignored: no news group configured"
    result = pull_news(port, backend)
    return (
        f"news pulled: {len(result.created)} new, {len(result.updated)} edited, "
        f"{len(result.deleted)} deleted"
    )
