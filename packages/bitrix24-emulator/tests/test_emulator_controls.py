"""What the portal does on its own (install callback, ONAPPINSTALL, ONAPPUNINSTALL, outgoing
webhooks, opening a placement) and the faults a connector must survive (429, work done then
the connection dropped, recurring profiles), in-process and through the control API."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from bitrix24_emulator import ENTERPRISE, FAULT_PROFILES, Emulator, EmulatorConfig, VirtualClock
from bitrix24_emulator.cli import parse_args
from bitrix24_emulator.server import free_port, serve_in_thread
from starlette.testclient import TestClient


@pytest.fixture
def received():
    return []


@pytest.fixture
def emulator(received):
    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    return Emulator(
        EmulatorConfig(portal_url="http://testserver"),
        clock=VirtualClock(),
        event_transport=httpx.MockTransport(handler),
    )


def _form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def test_install_posts_the_callback_and_onappinstall(emulator, received):
    tokens = emulator.install_app(handler="https://app/events", callback="https://app/install")
    posted = {str(r.url): _form(r) for r in received}
    callback = posted["https://app/install"]
    assert callback["auth[access_token]"] == tokens["access_token"]
    assert callback["auth[refresh_token]"] == tokens["refresh_token"]
    assert callback["auth[application_token]"] == emulator.app.application_token
    event = posted["https://app/events"]
    assert event["event"] == "ONAPPINSTALL" and event["auth[refresh_token]"]


def test_uninstall_sends_only_the_application_token_and_ends_the_tokens(emulator, received):
    tokens = emulator.install_app()
    old_token = emulator.app.application_token
    with httpx.Client(transport=emulator.transport()) as http:
        bound = http.post(
            "http://testserver/rest/event.bind",
            json={
                "auth": tokens["access_token"],
                "event": "ONAPPUNINSTALL",
                "handler": "https://app/bye",
            },
        )
        assert bound.json()["result"] is True
        emulator.uninstall_app()
        after = http.post("http://testserver/rest/profile", json={"auth": tokens["access_token"]})
    (request,) = received
    form = _form(request)
    assert form["event"] == "ONAPPUNINSTALL" and form["data[CLEAN]"] == "1"
    assert {k for k in form if k.startswith("auth[")} == {
        "auth[domain]",
        "auth[server_endpoint]",
        "auth[client_endpoint]",
        "auth[member_id]",
        "auth[application_token]",
    }
    assert form["auth[application_token]"] == old_token
    assert after.status_code == 401 and after.json()["error"] == "invalid_token"
    assert emulator.app.application_token != old_token  # a reinstall gets a new one


def test_outgoing_webhook_posts_events_with_its_own_token_only(emulator, received):
    token = emulator.add_outgoing_webhook("ONCRMQUOTEADD", "https://app/hook")
    emulator.act("crm.item.add", {"entityTypeId": 7, "fields": {"title": "Oferta"}})
    (request,) = received
    form = _form(request)
    assert form["event"] == "ONCRMQUOTEADD" and form["auth[application_token]"] == token
    assert "auth[access_token]" not in form


def test_opening_a_placement_posts_its_form_to_the_bound_handler(emulator, received):
    tokens = emulator.install_app()
    with httpx.Client(transport=emulator.transport()) as http:
        http.post(
            "http://testserver/rest/placement.bind",
            json={
                "auth": tokens["access_token"],
                "PLACEMENT": "CRM_QUOTE_DETAIL_TAB",
                "HANDLER": "https://app/tab",
            },
        )
    delivery = emulator.open_placement("CRM_QUOTE_DETAIL_TAB", {"ID": "7"}, user_id=2)
    assert delivery.status == 200
    (request,) = received
    query = dict(parse_qsl(urlsplit(str(request.url)).query))
    assert set(query) == {"DOMAIN", "PROTOCOL", "LANG", "APP_SID"}
    form = _form(request)
    assert form["PLACEMENT"] == "CRM_QUOTE_DETAIL_TAB"
    assert form["PLACEMENT_OPTIONS"] == '{"ID": "7"}'
    assert emulator.portal.access_tokens[form["AUTH_ID"]].user_id == 2
    with pytest.raises(ValueError):
        emulator.open_placement("CRM_DEAL_DETAIL_TAB")


def test_operation_limit_fault_answers_429(emulator):
    emulator.inject("operation_limit", 1, methods=["crm.item.add"])
    with httpx.Client(transport=emulator.transport()) as http:
        url = emulator.webhook_url + "crm.item.add"
        refused = http.post(url, json={"entityTypeId": 7, "fields": {}})
        assert (refused.status_code, refused.json()["error"]) == (429, "OPERATION_TIME_LIMIT")
        assert http.post(url, json={"entityTypeId": 7, "fields": {}}).status_code == 200
    assert list(emulator.portal.items[7]) == [1]


def test_dropped_after_work_did_the_work(emulator):
    emulator.inject("dropped", 1, writes=True)
    with httpx.Client(transport=emulator.transport()) as http:
        # A read is not a write: it passes.
        assert (
            http.post(emulator.webhook_url + "crm.item.list", json={"entityTypeId": 7}).status_code
            == 200
        )
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(emulator.webhook_url + "crm.item.add", json={"entityTypeId": 7, "fields": {}})
    assert list(emulator.portal.items[7]) == [1]  # created, though the client never heard


def test_recurring_fault_hits_every_nth_request(emulator):
    emulator.inject("internal_error", every=3)
    with httpx.Client(transport=emulator.transport()) as http:
        statuses = [http.post(emulator.webhook_url + "profile").status_code for _ in range(6)]
    assert statuses == [200, 200, 500, 200, 200, 500]


@pytest.mark.parametrize("profile", sorted(FAULT_PROFILES))
def test_every_profile_applies(profile):
    emulator = Emulator(clock=VirtualClock())
    faults = emulator.apply_profile(profile)
    assert faults and all(f.every for f in faults)


def test_control_api_install_uninstall_webhook_placement_and_faults(emulator, received):
    with TestClient(emulator.asgi()) as client:
        tokens = client.post("/_emulator/install", json={"callback": "https://app/install"}).json()
        assert "application_token" in tokens
        client.post(
            "/rest/placement.bind",
            json={
                "auth": tokens["access_token"],
                "PLACEMENT": "REST_APP_URI",
                "HANDLER": "https://app/p",
            },
        )
        opened = client.post("/_emulator/placement", json={"placement": "REST_APP_URI"}).json()
        assert opened["status"] == 200 and opened["url"].startswith("https://app/p?DOMAIN=")
        assert client.post("/_emulator/placement", json={"placement": "NOWHERE"}).status_code == 400
        hook = client.post(
            "/_emulator/outgoing-webhook",
            json={"event": "ONCRMQUOTEADD", "handler": "https://app/h"},
        ).json()
        assert len(hook["application_token"]) == 32
        assert client.post("/_emulator/uninstall", json={"handler": "https://app/bye"}).json() == {
            "uninstalled": True
        }
        faults = client.post("/_emulator/faults", json={"profile": "operation-limit"}).json()
        assert faults["faults"][0]["every"] == 9
        assert client.post("/_emulator/faults", json={"profile": "nope"}).status_code == 400
    urls = {str(r.url).split("?")[0] for r in received}
    assert {"https://app/install", "https://app/p", "https://app/bye"} <= urls


def test_served_dropped_answer_breaks_the_connection():
    port = free_port()
    emulator = Emulator(EmulatorConfig(portal_url=f"http://127.0.0.1:{port}"))
    emulator.inject("dropped", 1)
    with serve_in_thread(emulator, port=port), httpx.Client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(emulator.webhook_url + "crm.item.add", json={"entityTypeId": 7, "fields": {}})
        listed = http.post(emulator.webhook_url + "crm.item.list", json={"entityTypeId": 7})
    assert [item["id"] for item in listed.json()["result"]["items"]] == [1]


def test_command_line_limit_clock_and_profiles():
    options = parse_args(
        [
            "--operating-limit",
            "30",
            "--operating-mode",
            "batch",
            "--virtual-clock",
            "--fault-profile",
            "dropped-after-work",
            "--fault-profile",
            "query-limit-bursts",
        ]
    )
    assert (options.config.operating_limit, options.config.operating_mode) == (30.0, "batch")
    emulator = options.emulator()
    assert isinstance(emulator.clock, VirtualClock)
    assert emulator.operating.limit == 30.0
    assert sorted(f.kind for f in emulator.faults) == ["dropped", "query_limit"]
    with pytest.raises(SystemExit):
        parse_args(["--fault-profile", "gremlins"])


def test_served_requests_overlap_their_server_time():
    # Ten requests of 0.3 s simulated server time each, sent at once: with one lock around
    # everything they would take 3 s; they overlap.
    port = free_port()
    emulator = Emulator(
        EmulatorConfig(portal_url=f"http://127.0.0.1:{port}", read_seconds=0.3, plan=ENTERPRISE)
    )
    with serve_in_thread(emulator, port=port), httpx.Client() as http:
        statuses: list[int] = []
        http.post(emulator.webhook_url + "profile")  # the client is ready before the clock runs

        def one() -> None:
            statuses.append(http.post(emulator.webhook_url + "profile").status_code)

        began = time.monotonic()
        workers = [threading.Thread(target=one) for _ in range(10)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.monotonic() - began
    assert statuses == [200] * 10
    assert elapsed < 2.0


def test_a_lost_refresh_answer_leaves_the_pair_rotated(emulator):
    installed = emulator.install_app()
    emulator.apply_profile("lost-refresh-answers")
    params = {
        "grant_type": "refresh_token",
        "client_id": emulator.app.client_id,
        "client_secret": emulator.app.client_secret,
        "refresh_token": installed["refresh_token"],
    }
    url = "http://testserver/oauth/token/"
    with httpx.Client(transport=emulator.transport()) as http:
        first = http.get(url, params=params)  # every other refresh is lost: this one arrives
        assert first.status_code == 200
        params["refresh_token"] = first.json()["refresh_token"]
        with pytest.raises(httpx.RemoteProtocolError):
            http.get(url, params=params)
        # The server did rotate the pair: the refresh token the client still holds is spent.
        again = http.get(url, params=params)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    # Faults that name no method leave the OAuth server alone.
    emulator.clear_faults()
    emulator.inject("internal_error")
    with httpx.Client(transport=emulator.transport()) as http:
        fresh = emulator.install_app()
        params["refresh_token"] = fresh["refresh_token"]
        assert http.get(url, params=params).status_code == 200


def test_another_process_using_the_budget_blocks_the_method_until_its_basket_expires(emulator):
    emulator.install_app()
    assert emulator.spend_operating("crm.item.add", 481.0, credential="webhook") == 481.0
    with httpx.Client(transport=emulator.transport()) as http:
        refused = http.post(
            emulator.webhook_url + "crm.item.add", json={"entityTypeId": 7, "fields": {}}
        )
        assert (refused.status_code, refused.json()["error"]) == (429, "OPERATION_TIME_LIMIT")
        # Other methods still work, and their answers say when the blocked one frees up.
        listed = http.post(emulator.webhook_url + "crm.item.list", json={"entityTypeId": 7})
        assert listed.status_code == 200
        emulator.clock.advance(600)
        assert (
            http.post(
                emulator.webhook_url + "crm.item.add", json={"entityTypeId": 7, "fields": {}}
            ).status_code
            == 200
        )
    with TestClient(emulator.asgi()) as client:
        used = client.post("/_emulator/operating", json={"method": "crm.item.list", "seconds": 10})
        assert used.json() == {"operating": 10.0}
        assert client.post("/_emulator/operating", json={"seconds": 1}).status_code == 400
