"""A token refresh whose answer was lost (bitrix24.md §1.5, §9.3): the OAuth server rotated
the pair, the app never saw the new one. Where the portal still takes the old refresh token
the next try recovers; where it does not, the backend enters a clear "reinstall the app" state
(settings page, health), deliveries pause without spending attempts or sending requests, and
after the reinstall every waiting message is delivered. Outages of the OAuth server go through
the client's retries like any other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from backlog import BacklogRig, assert_in_crm_exactly_once
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from cabinet_bitrix.auth import (
    MemoryTokenStore,
    OAuthAuth,
    PortTokenStore,
    install,
    reinstall_needed,
)
from cabinet_bitrix.client import BitrixError, RetryPolicy
from emulated import emulated_client


class DroppedRefresh(httpx.BaseTransport):
    """The OAuth server does the refresh, then the connection drops before its answer
    arrives, for the next ``drop`` refreshes; ``down`` refuses every refresh outright."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.drop = 0
        self.down = 0
        self.refreshes = 0
        self.portal_calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/oauth/token/" not in request.url.path:
            self.portal_calls += 1
            return self.inner.handle_request(request)
        self.refreshes += 1
        if self.down > 0:
            self.down -= 1
            raise httpx.ConnectError("the OAuth server is unreachable", request=request)
        response = self.inner.handle_request(request)
        if self.drop > 0:
            self.drop -= 1
            response.close()
            raise httpx.ReadTimeout("the refresh answer was lost", request=request)
        return response


def app_client(emulator: Emulator, clock: VirtualClock, keeper: Any, transport: DroppedRefresh):
    auth = OAuthAuth(
        keeper,
        emulator.portal.member_id,
        client_id=emulator.app.client_id,
        client_secret=emulator.app.client_secret,
        token_url=emulator.config.portal_url + "/oauth/token/",
        clock=clock.now,
    )
    return emulated_client(
        emulator, clock, auth, retry=RetryPolicy(attempts=4, max_wait=120), transport=transport
    )


def test_a_lost_answer_is_recovered_where_the_old_refresh_token_still_works():
    clock = VirtualClock()
    emulator = Emulator(EmulatorConfig(rotate_refresh_tokens=False), clock=clock)
    keeper = MemoryTokenStore()
    install(keeper, {"auth": emulator.install_app()}, now=clock.now())
    transport = DroppedRefresh(emulator.transport())
    client = app_client(emulator, clock, keeper, transport)
    emulator.expire_tokens()
    transport.drop = 1
    assert str(client.call("profile")["ID"]) == "1"
    # The first refresh's answer was lost; the second, with the same (old) refresh token,
    # was taken by the portal.
    assert transport.refreshes == 2 and client.auth.refreshes == 1  # type: ignore[attr-defined]
    assert keeper.reinstall_reason(emulator.portal.member_id) is None


def test_an_unreachable_oauth_server_is_retried_by_the_client():
    clock = VirtualClock()
    emulator = Emulator(clock=clock)
    keeper = MemoryTokenStore()
    install(keeper, {"auth": emulator.install_app()}, now=clock.now())
    transport = DroppedRefresh(emulator.transport())
    client = app_client(emulator, clock, keeper, transport)
    emulator.expire_tokens()
    transport.down = 2
    start = clock.now()
    assert str(client.call("profile")["ID"]) == "1"
    assert transport.refreshes == 3 and clock.now() > start  # backed off between tries
    # Down for longer than the policy: a transient error, not a crash or a reinstall.
    emulator.expire_tokens()
    transport.down = 10
    with pytest.raises(BitrixError) as caught:
        client.call("profile")
    assert caught.value.transient and not caught.value.reinstall
    assert keeper.reinstall_reason(emulator.portal.member_id) is None


def test_a_rotated_pair_whose_answer_was_lost_pauses_deliveries_until_reinstalled(
    tmp_path: Path,
):
    # The kit's backlog: 20 invoices for the app's backend (the documented portal rotates
    # refresh tokens), its pair kept in the backend's port as the install callback saves it.
    with BacklogRig(
        tmp_path,
        documents=20,
        rows=1,
        backend_name="bitrix24",
        with_plugin=False,
        app_mode=True,
        retry=RetryPolicy(attempts=4, max_wait=120),
        worker_max_attempts=3,
        seed=2,
        transport=DroppedRefresh,
    ) as rig:
        cabinet, clock, emulator, worker = rig.cabinet, rig.clock, rig.emulator, rig.worker
        ids = rig.document_ids
        (backend,) = cabinet.crm_backends()
        port = cabinet.sync_port("bitrix24")
        transport = rig.transport
        emulator.expire_tokens()
        transport.drop = 1
        assert worker.run_once() == 20
        # The lost answer's retry met invalid_grant: a clear state, nothing failed or charged.
        state = reinstall_needed(port)
        assert state is not None and state["error"] == "invalid_grant"
        pending = cabinet.store.list_outbox(status="pending", limit=100)
        assert len(pending) == 20 and all(m.attempts == 0 for m in pending)
        assert "reinstall" in (pending[0].last_error or ""), pending[0].last_error
        # Paused: many turns later nothing failed, and not one request reached the portal.
        calls = transport.portal_calls
        for _ in range(10):
            clock.advance(3600)
            worker.run_once()
        assert transport.portal_calls == calls
        assert cabinet.store.list_outbox(status="failed") == []
        from cabinet_bitrix.web import settings_overview

        assert settings_overview(cabinet)["health"] == "reinstall"
        # An admin reinstalls the app: the install callback saves a new pair.
        install(PortTokenStore(port), {"auth": emulator.install_app()}, now=clock.now())
        assert reinstall_needed(port) is None
        clock.advance(600)
        for _ in range(5):
            if not worker.run_once():
                break
        assert cabinet.store.list_outbox(status="pending") == []
        delivered = cabinet.store.list_outbox(status="delivered", limit=100)
        assert len(delivered) == 20 and all(m.attempts == 1 for m in delivered)
        assert_in_crm_exactly_once(emulator, ids, rows=1)
        # The worker's client took the new pair from the state: no refresh needed.
        assert backend.client.auth.refreshes == 0  # type: ignore[attr-defined]
