"""One KSeF connection per client: its HTTP client, its access tokens and its online session,
kept in the worker's memory and reused while they are valid (§4.6, §5: a session lives 12 h,
an access token minutes, a refresh token 7 days).

A connection is rebuilt when its client's credentials or environment change. The references
of the sessions a client sent through are remembered in the client's state (not secret: a
reference is useless without the tokens), so a worker that crashed between sending and storing
the answer can look the invoice up there before sending it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs

from cabinet_ksef.api import AccessTokens, Credentials, OnlineSession
from cabinet_ksef.client import KsefClient
from cabinet_ksef.credentials import ClientState

#: Renew a token or session this long before KSeF's stated end, so no call races its expiry.
MARGIN = timedelta(minutes=2)
#: Open a new session when the current one has less than this left (a send and its status
#: polls fit well inside).
SESSION_MARGIN = timedelta(minutes=15)
#: How many past sessions of a client are remembered for the look-up after a crash.
REMEMBERED_SESSIONS = 8
SESSIONS_KEY = "sessions"

ClientFactory = Callable[[str], KsefClient]


@attrs.define
class Connection:
    """A client's live connection: what was authenticated, with what, where."""

    base_url: str
    fingerprint: str
    client: KsefClient
    tokens: AccessTokens | None = None
    session: OnlineSession | None = None
    #: When the session last carried an invoice (closing an idle one makes KSeF build its UPO).
    last_send: datetime | None = None


class Connections:
    """The connections of every client the worker serves (thread-safe; one per client)."""

    def __init__(
        self,
        client_factory: ClientFactory,
        state: ClientState,
        clock: Callable[[], datetime],
    ) -> None:
        self._factory = client_factory
        self._state = state
        self._clock = clock
        self._connections: dict[int, Connection] = {}
        self._lock = threading.Lock()

    def connection(self, client_id: int, base_url: str, fingerprint: str) -> Connection:
        """The client's connection to ``base_url``, made anew when the credentials
        (``fingerprint``: when they were stored) or the address changed."""
        with self._lock:
            current = self._connections.get(client_id)
            if current is None or (current.base_url, current.fingerprint) != (
                base_url,
                fingerprint,
            ):
                if current is not None:
                    current.client.close()
                current = Connection(base_url, fingerprint, self._factory(base_url))
                self._connections[client_id] = current
            return current

    def tokens(self, connection: Connection, credentials: Credentials) -> AccessTokens:
        """Valid access tokens: the cached ones, refreshed ones, or a new authentication."""
        now = self._clock()
        tokens = connection.tokens
        if tokens is not None and tokens.access_valid_until - MARGIN > now:
            return tokens
        if tokens is not None and tokens.refresh_valid_until - MARGIN > now:
            from cabinet_ksef.errors import KsefAuthError

            try:
                connection.tokens = connection.client.refresh(tokens)
                return connection.tokens
            except KsefAuthError:
                pass  # the refresh token was revoked: authenticate again
        connection.tokens = connection.client.authenticate(credentials)
        return connection.tokens

    def session(
        self, client_id: int, connection: Connection, credentials: Credentials
    ) -> tuple[AccessTokens, OnlineSession]:
        """Tokens and an open online session for sending, the current one while it lasts."""
        tokens = self.tokens(connection, credentials)
        session = connection.session
        if session is None or session.valid_until - SESSION_MARGIN <= self._clock():
            session = connection.client.open_online_session(tokens)
            connection.session = session
            self._remember(client_id, session)
        return tokens, session

    def sent(self, connection: Connection) -> None:
        """Note that the connection's session just carried an invoice."""
        connection.last_send = self._clock()

    def close_idle(self, idle: timedelta) -> list[int]:
        """Close the sessions that carried nothing for ``idle`` (KSeF then builds the session's
        UPO; the next invoice opens a new one); the clients whose session was closed. A
        session KSeF no longer knows, or an outage, just drops it from the cache."""
        from cabinet_ksef.errors import KsefError

        now = self._clock()
        with self._lock:
            idle_ones = [
                (client_id, connection)
                for client_id, connection in self._connections.items()
                if connection.session is not None
                and connection.tokens is not None
                and (connection.last_send or now) <= now - idle
            ]
        closed = []
        for client_id, connection in idle_ones:
            session, tokens = connection.session, connection.tokens
            assert session is not None and tokens is not None
            connection.session = None
            try:
                if tokens.access_valid_until - MARGIN > now:
                    connection.client.close_session(tokens, session)
                    closed.append(client_id)
            except KsefError:
                continue
        return closed

    def forget_session(self, client_id: int) -> None:
        """Drop the client's session (KSeF said it cannot take invoices any more)."""
        with self._lock:
            current = self._connections.get(client_id)
            if current is not None:
                current.session = None

    def forget(self, client_id: int) -> None:
        """Drop everything cached for the client (its tokens were refused)."""
        with self._lock:
            dropped = self._connections.pop(client_id, None)
        if dropped is not None:
            dropped.client.close()

    def session_references(self, client_id: int) -> list[str]:
        """The client's recent sessions, newest first."""
        value: Any = self._state.client_state(client_id, SESSIONS_KEY, [])
        return [str(item) for item in value] if isinstance(value, list) else []

    def _remember(self, client_id: int, session: OnlineSession) -> None:
        known = self.session_references(client_id)
        references = [session.reference_number, *known][:REMEMBERED_SESSIONS]
        self._state.set_client_state(client_id, SESSIONS_KEY, references)

    def new_client(self, base_url: str) -> KsefClient:
        """A fresh client of ``base_url`` (a probe that must not reuse a cached answer)."""
        return self._factory(base_url)

    def close(self) -> None:
        """Close every HTTP client (the worker stops)."""
        with self._lock:
            for connection in self._connections.values():
                connection.client.close()
            self._connections.clear()
