"""Settings of one cabinet installation, read from ``CABINET_*`` environment variables.

The defaults are the embedded setup: a SQLite file in ``data_dir``, no CRM (the null backend),
mail written to a local folder, offline exchange rates.

Plugins have a namespace each (datasette's ``plugin_config``): :meth:`Settings.plugin_config`
gives ``CABINET_<NAME>_*`` variables (read once, here) overlaid by the values set in code
(``Settings(plugins={"bitrix": {"webhook_url": ...}})``), so no plugin reads the environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import attrs

from cabinet_core.configuration import ConfigurationError


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _int(name: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ConfigurationError(name, f"not a whole number: {value!r}") from None


def _namespaces(value: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    # A copy, so a caller's dict changed later does not change frozen settings.
    return {name: dict(config) for name, config in value.items()}


def _strings(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


@attrs.frozen(kw_only=True)
class Branding:
    """The firm's visual identity shown on every page and document."""

    firm_name: str = "Kancelaria Demo"
    logo_url: str | None = None
    primary_color: str = "#1f4e79"
    accent_color: str = "#f2a900"


@attrs.frozen(kw_only=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    sender: str = "cabinet@localhost"


#: Where the cabinet is served when nothing says otherwise (``cabinet serve``'s default).
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@attrs.frozen(kw_only=True)
class Settings:
    """Everything an installation can configure. Build it in code or with :meth:`from_env`."""

    data_dir: Path = Path("cabinet-data")
    database_url: str | None = None
    secret_key: str = attrs.field(factory=lambda: secrets.token_urlsafe(32), repr=False)
    base_url: str = DEFAULT_BASE_URL
    branding: Branding = Branding()
    languages: tuple[str, ...] = ("pl", "en")
    default_language: str = "pl"
    crm_backends: tuple[str, ...] = ("null",)
    mailer: str = "folder"
    smtp: SmtpSettings = SmtpSettings()
    rate_provider: str = "offline"
    secure_cookies: bool = False
    #: Sign-in throttling (cabinet_core.signin_throttle): failed sign-ins to one account from
    #: one address (or one known device) that cost no delay within the window; after them each
    #: attempt waits 1 s, 2 s, 4 s … up to ``login_max_delay_seconds``. Never a lock.
    login_attempts: int = 5
    #: The same for the account from every address together: only guessing from many
    #: addresses slows the account down for everyone.
    login_account_attempts: int = 20
    login_max_delay_seconds: int = 300
    login_window_seconds: int = 900
    #: Addresses (or networks, ``10.0.0.0/8``; ``*`` for any) of reverse proxies whose
    #: ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed; everyone else's are ignored.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)
    #: A sign-in session unused this long ends (the cookie lives as long; the server decides).
    session_idle_seconds: int = 14 * 24 * 3600
    #: How long a "forgot password" link works, and an invitation's.
    reset_link_seconds: int = 3600
    invitation_link_seconds: int = 7 * 24 * 3600
    #: Staff must sign in with a second factor (TOTP), enrolling at their next sign-in. On for
    #: a cabinet configured from the environment (``CABINET_STAFF_TWO_FACTOR``, default on);
    #: off for settings built in code unless set (tests, embedders, the demo).
    staff_two_factor: bool = False
    worker_max_attempts: int = 10
    #: How many deliveries the worker claims for one subscriber at a time. A batch is delivered
    #: as a whole before the next claim, so its slowest call idles the others: at 50, a webhook
    #: backend reached 0.8 of bare httpx; at 200, all of it (docs/performance.md).
    worker_batch_size: int = attrs.field(default=200, validator=attrs.validators.gt(0))
    #: ``/readyz`` fails when no worker recorded a heartbeat for this long; 0 skips the check
    #: (an installation that runs no worker). A worker beats every 15 s.
    worker_heartbeat_seconds: int = 120
    #: ``text`` (human-readable lines, the default) or ``json`` (one object a line, for log
    #: aggregators): the one setting that configures logging (docs/monitoring.md).
    log_format: str = "text"
    #: A breached-password range service (Have I Been Pwned's k-anonymity API,
    #: ``https://api.pwnedpasswords.com/range/``) asked about every new password; ``None``
    #: (the default, also in the demo and tests) asks nothing. Only the first five hex digits
    #: of the password's SHA-1 are sent; an unreachable service lets the password through
    #: (logged), never blocking a sign-up (cabinet_core.breached_passwords).
    breached_password_url: str | None = None
    breached_password_timeout: float = 3.0
    #: Who may read ``/metrics``: a bearer token (``Authorization: Bearer …``), and/or client
    #: addresses or networks. With neither set, only the machine itself (loopback) may.
    metrics_token: str | None = attrs.field(default=None, repr=False)
    metrics_allow: tuple[str, ...] = ()
    #: The largest file a user may attach to a document (10 MiB: a scanned invoice fits easily).
    attachment_max_bytes: int = 10 * 1024 * 1024
    #: The largest request body any route takes (2 MiB); routes that take files allow their
    #: file's limit on top. Enforced by the web server while the body streams in.
    max_body_bytes: int = attrs.field(default=2 * 1024 * 1024, validator=attrs.validators.gt(0))
    #: How many requests a web process works on at once off its event loop (the threads its
    #: blocking service calls run in), and so how many database connections it keeps open:
    #: the pool holds this many plus a few for the loop itself. More threads than connections
    #: only queue for one; with one interpreter lock, more threads than this add switching, not
    #: speed (docs/performance.md, "Load").
    web_threads: int = 8
    #: Per-plugin settings set in code, ``{namespace: {key: value}}``; they win over the
    #: environment's ``CABINET_<NAMESPACE>_<KEY>``.
    plugins: Mapping[str, Mapping[str, str]] = attrs.field(
        factory=dict, converter=_namespaces, repr=False
    )
    #: The ``CABINET_*`` variables :meth:`from_env` saw, kept for :meth:`plugin_config`. Not part
    #: of equality: two installations configured alike are equal whatever else was exported.
    environment: Mapping[str, str] = attrs.field(
        factory=dict, converter=_strings, repr=False, eq=False
    )

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cabinet.sqlite3').resolve()}"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    def plugin_config(self, namespace: str) -> dict[str, str]:
        """A plugin's settings: ``CABINET_<NAMESPACE>_<KEY>`` as ``{"key": value}`` (keys in
        lower case, empty values dropped), overlaid by ``plugins[namespace]`` from code."""
        prefix = f"CABINET_{namespace.upper()}_"
        found = {
            name[len(prefix) :].lower(): value.strip()
            for name, value in self.environment.items()
            if name.startswith(prefix) and value.strip()
        }
        found.update(self.plugins.get(namespace, {}))
        return found

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``CABINET_*`` variables; keyword ``overrides`` win over the environment.

        Every ``CABINET_*`` variable is kept (``environment``) for the plugins' namespaces."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            "environment": {
                name: value for name, value in env.items() if name.startswith("CABINET_")
            }
        }
        if "CABINET_DATA_DIR" in env:
            values["data_dir"] = Path(env["CABINET_DATA_DIR"])
        for key, name in (
            ("database_url", "CABINET_DATABASE_URL"),
            ("secret_key", "CABINET_SECRET_KEY"),
            ("base_url", "CABINET_BASE_URL"),
            ("default_language", "CABINET_DEFAULT_LANGUAGE"),
            ("mailer", "CABINET_MAILER"),
            ("rate_provider", "CABINET_RATE_PROVIDER"),
        ):
            if env.get(name):
                values[key] = env[name]
        if env.get("CABINET_CRM_BACKENDS"):
            values["crm_backends"] = _list(env["CABINET_CRM_BACKENDS"])
        if env.get("CABINET_TRUSTED_PROXIES"):
            # "none" trusts no proxy at all (the default trusts one on the same machine).
            proxies = _list(env["CABINET_TRUSTED_PROXIES"])
            values["trusted_proxies"] = () if proxies == ("none",) else proxies
        for key, name in (
            ("attachment_max_bytes", "CABINET_ATTACHMENT_MAX_BYTES"),
            ("worker_heartbeat_seconds", "CABINET_WORKER_HEARTBEAT_SECONDS"),
            ("max_body_bytes", "CABINET_MAX_BODY_BYTES"),
            ("web_threads", "CABINET_WEB_THREADS"),
        ):
            if env.get(name):
                values[key] = _int(name, env[name])
        if env.get("CABINET_LOG_FORMAT"):
            values["log_format"] = env["CABINET_LOG_FORMAT"].strip().lower()
        if env.get("CABINET_BREACHED_PASSWORD_URL"):
            values["breached_password_url"] = env["CABINET_BREACHED_PASSWORD_URL"].strip()
        if env.get("CABINET_BREACHED_PASSWORD_TIMEOUT"):
            try:
                values["breached_password_timeout"] = float(
                    env["CABINET_BREACHED_PASSWORD_TIMEOUT"]
                )
            except ValueError:
                raise ConfigurationError(
                    "CABINET_BREACHED_PASSWORD_TIMEOUT",
                    f"not a number: {env['CABINET_BREACHED_PASSWORD_TIMEOUT']!r}",
                ) from None
        if env.get("CABINET_METRICS_TOKEN"):
            values["metrics_token"] = env["CABINET_METRICS_TOKEN"].strip()
        if env.get("CABINET_METRICS_ALLOW"):
            values["metrics_allow"] = _list(env["CABINET_METRICS_ALLOW"])
        values["staff_two_factor"] = _bool(env.get("CABINET_STAFF_TWO_FACTOR") or "1")
        if env.get("CABINET_SECURE_COOKIES"):
            values["secure_cookies"] = _bool(env["CABINET_SECURE_COOKIES"])
        branding = {
            field: env[f"CABINET_{field.upper()}"]
            for field in ("firm_name", "logo_url", "primary_color", "accent_color")
            if env.get(f"CABINET_{field.upper()}")
        }
        if branding:
            values["branding"] = Branding(**branding)
        smtp: dict[str, object] = {}
        for field in ("host", "username", "password", "sender"):
            if env.get(f"CABINET_SMTP_{field.upper()}"):
                smtp[field] = env[f"CABINET_SMTP_{field.upper()}"]
        if env.get("CABINET_SMTP_PORT"):
            smtp["port"] = _int("CABINET_SMTP_PORT", env["CABINET_SMTP_PORT"])
        for field in ("starttls", "ssl"):
            if env.get(f"CABINET_SMTP_{field.upper()}"):
                smtp[field] = _bool(env[f"CABINET_SMTP_{field.upper()}"])
        if smtp:
            values["smtp"] = SmtpSettings(**smtp)  # type: ignore[arg-type]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
