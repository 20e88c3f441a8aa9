"""Reading list methods whole (bitrix24.md §2.5).

* :func:`pages` follows ``start``/``next``: pages of 50, with ``total``. Fine for small sets.
* :func:`pull_by_id` is the documented bulk pattern: ``order {id: ASC}``, ``filter {">id":
  last}``, ``start=-1``. With ``start=-1`` the portal skips the COUNT query (seconds on big
  tables, bitrix24.md §2.5), and the id window never skips or repeats a row when rows are added
  meanwhile, as offsets can.

Lists answer in different shapes (``{"items": […]}``, ``{"productRows": […]}``, a bare list);
:func:`rows_of` finds the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cabinet_bitrix.client import BitrixClient

#: Rows per page; fixed by the portal.
PAGE_SIZE = 50


def rows_of(result: Any, key: str | None = None) -> list[Any]:
    """The rows of a list answer: ``result[key]``, the only list inside ``result``, or
    ``result`` itself when it is a list."""
    if isinstance(result, list):
        return result
    if isinstance(result, Mapping):
        if key is not None:
            found = result.get(key, [])
            return list(found) if isinstance(found, list) else []
        lists = [value for value in result.values() if isinstance(value, list)]
        if len(lists) == 1:
            return list(lists[0])
    return []


def pages(
    client: BitrixClient,
    method: str,
    params: Mapping[str, Any] | None = None,
    *,
    key: str | None = None,
) -> Iterator[Any]:
    """Every row of ``method``, page after page by ``start``/``next``."""
    start = 0
    while True:
        response = client.call_full(method, {**(params or {}), "start": start})
        yield from rows_of(response.result, key)
        if response.next is None or response.next <= start:
            return
        start = response.next


def pull_by_id(
    client: BitrixClient,
    method: str,
    params: Mapping[str, Any] | None = None,
    *,
    key: str | None = None,
    id_field: str = "id",
    after: int = 0,
) -> Iterator[Any]:
    """Every row of ``method`` with ``id`` above ``after``, in id order, by id windows and
    ``start=-1`` (no counting). ``id_field`` is ``ID`` for the legacy methods."""
    base = dict(params or {})
    given_filter = dict(base.pop("filter", None) or {})
    select = base.get("select")
    if isinstance(select, list) and select and "*" not in select and id_field not in select:
        base["select"] = [*select, id_field]  # the window needs each row's id
    last = after
    while True:
        response = client.call_full(
            method,
            {
                **base,
                "filter": {**given_filter, f">{id_field}": last},
                "order": {id_field: "ASC"},
                "start": -1,
            },
        )
        rows = rows_of(response.result, key)
        yield from rows
        if len(rows) < PAGE_SIZE:
            return
        newest = int(rows[-1][id_field])
        if newest <= last:
            # The portal ignored the id filter: stop rather than loop forever.
            raise RuntimeError(f"{method}: the '>{id_field}' filter did not advance")
        last = newest
