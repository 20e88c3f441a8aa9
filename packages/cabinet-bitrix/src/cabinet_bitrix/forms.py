"""Bitrix24's form bodies: PHP bracket keys such as ``data[FIELDS][ID]=24`` read as nested dicts.

Bitrix24 is written in PHP: its events, the local app's install callback and a placement's
page are posted as ``application/x-www-form-urlencoded`` bodies whose keys PHP would turn into
nested arrays (bitrix24.md §1.2, §6.2)::

    event=ONCRMDYNAMICITEMUPDATE&data[FIELDS][ID]=24&auth[application_token]=5185…

This reader is the cabinet's own and shares nothing with the emulator's writer, so a test that
posts the emulator's events into the cabinet checks the one against the other.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

__all__ = ["MAX_DEPTH", "MAX_FIELDS", "FormError", "parse_form"]

#: PHP's defaults (``max_input_vars``, ``max_input_nesting_level``); an event is far smaller.
MAX_FIELDS = 1000
MAX_DEPTH = 64


class FormError(ValueError):
    """A body that is not a form Bitrix24 would post (too many fields, nested too deep)."""


def parse_form(body: str) -> dict[str, Any]:
    """The fields of the urlencoded ``body``, nested by their bracket keys.

    ``auth[application_token]=x`` gives ``{"auth": {"application_token": "x"}}``. Every value is
    a string. PHP arrays stay dicts with string keys, numbered ones too
    (``MESSAGES[0][im][chat_id]`` gives ``{"MESSAGES": {"0": {"im": {"chat_id": …}}}}``); an
    empty pair of brackets appends after the highest number so far, as PHP does. When two fields
    name the same place, the later one wins. Text after a key's last closing bracket is ignored
    (PHP ignores it too); a key without a name before its first bracket is kept whole.

    Raises :class:`FormError` (a ``ValueError``) for more than :data:`MAX_FIELDS` fields or
    brackets nested deeper than :data:`MAX_DEPTH`, and ``UnicodeDecodeError`` when a
    percent-escape is not UTF-8.
    """
    try:
        pairs = parse_qsl(body, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise  # a ValueError too, but not one about the number of fields
    except ValueError as exc:  # parse_qsl's "Max number of fields exceeded"
        raise FormError(f"more than {MAX_FIELDS} form fields") from exc
    root: dict[str, Any] = {}
    for key, value in pairs:
        _place(root, _path(key), value)
    return root


def _path(key: str) -> list[str]:
    """``data[FIELDS][ID]`` → ``["data", "FIELDS", "ID"]``; an empty step means "append"."""
    opening = key.find("[")
    if opening <= 0:
        return [key]
    steps = [key[:opening]]
    position = opening
    while position < len(key) and key[position] == "[":
        closing = key.find("]", position + 1)
        if closing == -1:
            break
        steps.append(key[position + 1 : closing])
        position = closing + 1
    if len(steps) == 1:
        # "a[b" has no closed bracket: nothing nests, the key is a name of its own.
        return [key]
    if len(steps) - 1 > MAX_DEPTH:
        raise FormError(f"form field {key[:80]!r} is nested deeper than {MAX_DEPTH} levels")
    return steps


def _place(root: dict[str, Any], steps: list[str], value: str) -> None:
    node = root
    for step in steps[:-1]:
        name = _appended(node) if step == "" else step
        child = node.get(name)
        if not isinstance(child, dict):
            # A nested field replaces a plain value of the same name (the later field wins).
            child = node[name] = {}
        node = child
    last = steps[-1]
    node[_appended(node) if last == "" else last] = value


def _appended(node: dict[str, Any]) -> str:
    """The key ``[]`` stands for in ``node``: one past its highest non-negative integer key."""
    numbers = [int(key) for key in node if _is_index(key)]
    return str(max(numbers) + 1) if numbers else "0"


def _is_index(key: str) -> bool:
    # PHP reads "7" as the number 7 but keeps "07", "+7" and "٧" as strings.
    return key.isascii() and key.isdigit() and (key == "0" or not key.startswith("0"))
