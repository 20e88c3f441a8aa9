"""Both ways to reach a portal, against the emulator: the install event's tokens stored per
portal in the cabinet's settings, expiry, refresh with rotation at a configurable token URL,
replay; and what only the app may do."""

from __future__ import annotations

import threading
from urllib.parse import parse_qsl

import httpx
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix import BitrixSettings
from cabinet_bitrix.auth import (
    AuthError,
    MemoryTokenStore,
    OAuthAuth,
    PortTokenStore,
    WebhookAuth,
    application_token_matches,
    install,
    tokens_from_install,
)
from cabinet_bitrix.client import BitrixError
from cabinet_bitrix.plugin import compose_backend
from cabinet_core.entities import OutboxMessage
from emulated import emulated_client


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def posted():
    return []


@pytest.fixture
def emulator(clock, posted):
    def receive(request: httpx.Request) -> httpx.Response:
        posted.append(dict(parse_qsl(request.content.decode())))
        return httpx.Response(200)

    return Emulator(clock=clock, event_transport=httpx.MockTransport(receive))


def installed(emulator, posted, store):
    """Install the app the way the portal does: ONAPPINSTALL posted form-encoded to the
    handler, which stores the tokens."""
    emulator.install_app(handler="https://cabinet.example/bitrix/install")
    (form,) = posted
    assert form["event"] == "ONAPPINSTALL"
    return install(store, form, now=emulator.clock.now())


def app_auth(emulator, store, clock):
    return OAuthAuth(
        store,
        emulator.portal.member_id,
        client_id=emulator.app.client_id,
        client_secret=emulator.app.client_secret,
        token_url=emulator.config.portal_url + "/oauth/token/",
        clock=clock.now,
    )


def test_the_install_event_stores_tokens_per_portal_in_the_settings(
    cabinet, emulator, posted, clock
):
    store = PortTokenStore(cabinet.sync_port("bitrix24"))
    tokens = installed(emulator, posted, store)
    assert tokens.member_id == emulator.portal.member_id
    assert tokens.client_endpoint == emulator.config.portal_url + "/rest/"
    assert tokens.application_token == emulator.app.application_token
    assert tokens.expires_at == pytest.approx(clock.now() + 3600)
    assert store.load(tokens.member_id) == tokens
    with cabinet.store.transaction(readonly=True) as tx:
        raw = tx.get_setting("bitrix24.portal." + tokens.member_id)
        trail = repr(tx.list_audit(limit=100))
    assert raw["refresh_token"] == tokens.refresh_token
    # Kept as the backend's secret state: the audit trail says it changed, never the tokens.
    assert "bitrix24.portal." in trail
    assert tokens.refresh_token not in trail and tokens.access_token not in trail
    assert store.load("another-portal") is None
    assert "access_token" not in repr(tokens) and tokens.access_token not in repr(tokens)


def test_expiry_refreshes_with_rotation_and_replays(cabinet, emulator, posted, clock):
    store = PortTokenStore(cabinet.sync_port("bitrix24"))
    first = installed(emulator, posted, store)
    auth = app_auth(emulator, store, clock)
    client = emulated_client(emulator, clock, auth)
    assert client.call("event.bind", {"event": "ONCRMQUOTEUPDATE", "handler": "https://c.ex/e"})
    emulator.expire_tokens()
    assert client.call("event.get")[0]["event"] == "ONCRMQUOTEUPDATE"  # replayed
    assert auth.refreshes == 1
    second = store.load(first.member_id)
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token  # rotated and stored
    assert first.refresh_token not in emulator.portal.refresh_tokens  # the old one is dead
    assert second.application_token == first.application_token
    # A fresh process picks the rotated pair up from the store.
    other = emulated_client(emulator, clock, app_auth(emulator, store, clock))
    assert other.call("profile")["ID"] == "1"


def test_threads_that_see_the_same_expiry_share_one_refresh(cabinet, emulator, posted, clock):
    store = MemoryTokenStore()
    installed(emulator, posted, store)
    auth = app_auth(emulator, store, clock)
    clients = [emulated_client(emulator, clock, auth) for _ in range(4)]
    for client in clients:
        client.call("profile")
    emulator.expire_tokens()
    errors: list[BaseException] = []

    def work(client):
        try:
            client.call("profile")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert auth.refreshes == 1  # a second refresh would have used a rotated-out token


def test_a_dead_refresh_token_surfaces_as_a_retryable_error(cabinet, emulator, posted, clock):
    store = MemoryTokenStore()
    tokens = installed(emulator, posted, store)
    emulator.portal.refresh_tokens.pop(tokens.refresh_token)
    emulator.expire_tokens()
    client = emulated_client(emulator, clock, app_auth(emulator, store, clock))
    with pytest.raises(BitrixError) as caught:
        client.call("profile")
    assert caught.value.code == "expired_token"
    assert "invalid_grant" in str(caught.value)
    assert caught.value.transient and caught.value.retry_after == 600


def test_an_app_not_installed_is_named(emulator, clock):
    client = emulated_client(emulator, clock, app_auth(emulator, MemoryTokenStore(), clock))
    with pytest.raises(AuthError, match="not installed"):
        client.call("profile")


def test_the_webhook_cannot_do_what_needs_the_app(emulator, clock):
    client = emulated_client(emulator, clock, WebhookAuth(emulator.webhook_url))
    assert client.call("profile")["ID"] == "1"
    with pytest.raises(BitrixError) as caught:
        client.call("event.bind", {"event": "ONCRMQUOTEUPDATE", "handler": "https://c.ex/e"})
    assert (caught.value.code, caught.value.status) == ("WRONG_AUTH_TYPE", 403)
    assert not caught.value.transient
    assert "secret" in repr(client.auth) and emulator.config.webhook_token not in repr(client.auth)


def test_a_webhook_with_a_wrong_secret_is_not_retried(emulator, clock):
    client = emulated_client(emulator, clock, emulator.webhook_for(1, "wrong"))
    with pytest.raises(BitrixError) as caught:
        client.call("profile")
    assert caught.value.code == "NO_AUTH_FOUND"
    assert client.retries == 0


def test_install_forms_flat_nested_and_missing():
    flat = {
        "event": "ONAPPINSTALL",
        "auth[access_token]": "a1",
        "auth[refresh_token]": "r1",
        "auth[domain]": "kancelaria.bitrix24.pl",
        "auth[member_id]": "m1",
        "auth[application_token]": "app-1",
        "auth[expires_in]": "3600",
    }
    tokens = tokens_from_install(flat, now=1000.0)
    assert tokens.client_endpoint == "https://kancelaria.bitrix24.pl/rest/"
    assert tokens.expires_at == 4600.0
    nested = tokens_from_install(
        {"auth": {k[5:-1]: v for k, v in flat.items() if k.startswith("auth[")}}, now=1000.0
    )
    assert nested == tokens
    install_post = tokens_from_install(
        {
            "AUTH_ID": "a1",
            "REFRESH_ID": "r1",
            "AUTH_EXPIRES": "3600",
            "member_id": "m1",
            "DOMAIN": "kancelaria.bitrix24.pl",
            "APPLICATION_TOKEN": "app-1",
        },
        now=1000.0,
    )
    assert install_post == tokens
    with pytest.raises(ValueError, match=r"auth\[refresh_token\]"):
        tokens_from_install(
            {"auth[access_token]": "a", "auth[member_id]": "m", "auth[domain]": "d"}
        )
    assert application_token_matches(tokens, "app-1")
    assert not application_token_matches(tokens, "app-2")


def test_the_backend_delivers_in_app_mode_from_settings(cabinet, emulator, posted, clock, document):
    installed(emulator, posted, PortTokenStore(cabinet.sync_port("bitrix24")))
    environ = {
        "CABINET_BITRIX_CLIENT_ID": emulator.app.client_id,
        "CABINET_BITRIX_CLIENT_SECRET": emulator.app.client_secret,
        "CABINET_BITRIX_MEMBER_ID": emulator.portal.member_id,
        "CABINET_BITRIX_TOKEN_URL": emulator.config.portal_url + "/oauth/token/",
        "CABINET_BITRIX_ENTITY_TYPES": "vat_invoice=1038",
    }
    assert BitrixSettings.from_env(environ).mode == "app"
    backend = compose_backend(cabinet, environ=environ, transport=emulator.transport())
    emulator.expire_tokens()
    backend.deliver(
        cabinet.sync_port("bitrix24"),
        OutboxMessage(id=1, topic="document.created", entity="document", entity_id=1),
    )
    (item,) = emulator.portal.items[1038].values()
    assert item["xmlId"] == f"cabinet-document-{document.id}"
    assert backend.client.auth.refreshes == 1
