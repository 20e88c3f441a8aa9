"""Wire formats: PHP bracket keys (``fields[PHONE][0][VALUE]=1``), and PHP-shaped JSON.

Bitrix24 is PHP: a form or query string becomes nested arrays by bracket keys, and
``json_encode`` writes an empty array as ``[]`` and an array keyed ``0..n-1`` as a JSON list
(bitrix24.md §1.2, §1.3). Both directions live here so every method sees plain dicts and lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def _next_index(node: dict[str, Any]) -> str:
    numbers = [int(key) for key in node if key.isdigit()]
    return str(max(numbers) + 1 if numbers else 0)


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        value = {key: _listify(item) for key, item in value.items()}
        keys = list(value)
        if keys and keys == [str(n) for n in range(len(keys))]:
            return list(value.values())
    return value


def parse_pairs(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Nested parameters from ``(key, value)`` pairs with PHP bracket keys.

    ``a[]=x`` appends; arrays keyed ``0..n-1`` become lists, as PHP code would iterate them.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            root[key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for n, part in enumerate(parts):
            name = _next_index(node) if part == "" else part
            if n == len(parts) - 1:
                node[name] = value
            else:
                child = node.get(name)
                if not isinstance(child, dict):
                    child = node[name] = {}
                node = child
    # Only nested arrays become lists: the parameters themselves stay named, even "0", "1".
    return {name: _listify(value) for name, value in root.items()}


def parse_query(text: str) -> dict[str, Any]:
    """A query string (or urlencoded body) as nested parameters."""
    return parse_pairs(parse_qsl(text, keep_blank_values=True))


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested data as PHP bracket pairs (how Bitrix24 posts events; how batch commands are
    written). ``None`` becomes an empty string, booleans ``1``/``0`` as PHP would print them."""
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "1" if value else "0"
        else:
            text = str(value)
        return [(prefix, text)]
    pairs: list[tuple[str, str]] = []
    empty = True
    for key, item in items:
        empty = False
        pairs.extend(flatten(item, f"{prefix}[{key}]" if prefix else str(key)))
    if empty and prefix:
        pairs.append((f"{prefix}[]", ""))
    return pairs


def urlencode(value: Mapping[str, Any]) -> str:
    """Nested data as a form body / query string with bracket keys."""
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in flatten(value))


def php_shape(value: Any) -> Any:
    """Data as PHP's ``json_encode`` would write it: ``{}`` → ``[]``, ``{"0":…,"1":…}`` → list."""
    if isinstance(value, Mapping):
        if not value:
            return []
        shaped = {str(key): php_shape(item) for key, item in value.items()}
        keys = list(shaped)
        if keys == [str(n) for n in range(len(keys))]:
            return list(shaped.values())
        return shaped
    if isinstance(value, list | tuple):
        return [php_shape(item) for item in value]
    return value


def dumps(value: Any) -> bytes:
    """PHP-shaped JSON, UTF-8, unescaped like Bitrix24's answers."""
    return dumps_shaped(php_shape(value))


def dumps_shaped(shaped: Any) -> bytes:
    """JSON of data :func:`php_shape` already shaped."""
    return json.dumps(shaped, ensure_ascii=False, separators=(",", ":")).encode()
