"""cabinet.chat for the live chat: paged history, read markers and unread counts, the staff
inbox, who may read which conversation, and the broadcast after each stored message."""

from __future__ import annotations

import asyncio

import pytest
from cabinet_core.entities import Actor, ChatMessage
from cabinet_core.errors import NotFound, ValidationError
from cabinet_core.services.chat import INBOX_CHANNEL, conversation_channel
from fixtures_services import World

pytest_plugins = ["fixtures_services"]


def _seed(world: World, client_id: int, count: int) -> list[int]:
    ids = []
    with world.cabinet.store.transaction() as tx:
        for number in range(count):
            stored = tx.add_chat_message(
                ChatMessage(client_id=client_id, author_id=world.manager.id, body=f"m{number}")
            )
            assert stored.id is not None
            ids.append(stored.id)
    return ids


def test_history_is_read_a_page_at_a_time_newest_last(world: World) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)
    ids = _seed(world, a_id, 75)
    alice = world.actor(world.alice)

    first = chat.history(alice, a_id, limit=30)
    assert [m.body for m in first.messages] == [f"m{n}" for n in range(45, 75)]
    assert first.has_more is True
    second = chat.history(alice, a_id, before=first.messages[0].id, limit=30)
    assert [m.id for m in second.messages] == ids[15:45]
    third = chat.history(alice, a_id, before=second.messages[0].id, limit=30)
    assert [m.id for m in third.messages] == ids[:15]
    assert third.has_more is False
    # The client sees its manager by name.
    assert first.manager_id == world.manager.id
    assert first.manager_name == "Manager"
    assert first.authors[world.manager.id or 0] == "Manager"


def test_history_refuses_bad_paging(world: World) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)
    for kwargs in ({"limit": 0}, {"limit": 101}, {"before": 0}):
        with pytest.raises(ValidationError) as caught:
            chat.history(world.actor(world.alice), a_id, **kwargs)  # type: ignore[arg-type]
        assert caught.value.errors[0].field in {"limit", "before"}


def test_unread_counts_follow_each_users_read_marker(world: World) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)
    alice, manager = world.actor(world.alice), world.actor(world.manager)
    chat.post(alice, client_id=a_id, body="Dzień dobry")
    chat.post(alice, client_id=a_id, body="Mam pytanie")
    # The author has read its own messages; the manager has two to read.
    assert chat.unread(alice) == {}
    assert chat.unread(manager) == {a_id: 2}
    reply = chat.post(manager, client_id=a_id, body="Słucham")
    assert chat.unread(manager) == {}
    assert chat.unread(alice) == {a_id: 1}
    assert chat.mark_read(alice, a_id, up_to=reply.id) == reply.id
    assert chat.unread(alice) == {}
    # A marker never moves back.
    assert chat.mark_read(alice, a_id, up_to=1) == reply.id
    # The admin sees the whole conversation as unread (it read nothing).
    assert chat.unread(world.actor(world.admin)) == {a_id: 3}


def test_the_inbox_lists_the_managers_clients_newest_first_with_unread(world: World) -> None:
    chat = world.cabinet.chat
    a_id, b_id = world.client_id(world.client_a), world.client_id(world.client_b)
    chat.post(world.actor(world.bob), client_id=b_id, body="Beta pyta")
    chat.post(world.actor(world.alice), client_id=a_id, body="Alfa pyta")

    mine = chat.inbox(world.actor(world.manager))
    assert [(c.client_name, c.unread) for c in mine] == [("Alfa sp. z o.o.", 1)]
    assert mine[0].last_message is not None and mine[0].last_message.body == "Alfa pyta"

    everyone = chat.inbox(world.actor(world.admin))
    assert [c.client_id for c in everyone] == [a_id, b_id]
    chat.post(world.actor(world.bob), client_id=b_id, body="Beta znowu")
    assert [(c.client_id, c.unread) for c in chat.inbox(world.actor(world.admin))] == [
        (b_id, 2),
        (a_id, 1),
    ]
    assert chat.conversation(world.actor(world.manager), a_id).unread == 1
    # A client's user has one conversation: its own.
    assert [c.client_id for c in chat.inbox(world.actor(world.alice))] == [a_id]


def test_each_sees_only_its_own_conversations(world: World) -> None:
    chat = world.cabinet.chat
    a_id, b_id = world.client_id(world.client_a), world.client_id(world.client_b)
    chat.post(world.actor(world.bob), client_id=b_id, body="Tajne")
    for actor, client_id in (
        (world.actor(world.alice), b_id),  # another client's conversation
        (world.actor(world.bob), a_id),
        (world.actor(world.manager), b_id),  # a client of another manager
    ):
        with pytest.raises(NotFound):
            chat.history(actor, client_id)
        with pytest.raises(NotFound):
            chat.mark_read(actor, client_id)
        with pytest.raises(NotFound):
            chat.conversation(actor, client_id)
        with pytest.raises(NotFound):
            chat.post(actor, client_id=client_id, body="x")
    assert chat.unread(world.actor(world.manager)) == {}
    assert b_id not in chat.unread(world.actor(world.alice))
    assert chat.history(world.actor(world.other_manager), b_id).messages[0].body == "Tajne"


def test_a_stored_message_is_broadcast_to_its_conversation_and_the_inbox(world: World) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)

    async def scenario() -> tuple[dict[str, object] | None, dict[str, object] | None, int]:
        broadcast = world.cabinet.broadcast
        with (
            broadcast.subscribe(conversation_channel(a_id)) as conversation,
            broadcast.subscribe(INBOX_CHANNEL) as inbox,
        ):
            await broadcast.ready()
            posted = await asyncio.to_thread(
                chat.post, world.actor(world.alice), client_id=a_id, body="Na żywo"
            )
            assert posted.id is not None
            return await conversation.get(10), await inbox.get(10), posted.id

    seen, inboxed, message_id = asyncio.run(scenario())
    assert seen == {"type": "message", "id": message_id, "client_id": a_id}
    assert inboxed == seen


def test_a_message_from_the_crm_is_broadcast_too(world: World) -> None:
    a_id = world.client_id(world.client_a)

    async def scenario() -> dict[str, object] | None:
        broadcast = world.cabinet.broadcast
        with broadcast.subscribe(conversation_channel(a_id)) as conversation:
            await broadcast.ready()
            await asyncio.to_thread(
                world.cabinet.chat.receive,
                Actor.system(),
                client_id=a_id,
                body="Z Bitrix24",
                external_id="b24:msg:77",
            )
            return await conversation.get(10)

    event = asyncio.run(scenario())
    assert event is not None and event["client_id"] == a_id


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_file_goes_with_a_message_and_only_its_conversation_opens_it(world: World) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)
    alice = world.actor(world.alice)
    sent = chat.post(alice, client_id=a_id, body="", filename="../skan.png", data=PNG)
    assert len(sent.attachments) == 1
    attachment = sent.attachments[0]
    assert attachment.content_type == "image/png" and attachment.size == len(PNG)
    assert "/" not in attachment.filename
    page = chat.history(world.actor(world.manager), a_id)
    assert page.messages[-1].attachments == sent.attachments
    assert chat.list(alice, a_id)[-1].attachments == sent.attachments
    assert attachment.id is not None
    opened, data = chat.open_attachment(world.actor(world.manager), attachment.id)
    assert (opened, data) == (attachment, PNG)
    for stranger in (world.bob, world.other_manager):
        with pytest.raises(NotFound):
            chat.open_attachment(world.actor(stranger), attachment.id)
    with pytest.raises(NotFound):
        chat.open_attachment(alice, 999_999)


def test_a_bad_file_is_a_field_error_and_nothing_is_stored(world: World) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)
    alice = world.actor(world.alice)
    limit = world.cabinet.settings.attachment_max_bytes
    for data, code in ((b"MZ not a picture", "type"), (PNG + b"\x00" * limit, "too_large")):
        with pytest.raises(ValidationError) as caught:
            chat.post(alice, client_id=a_id, body="x", filename="a.png", data=data)
        assert (caught.value.errors[0].field, caught.value.errors[0].code) == ("file", code)
    with pytest.raises(NotFound):
        chat.post(world.actor(world.bob), client_id=a_id, body="", filename="a.png", data=PNG)
    assert chat.history(alice, a_id).messages == ()
