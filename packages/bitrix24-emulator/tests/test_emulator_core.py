"""The emulator core beyond the §9 contract: scopes, app install and placements, offline
events, batch accounting modes, OAuth batches, concurrency and async clients."""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import parse_qsl

import httpx
import pytest
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def posted():
    return []


@pytest.fixture
def emulator(clock, posted):
    def handler(request):
        posted.append(request)
        return httpx.Response(200)

    return Emulator(clock=clock, event_transport=httpx.MockTransport(handler))


@pytest.fixture
def http(emulator):
    with httpx.Client(transport=emulator.transport()) as client:
        yield client


def test_a_webhook_without_the_crm_scope_is_refused(http, emulator):
    hook = emulator.add_webhook(2, scopes=["user"])
    assert http.post(hook + "user.current").json()["result"]["ID"] == "2"
    refused = http.post(hook + "crm.item.list", json={"entityTypeId": 7})
    assert (refused.status_code, refused.json()["error"]) == (403, "insufficient_scope")


def test_install_posts_onappinstall_with_the_refresh_token(emulator, posted):
    tokens = emulator.install_app(handler="https://cabinet.example/bitrix/install")
    (request,) = posted
    form = dict(parse_qsl(request.content.decode()))
    assert form["event"] == "ONAPPINSTALL"
    assert form["auth[refresh_token]"] == tokens["refresh_token"]
    assert form["auth[application_token]"] == emulator.app.application_token


def test_a_placement_signs_staff_in_through_user_current(http, emulator):
    form = emulator.placement_form("CRM_DYNAMIC_1038_DETAIL_TAB", {"ID": "5"}, user_id=2)
    assert form["PLACEMENT_OPTIONS"] == '{"ID": "5"}'
    me = http.post(
        emulator.config.portal_url + "/rest/user.current", data={"auth": form["AUTH_ID"]}
    )
    assert me.json()["result"]["ID"] == "2"


def test_offline_events_keep_the_latest_state_per_object(http, emulator, posted):
    tokens = emulator.install_app()
    base, auth = tokens["client_endpoint"], tokens["access_token"]
    bound = http.post(
        base + "event.bind",
        json={
            "auth": auth,
            "event": "ONCRMDYNAMICITEMUPDATE",
            "handler": "https://x/h",
            "event_type": "offline",
        },
    )
    assert bound.json()["result"] is True
    item = emulator.act("crm.item.add", {"entityTypeId": 1038, "fields": {}})["item"]
    for title in ("a", "b", "c"):
        emulator.act(
            "crm.item.update", {"entityTypeId": 1038, "id": item["id"], "fields": {"title": title}}
        )
    assert posted == []  # offline events are polled, never posted
    reserved = http.post(base + "event.offline.get", json={"auth": auth, "clear": 0}).json()
    (event,) = reserved["result"]["events"]
    assert event["EVENT_DATA"]["FIELDS"]["ID"] == item["id"]
    assert (
        http.post(base + "event.offline.get", json={"auth": auth}).json()["result"]["events"] == []
    )
    cleared = http.post(
        base + "event.offline.clear",
        json={"auth": auth, "process_id": reserved["result"]["process_id"]},
    ).json()
    assert cleared["result"] == {"count": 1}


def test_offline_binding_needs_an_admin(http, emulator):
    tokens = emulator.install_app(user_id=2)
    refused = http.post(
        tokens["client_endpoint"] + "event.bind",
        json={
            "auth": tokens["access_token"],
            "event": "ONCRMQUOTEADD",
            "handler": "https://x",
            "event_type": "offline",
        },
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "ACCESS_DENIED")


@pytest.mark.parametrize(("mode", "charged"), [("documented", "crm.item.add"), ("batch", "batch")])
def test_batch_server_time_is_charged_per_the_configured_mode(clock, mode, charged):
    emulator = Emulator(EmulatorConfig(write_seconds=1.0, operating_mode=mode), clock=clock)
    with httpx.Client(transport=emulator.transport()) as http:
        body = http.post(
            emulator.webhook_url + "batch",
            json={"cmd": {str(n): "crm.item.add?entityTypeId=7&fields[title]=x" for n in range(3)}},
        ).json()
    assert body["result"]["result_error"] == []
    assert body["time"]["duration"] == 3.0
    key = (f"webhook:1:{emulator.config.webhook_token}", charged)
    assert emulator.operating.operating(key, clock.now()) == 3.0


def test_batch_seconds_fix_the_time_of_a_whole_batch(clock):
    emulator = Emulator(EmulatorConfig(write_seconds=5.0, batch_seconds=1.0), clock=clock)
    with httpx.Client(transport=emulator.transport()) as http:
        before = clock.now()
        body = http.post(
            emulator.webhook_url + "batch",
            json={
                "cmd": {f"c{n}": "crm.item.add?entityTypeId=7&fields[title]=x" for n in range(50)}
            },
        ).json()
    assert body["time"]["duration"] == pytest.approx(1.0)
    assert clock.now() == pytest.approx(before + 1.0)
    assert len(emulator.portal.items[7]) == 50
    assert emulator.requests == [("batch", "1")]


def test_a_batch_through_an_app_token(http, emulator):
    tokens = emulator.install_app()
    body = http.post(
        tokens["client_endpoint"] + "batch",
        json={
            "auth": tokens["access_token"],
            "cmd": {"me": "user.current", "opts": "app.option.get"},
        },
    ).json()
    assert body["result"]["result"]["me"]["ID"] == "1"
    assert body["result"]["result_error"] == []


class BarrierClock(VirtualClock):
    """Two requests must be in their simulated server time at once to pass the barrier."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(2, timeout=10)

    def sleep(self, seconds: float) -> None:
        self.barrier.wait()
        super().sleep(seconds)


def test_requests_in_flight_overlap_during_simulated_server_time():
    emulator = Emulator(EmulatorConfig(write_seconds=0.5), clock=BarrierClock())
    answers = []

    def send():
        with httpx.Client(transport=emulator.transport()) as http:
            answers.append(
                http.post(
                    emulator.webhook_url + "crm.item.add", json={"entityTypeId": 7, "fields": {}}
                ).status_code
            )

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert answers == [200, 200]
    assert sorted(emulator.portal.items[7]) == [1, 2]


def test_async_clients_work_in_process_and_over_asgi(emulator):
    async def run():
        async with httpx.AsyncClient(transport=emulator.transport()) as client:
            direct = await client.post(emulator.webhook_url + "profile")
        app = httpx.ASGITransport(app=emulator.asgi())
        async with httpx.AsyncClient(transport=app) as client:
            served = await client.post(emulator.webhook_url + "profile")
        return direct, served

    direct, served = asyncio.run(run())
    assert direct.json()["result"]["ID"] == served.json()["result"]["ID"] == "1"


def test_slow_fault_adds_server_time_to_matching_methods_only(http, emulator, clock):
    emulator.inject("slow", 1, methods=["crm.item.list"], seconds=30.0)
    quick = http.post(emulator.webhook_url + "profile").json()
    assert quick["time"]["duration"] == 0.0
    before = clock.now()
    slow = http.post(emulator.webhook_url + "crm.item.list", json={"entityTypeId": 7}).json()
    assert slow["time"]["duration"] == 30.0
    assert clock.now() == before + 30.0
    assert emulator.faults == []


def test_expired_token_fault_hits_app_calls_only_and_counts_down(http, emulator):
    tokens = emulator.install_app()
    emulator.inject("expired_token", 2)
    assert http.post(emulator.webhook_url + "profile").status_code == 200
    app_url = tokens["client_endpoint"] + "profile"
    answers = [http.post(app_url, json={"auth": tokens["access_token"]}) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 200]
    assert answers[0].json()["error"] == "expired_token"


def test_down_and_timeout_faults_are_transport_errors(http, emulator, clock):
    emulator.inject("down", 1)
    with pytest.raises(httpx.ConnectError):
        http.post(emulator.webhook_url + "profile")
    emulator.inject("timeout", 1, seconds=65.0)
    before = clock.now()
    with pytest.raises(httpx.ReadTimeout):
        http.post(emulator.webhook_url + "profile")
    assert clock.now() == before + 65.0
    assert http.post(emulator.webhook_url + "profile").status_code == 200


def test_an_unknown_fault_kind_is_refused(emulator):
    with pytest.raises(ValueError, match="unknown fault"):
        emulator.inject("gremlins")
