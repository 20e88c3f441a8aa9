"""cabinet.chat.receive: messages the firm writes in its CRM, stored once, never sent back."""

from __future__ import annotations

import pytest
from cabinet_core.entities import Actor, ChatMessage
from cabinet_core.errors import NotFound, PermissionDenied, ValidationError
from fixtures_services import HookRecorder, World

pytest_plugins = ["fixtures_services"]


def test_receive_is_idempotent_and_notifies_the_client(world: World, hooks: HookRecorder) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)
    question = chat.post(world.actor(world.alice), client_id=a_id, body="Czy faktura doszła?")
    answer, created = chat.receive(
        Actor.system(),
        client_id=a_id,
        body="Tak, doszła.",
        external_id="b24:msg:34001",
        author_id=world.manager.id,
    )
    assert created is True and answer.external_id == "b24:msg:34001"
    same, created = chat.receive(
        Actor.system(), client_id=a_id, body="Tak, doszła.", external_id="b24:msg:34001"
    )
    assert (created, same.id) == (False, answer.id)
    assert [m.id for m in chat.list(world.actor(world.alice), a_id)] == [question.id, answer.id]
    assert [n.text for n in world.cabinet.notifications.list(world.actor(world.alice))] == [
        "Tak, doszła."
    ]
    assert hooks.names().count("chat_message_posted") == 2
    # Only the client's own question is on its way to the CRM.
    topics = [m.topic for m in world.cabinet.store.list_outbox(limit=100)]
    assert topics.count("chat.message_posted") == 1


def test_receive_refuses_clients_unknown_clients_and_blanks(world: World) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)
    with pytest.raises(PermissionDenied):
        chat.receive(world.actor(world.alice), client_id=a_id, body="x", external_id="b24:msg:1")
    with pytest.raises(NotFound):
        chat.receive(Actor.system(), client_id=999_999, body="x", external_id="b24:msg:1")
    with pytest.raises(ValidationError):
        chat.receive(Actor.system(), client_id=a_id, body=" ", external_id="b24:msg:1")
    with pytest.raises(ValidationError):
        chat.receive(Actor.system(), client_id=a_id, body="x", external_id="")


def test_a_long_conversation_is_read_to_its_newest_message(world: World) -> None:
    chat = world.cabinet.chat
    a_id = world.client_id(world.client_a)
    with world.cabinet.store.transaction() as tx:
        for number in range(205):
            tx.add_chat_message(ChatMessage(client_id=a_id, author_id=None, body=f"m{number}"))
    bodies = [m.body for m in chat.list(world.actor(world.alice), a_id)]
    assert len(bodies) == 205 and bodies[0] == "m0" and bodies[-1] == "m204"
