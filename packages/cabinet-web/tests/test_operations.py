"""/healthz, /readyz, /metrics, request ids, the access log and the error pages in both
languages (cabinet_web.operations, docs/monitoring.md)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import OutboxMessage
from cabinet_core.health import record_heartbeat
from cabinet_core.logs import CabinetFormatter
from cabinet_core.storage.store import utcnow
from cabinet_web.app import create_app
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient
from web_support import World, closed_port, login, make_settings

LOCAL = ("127.0.0.1", 50000)
REMOTE = ("203.0.113.7", 50000)


def browser(app: Any, client: tuple[str, int] = LOCAL, **kwargs: Any) -> TestClient:
    return TestClient(app, base_url="http://testserver", client=client, **kwargs)


def beat(cabinet: Cabinet, seconds_ago: float = 0) -> None:
    record_heartbeat(cabinet.store, now=utcnow() - timedelta(seconds=seconds_ago), worker="w:1")


# -- liveness and readiness -------------------------------------------------------------------


def test_healthz_answers_without_a_database(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/nothing"
    with Cabinet(make_settings(tmp_path, database_url=url), load_entrypoints=False) as cabinet:
        web = browser(create_app(cabinet))
        assert web.get("/healthz").json() == {"status": "ok"}
        ready = web.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["database"]["ok"] is False
        assert body["problems"][0].startswith("database: cannot connect")


def test_readyz_wants_a_recent_worker_heartbeat(cabinet: Cabinet) -> None:
    web = browser(create_app(cabinet))
    missing = web.get("/readyz")
    assert missing.status_code == 503
    assert missing.json()["problems"] == ["worker: no worker has recorded a heartbeat"]
    beat(cabinet, seconds_ago=600)
    stale = web.get("/readyz").json()
    assert stale["checks"]["worker"]["ok"] is False
    assert "from w:1 (limit 120 s)" in stale["checks"]["worker"]["detail"]
    beat(cabinet)
    fresh = web.get("/readyz")
    assert fresh.status_code == 200
    assert fresh.json() == {
        "status": "ready",
        "checks": {"database": {"ok": True}, "migrations": {"ok": True}, "worker": {"ok": True}},
    }
    assert fresh.headers["cache-control"] == "no-store"


def test_readyz_without_the_worker_check(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, worker_heartbeat_seconds=0)
    with Cabinet(settings, load_entrypoints=False) as cabinet:
        cabinet.migrate()
        assert browser(create_app(cabinet)).get("/readyz").status_code == 200


def test_readyz_names_a_schema_behind_the_code(cabinet: Cabinet) -> None:
    beat(cabinet)
    cabinet.store.downgrade("0013")
    response = browser(create_app(cabinet)).get("/readyz")
    assert response.status_code == 503
    problem = response.json()["problems"][0]
    assert problem.startswith("migrations: database at 0013, code at ")


def test_probes_set_no_cookie_and_carry_the_security_headers(cabinet: Cabinet) -> None:
    web = browser(create_app(cabinet))
    for path in ("/healthz", "/readyz", "/metrics"):
        headers = web.get(path).headers
        assert "set-cookie" not in headers
        assert headers["x-content-type-options"] == "nosniff"


# -- metrics ----------------------------------------------------------------------------------


def samples(text: str, name: str) -> dict[str, float]:
    """``{'label="x",…': value}`` of one metric in an exposition."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            found[key[len(name) :].strip("{}")] = float(value)
    return found


def test_metrics_count_requests_by_route_template(cabinet: Cabinet, world: World, app: Any) -> None:
    web = browser(app)
    assert login(web, world.client_user.email).status_code == 200
    web.get("/password/some-secret-link-value")
    web.get("/no/such/page")
    text = web.get("/metrics").text
    requests = samples(text, "cabinet_http_requests_total")
    assert requests['method="GET",route="/password/{secret}",status="410"'] == 1
    assert requests['method="GET",route="unmatched",status="404"'] == 1
    assert requests['method="POST",route="/login",status="303"'] == 1
    assert "some-secret-link-value" not in text
    latency = samples(text, "cabinet_http_request_duration_seconds_count")
    assert latency['method="POST",route="/login"'] == 1


def test_metrics_count_sign_in_failures(cabinet: Cabinet, world: World, app: Any) -> None:
    web = browser(app)
    login(web, world.client_user.email, password="wrong-password-1")
    login(web, world.client_user.email, password="wrong-password-2")
    failures = samples(web.get("/metrics").text, "cabinet_signin_failures_total")
    assert failures['kind="password"'] == 2


def test_metrics_read_the_outbox_per_subscriber(cabinet: Cabinet, app: Any) -> None:
    with cabinet.store.transaction() as tx:
        for _ in range(3):
            tx.add_outbox(
                OutboxMessage(topic="mail.test", entity="client", entity_id=1),
                subscribers=["mail", "bitrix24"],
            )
    with cabinet.store.transaction() as tx:
        message = tx.add_outbox(
            OutboxMessage(topic="mail.test", entity="client", entity_id=2), subscribers=["mail"]
        )
    assert message.id is not None
    cabinet.store.mark_failed(message.id, subscriber="mail", error="boom", now=utcnow())
    beat(cabinet, seconds_ago=5)
    text = browser(app).get("/metrics").text
    assert samples(text, "cabinet_outbox_pending") == {
        'subscriber="bitrix24"': 3,
        'subscriber="mail"': 3,
    }
    assert samples(text, "cabinet_outbox_failed")['subscriber="mail"'] == 1
    ages = samples(text, "cabinet_outbox_oldest_age_seconds")
    assert 0 <= ages['subscriber="mail"'] < 60
    assert 5 <= samples(text, "cabinet_worker_heartbeat_age_seconds")[""] < 60


def test_metrics_are_closed_to_other_addresses_by_default(app: Any) -> None:
    response = browser(app, client=REMOTE).get("/metrics")
    assert response.status_code == 403
    assert "cabinet_" not in response.text


def test_metrics_open_to_the_allow_list_and_the_token(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, metrics_allow=("198.51.100.0/24",), metrics_token="scrape-token-123"
    )
    with Cabinet(settings, load_entrypoints=False) as cabinet:
        cabinet.migrate()
        app = create_app(cabinet)
        assert browser(app, client=("198.51.100.9", 1)).get("/metrics").status_code == 200
        # The allow list replaces the loopback default.
        assert browser(app, client=LOCAL).get("/metrics").status_code == 403
        other = browser(app, client=REMOTE)
        assert other.get("/metrics").status_code == 403
        wrong = other.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = other.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
        assert right.status_code == 200
        assert right.headers["content-type"].startswith("text/plain; version=0.0.4")


def test_metrics_of_several_processes_are_summed(
    app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, /metrics sums what every process wrote there (two
    processes here, each counting one refused sign-in)."""
    directory = tmp_path / "prom"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    count = (
        "from cabinet_core.metrics import Metrics; "
        "Metrics().signin_failures.labels(kind='password').inc()"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=120)
    assert len(list(directory.glob("counter_*.db"))) == 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    text = browser(app).get("/metrics").text
    assert samples(text, "cabinet_signin_failures_total")['kind="password"'] == 2
    # The database's gauges come with them, read by the process that answers.
    assert "# TYPE cabinet_outbox_pending gauge" in text


# -- request ids and the access log -----------------------------------------------------------


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(CabinetFormatter("json"))
    logger = logging.getLogger("cabinet_web.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_request_id_is_honoured_and_logged(app: Any, access_lines: io.StringIO) -> None:
    web = browser(app)
    response = web.get("/password/a-secret-link", headers={"X-Request-ID": "edge-42.abc"})
    assert response.headers["x-request-id"] == "edge-42.abc"
    line = json.loads(access_lines.getvalue().splitlines()[-1])
    assert line["request_id"] == "edge-42.abc"
    assert line["message"] == "GET /password/{secret} 410 " + line["message"].split()[-2] + " ms"
    assert "a-secret-link" not in access_lines.getvalue()
    assert line["time"].endswith("Z")


def test_a_bad_request_id_is_replaced(app: Any) -> None:
    web = browser(app)
    made = web.get("/healthz", headers={"X-Request-ID": "two words\r\nX-Evil: 1"})
    rid = made.headers["x-request-id"]
    assert len(rid) == 32 and rid.isalnum()
    assert web.get("/healthz").headers["x-request-id"] != rid


# -- error pages in both languages ------------------------------------------------------------


def test_not_found_page_in_both_languages(app: Any) -> None:
    web = browser(app)
    polish = web.get("/no/such/page", headers={"Accept-Language": "pl"})
    assert polish.status_code == 404
    assert '<html lang="pl">' in polish.text and "Nie znaleziono" in polish.text
    english = web.get("/no/such/page", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in english.text and "Not found" in english.text
    assert english.headers["x-request-id"]


def test_forbidden_page_in_the_users_language(app: Any, world: World) -> None:
    polish = browser(app)
    login(polish, world.client_user.email)
    response = polish.get("/users")
    assert response.status_code == 403
    assert "Nie masz uprawnień do tej czynności" in response.text
    english = browser(app)
    login(english, world.other_user.email)  # language="en"
    response = english.get("/users")
    assert response.status_code == 403
    assert "You are not allowed to do this" in response.text


def test_server_error_page_in_both_languages_with_the_request_id(
    app: Any, access_lines: io.StringIO, request: pytest.FixtureRequest
) -> None:
    async def boom(incoming: Request) -> Response:
        raise RuntimeError("password=hunter2 leaked into an error")

    app.router.routes.append(Route("/boom", boom))
    error_lines = io.StringIO()
    handler = logging.StreamHandler(error_lines)
    handler.setFormatter(CabinetFormatter("json"))
    logging.getLogger("cabinet_web").addHandler(handler)
    request.addfinalizer(lambda: logging.getLogger("cabinet_web").removeHandler(handler))
    web = browser(app, raise_server_exceptions=False)
    polish = web.get("/boom", headers={"Accept-Language": "pl", "X-Request-ID": "r-500"})
    assert polish.status_code == 500
    assert polish.headers["x-request-id"] == "r-500"
    assert polish.headers["x-content-type-options"] == "nosniff"
    assert "Coś poszło nie tak po naszej stronie" in polish.text
    assert "hunter2" not in polish.text and "Traceback" not in polish.text
    english = web.get("/boom", headers={"Accept-Language": "en"})
    assert "Something went wrong on our side" in english.text
    line = json.loads(access_lines.getvalue().splitlines()[0])
    assert line["message"].startswith("GET /boom 500 ")
    assert line["request_id"] == "r-500"
    # Each error logged once (by the error handler) with its request id, its traceback
    # without the password.
    errors = [
        json.loads(line)
        for line in error_lines.getvalue().splitlines()
        if json.loads(line)["logger"] == "cabinet_web"
    ]
    assert len(errors) == 2
    assert errors[0]["request_id"] == "r-500"
    assert "password=***" in errors[0]["exc_info"]
    assert "hunter2" not in error_lines.getvalue()
