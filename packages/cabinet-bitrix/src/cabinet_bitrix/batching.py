"""Packing REST calls into ``batch`` requests (bitrix24.md §2.4).

A ``batch`` is one request against the rate limit whatever it holds (at most
:data:`BATCH_LIMIT` commands), and its commands run in order, so a later one may use an
earlier one's result through ``$result[name][path…]``: an item and its product rows go in one
request, ``crm.item.productrow.set`` taking ``ownerId=$result[add][item][id]``. The answer is
HTTP 200 even when commands fail; each command's outcome is read from ``result`` /
``result_error`` and becomes a :class:`CommandResult`.

Command names here are never ``"0".."n-1"``: a batch keyed like that answers with lists instead
of objects (bitrix24.md §1.3), which :func:`_as_dict` nevertheless tolerates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs

from cabinet_bitrix.client import BitrixError

if TYPE_CHECKING:
    from cabinet_bitrix.client import BitrixClient

#: The most commands one ``batch`` may hold.
BATCH_LIMIT = 50


def ref(command: str, *path: str | int) -> str:
    """A reference to an earlier command's result: ``ref("add", "item", "id")`` is
    ``$result[add][item][id]``."""
    return f"$result[{command}]" + "".join(f"[{part}]" for part in path)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _pairs(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        yield prefix, _scalar(value)
        return
    empty = True
    for key, item in items:
        empty = False
        yield from _pairs(item, f"{prefix}[{key}]" if prefix else str(key))
    if empty and prefix:
        # "key[]=" would be a list of one empty string to PHP; an empty value reads as empty.
        yield prefix, ""


def command_string(method: str, params: Mapping[str, Any]) -> str:
    """``method?key[sub]=value&…``: params in PHP bracket form, values percent-encoded (a
    ``$result[…]`` reference keeps its brackets; the portal decodes before substituting)."""
    query = "&".join(
        f"{quote(key, safe='[]')}={quote(text, safe='[]$')}" for key, text in _pairs(params, "")
    )
    return f"{method}?{query}" if query else method


@attrs.frozen
class Command:
    """One call in a batch, named so later commands can refer to its result."""

    name: str
    method: str
    params: Mapping[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if not self.name or self.name.isdigit() or any(c in self.name for c in "[]&?="):
            raise ValueError(f"batch command name {self.name!r}: use letters, digits and _")


@attrs.frozen(kw_only=True)
class CommandResult:
    """One command's outcome: ``result`` (with ``total``/``next`` for lists) or ``error``;
    ``time`` is its ``result_time`` entry (with ``operating`` for the method)."""

    name: str
    method: str
    result: Any = None
    error: BitrixError | None = None
    total: int | None = None
    next: int | None = None
    time: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the command succeeded."""
        return self.error is None and self.ran

    #: False when the command never ran (an earlier one failed with ``halt``).
    ran: bool = True

    def unwrap(self) -> Any:
        """The result, or the command's error raised."""
        if self.error is not None:
            raise self.error
        if not self.ran:
            raise BitrixError("NOT_RUN", f"batch command {self.name} did not run (halt)")
        return self.result


def _as_dict(value: Any) -> dict[str, Any]:
    # PHP writes an empty section as [] and a 0..n-1 keyed one as a list.
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {str(n): v for n, v in enumerate(value)}
    return {}


def _error(client: BitrixClient, command: Command, value: Any) -> BitrixError:
    if isinstance(value, Mapping):
        code = str(value.get("error", "ERROR"))
        description = str(value.get("error_description", ""))
    else:
        code, description = "ERROR", str(value)
    transient = code in ("QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT", "OVERLOAD_LIMIT")
    retry_after = None
    if code == "OPERATION_TIME_LIMIT":
        # The command did not run; its method is free again when its oldest basket expires.
        retry_after = max(client.operating_wait(command.method), 0.0)
    return BitrixError(
        code,
        f"{description} (batch command {command.name})",
        transient=transient,
        retry_after=retry_after,
    )


def run_batch(
    client: BitrixClient,
    commands: Sequence[Command],
    *,
    halt: bool = False,
    repeatable: bool = True,
) -> dict[str, CommandResult]:
    """Send up to :data:`BATCH_LIMIT` commands as one ``batch`` request; each command's outcome
    by name. Each sub-command's ``result_time`` is fed to the client's operating budget, since
    the portal charges a batch's commands to their own methods. ``repeatable=False`` for a
    batch that creates (see :meth:`BitrixClient.call_full`)."""
    if not commands:
        return {}
    if len(commands) > BATCH_LIMIT:
        raise ValueError(f"a batch holds at most {BATCH_LIMIT} commands, got {len(commands)}")
    names = [c.name for c in commands]
    if len(set(names)) != len(names):
        raise ValueError("batch command names must be unique")
    # Each method's own budget must have room for its commands, as the batch spends it; the
    # commands count as in flight until the answer, so concurrent batches (see
    # :mod:`.pipeline`) cannot together overspend a method.
    calls = Counter(c.method for c in commands)
    client.budget.begin_many(calls)
    try:
        envelope = client.call(
            "batch",
            {
                "halt": 1 if halt else 0,
                "cmd": {c.name: command_string(c.method, c.params) for c in commands},
            },
            repeatable=repeatable,
        )
        return _outcomes(client, commands, envelope)
    finally:
        for method, count in calls.items():
            client.budget.end(method, None, count)


def _outcomes(
    client: BitrixClient, commands: Sequence[Command], envelope: Any
) -> dict[str, CommandResult]:
    body = envelope if isinstance(envelope, Mapping) else {}
    results = _as_dict(body.get("result"))
    errors = _as_dict(body.get("result_error"))
    totals = _as_dict(body.get("result_total"))
    nexts = _as_dict(body.get("result_next"))
    times = _as_dict(body.get("result_time"))
    out: dict[str, CommandResult] = {}
    for command in commands:
        timing = times.get(command.name)
        if isinstance(timing, Mapping):
            client.budget.record(command.method, timing)
        total, following = totals.get(command.name), nexts.get(command.name)
        out[command.name] = CommandResult(
            name=command.name,
            method=command.method,
            result=results.get(command.name),
            error=_error(client, command, errors[command.name]) if command.name in errors else None,
            total=int(total) if total is not None else None,
            next=int(following) if following is not None else None,
            time=timing if isinstance(timing, Mapping) else {},
            ran=command.name in results or command.name in errors,
        )
    return out


def chunks(commands: Sequence[Command], size: int = BATCH_LIMIT) -> Iterator[list[Command]]:
    """``commands`` in consecutive groups of at most ``size`` (never splitting a group whose
    members refer to each other is the caller's business: keep such groups contiguous and
    pass them through :func:`pack`)."""
    if not 1 <= size <= BATCH_LIMIT:
        raise ValueError(f"batch size must be 1..{BATCH_LIMIT}")
    for start in range(0, len(commands), size):
        yield list(commands[start : start + size])


def pack(groups: Sequence[Sequence[Command]], size: int = BATCH_LIMIT) -> Iterator[list[Command]]:
    """Whole groups of related commands (an item and its rows) packed into batches of at most
    ``size`` commands, a group never split across two batches."""
    batch: list[Command] = []
    for group in groups:
        if len(group) > size:
            raise ValueError(f"a group of {len(group)} commands does not fit in one batch")
        if len(batch) + len(group) > size:
            yield batch
            batch = []
        batch.extend(group)
    if batch:
        yield batch
