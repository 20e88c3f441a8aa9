"""The emulator's core: a plain Python object that answers HTTP requests the way a Bitrix24
portal does. :meth:`Emulator.transport` serves it to httpx in-process; :mod:`.app` serves it
as ASGI (``bitrix24-emulator``). Both call :meth:`Emulator.handle`.

Why a plain object behind an ``httpx.MockTransport``: the connector is synchronous httpx, and a
mock transport drives the very same request handling without an event loop or a thread, so a
test with a :class:`VirtualClock` is deterministic and instant. The Starlette layer adds only
what a socket needs (the control API, events sent after the answer).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Mapping
from email.parser import BytesParser
from typing import Any
from urllib.parse import urlencode as std_urlencode
from urllib.parse import urlsplit

import attrs
import httpx

from bitrix24_emulator import encoding
from bitrix24_emulator.clock import Clock, SystemClock
from bitrix24_emulator.errors import ApiError
from bitrix24_emulator.limits import STANDARD, LeakyBucket, OperatingLimiter, Plan
from bitrix24_emulator.methods import REGISTRY, Auth, Call, Listed, MethodSpec
from bitrix24_emulator.state import App, Binding, Delivery, Portal, Token, default_portal

#: At most this many commands in one ``batch``.
BATCH_LIMIT = 50
FAULT_KINDS = frozenset(
    {
        "down",
        "timeout",
        "slow",
        "query_limit",
        "internal_error",
        "html_error",
        "expired_token",
        "moved",
        "operation_limit",
        "dropped",
    }
)
#: The name faults give the OAuth server's token endpoint (``methods=["oauth.token"]``).
OAUTH_ENDPOINT = "oauth.token"
#: Named sets of recurring faults (``--fault-profile``, ``Emulator.apply_profile``): each
#: fault hits every ``every``-th matching request, for as long as the emulator runs.
FAULT_PROFILES: dict[str, tuple[dict[str, Any], ...]] = {
    # The portal's request bucket overflowing now and then (another app on the same IP).
    "query-limit-bursts": ({"kind": "query_limit", "every": 7},),
    # A method's operating budget used up by another process of the same app.
    "operation-limit": ({"kind": "operation_limit", "every": 9},),
    # The work is done, then the connection drops before the answer arrives.
    "dropped-after-work": ({"kind": "dropped", "every": 11, "writes": True},),
    # Access tokens that expire early (app mode).
    "expired-tokens": ({"kind": "expired_token", "every": 13},),
    # Every other token refresh is done by the OAuth server (the pair rotates), but its
    # answer never arrives.
    "lost-refresh-answers": ({"kind": "dropped", "every": 2, "methods": [OAUTH_ENDPOINT]},),
    # Slow answers: every third request takes 20 s of server time (within a client's 60 s
    # read timeout), every seventeenth 75 s (past it: the work is done, the answer comes too
    # late for the client to wait for it).
    "slow-answers": (
        {"kind": "slow", "every": 3, "seconds": 20.0},
        {"kind": "slow", "every": 17, "seconds": 75.0},
    ),
    # Plain server errors and proxy error pages.
    "server-errors": (
        {"kind": "internal_error", "every": 17},
        {"kind": "html_error", "every": 19},
    ),
}
_REFERENCE = re.compile(r"\$result\[([^\[\]]+)\]((?:\[[^\[\]]*\])*)")


@attrs.define(kw_only=True)
class EmulatorConfig:
    """How the emulated portal behaves.

    ``read_seconds``/``write_seconds`` are the simulated server time of one read or write
    command (``method_seconds`` overrides per method); ``operating_mode`` is ``"documented"``
    (a batch's commands are charged to their own methods) or ``"batch"`` (charged to
    ``batch``, as measured on one self-hosted portal, bitrix24.md §2.2).
    ``batch_seconds``, when set, is the server time of a whole ``batch`` whatever it holds
    (shared evenly by its commands), for benchmarks stated "per batch of 50".
    ``strict_user_fields`` (the default) ignores user fields that were never created, as a
    real portal does; ``False`` stores any ``ufCrm…`` field (for tests that skip creating).
    """

    portal_url: str = "https://kancelaria.bitrix24.pl"
    plan: Plan = STANDARD
    operating_limit: float = 480.0
    operating_mode: str = "documented"
    read_seconds: float = 0.0
    write_seconds: float = 0.0
    method_seconds: Mapping[str, float] = attrs.field(factory=dict)
    batch_seconds: float | None = None
    token_ttl: float = 3600.0
    refresh_ttl: float = 180 * 86400.0
    rotate_refresh_tokens: bool = True
    deliver_events_inline: bool = True
    strict_user_fields: bool = True
    webhook_token: str = attrs.field(factory=lambda: secrets.token_hex(8))
    client_id: str = attrs.field(
        factory=lambda: f"local.{secrets.token_hex(7)}.{secrets.randbelow(10**8):08d}"
    )
    client_secret: str = attrs.field(factory=lambda: secrets.token_urlsafe(30))


@attrs.define
class Fault:
    """An injected failure: ``kind`` (one of :data:`FAULT_KINDS`), for the next ``count``
    matching requests (``None``: until cleared), only for ``methods`` when given, only for
    writes when ``writes``; with ``every`` it hits every ``every``-th matching request
    instead of each one."""

    kind: str
    count: int | None = None
    methods: frozenset[str] | None = None
    seconds: float = 0.0
    location: str = ""
    every: int | None = None
    writes: bool = False
    seen: int = 0

    def applies(self, method: str | None) -> bool:
        """Whether this fault hits a request for ``method`` (the OAuth server's
        :data:`OAUTH_ENDPOINT` only when named)."""
        if self.methods is None and method == OAUTH_ENDPOINT:
            return False
        if self.methods is not None and (method is None or method not in self.methods):
            return False
        if self.writes:
            spec = REGISTRY.get(method or "")
            return spec is not None and spec.write
        return True


class TransportFault(Exception):
    """The portal cannot be reached at all (``down``) or does not answer in time."""

    def __init__(self, kind: str, seconds: float = 0.0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.seconds = seconds


@attrs.frozen
class Reply:
    """An HTTP answer."""

    status: int
    body: bytes
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def json(self) -> Any:
        """The body decoded (tests)."""
        return json.loads(self.body)


def _json_reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(
        status,
        encoding.dumps(body),
        {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def _encoded_reply(status: int, shaped: Any) -> Reply:
    return Reply(
        status, encoding.dumps_shaped(shaped), {"Content-Type": "application/json; charset=utf-8"}
    )


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "y", "yes")


class Emulator:
    """An emulated Bitrix24 portal: state, limits, auth, faults and event delivery.

    ``clock`` decides what time it is and how simulated server time passes (inject a
    :class:`~bitrix24_emulator.clock.VirtualClock` in tests); ``event_transport`` carries
    outbound events (default: the network).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        portal: Portal | None = None,
        event_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.clock: Clock = clock or SystemClock()
        self.portal = portal or default_portal()
        self.event_transport = event_transport
        self.bucket = LeakyBucket(self.config.plan)
        self.operating = OperatingLimiter(self.config.operating_limit)
        self.faults: list[Fault] = []
        #: Every REST request received: (method, webhook user id or "oauth"), for counting.
        self.requests: list[tuple[str, str]] = []
        #: How many answers of each HTTP status were given (503s and 429s say a client
        #: overran a limit).
        self.statuses: Counter[int] = Counter()
        #: Real seconds spent working on requests, summed over requests (not the simulated
        #: server time): when it nears a run's length, the emulator, not the client, set the
        #: pace.
        self.busy_seconds = 0.0
        self._pending: list[tuple[str, str, list[tuple[str, str]]]] = []
        # Three locks, never one for everything: the portal's state (methods, events,
        # tokens), the request bucket, and the faults with the counters. Parsing a request
        # and encoding its answer hold none, so requests in flight overlap (docs/bitrix24.md
        # gives the measured rate). Order when nested: state, then the others.
        self._lock = threading.RLock()
        self._bucket_lock = threading.Lock()
        self._faults_lock = threading.Lock()
        self.portal.webhooks[(1, self.config.webhook_token)] = None
        self.app = App(self.config.client_id, self.config.client_secret, secrets.token_hex(16))
        self.portal.apps[self.app.client_id] = self.app

    # --- addresses and credentials ------------------------------------------------------

    @property
    def domain(self) -> str:
        """The portal's host name (with port when not default)."""
        return urlsplit(self.config.portal_url).netloc

    @property
    def webhook_url(self) -> str:
        """The inbound webhook of user 1 (the admin)."""
        return self.webhook_for(1, self.config.webhook_token)

    def webhook_for(self, user_id: int, token: str) -> str:
        """The URL of a webhook."""
        return f"{self.config.portal_url.rstrip('/')}/rest/{user_id}/{token}/"

    def add_webhook(
        self, user_id: int = 1, token: str | None = None, *, scopes: list[str] | None = None
    ) -> str:
        """Create another inbound webhook of ``user_id`` limited to ``scopes`` (all when
        ``None``); its URL."""
        token = token or secrets.token_hex(8)
        with self._lock:
            self.portal.webhooks[(user_id, token)] = set(scopes) if scopes is not None else None
        return self.webhook_for(user_id, token)

    def _token_response(self, app: App, user_id: int) -> dict[str, Any]:
        now = self.clock.now()
        access = Token(secrets.token_hex(16), user_id, app.client_id, now + self.config.token_ttl)
        refresh = Token(
            secrets.token_hex(16), user_id, app.client_id, now + self.config.refresh_ttl
        )
        self.portal.access_tokens[access.value] = access
        self.portal.refresh_tokens[refresh.value] = refresh
        base = self.config.portal_url.rstrip("/")
        return {
            "access_token": access.value,
            "client_endpoint": f"{base}/rest/",
            "domain": self.domain,
            "expires": int(access.expires_at),
            "expires_in": int(self.config.token_ttl),
            "member_id": self.portal.member_id,
            "refresh_token": refresh.value,
            "scope": app.scope,
            "server_endpoint": f"{base}/rest/",
            "status": "L",
            "user_id": user_id,
        }

    def install_app(
        self, user_id: int = 1, *, handler: str | None = None, callback: str | None = None
    ) -> dict[str, Any]:
        """Tokens as the install callback hands them to the app (``auth[…]`` of
        ``ONAPPINSTALL``), including ``application_token``. With ``callback`` (the app's
        "initial installation path"), they are POSTed there form-encoded as ``auth[…]``
        (installation-callback.md); with ``handler``, the ``ONAPPINSTALL`` event is posted
        there, refresh token included (on-app-install.md)."""
        with self._lock:
            # The OAuth server never sends application_token (oauth/index.md); the install
            # callback and ONAPPINSTALL do.
            tokens = {
                **self._token_response(self.app, user_id),
                "application_token": self.app.application_token,
            }
            if handler:
                payload = {
                    "event": "ONAPPINSTALL",
                    "data": {"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "pl"},
                    "ts": int(self.clock.now()),
                    "auth": dict(tokens),
                }
                self._pending.append((handler, "ONAPPINSTALL", encoding.flatten(payload)))
            if callback:
                form = encoding.flatten(
                    {
                        "event": "ONAPPINSTALL",
                        "data": {"VERSION": "1", "LANGUAGE_ID": "pl"},
                        "ts": int(self.clock.now()),
                        "auth": dict(tokens),
                    }
                )
                self._pending.append((callback, "INSTALL_CALLBACK", form))
        if (handler or callback) and self.config.deliver_events_inline:
            self.deliver_events()
        return tokens

    def uninstall_app(self, handler: str | None = None, *, clean: bool = True) -> None:
        """The app is removed from the portal: ``ONAPPUNINSTALL`` goes to the handlers bound
        to it (and to ``handler``) with no tokens, only ``application_token``
        (on-app-uninstall.md); the app's tokens, bindings and placements are gone, and a
        reinstall gets a new application token."""
        with self._lock:
            base = self.config.portal_url.rstrip("/")
            payload = {
                "event": "ONAPPUNINSTALL",
                "data": {"LANGUAGE_ID": "pl", "CLEAN": 1 if clean else 0},
                "ts": int(self.clock.now()),
                "auth": {
                    "domain": self.domain,
                    "server_endpoint": f"{base}/rest/",
                    "client_endpoint": f"{base}/rest/",
                    "member_id": self.portal.member_id,
                    "application_token": self.app.application_token,
                },
            }
            targets = [
                b.handler
                for b in self.portal.bindings
                if b.event == "ONAPPUNINSTALL" and b.client_id == self.app.client_id
            ]
            if handler and handler not in targets:
                targets.append(handler)
            for target in targets:
                self._pending.append((target, "ONAPPUNINSTALL", encoding.flatten(payload)))
            client = self.app.client_id
            for store in (self.portal.access_tokens, self.portal.refresh_tokens):
                for value in [v for v, t in store.items() if t.client_id == client]:
                    del store[value]
            self.portal.bindings[:] = [b for b in self.portal.bindings if b.client_id != client]
            self.portal.placements.clear()
            self.app.application_token = secrets.token_hex(16)
        if self.config.deliver_events_inline:
            self.deliver_events()

    def add_outgoing_webhook(self, event: str, handler: str) -> str:
        """An outgoing webhook (made in the portal's UI, no app): ``event`` is posted to
        ``handler`` with only the portal's data and the webhook's own application token in
        ``auth`` (bitrix24.md §6.2); that token, as the UI shows it."""
        token = secrets.token_hex(16)
        with self._lock:
            self.portal.bindings.append(
                Binding(
                    self.portal.next_id("binding"),
                    event.upper(),
                    handler,
                    None,
                    application_token=token,
                )
            )
        return token

    def open_placement(
        self,
        placement: str,
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int = 1,
        handler: str | None = None,
    ) -> Delivery:
        """A user opens the app in ``placement`` (e.g. ``CRM_QUOTE_DETAIL_TAB`` with
        ``{"ID": "7"}``): the portal POSTs :meth:`placement_form` to the handler bound with
        ``placement.bind`` (or ``handler``), ``DOMAIN``, ``PROTOCOL``, ``LANG`` and
        ``APP_SID`` in the query string (simple-way.md); what the app answered."""
        if handler is None:
            bound = [p for p in self.portal.placements if p["placement"] == placement.upper()]
            if not bound:
                raise ValueError(f"no handler is bound to placement {placement!r}")
            handler = str(bound[-1]["handler"])
        form = self.placement_form(placement.upper(), options, user_id=user_id)
        query = {k: form.pop(k) for k in ("DOMAIN", "PROTOCOL", "LANG", "APP_SID")}
        url = handler + ("&" if "?" in handler else "?") + std_urlencode(query)
        with httpx.Client(transport=self.event_transport, timeout=10.0) as http:
            delivery = Delivery(url, "PLACEMENT", list(form.items()))
            try:
                response = http.post(url, data=form)
                delivery.status = response.status_code
            except httpx.HTTPError as exc:
                delivery.error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.portal.deliveries.append(delivery)
        return delivery

    def placement_form(
        self,
        placement: str = "DEFAULT",
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int = 1,
    ) -> dict[str, str]:
        """The form the portal POSTs to an app page opened in a placement for ``user_id``
        (``AUTH_ID`` is an access token of that user; bitrix24.md §1.5)."""
        with self._lock:
            tokens = self._token_response(self.app, user_id)
        return {
            "DOMAIN": self.domain,
            "PROTOCOL": "1" if self.config.portal_url.startswith("https") else "0",
            "LANG": "pl",
            "APP_SID": secrets.token_hex(16),
            "AUTH_ID": tokens["access_token"],
            "AUTH_EXPIRES": str(tokens["expires_in"]),
            "REFRESH_ID": tokens["refresh_token"],
            "SERVER_ENDPOINT": tokens["server_endpoint"],
            "APPLICATION_TOKEN": self.app.application_token,
            "APPLICATION_SCOPE": self.app.scope,
            "member_id": self.portal.member_id,
            "status": "L",
            "PLACEMENT": placement,
            "PLACEMENT_OPTIONS": json.dumps(dict(options or {})),
        }

    def expire_tokens(self) -> None:
        """Make every issued access token expired (the next call answers ``expired_token``)."""
        with self._lock:
            for token in self.portal.access_tokens.values():
                token.expires_at = min(token.expires_at, self.clock.now() - 1)

    # --- faults -------------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        count: int | None = None,
        *,
        methods: list[str] | None = None,
        seconds: float = 0.0,
        location: str = "",
        every: int | None = None,
        writes: bool = False,
    ) -> Fault:
        """Add a fault: ``down`` (connection refused), ``timeout`` (no answer within
        ``seconds``), ``slow`` (``seconds`` more server time), ``query_limit`` (503),
        ``operation_limit`` (429 ``OPERATION_TIME_LIMIT``, as when another process of the
        same app used the method's budget), ``internal_error`` (500 JSON), ``html_error``
        (500 HTML page), ``expired_token`` (401 for app calls), ``moved`` (302 to
        ``location``), ``dropped`` (the request is carried out, then the connection drops
        before the answer: the client cannot know the work was done)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULT_KINDS)}")
        if every is not None and every < 1:
            raise ValueError("every must be at least 1")
        fault = Fault(
            kind,
            count,
            frozenset(m.lower() for m in methods) if methods else None,
            seconds,
            location,
            every,
            writes,
        )
        with self._faults_lock:
            self.faults.append(fault)
        return fault

    def spend_operating(
        self, method: str, seconds: float, *, credential: str = "app", user_id: int = 1
    ) -> float:
        """Another process of the same app (``credential="app"``) or of the same webhook
        (``"webhook"``) uses ``seconds`` of ``method``'s operating budget now, as the
        documented accounting counts it (ten one-minute baskets); the method is refused with
        429 once the sum passes the limit, until the oldest basket expires. The sum after."""
        if credential == "app":
            key = f"app:{self.app.client_id}"
        elif credential == "webhook":
            key = f"webhook:{user_id}:{self.config.webhook_token}"
        else:
            key = credential
        now = self.clock.now()
        with self._lock:
            self.operating.record((key, method.lower()), now, seconds)
            return self.operating.operating((key, method.lower()), now)

    def apply_profile(self, name: str) -> list[Fault]:
        """Inject the recurring faults of profile ``name`` (:data:`FAULT_PROFILES`)."""
        if name not in FAULT_PROFILES:
            raise ValueError(f"unknown fault profile {name!r}; one of {sorted(FAULT_PROFILES)}")
        return [self.inject(**spec) for spec in FAULT_PROFILES[name]]

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        with self._faults_lock:
            self.faults.clear()

    def _take_fault(
        self, method: str | None, kinds: set[str], auth_kind: str | None = None
    ) -> Fault | None:
        with self._faults_lock:
            for fault in self.faults:
                if fault.kind not in kinds or not fault.applies(method):
                    continue
                if fault.kind == "expired_token" and auth_kind != "oauth":
                    continue
                if fault.every is not None:
                    fault.seen += 1
                    if fault.seen % fault.every:
                        continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # --- events -------------------------------------------------------------------------

    def queue_event(self, event: str, data: Mapping[str, Any], auth: Auth) -> None:
        """Prepare ``event`` for every handler bound to it (sent by :meth:`deliver_events`)."""
        now = self.clock.now()
        for binding in self.portal.bindings:
            if binding.event != event.upper():
                continue
            if binding.offline:
                self._queue_offline(binding.event, data, auth, now)
                continue
            base = self.config.portal_url.rstrip("/")
            auth_block: dict[str, Any] = {
                "domain": self.domain,
                "client_endpoint": f"{base}/rest/",
                "server_endpoint": f"{base}/rest/",
                "member_id": self.portal.member_id,
            }
            app = self.portal.apps.get(binding.client_id or "")
            if app is not None and auth.user_id in self.portal.users:
                tokens = self._token_response(app, auth.user_id)
                auth_block.update(
                    {
                        "access_token": tokens["access_token"],
                        "expires": tokens["expires"],
                        "expires_in": tokens["expires_in"],
                        "scope": app.scope,
                        "status": "L",
                        "user_id": auth.user_id,
                    }
                )
            auth_block["application_token"] = binding.application_token
            payload = {
                "event": binding.event,
                "event_handler_id": binding.id,
                "data": data,
                "ts": int(now),
                "auth": auth_block,
            }
            self._pending.append((binding.handler, binding.event, encoding.flatten(payload)))

    def _queue_offline(self, event: str, data: Mapping[str, Any], auth: Auth, now: float) -> None:
        # The offline queue keeps only the latest state per object (bitrix24.md §6.3).
        fields = data.get("FIELDS", {}) if isinstance(data, Mapping) else {}
        key = (event, str(fields.get("ID", fields.get("POST_ID", ""))))
        queue = self.portal.offline_events
        queue[:] = [e for e in queue if (e["EVENT_NAME"], e["_object"]) != key or e["_process"]]
        queue.append(
            {
                "ID": str(self.portal.next_id("offline-event")),
                "TIMESTAMP_X": self.portal.iso(now),
                "EVENT_NAME": event,
                "EVENT_DATA": dict(data),
                "EVENT_ADDITIONAL": {"user_id": auth.user_id},
                "MESSAGE_ID": secrets.token_hex(16),
                "_object": key[1],
                "_process": None,
            }
        )

    def deliver_events(self) -> list[Delivery]:
        """POST every queued event once, form-encoded; failures are recorded, never retried."""
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return []  # most answers fire nothing: no HTTP client to build (it costs ~0.1 s)
        done = []
        with httpx.Client(transport=self.event_transport, timeout=10.0) as http:
            for url, event, form in pending:
                delivery = Delivery(url, event, form)
                try:
                    response = http.post(
                        url,
                        content=std_urlencode(form),
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                    )
                    delivery.status = response.status_code
                except httpx.HTTPError as exc:
                    delivery.error = f"{type(exc).__name__}: {exc}"
                done.append(delivery)
        with self._lock:
            self.portal.deliveries.extend(done)
        return done

    # --- staff actions (what people do in the portal's UI) ------------------------------

    def act(self, method: str, params: Mapping[str, Any], *, user_id: int = 1) -> Any:
        """Run a method as staff working in the portal: no limits, no faults, events fire
        (e.g. ``act("crm.item.update", {...stageId...})`` moves a document to a stage)."""
        spec = REGISTRY[method.lower()]
        auth = Auth("ui", user_id, f"ui:{user_id}")
        with self._lock:
            call = Call(self, self.portal, dict(params), auth, self.clock.now(), spec.name)
            result = spec.handler(call)
        if self.config.deliver_events_inline:
            self.deliver_events()
        return result.result if isinstance(result, Listed) else result

    def operator_reply(
        self, connector: str, line: str, chat_id: str, text: str, *, user_id: int = 1
    ) -> int:
        """A manager answers in Open Lines: the message is stored and
        ``ONIMCONNECTORMESSAGEADD`` goes to the app's handler; the message id."""
        with self._lock:
            session = self.portal.sessions.get((connector.lower(), str(line), str(chat_id)))
            if session is None:
                raise KeyError(f"no Open Lines session for chat {chat_id!r}")
            message_id = self.portal.next_id("message", start=34000)
            self.portal.messages.append(
                {
                    "id": message_id,
                    "dialog_id": f"chat{session['CHAT_ID']}",
                    "chat": int(session["CHAT_ID"]),
                    "uuid": secrets.token_hex(16),
                    "author_id": user_id,
                    "text": text,
                    "date": self.portal.iso(self.clock.now()),
                }
            )
            data = {
                "CONNECTOR": connector.lower(),
                "LINE": int(line),
                "MESSAGES": [
                    {
                        "im": {"chat_id": int(session["CHAT_ID"]), "message_id": message_id},
                        "message": {"user_id": user_id, "text": text},
                        "chat": {"id": str(chat_id)},
                    }
                ],
            }
            self.queue_event("ONIMCONNECTORMESSAGEADD", data, Auth("ui", user_id, f"ui:{user_id}"))
        if self.config.deliver_events_inline:
            self.deliver_events()
        return message_id

    # --- HTTP ---------------------------------------------------------------------------

    def handle(
        self,
        http_method: str,
        path: str,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Reply:
        """Answer one HTTP request; simulated server time passes on the clock before the
        answer. Raises :class:`TransportFault` for ``down``/``timeout`` faults, and for
        ``dropped`` once the work is done. Safe to call from many threads at once."""
        reply, seconds, dropped = self.respond(http_method, path, query, headers, body)
        if seconds > 0:
            self.clock.sleep(seconds)
        if dropped:
            raise TransportFault("dropped")
        return reply

    def respond(
        self,
        http_method: str,
        path: str,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> tuple[Reply, float, bool]:
        """:meth:`handle` without the waiting: the answer, the simulated server time still to
        pass before it is sent, and whether the connection then drops (the served app waits
        without holding a thread). Raises :class:`TransportFault` for ``down``/``timeout``."""
        began = time.perf_counter()
        reply, seconds, dropped = self._handle(http_method, path, query, headers or {}, body)
        with self._faults_lock:
            self.statuses[reply.status] += 1
            self.busy_seconds += time.perf_counter() - began
        return reply, seconds, dropped

    def transport(self) -> httpx.MockTransport:
        """An httpx transport (sync and async) answering from this emulator in-process.
        Events are delivered after each answer when ``deliver_events_inline`` is set."""

        def handler(request: httpx.Request) -> httpx.Response:
            try:
                reply = self.handle(
                    request.method,
                    request.url.path,
                    request.url.query.decode(),
                    dict(request.headers),
                    request.content,
                )
            except TransportFault as fault:
                if fault.kind == "down":
                    raise httpx.ConnectError(
                        "connection refused (emulated)", request=request
                    ) from None
                if fault.kind == "dropped":
                    if self.config.deliver_events_inline and self._pending:
                        self.deliver_events()  # the work was done: its events go out
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response (emulated).",
                        request=request,
                    ) from None
                self.clock.sleep(fault.seconds)
                raise httpx.ReadTimeout("timed out (emulated)", request=request) from None
            if self.config.deliver_events_inline and self._pending:
                self.deliver_events()
            return httpx.Response(reply.status, headers=dict(reply.headers), content=reply.body)

        return httpx.MockTransport(handler)

    def asgi(self) -> Any:
        """The Starlette application serving this emulator (see :mod:`.app`)."""
        from bitrix24_emulator.app import create_app

        return create_app(self)

    def _params(self, query: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        params = encoding.parse_query(query)
        content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if not body.strip():
            return params
        if "json" in content_type or body.lstrip()[:1] in (b"{", b"["):
            try:
                decoded = json.loads(body)
            except ValueError:
                raise ApiError("INVALID_REQUEST", "Invalid JSON body") from None
            if isinstance(decoded, Mapping):
                params.update(decoded)
            return params
        if content_type.startswith("multipart/"):
            message = BytesParser().parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            pairs = []
            for part in message.walk():
                name = part.get_param("name", header="content-disposition")
                if name:
                    payload = part.get_payload(decode=True)
                    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
                    pairs.append((str(name), text))
            params.update(encoding.parse_pairs(pairs))
            return params
        params.update(encoding.parse_query(body.decode("utf-8", "replace")))
        return params

    def _handle(
        self, http_method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Reply, float, bool]:
        now = self.clock.now()
        parts = [p for p in path.split("/") if p]
        try:
            params = self._params(query, headers, body)
        except ApiError as exc:
            return _json_reply(exc.status, exc.body()), 0.0, False
        if parts[:2] == ["oauth", "token"]:
            # The OAuth server takes only faults that name it (methods=["oauth.token"]): a
            # refresh lost on the way back leaves the pair rotated and the client unaware.
            for kind in ("down", "timeout"):
                fault = self._take_fault(OAUTH_ENDPOINT, {kind})
                if fault is not None:
                    raise TransportFault(kind, fault.seconds or 60.0)
            fault = self._take_fault(OAUTH_ENDPOINT, {"html_error", "internal_error"})
            if fault is not None:
                return self._fault_reply(fault, path, query), 0.0, False
            dropped = self._take_fault(OAUTH_ENDPOINT, {"dropped"}) is not None
            with self._lock:
                return self._oauth_token(params), 0.0, dropped
        if parts[:2] == ["oauth", "authorize"]:
            with self._lock:
                return self._oauth_authorize(params), 0.0, False
        if not parts or parts[0] != "rest" or len(parts) not in (2, 4):
            return (
                _json_reply(
                    404,
                    {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"},
                ),
                0.0,
                False,
            )
        name = parts[-1].lower().removesuffix(".json")
        self.requests.append((name, parts[1] if len(parts) == 4 else "oauth"))
        for kind in ("down", "timeout"):
            fault = self._take_fault(name, {kind})
            if fault is not None:
                raise TransportFault(kind, fault.seconds or 60.0)
        fault = self._take_fault(name, {"moved", "html_error", "internal_error", "query_limit"})
        if fault is not None:
            return self._fault_reply(fault, path, query), 0.0, False
        with self._bucket_lock:
            taken = self.bucket.try_take(now)
        if not taken:
            return (
                _json_reply(
                    503,
                    {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
                ),
                0.0,
                False,
            )
        dropped = self._take_fault(name, {"dropped"}) is not None
        shaped, seconds, status = self._answer(name, parts, params, now)
        # Encoding, the costliest part of an answer, happens outside every lock.
        return _encoded_reply(status, shaped), seconds, dropped

    def _answer(
        self, name: str, parts: list[str], params: Mapping[str, Any], now: float
    ) -> tuple[Any, float, int]:
        """Run the method under the state lock: the PHP-shaped answer (a copy that later
        changes of the portal cannot touch), the simulated server time, the HTTP status."""
        with self._lock:
            try:
                auth = self._authenticate(parts, params, now, name)
                if self._take_fault(name, {"operation_limit"}) is not None:
                    raise ApiError(
                        "OPERATION_TIME_LIMIT",
                        "Method is blocked due to operation time limit.",
                        status=429,
                    )
                slow = self._take_fault(name, {"slow"})
                extra = slow.seconds if slow else 0.0
                if name == "batch":
                    body_out, seconds = self._batch(params, auth, now, extra)
                    return encoding.php_shape(body_out), seconds, 200
                spec = REGISTRY.get(name)
                if spec is None:
                    raise ApiError("ERROR_METHOD_NOT_FOUND", "Method not found!", status=404)
                self._check_context(spec, auth)
                result, timing, seconds = self._run(spec, params, auth, now, extra)
            except ApiError as exc:
                return encoding.php_shape(exc.body()), 0.0, exc.status
            envelope: dict[str, Any] = {}
            if isinstance(result, Listed):
                envelope["result"] = result.result
                if result.total is not None:
                    envelope["total"] = result.total
                if result.next is not None:
                    envelope["next"] = result.next
            else:
                envelope["result"] = result
            envelope["time"] = timing
            return encoding.php_shape(envelope), seconds, 200

    def _fault_reply(self, fault: Fault, path: str, query: str) -> Reply:
        if fault.kind == "moved":
            target = fault.location.rstrip("/") + path + (f"?{query}" if query else "")
            return Reply(302, b"", {"Location": target, "Content-Type": "text/html"})
        if fault.kind == "html_error":
            page = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
            return Reply(500, page, {"Content-Type": "text/html; charset=utf-8"})
        if fault.kind == "internal_error":
            return _json_reply(
                500,
                {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"},
            )
        return _json_reply(
            503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        )

    def _authenticate(
        self, parts: list[str], params: Mapping[str, Any], now: float, name: str
    ) -> Auth:
        if len(parts) == 4:
            user_id, token = parts[1], parts[2]
            key = (int(user_id), token) if user_id.isdigit() else None
            if key is None or key not in self.portal.webhooks:
                raise ApiError("NO_AUTH_FOUND", "Wrong authorization data", status=401)
            auth = Auth("webhook", key[0], f"webhook:{key[0]}:{token}")
            scopes = self.portal.webhooks[key]
            needed = scope_of(name)
            if scopes is not None and needed is not None and needed not in scopes:
                raise ApiError(
                    "insufficient_scope",
                    "The request requires higher privileges than provided by the webhook token",
                    status=403,
                )
            return auth
        value = params.get("auth")
        if not value:
            raise ApiError("NO_AUTH_FOUND", "Wrong authorization data", status=401)
        access = self.portal.access_tokens.get(str(value))
        if access is None:
            raise ApiError("invalid_token", "Unable to get application by token", status=401)
        if access.expires_at <= now or self._take_fault(name, {"expired_token"}, "oauth"):
            raise ApiError("expired_token", "The access token provided has expired.", status=401)
        app = self.portal.apps[access.client_id]
        return Auth("oauth", access.user_id, f"app:{app.client_id}", app, access.value)

    @staticmethod
    def _check_context(spec: MethodSpec, auth: Auth) -> None:
        if spec.app_only and auth.kind == "webhook":
            raise ApiError(
                "WRONG_AUTH_TYPE",
                "Current authorization type is denied for this method",
                status=403,
            )

    def server_seconds(self, spec: MethodSpec) -> float:
        """Simulated server time of one call of ``spec``."""
        if spec.name in self.config.method_seconds:
            return self.config.method_seconds[spec.name]
        return self.config.write_seconds if spec.write else self.config.read_seconds

    def _run(
        self,
        spec: MethodSpec,
        params: Mapping[str, Any],
        auth: Auth,
        start: float,
        extra: float = 0.0,
        *,
        account: bool = True,
        seconds: float | None = None,
    ) -> tuple[Any, dict[str, Any], float]:
        key = (auth.credential, spec.name.lower())
        if self.operating.blocked(key, start):
            raise ApiError(
                "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", status=429
            )
        seconds = (self.server_seconds(spec) if seconds is None else seconds) + extra
        call = Call(self, self.portal, params, auth, start, spec.name)
        try:
            result = spec.handler(call)
        finally:
            if account:
                self.operating.record(key, start, seconds)
        return result, self.timing(start, seconds, key), seconds

    def timing(self, start: float, seconds: float, key: tuple[str, str]) -> dict[str, Any]:
        """The ``time`` object of an answer (cloud extras included)."""
        return {
            "start": start,
            "finish": start + seconds,
            "duration": seconds,
            "processing": seconds,
            "date_start": self.portal.iso(start),
            "date_finish": self.portal.iso(start + seconds),
            "operating_reset_at": int(self.operating.reset_at(key, start)),
            "operating": self.operating.operating(key, start),
        }

    # --- batch --------------------------------------------------------------------------

    def _batch(
        self, params: Mapping[str, Any], auth: Auth, start: float, extra: float
    ) -> tuple[dict[str, Any], float]:
        commands = params.get("cmd") or {}
        if isinstance(commands, list):
            commands = {str(n): c for n, c in enumerate(commands)}
        if not isinstance(commands, Mapping):
            raise ApiError("INVALID_ARG_VALUE", "Parameter 'cmd' must be an object")
        if len(commands) > BATCH_LIMIT:
            raise ApiError("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
        halt = _truthy(params.get("halt", 0))
        per_command = self.config.operating_mode == "documented"
        results: dict[str, Any] = {}
        raw: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        totals: dict[str, Any] = {}
        nexts: dict[str, Any] = {}
        times: dict[str, Any] = {}
        clock = start + extra
        for key, command in commands.items():
            try:
                name, query = ([*str(command).split("?", 1), ""])[:2]
                name = name.strip().lower().removesuffix(".json")
                spec = REGISTRY.get(name)
                if name == "batch" or (spec is not None and not spec.batchable):
                    raise ApiError(
                        "ERROR_BATCH_METHOD_NOT_ALLOWED",
                        "Method is not allowed for batch usage",
                        status=405,
                    )
                if spec is None:
                    raise ApiError("ERROR_METHOD_NOT_FOUND", "Method not found!", status=404)
                self._check_context(spec, auth)
                sub_params = _substitute(encoding.parse_query(query), raw)
                if auth.access_token:
                    sub_params.setdefault("auth", auth.access_token)
                share = (
                    self.config.batch_seconds / len(commands)
                    if self.config.batch_seconds is not None
                    else None
                )
                result, timing, seconds = self._run(
                    spec, sub_params, auth, clock, account=per_command, seconds=share
                )
            except ApiError as exc:
                errors[str(key)] = {"error": exc.code, "error_description": exc.description}
                if halt:
                    break
                continue
            clock += seconds
            if isinstance(result, Listed):
                raw[str(key)] = result.result
                if result.total is not None:
                    totals[str(key)] = result.total
                if result.next is not None:
                    nexts[str(key)] = result.next
            else:
                raw[str(key)] = result
            results[str(key)] = raw[str(key)]
            times[str(key)] = timing
        seconds = clock - start
        batch_key = (auth.credential, "batch")
        if not per_command:
            self.operating.record(batch_key, start, seconds)
        body = {
            "result": {
                "result": results,
                "result_error": errors,
                "result_total": totals,
                "result_next": nexts,
                "result_time": times,
            },
            "time": self.timing(start, seconds, batch_key),
        }
        return body, seconds

    # --- OAuth server -------------------------------------------------------------------

    def _oauth_token(self, params: Mapping[str, Any]) -> Reply:
        app = self.portal.apps.get(str(params.get("client_id", "")))
        if app is None or params.get("client_secret") != app.client_secret:
            return _json_reply(
                401, {"error": "invalid_client", "error_description": "Invalid client credentials"}
            )
        grant = params.get("grant_type")
        now = self.clock.now()
        if grant == "refresh_token":
            token = self.portal.refresh_tokens.get(str(params.get("refresh_token", "")))
            if token is None or token.expires_at <= now or token.client_id != app.client_id:
                return _json_reply(
                    400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
                )
            if self.config.rotate_refresh_tokens:
                del self.portal.refresh_tokens[token.value]
            return _json_reply(200, self._token_response(app, token.user_id))
        if grant == "authorization_code":
            code = self.portal.auth_codes.pop(str(params.get("code", "")), None)
            if code is None or code.expires_at <= now:
                return _json_reply(
                    400,
                    {"error": "invalid_grant", "error_description": "Invalid authorization code"},
                )
            return _json_reply(200, self._token_response(app, code.user_id))
        return _json_reply(
            400, {"error": "invalid_request", "error_description": "Unsupported grant_type"}
        )

    def _oauth_authorize(self, params: Mapping[str, Any]) -> Reply:
        app = self.portal.apps.get(str(params.get("client_id", "")))
        if app is None:
            return _json_reply(
                400, {"error": "invalid_client", "error_description": "Unknown client_id"}
            )
        code = Token(secrets.token_hex(12), 1, app.client_id, self.clock.now() + 30)
        self.portal.auth_codes[code.value] = code
        answer = {
            "code": code.value,
            "state": params.get("state", ""),
            "domain": self.domain,
            "member_id": self.portal.member_id,
            "scope": app.scope,
            "server_domain": self.domain,
        }
        if app.redirect_uri:
            return Reply(302, b"", {"Location": f"{app.redirect_uri}?{std_urlencode(answer)}"})
        return _json_reply(200, answer)


#: The scope a method family needs; families absent here need none (``batch``, ``profile``…).
_SCOPES = {
    "crm": "crm",
    "userfieldconfig": "crm",
    "catalog": "catalog",
    "user": "user",
    "im": "im",
    "imconnector": "imconnector",
    "imopenlines": "imopenlines",
    "log": "log",
    "sonet_group": "sonet_group",
    "placement": "placement",
}


def scope_of(method: str) -> str | None:
    """The scope a webhook must have to call ``method``."""
    return _SCOPES.get(method.split(".", 1)[0])


def _resolve(raw: Mapping[str, Any], name: str, path: str) -> Any:
    value: Any = raw.get(name)
    for part in re.findall(r"\[([^\[\]]*)\]", path):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return None
    return value


def _substitute(value: Any, raw: Mapping[str, Any]) -> Any:
    """Replace ``$result[cmd][path…]`` references with earlier results. An unresolved
    reference becomes empty (undocumented, bitrix24.md §10)."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _resolve(raw, whole.group(1), whole.group(2))

        def text(match: re.Match[str]) -> str:
            found = _resolve(raw, match.group(1), match.group(2))
            return "" if found is None or isinstance(found, Mapping | list) else str(found)

        return _REFERENCE.sub(text, value)
    if isinstance(value, Mapping):
        return {k: _substitute(v, raw) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, raw) for v in value]
    return value
