"""Configuration checked at start: every setting of an installation, before anything says it
is ready (``cabinet serve``, ``cabinet worker``, ``cabinet demo``).

A wrong setting is a :class:`Problem` naming the setting (``CABINET_MAILER``) and what is wrong
with it, in one line. :func:`check_settings` runs the core's checks and every plugin's
``check_configuration(settings)`` hook (cabinet-bitrix checks its credentials when the
``bitrix24`` backend is active, the SMTP mailer its server …); :func:`check_database` connects
once; :func:`bind_port` takes the listening socket. The command line turns the first problem
into one line on stderr and a non-zero exit (docs/configuration.md): never a traceback, never
a worker retrying a setting that cannot work.

No check here needs a :class:`~cabinet_core.app.Cabinet`: a cabinet cannot be built on some wrong
settings (an unsupported database URL), and the checks run before one is.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

if TYPE_CHECKING:
    import pluggy

    from cabinet_core.settings import Settings

__all__ = [
    "LOG_FORMATS",
    "ConfigurationError",
    "Problem",
    "bind_port",
    "check_database",
    "check_settings",
    "problem_from_error",
    "registered_names",
]

#: The values ``CABINET_LOG_FORMAT`` accepts.
LOG_FORMATS = ("text", "json")
#: A worker beats this often; a readiness limit shorter than two beats would flap.
MIN_HEARTBEAT_LIMIT = 30
#: A metrics token is a password for the scraper: short ones can be guessed.
MIN_METRICS_TOKEN = 16

_SETTING_NAME = re.compile(r"\b(CABINET_[A-Z0-9_]+)\b")


@attrs.frozen
class Problem:
    """A setting that cannot work: the setting's name (its environment variable) and why."""

    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.message}"


class ConfigurationError(Exception):
    """A setting that cannot work, found while reading or using it (``problem`` says which).

    Raised by :meth:`~cabinet_core.settings.Settings.from_env` for a malformed value; a plugin
    may raise it where a setting proves wrong at run time, and the worker stops on it instead
    of retrying."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.problem = Problem(setting, message)


def problem_from_error(exc: Exception, *, default_setting: str) -> Problem:
    """A plugin's ``ValueError`` ("CABINET_BITRIX_WEBHOOK_URL is not set …") as a problem: the
    first ``CABINET_*`` name in the message is the setting, else ``default_setting``."""
    if isinstance(exc, ConfigurationError):
        return exc.problem
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    found = _SETTING_NAME.search(message)
    if found is None:
        return Problem(default_setting, message)
    setting = found.group(1)
    rest = message.replace(setting, "", 1).strip(" :,")
    return Problem(setting, rest or message)


def registered_names(pm: pluggy.PluginManager) -> dict[str, frozenset[str]]:
    """The names the plugins register for what settings choose by name: ``crm_backends``,
    ``mailers``, ``rate_providers`` (what ``Cabinet`` would build its factories from)."""
    hook = pm.hook

    def names(register_hook: Callable[..., Any]) -> frozenset[str]:
        found: set[str] = set()
        register_hook(register=lambda name, factory: found.add(name))
        return frozenset(found)

    return {
        "crm_backends": names(hook.register_crm_backends),
        "mailers": names(hook.register_mailers),
        "rate_providers": names(hook.register_rate_providers),
    }


def _unknown(setting: str, what: str, value: str, known: Iterable[str]) -> Problem:
    listed = ", ".join(sorted(known)) or "none"
    return Problem(setting, f"no {what} named {value!r} is installed (known: {listed})")


def check_settings(settings: Settings, pm: pluggy.PluginManager) -> list[Problem]:
    """Every problem of ``settings`` the core and the plugins (``check_configuration``) find,
    without touching the network or the database."""
    problems: list[Problem] = []
    names = registered_names(pm)
    for backend in settings.crm_backends:
        if backend not in names["crm_backends"]:
            problems.append(
                _unknown("CABINET_CRM_BACKENDS", "CRM backend", backend, names["crm_backends"])
            )
    if settings.mailer not in names["mailers"]:
        problems.append(_unknown("CABINET_MAILER", "mailer", settings.mailer, names["mailers"]))
    if settings.rate_provider not in names["rate_providers"]:
        problems.append(
            _unknown(
                "CABINET_RATE_PROVIDER",
                "exchange-rate provider",
                settings.rate_provider,
                names["rate_providers"],
            )
        )
    if settings.default_language not in settings.languages:
        problems.append(
            Problem(
                "CABINET_DEFAULT_LANGUAGE",
                f"{settings.default_language!r} is not one of {', '.join(settings.languages)}",
            )
        )
    base = urlsplit(settings.base_url)
    if base.scheme not in ("http", "https") or not base.netloc:
        problems.append(Problem("CABINET_BASE_URL", f"not an http(s) URL: {settings.base_url!r}"))
    if settings.log_format not in LOG_FORMATS:
        problems.append(
            Problem(
                "CABINET_LOG_FORMAT",
                f"{settings.log_format!r} is not one of {', '.join(LOG_FORMATS)}",
            )
        )
    limit = settings.worker_heartbeat_seconds
    if limit != 0 and limit < MIN_HEARTBEAT_LIMIT:
        problems.append(
            Problem(
                "CABINET_WORKER_HEARTBEAT_SECONDS",
                f"0 (no check) or at least {MIN_HEARTBEAT_LIMIT}, got {limit}",
            )
        )
    if settings.attachment_max_bytes <= 0:
        problems.append(Problem("CABINET_ATTACHMENT_MAX_BYTES", "must be positive"))
    if settings.web_threads <= 0:
        problems.append(Problem("CABINET_WEB_THREADS", "must be positive"))
    token = settings.metrics_token
    if token is not None and len(token) < MIN_METRICS_TOKEN:
        problems.append(
            Problem("CABINET_METRICS_TOKEN", f"needs at least {MIN_METRICS_TOKEN} characters")
        )
    for network in settings.metrics_allow:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            problems.append(
                Problem("CABINET_METRICS_ALLOW", f"not an address or network: {network!r}")
            )
    problems.extend(_multiprocess_problems())
    problems.extend(_database_url_problems(settings))
    problems.extend(_data_dir_problems(settings))
    for found in pm.hook.check_configuration(settings=settings):
        problems.extend(found or ())
    return problems


def _multiprocess_problems() -> list[Problem]:
    # prometheus-client's own variable, read from the process's environment as the library
    # reads it: a directory that is missing would fail at the first request counted.
    from cabinet_core.metrics import MULTIPROCESS_ENV

    directory = os.environ.get(MULTIPROCESS_ENV)
    if not directory:
        return []
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        return [Problem(MULTIPROCESS_ENV, f"not a writable directory: {directory}")]
    return []


def _database_url_problems(settings: Settings) -> list[Problem]:
    import sqlalchemy as sa

    url = settings.effective_database_url
    try:
        parsed = sa.make_url(url)
    except Exception:
        return [
            Problem("CABINET_DATABASE_URL", "not a database URL (postgresql://… or sqlite:///…)")
        ]
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        return [
            Problem(
                "CABINET_DATABASE_URL",
                f"unsupported database {parsed.get_backend_name()!r}: use PostgreSQL or SQLite",
            )
        ]
    try:
        # Loads the driver without connecting: a missing psycopg is a setting's problem too.
        parsed.get_dialect().import_dbapi()
    except ImportError as exc:
        return [
            Problem(
                "CABINET_DATABASE_URL",
                f"the driver for {parsed.drivername} is not installed ({exc.name}); "
                "install cabinet-core with PostgreSQL support (psycopg)",
            )
        ]
    return []


def _data_dir_problems(settings: Settings) -> list[Problem]:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return [Problem("CABINET_DATA_DIR", f"cannot create {settings.data_dir}: {exc.strerror}")]
    probe = settings.data_dir / ".cabinet-write-check"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return [Problem("CABINET_DATA_DIR", f"cannot write in {settings.data_dir}: {exc.strerror}")]
    return []


def check_database(settings: Settings, *, timeout_seconds: int = 5) -> Problem | None:
    """Connect to the configured database once (``SELECT 1``); the problem when it fails."""
    import sqlalchemy as sa

    url = sa.make_url(settings.effective_database_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = timeout_seconds
    engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip()
        first = reason.splitlines()[0] if reason else type(exc).__name__
        where = url.render_as_string(hide_password=True)
        return Problem("CABINET_DATABASE_URL", f"cannot connect to {where}: {first}")
    finally:
        engine.dispose()
    return None


def bind_port(host: str, port: int, *, option: str = "--port") -> socket.socket:
    """A socket listening on ``host:port`` for the server to take over, or
    :class:`ConfigurationError` naming ``option`` when the port is taken or the address is not
    this machine's (so nothing is printed as ready on a port another program holds)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigurationError("--host", f"cannot resolve {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            option, f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    sock.set_inheritable(True)
    return sock
