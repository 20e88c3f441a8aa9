"""The emulator served over HTTP: the control API (Starlette test client), and fast_bitrix24
and b24pysdk working against it on a real loopback port."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from starlette.testclient import TestClient


@pytest.fixture
def emulator():
    return Emulator(EmulatorConfig(portal_url="http://testserver"), clock=VirtualClock())


def test_control_api_injects_and_clears_faults(emulator):
    with TestClient(emulator.asgi()) as client:
        hook = emulator.webhook_url.removeprefix("http://testserver")
        added = client.post("/_emulator/faults", json={"kind": "query_limit", "count": 1})
        assert added.json()["faults"][0]["kind"] == "query_limit"
        assert client.post(hook + "profile").status_code == 503
        assert client.post(hook + "profile").status_code == 200
        client.post("/_emulator/faults", json={"kind": "down"})
        assert client.post(hook + "profile").status_code == 502
        assert client.delete("/_emulator/faults").json() == {"faults": []}
        assert client.post(hook + "profile").status_code == 200
        wrong = client.post("/_emulator/faults", json={"kind": "gremlins"})
        assert wrong.status_code == 400


def test_control_api_staff_actions_clock_and_tokens(emulator):
    with TestClient(emulator.asgi()) as client:
        added = client.post(
            "/_emulator/act",
            json={
                "method": "crm.item.add",
                "params": {"entityTypeId": 1038, "fields": {"title": "A"}},
            },
        )
        assert added.json()["result"]["item"]["title"] == "A"
        assert client.get("/_emulator/state").json()["items"]["1038"] == [1]
        tokens = client.post("/_emulator/install").json()
        ok = client.post("/rest/profile", json={"auth": tokens["access_token"]})
        assert ok.status_code == 200
        client.post("/_emulator/expire-tokens")
        expired = client.post("/rest/profile", json={"auth": tokens["access_token"]})
        assert expired.json()["error"] == "expired_token"
        before = emulator.clock.now()
        client.post("/_emulator/clock", json={"seconds": 5})
        assert emulator.clock.now() == before + 5


def test_control_api_operator_reply_finds_the_chats_session(emulator):
    tokens = emulator.install_app()
    with TestClient(emulator.asgi()) as client:

        def app_call(method, **params):
            answer = client.post(f"/rest/{method}", json={"auth": tokens["access_token"], **params})
            assert answer.status_code == 200, answer.text

        app_call("imconnector.register", ID="helpdesk", NAME="Helpdesk")
        for line in (1, 2):
            app_call("imconnector.activate", CONNECTOR="helpdesk", LINE=line, ACTIVE=1)
        for line, chat in ((1, "client-7"), (1, "client-8"), (2, "client-8")):
            app_call(
                "imconnector.send.messages",
                CONNECTOR="helpdesk",
                LINE=line,
                MESSAGES=[
                    {
                        "user": {"id": chat, "name": "Jan"},
                        "message": {"id": f"m-{line}-{chat}", "text": "Dzień dobry"},
                        "chat": {"id": chat},
                    }
                ],
            )
        # One session holds client-7: neither the connector nor the line need be named.
        only = client.post("/_emulator/operator-reply", json={"chat": "client-7", "text": "Witam"})
        assert only.status_code == 200, only.text
        assert emulator.portal.messages[-1]["text"] == "Witam"
        # client-8 talks on two lines: the caller must say which.
        both = client.post("/_emulator/operator-reply", json={"chat": "client-8", "text": "?"})
        assert both.status_code == 400 and "2 Open Lines sessions" in both.json()["error"]
        named = client.post(
            "/_emulator/operator-reply",
            json={"chat": "client-8", "text": "Na linii 2", "connector": "HELPDESK", "line": 2},
        )
        assert named.status_code == 200, named.text
        assert emulator.portal.messages[-1]["text"] == "Na linii 2"
        unknown = client.post("/_emulator/operator-reply", json={"chat": "nobody", "text": "?"})
        assert unknown.status_code == 400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served():
    port = _free_port()
    emulator = Emulator(EmulatorConfig(portal_url=f"http://127.0.0.1:{port}"))
    server = uvicorn.Server(
        uvicorn.Config(emulator.asgi(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # the only wait: the real server's startup
        assert time.monotonic() < deadline, "emulator did not start"
        time.sleep(0.05)
    yield emulator
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.slow
def test_fast_bitrix24_works_against_the_served_emulator(served):
    fast_bitrix24 = pytest.importorskip("fast_bitrix24")
    for n in range(120):
        served.act("crm.item.add", {"entityTypeId": 1038, "fields": {"title": f"Doc {n}"}})
    bitrix = fast_bitrix24.Bitrix(served.webhook_url, verbose=False)
    items = bitrix.get_all("crm.item.list", {"entityTypeId": 1038, "select": ["id", "title"]})
    assert sorted(item["id"] for item in items) == list(range(1, 121))
    created = bitrix.call(
        "crm.item.add",
        [
            {"entityTypeId": 1038, "fields": {"title": f"New {n}", "xmlId": f"x-{n}"}}
            for n in range(60)
        ],
    )
    assert len(created) == 60
    assert len(served.portal.items[1038]) == 180
    by_id = bitrix.get_by_ID("crm.item.get", [1, 2], params={"entityTypeId": 1038})
    assert len(by_id) == 2
    raw = bitrix.call("user.current", {}, raw=True)
    assert raw["result"]["ID"] == "1"
    assert httpx.get(f"{served.config.portal_url}/_emulator/state").status_code == 200


@pytest.mark.slow
def test_b24pysdk_works_against_the_served_emulator(served, monkeypatch):
    pytest.importorskip("b24pysdk")
    import sys

    from b24pysdk import BitrixApp, BitrixToken, BitrixWebhook, Client
    from b24pysdk.api.requesters.bitrix_oauth_requester import BitrixOAuthRequester

    # b24pysdk hard-codes https and its OAuth host (stack.md §7, option A): point both here.
    callers = sys.modules["b24pysdk.api.callers.call_method"]
    monkeypatch.setattr(
        callers._MethodCaller, "_base_url", property(lambda self: f"http://{self._domain}/rest")
    )
    base = served.config.portal_url
    monkeypatch.setattr(BitrixOAuthRequester, "_OAUTH_TOKEN_URL", f"{base}/oauth/token/")
    for n in range(120):
        served.act("crm.item.add", {"entityTypeId": 1038, "fields": {"title": f"Doc {n}"}})
    domain = base.removeprefix("http://")
    hook = BitrixWebhook(domain=domain, webhook_token=f"1/{served.config.webhook_token}")
    added = hook.call_method("crm.item.add", {"entityTypeId": 1038, "fields": {"title": "X"}})
    assert added["result"]["item"]["id"] == 121
    listed = hook.call_list("crm.item.list", {"entityTypeId": 1038, "select": ["id"]})
    assert len(listed["result"]) == 121
    fast = hook.call_list_fast("crm.item.list", {"entityTypeId": 1038, "select": ["id"]})
    assert sorted(item["id"] for item in fast["result"]) == list(range(1, 122))
    batch = hook.call_batch({"a": ("crm.item.get", {"entityTypeId": 1038, "id": 1})})
    assert batch["result"]["result"]["a"]["item"]["title"] == "Doc 0"
    client_list = Client(hook).crm.item.list(entity_type_id=1038).as_list()
    assert len(client_list.result) == 121

    # An app token that expires is refreshed (and rotated) by the SDK, then the call replayed.
    tokens = served.install_app()
    app_token = BitrixToken(
        domain=domain,
        auth_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        bitrix_app=BitrixApp(
            client_id=served.app.client_id, client_secret=served.app.client_secret
        ),
    )
    served.expire_tokens()
    assert app_token.call_method("profile")["result"]["ID"] == "1"
    assert app_token.refresh_token != tokens["refresh_token"]
