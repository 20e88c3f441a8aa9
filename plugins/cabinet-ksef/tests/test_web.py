"""The staff's KSeF pages: reachable from the settings index and the menu, a client's KSeF
switched on with a token or certificate files, bad input shown at its field with nothing
saved, the "test connection" button queueing a check the worker runs (no KSeF call while the
page loads), and clients kept from the pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import cabinet_ksef.plugin
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Client, Role
from cabinet_core.settings import Settings
from cabinet_core.testing import TEST_SECRET_KEY, fast_password_hashing
from cabinet_ksef.api import CertificateCredentials, TokenCredentials
from cabinet_ksef.checks import run_checks
from cabinet_ksef.connections import Connections
from cabinet_ksef.credentials import CredentialVault
from cabinet_ksef.sending import KsefSender
from cabinet_ksef.settings import KsefSettings
from cabinet_web.app import create_app
from plugin_fakes import FakeKsef, certificate_pair
from starlette.testclient import TestClient

SYSTEM = Actor.system()
NIP = "5265877635"
PASSWORD = "a-long-enough-password-1"


@pytest.fixture
def cabinet(tmp_path: Path) -> Iterator[Cabinet]:
    settings = Settings(
        data_dir=tmp_path,
        secret_key=TEST_SECRET_KEY,
        plugins={"ksef": {"base_url": "http://ksef.test/v2"}},
    )
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_ksef.plugin]) as made:
        fast_password_hashing(made)
        made.migrate()
        yield made


@pytest.fixture
def client(cabinet: Cabinet) -> Client:
    return cabinet.clients.create(
        SYSTEM,
        Client(
            name="Sprzedawca sp. z o.o.",
            nip=NIP,
            email="biuro@sprzedawca.example",
            address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
        ),
    )


def signed_in(
    cabinet: Cabinet,
    role: Role,
    client_id: int | None = None,
    *,
    manages: Client | None = None,
    language: str = "en",
) -> TestClient:
    email = f"{role.value}@firm.example"
    user = cabinet.users.create(
        SYSTEM,
        email=email,
        name=role.value,
        role=role,
        client_id=client_id,
        password=PASSWORD,
        language=language,
    )
    if manages is not None:
        cabinet.clients.update(SYSTEM, attrs.evolve(manages, manager_id=user.id))
    web = TestClient(create_app(cabinet), base_url="https://cabinet.example")
    token = csrf(web.get("/login").text)
    web.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    return web


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def vault(cabinet: Cabinet) -> CredentialVault:
    return CredentialVault(KsefSettings.of(cabinet).credentials_key, cabinet.ksef_port())


def test_staff_reach_the_page_and_switch_ksef_on_with_a_token(
    cabinet: Cabinet, client: Client
) -> None:
    assert client.id is not None
    with signed_in(cabinet, Role.ADMIN) as web:
        index = web.get("/settings")
        assert "/settings/ksef" in index.text
        overview = web.get("/settings/ksef")
        assert overview.status_code == 200 and client.name in overview.text
        page = web.get(f"/settings/ksef/{client.id}")
        assert page.status_code == 200 and 'name="token"' in page.text
        saved = web.post(
            f"/settings/ksef/{client.id}",
            data={
                "csrf_token": csrf(page.text),
                "enabled": "true",
                "environment": "demo",
                "method": "token",
                "token": "20261201-EC-TOKEN|nip-5265877635|abc",
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303
        shown = web.get(f"/settings/ksef/{client.id}").text
    port = cabinet.ksef_port()
    assert port.enabled(client.id) and port.client_state(client.id, "environment") == "demo"
    assert vault(cabinet).credentials(client.id) == TokenCredentials(
        context_nip=NIP, token="20261201-EC-TOKEN|nip-5265877635|abc"
    )
    assert "20261201-EC-TOKEN" not in shown  # never shown again
    assert "2026-12-31" in shown  # valid until the legal end of tokens
    # The audit trail says the credentials changed, never what they are.
    with cabinet.store.transaction(readonly=True) as tx:
        entries = tx.list_audit(limit=100)
    assert not any("EC-TOKEN" in repr(entry) for entry in entries)


def test_certificate_files_are_uploaded_and_bad_ones_shown_at_their_field(
    cabinet: Cabinet, client: Client
) -> None:
    assert client.id is not None
    cert, key, _, _ = certificate_pair()
    _, other_key, _, _ = certificate_pair()
    with signed_in(cabinet, Role.ACCOUNTANT) as web:
        page = web.get(f"/settings/ksef/{client.id}")
        form = {
            "csrf_token": csrf(page.text),
            "enabled": "true",
            "environment": "test",
            "method": "certificate",
        }
        refused = web.post(
            f"/settings/ksef/{client.id}",
            data=form,
            files={"certificate": ("cert.pem", cert), "private_key": ("key.pem", other_key)},
        )
        assert refused.status_code == 422
        assert 'data-error-for="private_key"' in refused.text
        assert not cabinet.ksef_port().enabled(client.id)  # nothing half-saved
        saved = web.post(
            f"/settings/ksef/{client.id}",
            data=form,
            files={"certificate": ("cert.pem", cert), "private_key": ("key.pem", key)},
            follow_redirects=False,
        )
        assert saved.status_code == 303
    stored = vault(cabinet).credentials(client.id)
    assert isinstance(stored, CertificateCredentials) and stored.context_nip == NIP
    assert cabinet.ksef_port().enabled(client.id)


def test_switching_on_without_credentials_is_refused(cabinet: Cabinet, client: Client) -> None:
    assert client.id is not None
    with signed_in(cabinet, Role.ADMIN) as web:
        page = web.get(f"/settings/ksef/{client.id}")
        refused = web.post(
            f"/settings/ksef/{client.id}",
            data={
                "csrf_token": csrf(page.text),
                "enabled": "true",
                "environment": "test",
                "method": "token",
            },
        )
    assert refused.status_code == 422 and 'data-error-for="token"' in refused.text
    assert not cabinet.ksef_port().enabled(client.id)


def test_test_connection_is_queued_and_run_by_the_worker(cabinet: Cabinet, client: Client) -> None:
    assert client.id is not None
    vault(cabinet).keep(
        client.id,
        TokenCredentials(context_nip=NIP, token="t"),
        now=cabinet.ksef_port().now(),
        valid_until=None,
    )
    with signed_in(cabinet, Role.MANAGER, manages=client) as web:
        page = web.get(f"/settings/ksef/{client.id}")
        assert 'data-test="ksef-save"' not in page.text  # managers see, do not edit
        queued = web.post(f"/settings/ksef/{client.id}/check", data={"csrf_token": csrf(page.text)})
        assert queued.status_code == 200 and "queued" in queued.text
        # The worker's pass (here with a scripted KSeF): the page then shows the result.
        ksef = FakeKsef()
        port = cabinet.ksef_port()
        sender = KsefSender(
            port, KsefSettings.of(cabinet), Connections(ksef.client, port, port.now)
        )
        assert run_checks(sender) == [client.id] and ksef.authentications == 1
        assert "connected" in web.get(f"/settings/ksef/{client.id}").text
        ksef.down = True
        web.post(f"/settings/ksef/{client.id}/check", data={"csrf_token": csrf(page.text)})
        run_checks(sender)
        assert "KSeF 503" in web.get(f"/settings/ksef/{client.id}").text


def test_client_users_are_kept_out(cabinet: Cabinet, client: Client) -> None:
    assert client.id is not None
    with signed_in(cabinet, Role.CLIENT, client.id) as web:
        assert web.get(f"/settings/ksef/{client.id}").status_code == 403
        assert web.get("/settings/ksef").status_code == 403


def test_the_pages_speak_polish(cabinet: Cabinet, client: Client) -> None:
    assert client.id is not None
    with signed_in(cabinet, Role.ADMIN, language="pl") as web:
        page = web.get(f"/settings/ksef/{client.id}")
    assert "Testuj połączenie" in page.text and "Ustawienia KSeF" in page.text


def test_the_page_shows_the_last_sync_and_what_could_not_be_imported(
    cabinet: Cabinet, client: Client
) -> None:
    assert client.id is not None
    from cabinet_ksef.receiving import RECEIVE_KEY, ReceiveState

    port = cabinet.ksef_port()
    state = ReceiveState(
        last_sync=port.now(),
        last_imported=2,
        failed=("5260001246-20261207-0100002B2E-CE: seller.nip",),
    )
    port.set_client_state(client.id, RECEIVE_KEY, state.to_json())
    with signed_in(cabinet, Role.ADMIN) as web:
        page = web.get(f"/settings/ksef/{client.id}").text
    assert "2 imported" in page
    assert "5260001246-20261207-0100002B2E-CE: seller.nip" in page


def bearer(cabinet: Cabinet, role: Role, client_id: int | None = None) -> dict[str, str]:
    user = cabinet.users.create(
        SYSTEM,
        email=f"api-{role.value}@firm.example",
        name="API",
        role=role,
        client_id=client_id,
        password=PASSWORD,
    )
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def test_the_json_api_reads_saves_and_queues_a_check(cabinet: Cabinet, client: Client) -> None:
    assert client.id is not None
    web = TestClient(create_app(cabinet), base_url="https://cabinet.example")
    headers = bearer(cabinet, Role.ACCOUNTANT)
    path = f"/api/v1/ksef/clients/{client.id}"
    before = web.get(path, headers=headers)
    assert before.status_code == 200
    assert before.json()["enabled"] is False and before.json()["credentials"] is None

    refused = web.post(path, headers=headers, json={"enabled": True, "environment": "nowhere"})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in refused.json()["errors"]} >= {"environment", "token"}

    saved = web.post(
        path,
        headers=headers,
        json={"enabled": True, "environment": "test", "method": "token", "token": "tok-123"},
    )
    assert saved.status_code == 200
    body = saved.json()
    assert body["enabled"] is True and body["credentials"]["method"] == "token"
    assert "tok-123" not in saved.text

    cert, key, _, _ = certificate_pair()
    uploaded = web.post(
        path,
        headers=headers,
        data={"enabled": "true", "environment": "demo", "method": "certificate"},
        files={"certificate": ("c.pem", cert), "private_key": ("k.pem", key)},
    )
    assert uploaded.status_code == 200
    assert uploaded.json()["credentials"]["method"] == "certificate"
    assert uploaded.json()["environment"] == "demo"

    queued = web.post(f"{path}/check", headers=headers)
    assert queued.status_code == 202
    assert web.get(path, headers=headers).json()["check"]["status"] == "queued"


def test_the_json_api_keeps_clients_and_strangers_out(cabinet: Cabinet, client: Client) -> None:
    assert client.id is not None
    web = TestClient(create_app(cabinet), base_url="https://cabinet.example")
    path = f"/api/v1/ksef/clients/{client.id}"
    assert web.get(path).status_code == 401  # no token, no session
    own = bearer(cabinet, Role.CLIENT, client.id)
    assert web.get(path, headers=own).status_code == 403
    manager = bearer(cabinet, Role.MANAGER)
    assert web.post(path, headers=manager, json={"enabled": False}).status_code == 403


def test_the_json_api_is_in_the_openapi_document_and_the_old_path_redirects(
    cabinet: Cabinet, client: Client
) -> None:
    assert client.id is not None
    web = TestClient(create_app(cabinet), base_url="https://cabinet.example")
    document = web.get("/api/v1/openapi.json").json()
    status = document["paths"]["/api/v1/ksef/clients/{client_id}"]
    assert status["get"]["operationId"] == "ksef_client_status"
    body = status["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"]["properties"]["environment"]["enum"] == [
        "test",
        "demo",
        "production",
    ]
    assert "multipart/form-data" in body
    check = document["paths"]["/api/v1/ksef/clients/{client_id}/check"]["post"]
    assert "202" in check["responses"]

    headers = bearer(cabinet, Role.ACCOUNTANT)
    old = web.get(f"/api/ksef/clients/{client.id}", headers=headers, follow_redirects=False)
    assert old.status_code == 308
    assert old.headers["location"] == f"/api/v1/ksef/clients/{client.id}"
    followed = web.get(f"/api/ksef/clients/{client.id}", headers=headers)
    assert followed.status_code == 200 and followed.json()["client_id"] == client.id

    wrong = web.post(
        f"/api/v1/ksef/clients/{client.id}",
        headers=headers,
        json={"environment": "test", "enabled": "yes", "token": 5},
    )
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"enabled", "token"}
