"""Periodic reconciliation with Bitrix24, which never retries an event (bitrix24.md §6.3).

:func:`reconcile` does what a lost event or a lost push would otherwise leave undone:

1. **Staff changes**: for every entity type documents are kept as, it lists the items changed
   since the last run (``crm.item.list`` with ``>updatedTime`` and its origin field ``LIKE
   <prefix>-document-%``, its pages 50 to a ``batch``: :func:`changed_items`) and applies
   their stages exactly as an event would (:func:`~cabinet_bitrix.inbound.apply_item`), so a
   stage moved while the event handler was down still reaches the cabinet. Applying the same
   stage twice changes nothing. A document whose own stage change has not reached the portal
   yet (waiting, or failed) is left alone: the item's stage is the older one.
2. **Convergence** (:func:`~cabinet_bitrix.convergence.converge`): every document's item is
   compared with the cabinet (exists, content and rows as last confirmed, stage, Responsible,
   company and contact), a page at a time from a wrapping cursor, and whatever differs is
   pushed again, including documents whose messages failed for good; documents still waiting
   for the worker are remembered and compared first next time.

The run's start (less a margin for clocks and for changes made while it ran) is kept in the
backend's state under :data:`STATE_KEY`; the convergence cursor under
:data:`~cabinet_bitrix.convergence.STATE_KEY`. The worker runs it every
``CABINET_BITRIX_RECONCILE_SECONDS``, and soon after a delivery failed, once no delivery is
due (:meth:`BitrixBackend.periodic_tasks`, :func:`reconcile_if_due`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from cabinet_core.sync import Topic

from cabinet_bitrix.attachments import deliveries_due
from cabinet_bitrix.batching import Command
from cabinet_bitrix.convergence import BUDGET, DUE_KEY, ConvergeReport, converge
from cabinet_bitrix.inbound import apply_item, document_id_of
from cabinet_bitrix.paging import PAGE_SIZE, rows_of
from cabinet_bitrix.stages import StageMap

if TYPE_CHECKING:
    from cabinet_core.sync import SyncPort

    from cabinet_bitrix.backend import BitrixBackend

log = logging.getLogger("cabinet.bitrix.reconcile")

#: The backend's state key of the reconciliation state (``last_run``, ``last_document_id``;
#: settings key ``bitrix24.reconcile``).
STATE_KEY = "reconcile"
#: How far back each run looks beyond the previous run's start: clock differences between
#: the cabinet and the portal, and changes made while the previous run was reading.
MARGIN = timedelta(minutes=2)
#: Topics whose delivery moves the item's stage.
_STAGE_TOPICS = frozenset({Topic.DOCUMENT_STATUS_CHANGED, Topic.DOCUMENT_PAYMENT_CHANGED})
#: How often the task that runs a pass after a failure looks whether one is due.
AFTER_FAILURE_SECONDS = 30.0
#: State key of the backoff of passes after a failure that failed themselves.
_RETRY_KEY = "convergence_retry"


@attrs.frozen(kw_only=True)
class ReconcileReport:
    """What one run did: items read and stage changes applied (one line each), the window it
    covered, and the convergence pass (documents compared, pushed again, waiting, failed)."""

    since: datetime | None
    until: datetime
    items_checked: int = 0
    applied: tuple[str, ...] = ()
    convergence: ConvergeReport = attrs.field(factory=ConvergeReport)

    @property
    def documents_checked(self) -> int:
        """Documents the convergence pass compared."""
        return self.convergence.checked

    @property
    def requeued(self) -> tuple[int, ...]:
        """Documents pushed again, in id order."""
        return tuple(sorted(self.convergence.repaired))


def _state(port: SyncPort) -> dict[str, Any]:
    value = port.state(STATE_KEY)
    return dict(value) if isinstance(value, dict) else {}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def reconcile(
    port: SyncPort,
    backend: BitrixBackend,
    *,
    since: datetime | None = None,
    budget: int = BUDGET,
) -> ReconcileReport:
    """Apply stage changes the events missed, then compare up to ``budget`` documents with
    their items and push again what differs. ``since`` overrides the saved window start
    (``None`` and nothing saved: everything)."""
    state = _state(port)
    if since is None and state.get("last_run"):
        since = datetime.fromisoformat(str(state["last_run"])) - MARGIN
    started = datetime.fromtimestamp(backend.client.now(), UTC)
    requests_before = backend.client.requests
    stages = StageMap.load(port)
    checked = 0
    applied: list[str] = []
    # A document whose own stage change has not reached the portal (waiting, or failed) is
    # newer in the cabinet than its item: the item's stale stage must not undo it.
    unsettled = {
        m.entity_id
        for status in ("pending", "failed")
        for m in port.deliveries(status, limit=1000)
        if m.topic in _STAGE_TOPICS and m.entity == "document"
    }
    entity_types = {*backend.settings.entity_types.values(), backend.settings.default_entity_type}
    for entity_type_id in sorted(entity_types):
        field = backend.ensure_origin_field(entity_type_id)
        # Only the cabinet's own items (LIKE on the origin field): a portal's other quotes
        # may be many, and are none of the cabinet's business.
        filter_: dict[str, Any] = {f"=%{field}": f"{backend.settings.origin_prefix}-document-%"}
        if since is not None:
            filter_[">updatedTime"] = _iso(since)
        params: dict[str, Any] = {
            "entityTypeId": entity_type_id,
            "select": ["id", "stageId", "mycompanyId", "updatedTime", field],
            "useOriginalUfNames": "Y",
            "filter": filter_,
            "order": {"id": "ASC"},
        }
        for item in changed_items(backend, params):
            document_id = document_id_of(backend, item.get(field))
            if document_id is None:
                continue
            checked += 1
            if document_id in unsettled:
                continue
            outcome = apply_item(port, backend, entity_type_id, item, stages)
            if outcome.startswith(("status:", "refused:")):
                applied.append(outcome)
    # What the listing cost counts against the pass's allowance (one request per 50
    # documents compared).
    convergence = converge(
        port, backend, budget=budget, spent=backend.client.requests - requests_before
    )
    port.set_state(STATE_KEY, {"last_run": _iso(started)})
    port.set_state(DUE_KEY, None)
    report = ReconcileReport(
        since=since,
        until=started,
        items_checked=checked,
        applied=tuple(applied),
        convergence=convergence,
    )
    if applied:
        log.info("bitrix24 reconcile: %d stage changes applied", len(applied))
    return report


def changed_items(backend: BitrixBackend, params: Mapping[str, Any]) -> Iterator[Any]:
    """Every item ``params`` select: the first page with its count (``total``), then the
    other pages by ``start``, 50 pages per ``batch`` request, so 5,000 changed items cost
    three requests rather than a hundred (bitrix24.md §2.4, §2.5). Offsets are safe here:
    the filter is ``>updatedTime``, which an item never leaves, so an item changed while the
    pages are read only pushes later ones back (read twice, harmlessly), never skips one;
    one added after the count is in the next pass's window."""
    first = backend.client.call_full("crm.item.list", {**params, "start": 0})
    yield from rows_of(first.result, "items")
    if first.next is None or not first.total:
        return
    commands = [
        Command(f"page{start}", "crm.item.list", {**params, "start": start})
        for start in range(first.next, int(first.total), PAGE_SIZE)
    ]
    results = backend.run_reads(commands)
    for command in commands:
        yield from rows_of(results[command.name].unwrap(), "items")


def reconcile_if_due(port: SyncPort, backend: BitrixBackend) -> ReconcileReport | None:
    """Run a pass when a delivery failed since the last pass, no delivery is due now, and
    the portal has answered since (a delivery went through after the failure, or nothing is
    left waiting: what failed has failed for good); ``None`` when none was due. A pass that
    fails (the portal still down) is tried again later and later, up to every hour, so an
    outage never keeps the worker busy with it."""
    flag = port.state(DUE_KEY)
    if not flag or deliveries_due(port):
        return None
    now = port.now()
    since = _moment(flag)
    if port.deliveries("pending", limit=1):
        delivered = port.deliveries("delivered", limit=1)
        last = delivered[0].delivered_at if delivered else None
        if last is None or (since is not None and last <= since):
            return None  # the portal has not answered since the failure
    retry = port.state(_RETRY_KEY)
    retry = dict(retry) if isinstance(retry, Mapping) else {}
    not_before = _moment(retry.get("not_before"))
    if not_before is not None and now < not_before:
        return None
    try:
        report = reconcile(port, backend)
    except Exception:
        tries = int(retry.get("tries") or 0) + 1
        wait = timedelta(seconds=min(AFTER_FAILURE_SECONDS * 2**tries, 3600.0))
        port.set_state(_RETRY_KEY, {"tries": tries, "not_before": _iso(now + wait)})
        raise
    port.set_state(_RETRY_KEY, None)
    return report


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
