"""The two ways the connector reaches a portal (bitrix24.md §0.1, §1.1, §1.5).

* **Inbound webhook** (:class:`WebhookAuth`): ``https://PORTAL/rest/{user_id}/{code}/`` carries
  its own permanent credentials and runs as the user who created it. Enough for pushing
  documents, parties and products, for reading the feed, and for ``im.message.add`` chat.
* **OAuth application** (:class:`OAuthAuth`), a local or marketplace server app: calls go to
  ``client_endpoint`` + method with ``auth=ACCESS_TOKEN``; the access token lives an hour, the
  refresh token 180 days, and a refresh *rotates* the pair. Needed for everything that runs
  "in the context of an application": event subscriptions (``event.bind``, so staff changes
  come back at once rather than by periodic reconciliation), placements (``placement.bind``,
  staff opening the cabinet from a CRM card) and the Open Lines connector (``imconnector.*``,
  the client–manager chat in the contact centre). A webhook calling these gets
  ``403 WRONG_AUTH_TYPE``.

The app's tokens arrive with the install callback (``ONAPPINSTALL`` or the install POST,
``auth[access_token]``, ``auth[refresh_token]``, ``auth[member_id]``,
``auth[application_token]``…; :func:`tokens_from_install`) and are kept per portal in a
:class:`TokenStore` — :class:`PortTokenStore` keeps them as the backend's secret state
(``portal.<member_id>``, never written into the audit trail). The docs say not to refresh on
a timer but on ``401 expired_token`` and then replay the call; :meth:`OAuthAuth.refresh` does
that once for all threads that saw the same expired token, because a second refresh with the
rotated-out refresh token would fail with ``invalid_grant``.

A refresh whose answer was lost (:class:`RefreshUnanswered`) is tried again with the same,
old refresh token, which a portal that keeps it for a while still takes. One refused for good
(:class:`ReinstallRequired`) is recorded in the backend's state (``reinstall``, shown on the
settings page and by its health); calls then fail at once, without a request, until new
tokens are saved (a reinstall: :meth:`PortTokenStore.save` ends the state).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import httpx

if TYPE_CHECKING:
    from cabinet_core.sync import SyncPort

#: The OAuth server of the cloud (b24pysdk uses oauth.bitrix24.tech; both answer).
DEFAULT_TOKEN_URL = "https://oauth.bitrix.info/oauth/token/"  # noqa: S105 (a URL)
#: The backend's state key of a portal's tokens (``member_id`` appended); the port keeps
#: them in the settings table as ``bitrix24.portal.<member_id>``.
STATE_PREFIX = "portal."
#: The backend's state key saying the app must be reinstalled (``since``, ``member_id``,
#: ``error``); cleared when new tokens are saved (an install, a successful refresh).
REINSTALL_KEY = "reinstall"


class AuthError(Exception):
    """Tokens are missing, or the OAuth server refused to refresh them (``invalid_grant``:
    the refresh token expired or was rotated out; the app must be reinstalled)."""


class ReinstallRequired(AuthError):
    """The OAuth server refused the refresh token for good (``invalid_grant``, a refresh
    whose answer was lost after the server had rotated the pair, or ``invalid_client``):
    only reinstalling the app on the portal (or fixing its client id and secret) gives the
    app tokens again. Deliveries wait meanwhile; nothing is lost."""


class RefreshUnanswered(AuthError):
    """The OAuth server could not be reached or answered with a server error: the refresh
    is worth trying again (the client's retry policy decides when)."""


@attrs.frozen(kw_only=True)
class PortalTokens:
    """What the portal handed the app: where to call, the token pair and the app's token for
    checking events."""

    member_id: str
    domain: str
    client_endpoint: str
    access_token: str = attrs.field(repr=False)
    refresh_token: str = attrs.field(repr=False)
    expires_at: float = 0.0
    application_token: str = attrs.field(default="", repr=False)
    server_endpoint: str = ""
    scope: str = ""
    user_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON object for the backend's state."""
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> PortalTokens:
        """Read back what :meth:`to_json` wrote."""
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in names})


def _auth_block(form: Mapping[str, Any]) -> dict[str, Any]:
    nested = form.get("auth")
    if isinstance(nested, Mapping):
        return dict(nested)
    # A flat form: "auth[access_token]" keys, as parsed by most web frameworks.
    block = {
        key[5:-1]: value
        for key, value in form.items()
        if key.startswith("auth[") and key.endswith("]")
    }
    if not block and "AUTH_ID" in form:
        # The install POST of a local app puts the pair at the top level (bitrix24.md §1.5).
        block = {
            "access_token": form.get("AUTH_ID"),
            "refresh_token": form.get("REFRESH_ID"),
            "expires_in": form.get("AUTH_EXPIRES"),
            "member_id": form.get("member_id"),
            "domain": form.get("DOMAIN"),
            "application_token": form.get("APPLICATION_TOKEN"),
            "server_endpoint": form.get("SERVER_ENDPOINT"),
            "scope": form.get("APPLICATION_SCOPE"),
        }
    return block


def tokens_from_install(form: Mapping[str, Any], *, now: float | None = None) -> PortalTokens:
    """The tokens of an install callback or ``ONAPPINSTALL`` event (nested or flat
    ``auth[…]`` keys). ``ValueError`` names what is missing."""
    block = _auth_block(form)
    required = ("access_token", "refresh_token", "member_id", "domain")
    missing = [key for key in required if not block.get(key)]
    if missing:
        raise ValueError(f"the install callback lacks auth[{'], auth['.join(missing)}]")
    return _tokens(block, now=time.time() if now is None else now)


def _tokens(
    block: Mapping[str, Any], *, now: float, previous: PortalTokens | None = None
) -> PortalTokens:
    domain = str(block.get("domain") or (previous.domain if previous else ""))
    endpoint = str(block.get("client_endpoint") or "")
    if not endpoint:
        # The OAuth server reports its own host in "domain"; the portal's stays as it was.
        endpoint = previous.client_endpoint if previous else f"https://{domain}/rest/"
    if previous is not None and domain and "oauth." in domain:
        domain = previous.domain
    if block.get("expires"):
        expires_at = float(block["expires"])
    else:
        expires_at = now + float(block.get("expires_in") or 3600)
    user_id = block.get("user_id")
    return PortalTokens(
        member_id=str(block.get("member_id") or (previous.member_id if previous else "")),
        domain=domain,
        client_endpoint=endpoint,
        access_token=str(block["access_token"]),
        refresh_token=str(block["refresh_token"]),
        expires_at=expires_at,
        application_token=str(
            block.get("application_token") or (previous.application_token if previous else "")
        ),
        server_endpoint=str(block.get("server_endpoint") or ""),
        scope=str(block.get("scope") or ""),
        user_id=int(str(user_id)) if str(user_id or "").isdigit() else None,
    )


def application_token_matches(tokens: PortalTokens, given: str) -> bool:
    """Whether an event's ``auth[application_token]`` is the one saved at install (constant
    time; bitrix24.md §6.3)."""
    return bool(tokens.application_token) and hmac.compare_digest(
        tokens.application_token.encode(), str(given).encode()
    )


class TokenStore(Protocol):
    """Where a portal's tokens are kept between processes."""

    def load(self, member_id: str) -> PortalTokens | None:
        """The saved tokens of a portal, if the app is installed there."""
        ...

    def save(self, tokens: PortalTokens) -> None:
        """Replace the saved tokens of ``tokens.member_id`` (and forget that the app had to
        be reinstalled: these tokens are new)."""
        ...

    def needs_reinstall(self, member_id: str, error: str) -> None:
        """Record that the saved tokens of ``member_id`` were refused for good."""
        ...

    def reinstall_reason(self, member_id: str) -> str | None:
        """Why the app must be reinstalled on ``member_id``; ``None`` when it need not be."""
        ...


class MemoryTokenStore:
    """Tokens in a dict (one process; tests)."""

    def __init__(self) -> None:
        self.tokens: dict[str, PortalTokens] = {}
        self.refused: dict[str, str] = {}

    def load(self, member_id: str) -> PortalTokens | None:
        """The tokens saved for ``member_id``."""
        return self.tokens.get(member_id)

    def save(self, tokens: PortalTokens) -> None:
        """Keep ``tokens``."""
        self.tokens[tokens.member_id] = tokens
        self.refused.pop(tokens.member_id, None)

    def needs_reinstall(self, member_id: str, error: str) -> None:
        """Remember the refusal."""
        self.refused[member_id] = error

    def reinstall_reason(self, member_id: str) -> str | None:
        """The refusal remembered, if any."""
        return self.refused.get(member_id)


class PortTokenStore:
    """Tokens in the backend's state (``portal.<member_id>``, a secret), so every worker
    process sees the rotated pair."""

    def __init__(self, port: SyncPort) -> None:
        self.port = port

    def load(self, member_id: str) -> PortalTokens | None:
        """The tokens saved for ``member_id``."""
        value = self.port.state(STATE_PREFIX + member_id)
        return PortalTokens.from_json(value) if isinstance(value, Mapping) else None

    def save(self, tokens: PortalTokens) -> None:
        """Store ``tokens`` (replacing the old pair); a reinstall state is over."""
        self.port.set_state(STATE_PREFIX + tokens.member_id, tokens.to_json(), secret=True)
        if self.port.state(REINSTALL_KEY) is not None:
            self.port.set_state(REINSTALL_KEY, None)

    def forget(self, member_id: str) -> None:
        """Drop the tokens of ``member_id`` (the app was uninstalled there)."""
        self.port.set_state(STATE_PREFIX + member_id, None, secret=True)

    def needs_reinstall(self, member_id: str, error: str) -> None:
        """Record the refusal in the backend's state (the settings page and the health
        check show it)."""
        self.port.set_state(
            REINSTALL_KEY,
            {"member_id": member_id, "error": error, "since": self.port.now().isoformat()},
        )

    def reinstall_reason(self, member_id: str) -> str | None:
        """The recorded refusal for ``member_id``, if any."""
        value = self.port.state(REINSTALL_KEY)
        if isinstance(value, Mapping) and value.get("member_id") == member_id:
            return str(value.get("error") or "invalid_grant")
        return None


def reinstall_needed(port: SyncPort) -> dict[str, Any] | None:
    """The "reinstall the app" state of the backend (``since``, ``member_id``, ``error``),
    or ``None``: what the settings page and a health check show."""
    value = port.state(REINSTALL_KEY)
    return dict(value) if isinstance(value, Mapping) else None


def confirm_install(
    tokens: PortalTokens,
    http: httpx.Client,
    *,
    client_id: str,
    client_secret: str,
    token_url: str = DEFAULT_TOKEN_URL,
    now: float | None = None,
) -> PortalTokens:
    """Check an install callback's tokens with the OAuth server before trusting them.

    Anybody can POST a form to the install address, naming any ``client_endpoint``; only the
    OAuth server can say the tokens are real. Exchanging the refresh token with the app's own
    secret proves it was issued to this app, and the answer names the portal (``member_id``,
    ``client_endpoint``) with the server's authority. Returns that fresh pair (the form's
    ``application_token`` kept); :class:`AuthError` when the server refuses or names another
    portal.
    """
    response = http.get(
        token_url,
        params={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": tokens.refresh_token,
        },
    )
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, Mapping) or not body.get("access_token"):
        error = body.get("error", "") if isinstance(body, Mapping) else ""
        raise AuthError(
            f"the OAuth server did not confirm the install: HTTP {response.status_code} {error}"
        )
    if str(body.get("member_id") or "") != tokens.member_id:
        raise AuthError("the OAuth server names another portal than the install callback")
    if not body.get("client_endpoint"):
        # Only the server's own word on where the portal is may be used, never the form's.
        raise AuthError("the OAuth server did not say where the portal is (client_endpoint)")
    # The server's answer carries no application token; the install's is the one events carry.
    confirmed = _tokens(body, now=time.time() if now is None else now, previous=tokens)
    return attrs.evolve(confirmed, application_token=tokens.application_token)


def install(
    keeper: TokenStore, form: Mapping[str, Any], *, now: float | None = None
) -> PortalTokens:
    """Handle the install callback: parse its tokens and keep them for the portal."""
    tokens = tokens_from_install(form, now=now)
    keeper.save(tokens)
    return tokens


class BitrixAuth(Protocol):
    """How a call is addressed and authorised; what to do when the portal says the token
    expired."""

    #: ``"webhook"`` or ``"app"``.
    mode: str

    def prepare(self, method: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The URL to POST to and the JSON body (with ``auth`` added in app mode)."""
        ...

    def refresh(self, http: httpx.Client, used: Mapping[str, Any]) -> bool:
        """Renew the credentials after ``expired_token`` for a call sent with body ``used``;
        ``True`` when the call may be replayed."""
        ...


class WebhookAuth:
    """An inbound webhook: the URL is the credential; nothing to refresh."""

    mode = "webhook"

    def __init__(self, webhook_url: str) -> None:
        if not webhook_url.startswith(("https://", "http://")):
            raise ValueError("the Bitrix24 webhook URL must start with https://")
        self.webhook_url = webhook_url.rstrip("/") + "/"

    def __repr__(self) -> str:
        return "WebhookAuth(<secret>)"

    def prepare(self, method: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """``{webhook_url}{method}.json`` and the params unchanged."""
        return f"{self.webhook_url}{method}.json", dict(params)

    def refresh(self, http: httpx.Client, used: Mapping[str, Any]) -> bool:
        """A webhook cannot be refreshed."""
        return False


class OAuthAuth:
    """An OAuth app installed on one portal (``member_id``), its tokens in ``keeper``.

    ``token_url`` is the OAuth server (configurable: the cloud's, a self-hosted portal's, the
    emulator's ``/oauth/token/``); ``client_secret`` goes only there, never to the portal.
    """

    mode = "app"

    def __init__(
        self,
        keeper: TokenStore,
        member_id: str,
        *,
        client_id: str,
        client_secret: str,
        token_url: str = DEFAULT_TOKEN_URL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keeper = keeper
        self.member_id = member_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = token_url
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: PortalTokens | None = None
        #: The access token of a pair the OAuth server refused for good (reinstall state).
        self._refused: str | None = None
        #: How many refreshes this object made (reports, tests).
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"OAuthAuth(member_id={self.member_id!r}, token_url={self.token_url!r})"

    @property
    def tokens(self) -> PortalTokens:
        """The current tokens (loaded from the keeper once, then held)."""
        with self._lock:
            return self._current()

    def _current(self) -> PortalTokens:
        if self._tokens is None:
            self._tokens = self.keeper.load(self.member_id)
        if self._tokens is None:
            raise AuthError(f"the Bitrix24 app is not installed on portal {self.member_id}")
        return self._tokens

    def prepare(self, method: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """``{client_endpoint}{method}.json`` with ``auth`` in the body.
        :class:`ReinstallRequired` without a request while the saved tokens are the refused
        ones (deliveries pause until an admin reinstalls the app)."""
        with self._lock:
            if self._refused is not None:
                saved = self.keeper.load(self.member_id)
                if saved is None or saved.access_token == self._refused:
                    raise ReinstallRequired(
                        f"the Bitrix24 app must be reinstalled on portal {self.member_id}"
                    )
                # Reinstalled (here or by another process): the new pair is used.
                self._tokens, self._refused = saved, None
            tokens = self._current()
        endpoint = tokens.client_endpoint.rstrip("/") + "/"
        return f"{endpoint}{method}.json", {**params, "auth": tokens.access_token}

    def refresh(self, http: httpx.Client, used: Mapping[str, Any]) -> bool:
        """Exchange the refresh token for a new pair (rotation: the old refresh token is dead
        afterwards) and save it. Threads that failed with the same access token share one
        refresh; a thread whose token was already replaced just replays."""
        with self._lock:
            current = self._current()
            if used.get("auth") not in (None, current.access_token):
                return True
            saved = self.keeper.load(self.member_id)
            if saved is not None and saved.access_token != current.access_token:
                # Another process refreshed and saved the rotated pair first.
                self._tokens = saved
                return True
            if saved is not None and self.keeper.reinstall_reason(self.member_id):
                # Another process found the pair refused: asking again cannot help.
                self._refused = current.access_token
                raise ReinstallRequired(
                    f"the Bitrix24 app must be reinstalled on portal {self.member_id}"
                )
            try:
                response = http.get(
                    self.token_url,
                    params={
                        "grant_type": "refresh_token",
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                        "refresh_token": current.refresh_token,
                    },
                )
            except httpx.TransportError as exc:
                # The answer may be lost after the server rotated the pair: the next try
                # sends the same (old) refresh token, which a portal that keeps it for a
                # while still takes; one that does not answers invalid_grant (below).
                raise RefreshUnanswered(
                    f"the Bitrix24 OAuth server did not answer: {exc or type(exc).__name__}"
                ) from exc
            try:
                body = response.json()
            except ValueError:
                body = None
            if (
                response.status_code != 200
                or not isinstance(body, Mapping)
                or "error" in body
                or not body.get("access_token")
            ):
                error = str(body.get("error", "")) if isinstance(body, Mapping) else ""
                message = (
                    f"refreshing the Bitrix24 token failed: HTTP {response.status_code} {error}"
                )
                if response.status_code >= 500 or not error:
                    raise RefreshUnanswered(message)
                # invalid_grant (expired, or rotated out by a refresh whose answer was lost),
                # invalid_client, NOT_INSTALLED …: only an admin can give the app new tokens.
                self._refused = current.access_token
                self.keeper.needs_reinstall(self.member_id, error)
                raise ReinstallRequired(
                    f"{message}; the app must be reinstalled on portal {self.member_id}"
                )
            fresh = _tokens(body, now=self._clock(), previous=current)
            self.keeper.save(fresh)
            self._tokens = fresh
            self.refreshes += 1
            return True
