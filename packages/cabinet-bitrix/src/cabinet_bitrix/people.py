"""The firm's people in Bitrix24: whose CRM items and companies a client's are.

A client's company and the CRM items of its documents have the client's manager as their
"Responsible" (``assignedById``, ``ASSIGNED_BY_ID`` in the legacy methods). The manager is a
cabinet user; the portal's user is found

* by an explicit mapping an admin saved on the Bitrix24 settings page (:data:`STATE_KEY`:
  cabinet user id → portal user id), for a manager whose portal address differs, or else
* by e-mail: ``user.get`` with ``FILTER[EMAIL]`` among the portal's active users
  (bitrix24.md §5), the answer kept for :data:`LOOKUP_SECONDS` so a push of 50 documents asks
  once.

A client without a manager, or a manager the portal does not know, leaves the Responsible as
the portal has it (the app's user on creation), never failing the push.

Reassigning a client to another manager queues ``client.updated`` (its payload is the client,
``manager_id`` included): :func:`reassign_items` then moves the company and every item tagged
with it (``mycompanyId``) to the new Responsible, in batches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cabinet_bitrix.batching import Command, chunks, run_batch
from cabinet_bitrix.paging import pull_by_id, rows_of

if TYPE_CHECKING:
    from cabinet_core.entities import Client
    from cabinet_core.sync import SyncPort

    from cabinet_bitrix.client import BitrixClient

log = logging.getLogger("cabinet.bitrix.people")

#: The backend's state key of the admins' explicit mapping (cabinet user id → portal user id;
#: settings key ``bitrix24.people``).
STATE_KEY = "people"
#: How long an e-mail lookup's answer is kept (a new portal user is found after this long).
LOOKUP_SECONDS = 600.0


def check_people(value: Any) -> dict[str, int]:
    """The saved mapping, checked: string keys (cabinet user ids) to positive portal ids.
    :class:`ValueError` says what is wrong."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("the people mapping must map cabinet user ids to Bitrix24 user ids")
    checked: dict[str, int] = {}
    for key, portal_id in value.items():
        if not str(key).isdigit():
            raise ValueError(f"{key!r} is not a cabinet user id")
        try:
            number = int(portal_id)
        except (TypeError, ValueError):
            raise ValueError(f"{portal_id!r} is not a Bitrix24 user id") from None
        if number <= 0:
            raise ValueError(f"{portal_id!r} is not a Bitrix24 user id")
        checked[str(int(key))] = number
    return checked


class People:
    """Cabinet users → portal users, for one backend (its client and its clock)."""

    def __init__(
        self, client: BitrixClient, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self._clock = clock
        #: e-mail (lower case) → (portal user id or ``None``, when the answer expires).
        self._by_email: dict[str, tuple[int | None, float]] = {}

    def portal_user(self, email: str) -> int | None:
        """The active portal user with ``email``; ``None`` when there is none."""
        key = email.strip().lower()
        if not key:
            return None
        cached = self._by_email.get(key)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        rows = rows_of(
            self.client.call("user.get", {"FILTER": {"EMAIL": key, "ACTIVE": True}}),
        )
        found = next((int(r["ID"]) for r in rows if str(r.get("EMAIL", "")).lower() == key), None)
        if found is None and rows:
            found = int(rows[0]["ID"])
        self._by_email[key] = (found, self._clock() + LOOKUP_SECONDS)
        return found

    def responsible(self, port: SyncPort, client: Client | None) -> int | None:
        """The portal user who is the client's manager: the explicit mapping first, else by
        e-mail; ``None`` when the client has no manager or the portal does not know them."""
        if client is None or client.manager_id is None:
            return None
        try:
            explicit = check_people(port.state(STATE_KEY))
        except ValueError as exc:
            log.warning("bitrix24: the people mapping is ignored: %s", exc)
            explicit = {}
        if str(client.manager_id) in explicit:
            return explicit[str(client.manager_id)]
        manager = port.user(client.manager_id)
        if manager is None or not manager.active:
            return None
        found = self.portal_user(manager.email)
        if found is None:
            log.info("bitrix24: manager %s has no portal user", manager.email)
        return found


def reassign_items(
    client: BitrixClient,
    entity_types: set[int],
    company_id: int,
    responsible: int,
    *,
    origin_fields: Mapping[int, str],
    origin_prefix: str,
) -> int:
    """Give every cabinet item tagged with the client's company (``mycompanyId``) of
    ``entity_types`` the Responsible ``responsible``; how many were moved. Items already
    there are not touched (no update event, no timeline noise)."""
    updates: list[Command] = []
    for entity_type_id in sorted(entity_types):
        field = origin_fields[entity_type_id]
        params: dict[str, Any] = {
            "entityTypeId": entity_type_id,
            "select": ["id"],
            "useOriginalUfNames": "Y",
            "filter": {
                "=mycompanyId": company_id,
                "!=assignedById": responsible,
                f"=%{field}": f"{origin_prefix}-document-%",
            },
        }
        for item in pull_by_id(client, "crm.item.list", params, key="items"):
            updates.append(
                Command(
                    f"assign{entity_type_id}_{item['id']}",
                    "crm.item.update",
                    {
                        "entityTypeId": entity_type_id,
                        "id": int(item["id"]),
                        "fields": {"assignedById": responsible},
                    },
                )
            )
    for batch in chunks(updates):
        for result in run_batch(client, batch).values():
            result.unwrap()
    return len(updates)
