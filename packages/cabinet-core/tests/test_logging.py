"""Logging (cabinet_core.logs): one setting picks text or JSON lines, each with a UTC time and
the request id, and no secret survives into a line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from cabinet_core.logs import CabinetFormatter, configure_logging, redact, request_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login failed password=hunter2 for x", "login failed password=*** for x"),
        ('{"password": "hunter2", "email": "a@b.pl"}', '{"password": "***", "email": "a@b.pl"}'),
        ("Authorization: Bearer cab_1.abcdef", "Authorization: Bearer ***"),
        ("header authorization=Basic dXNlcjpwYXNz", "header authorization=Basic ***"),
        ("sent Bearer abc.def-ghi", "sent Bearer ***"),
        (
            "db postgresql://cabinet:pw@db/cabinet down",
            "db postgresql://cabinet:***@db/cabinet down",
        ),
        ("cookie=cabinet_session=xyz; path=/", "cookie=***; path=/"),
        ("client_secret: s3 and api_key=k", "client_secret: *** and api_key=***"),
        ("GET /documents/{document_id} 200 5 ms", "GET /documents/{document_id} 200 5 ms"),
        ("the tokens page lists 3 tokens", "the tokens page lists 3 tokens"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord(
        "cabinet_core.test", logging.WARNING, __file__, 1, message, args, exc_info
    )


def test_text_lines_carry_time_level_logger_and_request_id() -> None:
    token = request_id.set("req-1")
    try:
        line = CabinetFormatter("text").format(record("signed in with %s", "password=x"))
    finally:
        request_id.reset(token)
    stamp, level, logger, rid, *rest = line.split(" ")
    assert stamp.endswith("Z") and "T" in stamp
    assert (level, logger, rid) == ("WARNING", "cabinet_core.test", "[req-1]")
    assert " ".join(rest) == "signed in with password=***"


def test_json_lines_and_redacted_tracebacks() -> None:
    try:
        raise RuntimeError("token=abc123 rejected")
    except RuntimeError as exc:
        line = CabinetFormatter("json").format(record("delivery failed", exc=exc))
    body = json.loads(line)
    assert body["level"] == "WARNING" and body["message"] == "delivery failed"
    assert "request_id" not in body  # outside a request
    assert "RuntimeError: token=*** rejected" in body["exc_info"]
    assert "abc123" not in line


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        CabinetFormatter("xml")


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False


def test_configure_logging_replaces_the_handlers(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    configure_logging("json", stream=stream)
    logging.getLogger("cabinet_core.x").info("hello %s", "there")
    logging.getLogger("uvicorn.error").info("server up")
    logging.getLogger("uvicorn.access").info("GET /password/secret-link 200")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["hello there", "server up"]
