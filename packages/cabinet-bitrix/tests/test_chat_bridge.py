"""The chat bridge against the emulator: webhook mode (a group chat per client, answers polled)
and app mode (Open Lines connector, answers by event); every message crosses once."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix.auth import MemoryTokenStore, OAuthAuth, install
from cabinet_bitrix.chat import (
    CONNECTOR_ID,
    DIALOG_KEY,
    handle_connector_event,
    poll_replies,
    push_message,
    register_connector,
)
from cabinet_bitrix.client import BitrixClient, RetryPolicy
from cabinet_bitrix.forms import parse_form
from cabinet_bitrix.settings import BitrixSettings
from cabinet_core.entities import Actor, Client, Role, User
from emulated import emulated_client

SYSTEM = Actor.system()
HANDLER = "https://cabinet.example/hooks/bitrix24"
#: The emulated portal's second user, the client's manager.
MANAGER_EMAIL = "piotr.wisniewski@kancelaria.example"


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def posted():
    return []


@pytest.fixture
def emulator(clock, posted):
    def receive(request: httpx.Request) -> httpx.Response:
        posted.append(parse_form(request.content.decode()))
        return httpx.Response(200)

    return Emulator(clock=clock, event_transport=httpx.MockTransport(receive))


@pytest.fixture
def people(cabinet):
    with cabinet.store.transaction() as tx:
        manager = tx.add_user(User(email=MANAGER_EMAIL, name="Piotr", role=Role.MANAGER))
        client = tx.add_client(Client(name="Zażółć sp. z o.o.", manager_id=manager.id))
        jan = tx.add_user(
            User(email="jan@zazolc.example", name="Jan Kowalski", client_id=client.id)
        )
    return manager, client, jan


def ask(cabinet, jan, client, text):
    return cabinet.chat.post(Actor.of(jan), client_id=client.id, body=text)


def test_webhook_mode_one_group_chat_per_client_answers_polled_once(
    cabinet, emulator, clock, people
):
    manager, client, jan = people
    with emulated_client(emulator, clock) as bitrix:
        question = ask(cabinet, jan, client, "Czy faktura FV/1 doszła?")
        assert push_message(cabinet.sync_port("bitrix24"), bitrix, question).startswith(
            "sent to chat"
        )
        with cabinet.store.transaction(readonly=True) as tx:
            dialog = tx.get_setting("bitrix24." + DIALOG_KEY + str(client.id))
        chat = dialog["dialog"]
        assert dialog["manager"] == 2
        second = ask(cabinet, jan, client, "I jeszcze jedno")
        push_message(cabinet.sync_port("bitrix24"), bitrix, second)
        # Still one chat for the client; both messages in it, signed with the author.
        sent = [m for m in emulator.portal.messages if m["dialog_id"] == chat]
        assert [m["text"] for m in sent if m["author_id"] == 1] == [
            "[b]Jan Kowalski:[/b] Czy faktura FV/1 doszła?",
            "[b]Jan Kowalski:[/b] I jeszcze jedno",
        ]
        # The manager answers in Bitrix24; the poll brings the answer once.
        emulator.act("im.message.add", {"DIALOG_ID": chat, "MESSAGE": "Tak, doszła."}, user_id=2)
        assert poll_replies(cabinet.sync_port("bitrix24"), bitrix) == 1
        assert poll_replies(cabinet.sync_port("bitrix24"), bitrix) == 0
        messages = cabinet.chat.list(SYSTEM, client.id)
        assert [m.body for m in messages] == [
            "Czy faktura FV/1 doszła?",
            "I jeszcze jedno",
            "Tak, doszła.",
        ]
        answer = messages[-1]
        assert answer.author_id == manager.id and answer.external_id.startswith("b24:msg:")
        # The answer is never pushed back.
        assert (
            push_message(cabinet.sync_port("bitrix24"), bitrix, answer)
            == "skipped: came from Bitrix24"
        )
        assert [m.topic for m in cabinet.store.list_outbox(limit=10)].count(
            "chat.message_posted"
        ) == 2


def install_app(emulator, posted, store):
    emulator.install_app(handler=HANDLER)
    form = posted.pop()
    return install(store, form, now=emulator.clock.now())


def test_app_mode_open_lines_both_ways(cabinet, emulator, clock, posted, people, monkeypatch):
    manager, client, jan = people
    store = MemoryTokenStore()
    install_app(emulator, posted, store)
    auth = OAuthAuth(
        store,
        emulator.portal.member_id,
        client_id=emulator.app.client_id,
        client_secret=emulator.app.client_secret,
        token_url=emulator.config.portal_url + "/oauth/token/",
        clock=clock.now,
    )
    with emulated_client(emulator, clock, auth) as portal:
        # CABINET_BITRIX_OPENLINE=3: the backend's settings name the line.
        settings = BitrixSettings.from_config(
            {"webhook_url": "https://portal.example/rest/1/x/", "openline": "3"}
        )
        bitrix = SimpleNamespace(client=portal, settings=settings)
        register_connector(portal, handler_url=HANDLER, line="3")
        register_connector(portal, handler_url=HANDLER, line="3")  # repeating is harmless
        assert emulator.portal.connectors[CONNECTOR_ID]["lines"]["3"]["active"] is True
        bound = [b.event for b in emulator.portal.bindings if b.handler == HANDLER]
        assert bound == ["ONIMCONNECTORMESSAGEADD"]

        question = ask(cabinet, jan, client, "Dzień dobry, pytanie o VAT")
        assert push_message(cabinet.sync_port("bitrix24"), bitrix, question) == "sent to Open Lines"
        (session,) = emulator.portal.sessions.values()
        assert [m["text"] for m in emulator.portal.messages] == ["Dzień dobry, pytanie o VAT"]

        chat_id = f"client-{client.id}"
        emulator.operator_reply(CONNECTOR_ID, "3", chat_id, "Już sprawdzam", user_id=2)
        (event,) = [form for form in posted if form.get("event") == "ONIMCONNECTORMESSAGEADD"]
        assert (
            handle_connector_event(cabinet.sync_port("bitrix24"), bitrix, event["data"])
            == "chat: 1 new message(s)"
        )
        # The portal may deliver the same event twice; the message is stored once.
        assert (
            handle_connector_event(cabinet.sync_port("bitrix24"), bitrix, event["data"])
            == "chat: 0 new message(s)"
        )
        messages = cabinet.chat.list(SYSTEM, client.id)
        assert [(m.body, m.author_id) for m in messages] == [
            ("Dzień dobry, pytanie o VAT", jan.id),
            ("Już sprawdzam", manager.id),
        ]
        methods = [method for method, _ in emulator.requests]
        assert methods.count("imconnector.send.status.delivery") == 2
        assert session["CHAT_ID"]


def test_connector_events_for_others_or_malformed_are_ignored(cabinet, emulator, clock, people):
    _, client, _ = people
    with emulated_client(emulator, clock) as bitrix:
        other = {"CONNECTOR": "telegram", "MESSAGES": []}
        assert (
            handle_connector_event(cabinet.sync_port("bitrix24"), bitrix, other)
            == "ignored: another connector"
        )
        junk = {
            "CONNECTOR": CONNECTOR_ID,
            "MESSAGES": {
                "0": {"chat": {"id": "someone-else"}, "im": {"message_id": "5"}},
                "1": {
                    "chat": {"id": "client-999999"},
                    "im": {"message_id": "6"},
                    "message": {"text": "x"},
                },
                "2": "not a message",
            },
        }
        assert (
            handle_connector_event(cabinet.sync_port("bitrix24"), bitrix, junk)
            == "chat: 0 new message(s)"
        )
        assert cabinet.chat.list(SYSTEM, client.id) == []


def test_an_answer_is_stored_even_when_the_portal_refuses_the_follow_up_calls(
    cabinet, emulator, clock, people
):
    manager, client, _ = people
    data = {
        "CONNECTOR": CONNECTOR_ID,
        "LINE": "1",
        "MESSAGES": [
            {
                "im": {"chat_id": 1700, "message_id": 34100},
                "message": {"user_id": 2, "text": "[b]Piotr:[/b] [br]Odpowiedź"},
                "chat": {"id": f"client-{client.id}"},
            }
        ],
    }
    # The author lookup and the delivery tick both fail; the answer must not be lost.
    emulator.inject("internal_error", methods=["user.get", "imconnector.send.status.delivery"])
    with emulated_client(emulator, clock, retry=RetryPolicy(attempts=1)) as bitrix:
        assert (
            handle_connector_event(cabinet.sync_port("bitrix24"), bitrix, data)
            == "chat: 1 new message(s)"
        )
    (answer,) = cabinet.chat.list(SYSTEM, client.id)
    assert (answer.body, answer.author_id) == ("Odpowiedź", None)
    assert manager.id is not None


class AnswerLost(httpx.BaseTransport):
    """Passes requests to the emulator, but the answer to the first ``method`` call is lost
    after the portal did the work (a read timeout)."""

    def __init__(self, inner: httpx.BaseTransport, method: str) -> None:
        self.inner = inner
        self.method = method
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lost == 0 and request.url.path.endswith(f"/{self.method}.json"):
            self.lost += 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_webhook_mode_never_posts_a_message_twice(cabinet, emulator, clock, people):
    _, client, jan = people
    question = ask(cabinet, jan, client, "Tylko raz")
    lossy = AnswerLost(emulator.transport(), "im.message.add")
    with BitrixClient(
        emulator.webhook_url,
        transport=lossy,
        retry=RetryPolicy(attempts=1),
        clock=clock.now,
        sleep=clock.advance,
    ) as bitrix:
        # The portal posted it, the answer was lost: the bridge finds it instead of resending.
        assert push_message(cabinet.sync_port("bitrix24"), bitrix, question).startswith(
            "sent to chat"
        )
        # The worker delivers the same outbox message again (say, it was killed before its
        # report): nothing is posted.
        assert push_message(cabinet.sync_port("bitrix24"), bitrix, question).startswith(
            "already in chat"
        )
    posted = [m for m in emulator.portal.messages if m["text"].endswith("Tylko raz")]
    assert len(posted) == 1 and lossy.lost == 1


def test_app_mode_never_sends_a_message_twice(cabinet, emulator, clock, posted, people):
    _, client, jan = people
    store = MemoryTokenStore()
    install_app(emulator, posted, store)
    auth = OAuthAuth(
        store,
        emulator.portal.member_id,
        client_id=emulator.app.client_id,
        client_secret=emulator.app.client_secret,
        token_url=emulator.config.portal_url + "/oauth/token/",
        clock=clock.now,
    )
    with emulated_client(emulator, clock, auth) as bitrix:
        register_connector(bitrix, handler_url=HANDLER, line="1")
        first = ask(cabinet, jan, client, "Pierwsza")
        assert push_message(cabinet.sync_port("bitrix24"), bitrix, first) == "sent to Open Lines"
        assert push_message(cabinet.sync_port("bitrix24"), bitrix, first) == "already in Open Lines"
    second = ask(cabinet, jan, client, "Druga")
    lossy = AnswerLost(emulator.transport(), "imconnector.send.messages")
    with BitrixClient(
        auth, transport=lossy, retry=RetryPolicy(attempts=1), clock=clock.now, sleep=clock.advance
    ) as bitrix:
        # Posted, answer lost: found in the line's chat, not sent again.
        assert (
            push_message(cabinet.sync_port("bitrix24"), bitrix, second) == "already in Open Lines"
        )
        assert (
            push_message(cabinet.sync_port("bitrix24"), bitrix, second) == "already in Open Lines"
        )
    texts = [m["text"] for m in emulator.portal.messages]
    assert texts == ["Pierwsza", "Druga"] and lossy.lost == 1
