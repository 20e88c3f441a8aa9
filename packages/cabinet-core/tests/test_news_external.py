"""cabinet.news upserts of items a CRM publishes (``external_id``), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cabinet_core.entities import Actor, NewsItem
from cabinet_core.errors import PermissionDenied, ValidationError
from fixtures_services import HookRecorder, World

pytest_plugins = ["fixtures_services"]


def test_upsert_creates_updates_and_skips_unchanged(world: World, hooks: HookRecorder) -> None:
    news = world.cabinet.news
    system = Actor.system()
    published = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    item = NewsItem(
        title=" Nowe terminy ", body="Treść", external_id="b24:post:201", published_at=published
    )
    created, outcome = news.upsert_external(system, item)
    assert outcome == "created"
    assert created.title == "Nowe terminy" and created.external_id == "b24:post:201"
    assert created.published_at is not None
    assert created.published_at.replace(tzinfo=UTC) == published
    again, outcome = news.upsert_external(system, item)
    assert (outcome, again.id) == ("unchanged", created.id)
    edited, outcome = news.upsert_external(
        system, NewsItem(title="Nowe terminy", body="Poprawiona treść", external_id="b24:post:201")
    )
    assert (outcome, edited.id, edited.body) == ("updated", created.id, "Poprawiona treść")
    assert news.list(world.actor(world.alice)).total == 1
    assert hooks.names().count("news_published") == 2
    # The CRM's own posts never go back to it through the outbox.
    topics = [m.topic for m in world.cabinet.store.list_outbox(limit=100)]
    assert not any(topic.startswith("news.") for topic in topics)


def test_delete_external_and_the_ids_a_pull_compares(world: World) -> None:
    news = world.cabinet.news
    system = Actor.system()
    for post_id in (201, 202):
        news.upsert_external(
            system, NewsItem(title=f"Post {post_id}", external_id=f"b24:post:{post_id}")
        )
    own = news.publish(world.actor(world.manager), NewsItem(title="Written in the cabinet"))
    ids = news.external_ids(system, "b24:post:")
    assert sorted(ids) == ["b24:post:201", "b24:post:202"]
    assert own.id not in ids.values()
    assert news.delete_external(system, "b24:post:201") is True
    assert news.delete_external(system, "b24:post:201") is False
    assert sorted(news.external_ids(system, "b24:post:")) == ["b24:post:202"]


def test_upsert_refuses_clients_and_blank_titles(world: World) -> None:
    news = world.cabinet.news
    with pytest.raises(PermissionDenied):
        item = NewsItem(title="x", external_id="b24:post:1")
        news.upsert_external(world.actor(world.alice), item)
    with pytest.raises(ValidationError):
        news.upsert_external(Actor.system(), NewsItem(title=" ", external_id="b24:post:1"))
    with pytest.raises(ValueError, match="external_id"):
        news.upsert_external(Actor.system(), NewsItem(title="x"))
