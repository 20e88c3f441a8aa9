"""Logging of a cabinet process, configured by one setting, ``CABINET_LOG_FORMAT``:

* ``text`` (the default): one readable line a record,
  ``2026-12-07T15:04:05.123Z INFO cabinet_web [3f2a…] GET /documents/{document_id} 200 12 ms``;
* ``json``: one JSON object a line (``time``, ``level``, ``logger``, ``message``,
  ``request_id``, ``exc_info``) for a log aggregator.

Both carry a UTC timestamp and the id of the request being served (``-`` outside a request; the
web sets it from ``X-Request-ID`` or makes one, :data:`request_id`). Neither carries a secret:
every message and traceback goes through :func:`redact`, which masks passwords, tokens, cookies,
``Authorization`` values and the password of a URL, whatever the code that logged it wrote. The
access log the web writes names the route template (``/password/reset/{token}``), never the
path, so a link's token is not logged in the first place.

:func:`configure_logging` is called by ``cabinet serve``, ``worker`` and ``demo`` before they
start; an embedding application keeps its own logging and may add :class:`CabinetFormatter`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = [
    "CabinetFormatter",
    "configure_logging",
    "redact",
    "request_id",
]

#: The id of the request this code runs for (set by the web's middleware), or ``None``.
request_id: ContextVar[str | None] = ContextVar("cabinet_request_id", default=None)

_MASK = "***"
# key=value, key: value and "key": "value" where the key names a secret.
_SECRET_PAIR = re.compile(
    r"""(?ix)
    (?P<key>["']?\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|cookie|session(?:id)?|sid)
       \b["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<value>[^\s"',;&}]+)
    """
)
_AUTH_HEADER = re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:(bearer|basic|token)\s+)?\S+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@")


def redact(text: str) -> str:
    """``text`` with every secret it seems to carry replaced by ``***``."""
    text = _URL_PASSWORD.sub(rf"\1{_MASK}@", text)
    text = _AUTH_HEADER.sub(
        lambda m: f"{m.group(1)}{(m.group(2) + ' ') if m.group(2) else ''}{_MASK}", text
    )
    text = _BEARER.sub(rf"\1 {_MASK}", text)
    return _SECRET_PAIR.sub(
        lambda m: f"{m.group('key')}{m.group('sep')}{m.group('quote')}{_MASK}", text
    )


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class CabinetFormatter(logging.Formatter):
    """Formats records as ``text`` or ``json`` lines, redacted (see the module's text)."""

    def __init__(self, style: str = "text") -> None:
        super().__init__()
        if style not in ("text", "json"):
            raise ValueError(f"unknown log format {style!r} (text or json)")
        self.style_name = style

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage())
        error = redact(self.formatException(record.exc_info)) if record.exc_info else ""
        rid = getattr(record, "request_id", None) or request_id.get()
        if self.style_name == "json":
            body: dict[str, Any] = {
                "time": _timestamp(record),
                "level": record.levelname,
                "logger": record.name,
                "message": message,
            }
            if rid:
                body["request_id"] = rid
            if error:
                body["exc_info"] = error
            return json.dumps(body, ensure_ascii=False)
        line = f"{_timestamp(record)} {record.levelname} {record.name} [{rid or '-'}] {message}"
        return f"{line}\n{error}" if error else line


def configure_logging(
    style: str = "text", *, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Send every log record of the process (the cabinet's, uvicorn's, the libraries') at
    ``level`` and above to ``stream`` (stderr) in ``style``; replaces the root logger's
    handlers, so calling it twice does not double the lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(CabinetFormatter(style))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn brings handlers of its own; its records go through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # The web writes its own access line (route template, request id); uvicorn's would log
    # the raw path, query strings and tokens in links included.
    logging.getLogger("uvicorn.access").disabled = True
