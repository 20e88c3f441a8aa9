"""cabinet.news, cabinet.chat, cabinet.notifications, cabinet.audit and cabinet.settings_store
on both databases."""

from __future__ import annotations

import attrs
import pytest
from cabinet_core.entities import NewsItem
from cabinet_core.errors import NotFound, PermissionDenied, ValidationError
from fixtures_services import HookRecorder, World


def test_news_published_by_staff_read_by_everyone(world: World, hooks: HookRecorder) -> None:
    news = world.cabinet.news
    item = news.publish(
        world.actor(world.manager), NewsItem(title=" KSeF od 1 lutego ", important=True)
    )
    assert item.title == "KSeF od 1 lutego" and item.author_id == world.manager.id
    assert item.published_at is not None
    assert hooks.names()[-1] == "news_published"
    for reader in (world.alice, world.bob, world.accountant):
        assert [n.id for n in news.list(world.actor(reader)).items] == [item.id]
    updated = news.update(world.actor(world.admin), attrs.evolve(item, body="Szczegóły"))
    assert updated.body == "Szczegóły" and updated.author_id == world.manager.id
    for outsider in (world.alice, world.accountant):
        with pytest.raises(PermissionDenied):
            news.publish(world.actor(outsider), NewsItem(title="x"))
        with pytest.raises(PermissionDenied):
            news.delete(world.actor(outsider), item.id or 0)
    with pytest.raises(ValidationError):
        news.publish(world.actor(world.admin), NewsItem(title=" "))
    news.delete(world.actor(world.admin), item.id or 0)
    assert news.list(world.actor(world.alice)).total == 0
    with pytest.raises(NotFound):
        news.update(world.actor(world.admin), item)
    topics = [m.topic for m in world.cabinet.store.list_outbox(limit=100)]
    assert {"news.published", "news.updated", "news.deleted"} <= set(topics)


def test_chat_between_client_and_manager(world: World, hooks: HookRecorder) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)
    question = chat.post(world.actor(world.alice), client_id=a_id, body="Czy faktura doszła?")
    answer = chat.post(world.actor(world.manager), client_id=a_id, body="Tak, jest w systemie.")
    assert question.author_id == world.alice.id
    assert [m.body for m in chat.list(world.actor(world.manager), a_id)] == [
        "Czy faktura doszła?",
        "Tak, jest w systemie.",
    ]
    assert [m.id for m in chat.list(world.actor(world.alice), a_id, after_id=question.id)] == [
        answer.id
    ]
    assert hooks.names().count("chat_message_posted") == 2
    # Each side is notified of the other's message.
    manager_notes = world.cabinet.notifications.list(world.actor(world.manager))
    alice_notes = world.cabinet.notifications.list(world.actor(world.alice))
    assert [n.text for n in manager_notes] == ["Czy faktura doszła?"]
    assert [n.text for n in alice_notes] == ["Tak, jest w systemie."]


def test_chat_access(world: World) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)
    with pytest.raises(NotFound):
        chat.post(world.actor(world.bob), client_id=a_id, body="hej")
    with pytest.raises(NotFound):
        chat.list(world.actor(world.other_manager), a_id)
    with pytest.raises(ValidationError) as info:
        chat.post(world.actor(world.alice), client_id=a_id, body="x" * 5001)
    assert info.value.errors[0].code == "too_long"
    with pytest.raises(ValidationError):
        chat.post(world.actor(world.alice), client_id=a_id, body="  ")
    assert chat.list(world.actor(world.accountant), a_id) == []


def test_notifications_are_private_and_marked_read(world: World) -> None:
    a_id = world.client_id(world.client_a)
    world.cabinet.chat.post(world.actor(world.manager), client_id=a_id, body="Dzień dobry")
    notes = world.cabinet.notifications
    (note,) = notes.list(world.actor(world.alice), unread_only=True)
    with pytest.raises(NotFound):
        notes.mark_read(world.actor(world.bob), note.id or 0)
    notes.mark_read(world.actor(world.alice), note.id or 0)
    assert notes.list(world.actor(world.alice), unread_only=True) == []
    assert notes.list(world.actor(world.alice))[0].read_at is not None


def test_audit_is_for_staff_within_their_clients(world: World) -> None:
    a_id, b_id = world.client_id(world.client_a), world.client_id(world.client_b)
    audit = world.cabinet.audit
    with pytest.raises(PermissionDenied):
        audit.list(world.actor(world.alice))
    everything = audit.list(world.actor(world.admin), entity="client")
    assert {e.entity_id for e in everything} == {a_id, b_id}
    assert all(e.action == "client.create" for e in everything)
    mine = audit.list(world.actor(world.manager))
    assert mine and {e.client_id for e in mine} == {a_id}
    with pytest.raises(NotFound):
        audit.list(world.actor(world.manager), client_id=b_id)
    assert {e.client_id for e in audit.list(world.actor(world.accountant), client_id=b_id)} == {
        b_id
    }


def test_settings_store(world: World) -> None:
    settings = world.cabinet.settings_store
    admin = world.actor(world.admin)
    settings.set(admin, "crm.field_map", {"nip": "UF_CRM_NIP"})
    assert settings.get(world.actor(world.manager), "crm.field_map") == {"nip": "UF_CRM_NIP"}
    assert settings.get(admin, "missing", default=3) == 3
    with pytest.raises(PermissionDenied):
        settings.set(world.actor(world.manager), "crm.field_map", {})
    with pytest.raises(PermissionDenied):
        settings.get(world.actor(world.alice), "crm.field_map")
    with pytest.raises(ValidationError):
        settings.set(admin, "bad", object())
    with pytest.raises(ValidationError):
        settings.set(admin, " ", 1)
    (entry,) = world.cabinet.audit.list(admin, entity="setting")
    assert entry.detail == {"key": "crm.field_map", "old": None, "new": {"nip": "UF_CRM_NIP"}}
