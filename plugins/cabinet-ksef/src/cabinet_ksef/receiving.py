"""Receiving: each client's purchase invoices (the client is ``Subject2``, the buyer) fetched from
KSeF on a schedule and imported once as cost invoices.

KSeF is a synchronisation API with tight limits (ksef-api.md §0.5, §7, §8): the metadata query
allows 20 requests an hour per client and every page counts, one download 64 an hour. So:

* a client is synced at most every ``CABINET_KSEF_RECEIVE_MINUTES`` (≥ 15), inside the
  receiving hours, by the worker's periodic pass — never while a person waits for a page;
* incrementally, by *permanent-storage date* in ascending order, from a **high-water mark**
  kept in the client's state (the first pass reaches back ``CABINET_KSEF_BACKFILL_DAYS``); a
  window spans at most three months (KSeF's own limit), so a long back-fill walks window by
  window over several passes;
* at most ``CABINET_KSEF_RECEIVE_PAGES`` metadata pages and 60 downloads per client and pass,
  so one pass never spends a client's hourly budget alone; a 429 stops the client's pass and
  waits KSeF's ``Retry-After``;
* an invoice whose KSeF number the cabinet knows is not downloaded again; the rest go through
  ``port.import_purchase`` (itself idempotent on the KSeF number). The mark only moves past
  invoices that are in the cabinet, so an interrupted pass resumes where it stopped.
* **a large backlog takes the export path** (§7.3): when the first metadata page of a window
  says there is more than one page (over 250 invoices: a client's first full sync, or a long
  stop), the pass asks for an export of the window instead (``POST /invoices/exports``, one
  of 20 requests an hour, up to 10,000 invoices in one encrypted package), downloads and
  decrypts it, and imports it ``EXPORT_IMPORTS`` invoices a pass; the client stays due while
  some of the package is left. The package is **streamed to a temporary file** (each part
  decrypted in 64 KiB chunks as it arrives, both hashes checked) and its invoices are read from
  that ZIP one at a time: the worker keeps only the metadata in memory, so memory stays flat as
  the export grows (a restarted worker asks again; the file goes when the backlog is done).
  Downloading one by one would take 64 invoices an hour: 10,000 in over 156 hours.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from cabinet_core.crm import DeliveryError
from cabinet_core.errors import CabinetError, ValidationError

from cabinet_ksef.api import Export, InvoiceMetadata
from cabinet_ksef.client import export_metadata, open_export
from cabinet_ksef.errors import KsefError, KsefRateLimited

if TYPE_CHECKING:
    from cabinet_ksef.api import AccessTokens
    from cabinet_ksef.client import KsefClient
    from cabinet_ksef.sending import KsefSender

log = logging.getLogger(__name__)

#: Per-client state keys this module owns.
RECEIVE_KEY = "receive"
#: The longest window one metadata query may span (KSeF: three months).
MAX_WINDOW = timedelta(days=90)
#: Downloads per client and pass: KSeF allows 64 an hour (§7.2), the pass keeps a margin.
MAX_DOWNLOADS = 60
PAGE_SIZE = 250
#: Invoices of an export package imported per pass (the rest wait for the next, a minute on).
EXPORT_IMPORTS = 500
#: Status reads of a fresh export within one pass before leaving it for the next pass.
EXPORT_POLLS = 3


@attrs.define
class Backlog:
    """An export package of a client being imported: its metadata in the worker's memory, its
    decrypted ZIP in a temporary file, between passes."""

    #: Not yet imported, oldest first (their XML is in ``package``).
    invoices: list[InvoiceMetadata]
    #: Where the mark goes once all are in (the package's continuation point).
    next_mark: datetime
    #: A started export not ready yet (its package still to download).
    export: Export | None = None
    window_to: datetime | None = None
    #: The decrypted package (a ZIP) on disk, once downloaded.
    package: Path | None = None

    def discard(self) -> None:
        """Remove the package's file."""
        if self.package is not None:
            self.package.unlink(missing_ok=True)
            self.package = None


@attrs.frozen(kw_only=True)
class ReceiveState:
    """Where a client's receiving stands (kept in its state, shown on its settings page)."""

    high_water: datetime | None = None
    last_sync: datetime | None = None
    last_imported: int = 0
    imported_total: int = 0
    blocked_until: datetime | None = None
    last_error: str = ""
    #: The newest invoices that could not be imported (KSeF number: why).
    failed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "high_water": iso(self.high_water),
            "last_sync": iso(self.last_sync),
            "last_imported": self.last_imported,
            "imported_total": self.imported_total,
            "blocked_until": iso(self.blocked_until),
            "last_error": self.last_error,
            "failed": list(self.failed),
        }

    @classmethod
    def from_json(cls, value: Any) -> ReceiveState:
        if not isinstance(value, dict):
            return cls()

        def when(key: str) -> datetime | None:
            text = value.get(key)
            return datetime.fromisoformat(text) if isinstance(text, str) and text else None

        return cls(
            high_water=when("high_water"),
            last_sync=when("last_sync"),
            last_imported=int(value.get("last_imported") or 0),
            imported_total=int(value.get("imported_total") or 0),
            blocked_until=when("blocked_until"),
            last_error=str(value.get("last_error") or ""),
            failed=tuple(str(item) for item in value.get("failed") or ()),
        )


@attrs.frozen
class PassResult:
    """What one client's pass did."""

    client_id: int
    imported: int
    skipped: int
    pages: int
    complete: bool
    error: str = ""
    failed: tuple[str, ...] = ()


class Receiver:
    """The periodic receiving pass over every client with KSeF switched on."""

    def __init__(self, sender: KsefSender, *, clock: Callable[[], datetime] | None = None) -> None:
        self.sender = sender
        self.port = sender.port
        self.settings = sender.settings
        self._clock = clock or self.port.now
        self._backlogs: dict[int, Backlog] = {}

    def state(self, client_id: int) -> ReceiveState:
        return ReceiveState.from_json(self.port.client_state(client_id, RECEIVE_KEY))

    def due(self, client_id: int, now: datetime) -> bool:
        """Whether the client's next pass is due at ``now``."""
        state = self.state(client_id)
        if state.blocked_until is not None and state.blocked_until > now:
            return False
        if state.last_sync is None or client_id in self._backlogs:
            return True
        return now - state.last_sync >= timedelta(minutes=self.settings.receive_minutes)

    def run(self) -> list[PassResult]:
        """One pass over the clients whose turn it is (the worker's periodic task)."""
        now = self._clock()
        if not self.settings.receiving_now(now.time()):
            return []
        results: list[PassResult] = []
        for client in self.port.clients_with_ksef():
            assert client.id is not None
            if not self.due(client.id, now):
                continue
            if self.sender.vault.info(client.id) is None:
                continue  # no credentials yet: nothing can be fetched
            try:
                results.append(self.receive(client.id))
            except Exception:
                log.exception("ksef: receiving for client %s failed", client.id)
        return results

    def receive(self, client_id: int) -> PassResult:
        """Fetch and import the client's new purchase invoices (one bounded pass)."""
        state = self.state(client_id)
        now = self._clock()
        start = state.high_water or now - timedelta(days=self.settings.backfill_days)
        imported = skipped = pages = downloads = 0
        failed: list[str] = []
        high_water = state.high_water
        complete = False
        error = ""
        blocked_until: datetime | None = None
        try:
            connection, credentials = self.sender.open(client_id)
            tokens = self.sender.connections.tokens(connection, credentials)
            offset = 0
            window_from = start
            backlog = self._backlogs.get(client_id)
            if backlog is not None:
                done, imported, failed, high_water = self._work_backlog(
                    client_id, backlog, connection.client, tokens, high_water
                )
                complete = done and backlog.export is None
                pages = self.settings.receive_pages  # the pass goes to the backlog alone
            while pages < self.settings.receive_pages:
                window_to = min(now, window_from + MAX_WINDOW)
                page = connection.client.query_metadata(
                    tokens,
                    subject="Subject2",
                    date_from=window_from,
                    date_to=window_to,
                    page_offset=offset,
                    page_size=PAGE_SIZE,
                )
                pages += 1
                if offset == 0 and (page.has_more or page.is_truncated):
                    # More than a page in this window: the export carries it in one request.
                    export = connection.client.start_export(
                        tokens, subject="Subject2", date_from=window_from, date_to=window_to
                    )
                    backlog = Backlog([], window_to, export=export, window_to=window_to)
                    self._backlogs[client_id] = backlog
                    _done, imported, failed, high_water = self._work_backlog(
                        client_id, backlog, connection.client, tokens, high_water
                    )
                    break
                known = self.port.known_ksef_numbers(
                    client_id, (item.ksef_number for item in page.invoices)
                )
                stop = False
                for item in page.invoices:
                    if item.ksef_number not in known:
                        if downloads >= MAX_DOWNLOADS:
                            stop = True
                            break
                        xml = connection.client.download_invoice(tokens, item.ksef_number)
                        downloads += 1
                        try:
                            _, created = self.port.import_purchase(
                                client_id,
                                xml,
                                ksef_number=item.ksef_number,
                                metadata=metadata_of(item),
                            )
                        except CabinetError as exc:
                            # A file the cabinet cannot take must not stop the ones after it:
                            # staff see it on the client's page and import it by hand.
                            failed.append(f"{item.ksef_number}: {describe(exc)}")
                            created = False
                        imported += created
                        skipped += not created
                    else:
                        skipped += 1
                    high_water = max(
                        high_water or item.permanent_storage_date, item.permanent_storage_date
                    )
                if stop:
                    break
                if page.is_truncated and page.invoices:
                    window_from, offset = page.invoices[-1].permanent_storage_date, 0
                elif page.has_more:
                    offset += 1
                elif window_to < now:
                    # The three-month window is done; the next one starts where it ended.
                    high_water = max(high_water or window_to, window_to)
                    window_from, offset = window_to, 0
                else:
                    complete = True
                    break
        except KsefRateLimited as exc:
            blocked_until = now + timedelta(seconds=exc.retry_after or 3600)
            error = str(exc)
        except (KsefError, DeliveryError) as exc:
            error = str(exc)
            self._drop_unstarted(client_id)
        self.port.set_client_state(
            client_id,
            RECEIVE_KEY,
            ReceiveState(
                high_water=high_water,
                last_sync=now,
                last_imported=imported,
                imported_total=state.imported_total + imported,
                blocked_until=blocked_until,
                last_error=error,
                failed=(*failed, *state.failed)[:20],
            ).to_json(),
        )
        return PassResult(client_id, imported, skipped, pages, complete, error, tuple(failed))

    def _drop_unstarted(self, client_id: int) -> None:
        """Forget an export whose package could not be fetched (the next pass asks anew)."""
        backlog = self._backlogs.get(client_id)
        if backlog is not None and backlog.export is not None:
            self._forget(client_id)

    def _work_backlog(
        self,
        client_id: int,
        backlog: Backlog,
        client: KsefClient,
        tokens: AccessTokens,
        high_water: datetime | None,
    ) -> tuple[bool, int, list[str], datetime | None]:
        """Fetch the backlog's package if it is not yet, then import up to ``EXPORT_IMPORTS``
        of it; ``(all in, imported, failed, mark)``."""
        if backlog.export is not None and not self._fetch_package(
            client_id, backlog, client, tokens
        ):
            return False, 0, [], high_water
        imported = 0
        failed: list[str] = []
        batch, backlog.invoices = (
            backlog.invoices[:EXPORT_IMPORTS],
            backlog.invoices[EXPORT_IMPORTS:],
        )
        known = self.port.known_ksef_numbers(client_id, (item.ksef_number for item in batch))
        assert backlog.package is not None
        with open_export(backlog.package) as archive:
            for item in batch:
                if item.ksef_number not in known:
                    try:
                        xml = archive.read(f"{item.ksef_number}.xml")
                        _, created = self.port.import_purchase(
                            client_id,
                            xml,
                            ksef_number=item.ksef_number,
                            metadata=metadata_of(item),
                        )
                    except CabinetError as exc:
                        failed.append(f"{item.ksef_number}: {describe(exc)}")
                        created = False
                    imported += created
                high_water = max(
                    high_water or item.permanent_storage_date, item.permanent_storage_date
                )
        if backlog.invoices:
            return False, imported, failed, high_water
        self._forget(client_id)
        return True, imported, failed, max(high_water or backlog.next_mark, backlog.next_mark)

    def _forget(self, client_id: int) -> None:
        """Drop the client's backlog and its package's file."""
        backlog = self._backlogs.pop(client_id, None)
        if backlog is not None:
            backlog.discard()

    def close(self) -> None:
        """Remove every package file still on disk (the worker stops)."""
        for client_id in list(self._backlogs):
            self._forget(client_id)

    def _fetch_package(
        self, client_id: int, backlog: Backlog, client: KsefClient, tokens: AccessTokens
    ) -> bool:
        """Read the export's status (a few times) and, once ready, download and unpack it into
        the backlog; ``False`` while KSeF is still packing it."""
        assert backlog.export is not None
        for _ in range(EXPORT_POLLS):
            status = client.export_status(tokens, backlog.export)
            if status.code != 100:
                break
        else:
            return False
        if status.code != 200 or status.package is None:
            self._forget(client_id)
            raise KsefError(200, f"the export failed: {status.code} {status.description}")
        package = status.package
        handle, name = tempfile.mkstemp(prefix=f"ksef-export-{client_id}-", suffix=".zip")
        backlog.package = Path(name)
        try:
            with os.fdopen(handle, "wb") as sink:
                client.download_export_to(backlog.export, package, sink)
            with open_export(backlog.package) as archive:
                metadata = export_metadata(archive)
                names = set(archive.namelist())
        except BaseException:
            backlog.discard()
            raise
        known = self.port.known_ksef_numbers(client_id, (item.ksef_number for item in metadata))
        backlog.invoices = sorted(
            (
                item
                for item in metadata
                if item.ksef_number not in known and f"{item.ksef_number}.xml" in names
            ),
            key=lambda item: item.permanent_storage_date,
        )
        if package.is_truncated and package.last_permanent_storage_date is not None:
            backlog.next_mark = package.last_permanent_storage_date
        elif backlog.window_to is not None:
            backlog.next_mark = backlog.window_to
        backlog.export = None
        return True


def metadata_of(item: InvoiceMetadata) -> dict[str, Any]:
    """What KSeF's metadata says of a purchase invoice, as the port keeps it (JSON types; the
    PLN amounts as strings so no float ever touches them)."""
    return {
        "ksef_number": item.ksef_number,
        "invoice_number": item.invoice_number,
        "issue_date": item.issue_date.isoformat(),
        "seller_nip": item.seller_nip,
        "seller_name": item.seller_name,
        "buyer_nip": item.buyer_nip,
        "net": str(item.net),
        "vat": str(item.vat),
        "gross": str(item.gross),
        "currency": item.currency,
        "invoice_hash": item.invoice_hash,
        "permanent_storage_date": item.permanent_storage_date.isoformat(),
        "acquisition_date": item.acquisition_date.isoformat() if item.acquisition_date else None,
        "invoice_type": item.invoice_type,
    }


def describe(exc: CabinetError) -> str:
    """An import refusal in a line: the fields at fault for a :class:`ValidationError`."""
    if isinstance(exc, ValidationError) and exc.errors:
        return ", ".join(sorted({error.field for error in exc.errors}))
    return str(exc) or type(exc).__name__
