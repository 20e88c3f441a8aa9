"""One KSeF connection per client: its HTTP client, its access tokens and its online session,
kept in the worker's memory and reused while they are valid (§4.6, §5: a session lives 12 h,
an access token minutes, a refresh token 7 days).

A connection is rebuilt when its client's credentials or environment change. The references
of the sessions a client sent through are remembered in the client's state (not secret: a
reference is useless without the tokens), so a worker that crashed between sending and storing
the answer can look the invoice up there before sending it again.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

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
LAST_SEND_KEY = "session_last_send"

ClientFactory = Callable[[str], KsefClient]


class SharedSessions(Protocol):
    """Where the worker processes share each client's one online session (sealed)."""

    def session(self, client_id: int) -> OnlineSession | None: ...
    def keep_session(self, client_id: int, session: OnlineSession | None) -> None: ...


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
        shared: SharedSessions | None = None,
    ) -> None:
        self._factory = client_factory
        self._shared = shared
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
        """Tokens and an open online session for sending, the current one while it lasts.

        With ``shared`` sessions (several worker processes, each holding the client's lease
        while it sends), the session another process opened is adopted, so a client never has
        two sessions open at once; a session closed elsewhere is dropped here too."""
        tokens = self.tokens(connection, credentials)
        session = connection.session
        if self._shared is not None:
            session = self._shared.session(client_id)
        if session is None or session.valid_until - SESSION_MARGIN <= self._clock():
            session = connection.client.open_online_session(tokens)
            self._remember(client_id, session)
            if self._shared is not None:
                self._shared.keep_session(client_id, session)
        connection.session = session
        return tokens, session

    def sent(self, connection: Connection, client_id: int | None = None) -> None:
        """Note that the connection's session just carried an invoice (in the client's state
        too when the session is shared, so no other process finds it idle)."""
        connection.last_send = self._clock()
        if self._shared is not None and client_id is not None:
            # At most a write a minute per client: the idle check counts in minutes, and each
            # write is a settings change with its audit entry.
            stored = self._state.client_state(client_id, LAST_SEND_KEY)
            if not isinstance(stored, str) or datetime.fromisoformat(
                stored
            ) < connection.last_send - timedelta(minutes=1):
                self._state.set_client_state(
                    client_id, LAST_SEND_KEY, connection.last_send.isoformat()
                )

    def _last_send(self, client_id: int, connection: Connection) -> datetime | None:
        """When the client's session last carried an invoice, by any process."""
        mine = connection.last_send
        if self._shared is None:
            return mine
        value = self._state.client_state(client_id, LAST_SEND_KEY)
        theirs = datetime.fromisoformat(value) if isinstance(value, str) else None
        return max((t for t in (mine, theirs) if t is not None), default=None)

    def close_idle(
        self,
        idle: timedelta,
        lease: Callable[[int], AbstractContextManager[bool]] | None = None,
    ) -> list[int]:
        """Close the sessions that carried nothing for ``idle`` (KSeF then builds the session's
        UPO; the next invoice opens a new one); the clients whose session was closed. A
        session KSeF no longer knows, or an outage, just drops it from the cache. With
        ``lease`` (several processes), each is closed only under the client's lease and only
        while it is still the client's shared session."""
        from cabinet_ksef.errors import KsefError

        now = self._clock()
        with self._lock:
            candidates = [
                (client_id, connection)
                for client_id, connection in self._connections.items()
                if connection.session is not None and connection.tokens is not None
            ]
        closed = []
        for client_id, connection in candidates:
            if (self._last_send(client_id, connection) or now) > now - idle:
                continue
            guard = lease(client_id) if lease is not None else contextlib.nullcontext(True)
            with guard as leased:
                if not leased:
                    continue  # another process works for the client now: not idle
                session, tokens = connection.session, connection.tokens
                if session is None or tokens is None:
                    continue
                connection.session = None
                if not self.is_current(client_id, session):
                    continue  # replaced or closed by another process
                if self._shared is not None:
                    self._shared.keep_session(client_id, None)
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
        if self._shared is not None:
            self._shared.keep_session(client_id, None)

    def is_current(self, client_id: int, session: OnlineSession) -> bool:
        """Whether ``session`` is still the client's shared one (no other process replaced or
        closed it); always with no sharing."""
        if self._shared is None:
            return True
        shared = self._shared.session(client_id)
        return shared is not None and shared.reference_number == session.reference_number

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
