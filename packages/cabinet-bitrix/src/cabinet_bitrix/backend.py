"""The ``bitrix24`` CRM backend: pushes cabinet documents to CRM items (webhook or app), and
clients, counterparties (:mod:`.parties`) and products (:mod:`.catalog`) to the CRM.

Each delivery sends the document's *current* state, so retries and out-of-order messages
converge. Creating is made idempotent by hand (CRM methods have no idempotency key, bitrix24.md
§0.10): the item carries the cabinet's id in its origin field and is looked up by it before a
new one is added. Product rows are replaced as a whole (``crm.item.productrow.set``) in the same
``batch`` request as the item (``ownerId=$result[item…][item][id]``), so a document costs one
lookup and one write request, and many documents share both (:meth:`BitrixBackend.push_documents`):
the lookups are one ``crm.item.list`` with an IN filter per 50 documents, and what else a push
must know the first time (the pipeline and its stages, requisite presets, whether the parties
exist) rides along in the same lookup batch. Write batches go several in flight
(:mod:`.pipeline`). Stages follow :mod:`.stages`; changes coming back are :mod:`.inbound` and
:mod:`.reconcile`'s business, and a change that came from the CRM is never pushed back.

The backend meets the cabinet only through its :class:`~cabinet_core.sync.SyncPort`, which every
method receives (the worker passes ``cabinet.sync_port("bitrix24")``): the documents, parties and
products it pushes are system reads through the port, its state (OAuth tokens, the stage map,
the reconciliation cursor, chat bookkeeping) is the port's namespaced state.

The origin field: smart processes have ``xmlId``; quotes (entityTypeId 7) have none — the portal
ignores it on add and refuses it in a filter (bitrix24.md §3.4) — so on quotes the cabinet's id
goes into a string user field, which the backend creates with ``userfieldconfig.add`` the first
time it delivers to that entity (user fields are the documented way to extend CRM entities,
§3.9; ``originId`` exists only on companies and contacts). Its name follows the documented rule
``UF_{entityId}_…``: ``UF_CRM_QUOTE_CABINET_ID``; it is created with the ``xmlId``
``cabinet_origin`` and looked up by that first, so a field the portal already has under another
name is used as it is. Both default targets therefore work without setup beyond the webhook or
app.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import httpx
from cabinet_core.crm import DeliveryError, PeriodicTask
from cabinet_core.entities import ChatMessage, Document
from cabinet_core.sync import Topic, decode_payload

from cabinet_bitrix import fieldmap
from cabinet_bitrix.attachments import attach_files, attach_owed, owed_entries
from cabinet_bitrix.auth import (
    AuthError,
    BitrixAuth,
    OAuthAuth,
    PortTokenStore,
    TokenStore,
    WebhookAuth,
)
from cabinet_bitrix.batching import (
    BATCH_LIMIT,
    Command,
    CommandResult,
    chunks,
    pack,
    ref,
    run_batch,
)
from cabinet_bitrix.catalog import ProductSync
from cabinet_bitrix.client import LIMIT_CODES, BitrixClient, BitrixError
from cabinet_bitrix.convergence import (
    DUE_KEY,
    Pushed,
    moved_entries,
    stage_moves,
    synced_entries,
)
from cabinet_bitrix.limiter import RatePlan, RequestBucket
from cabinet_bitrix.paging import PAGE_SIZE, rows_of
from cabinet_bitrix.parties import (
    CONTACT,
    PartyRecord,
    PartySync,
    client_record,
    counterparty_record,
)
from cabinet_bitrix.people import People, reassign_items
from cabinet_bitrix.pipeline import DEFAULT_IN_FLIGHT, run_pipelined
from cabinet_bitrix.rows import product_row
from cabinet_bitrix.settings import ORIGIN_FIELD_XML_ID, USER_FIELD_ENTITIES, BitrixSettings
from cabinet_bitrix.stages import StageMap, StageMapError

if TYPE_CHECKING:
    from cabinet_core.entities import Client, Counterparty, OutboxMessage
    from cabinet_core.sync import SyncPort

    from cabinet_bitrix.inbound import EventHandler

log = logging.getLogger("cabinet.bitrix")

_P = TypeVar("_P")

#: The name the backend is registered under: the ``origin`` its writes through the port carry,
#: so the outbox gives such a change no delivery to this backend while other CRMs receive it.
BACKEND_NAME = "bitrix24"
#: How often the workgroup feed is read for news, and (webhook mode) chats for replies.
NEWS_SECONDS = 300.0
CHAT_SECONDS = 30.0
#: How often the issued documents' owed files are posted (once no delivery is due).
FILES_SECONDS = 5.0

#: Short owner codes of the system types (bitrix24.md §3.1); SPAs use ``T`` + hex id.
_OWNER_TYPES = {1: "L", 2: "D", 3: "C", 4: "CO", 7: "Q", 31: "SI"}
#: User-field entities of the system types (bitrix24.md §3.9); SPAs use ``CRM_{type id}``.
_UF_ENTITIES = USER_FIELD_ENTITIES


def owner_type(entity_type_id: int) -> str:
    """The ``ownerType`` code product rows use for an entity type (``7`` → ``Q``,
    ``1038`` → ``T40e``)."""
    if entity_type_id in _OWNER_TYPES:
        return _OWNER_TYPES[entity_type_id]
    if entity_type_id >= 128:
        return f"T{entity_type_id:x}"
    raise ValueError(f"entityTypeId {entity_type_id} cannot own product rows")


def _amount(value: Decimal) -> str:
    # Decimals travel as plain strings ("10.5", never "1E+3"): Bitrix accepts them, and a float
    # must never carry money. Storage pads prices to six places; the padding says nothing.
    return format(value.normalize(), "f")


def _already_exists(error: BitrixError) -> bool:
    """Whether ``userfieldconfig.add`` refused a field because it exists: documented as an
    empty error code with "Field … already exists" (``ERROR_FIELD_EXISTS`` accepted too)."""
    return error.code in ("", "ERROR_FIELD_EXISTS") and "exist" in error.description.lower()


def is_user_field(name: str) -> bool:
    """Whether ``name`` is a CRM user field (``UF_CRM_…`` or its camelCase ``ufCrm…``)."""
    return name.startswith(("UF_CRM_", "ufCrm"))


def make_client(
    settings: BitrixSettings,
    *,
    tokens: TokenStore | None = None,
    transport: httpx.BaseTransport | None = None,
) -> BitrixClient:
    """The client the settings describe: the app (its tokens in ``tokens``, usually the
    backend's state: :class:`~cabinet_bitrix.auth.PortTokenStore`) or the webhook, paced by
    the plan's request bucket."""
    auth: BitrixAuth
    if settings.mode == "app":
        if tokens is None:
            raise ValueError("the Bitrix24 app mode needs a keeper for its tokens")
        auth = OAuthAuth(
            tokens,
            settings.member_id,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            token_url=settings.token_url,
        )
    else:
        auth = WebhookAuth(settings.webhook_url)
    return BitrixClient(
        auth,
        transport=transport,
        timeout=settings.timeout,
        bucket=RequestBucket(with_headroom(settings.rate_plan)),
    )


def with_headroom(plan: RatePlan) -> RatePlan:
    """``plan`` one request shallower. Batches sent from several threads reach the portal with
    different delays (the first ones also open the connections), so the portal's bucket can be
    fuller than ours for a moment; one QUERY_LIMIT_EXCEEDED costs a wasted request and a wait,
    far more than the half second one unit of headroom costs once."""
    return attrs.evolve(plan, burst=max(1, plan.burst - 1))


class BitrixBackend:
    """Delivers outbox messages about documents to a Bitrix24 portal."""

    name = BACKEND_NAME

    def __init__(
        self,
        settings: BitrixSettings,
        *,
        client: BitrixClient | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        #: How the portal and its OAuth server are reached (``None``: the network); the install
        #: callback confirms its tokens through it.
        self.transport = transport
        # A client handed in belongs to the caller (tests share one with the emulator).
        self._owns_client = client is None
        self.client = client or make_client(settings)
        #: Entity types whose origin user field is known to exist, and its name there.
        self._origin_ready: set[int] = set()
        self._origin_names: dict[int, str] = {}
        #: Default pipeline (category) id of each smart process, and the stage ids of each
        #: type's pipeline, read at first use.
        self._categories: dict[int, int] = {}
        self._stage_ids: dict[int, frozenset[str]] = {}
        #: The admins' cabinet → CRM field mapping (:mod:`cabinet_bitrix.fieldmap`), read at
        #: the start of each push batch.
        self._field_map: dict[str, dict[str, str]] = {}
        self.parties = PartySync(self.client, settings)
        self.products = ProductSync(self.client, settings)
        self.people = People(self.client)
        self._inbound: EventHandler | None = None

    @property
    def inbound(self) -> EventHandler:
        """The handler of the calls the portal makes to ``/hooks/bitrix24``
        (:class:`~cabinet_core.sync.InboundCapable`)."""
        if self._inbound is None:
            from cabinet_bitrix.inbound import EventHandler

            self._inbound = EventHandler(self)
        return self._inbound

    def close(self) -> None:
        """Release the portal connections this backend opened (``Cabinet.close`` calls it)."""
        if self._owns_client:
            self.client.close()

    @classmethod
    def from_settings(
        cls,
        settings: BitrixSettings,
        port: SyncPort | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> BitrixBackend:
        """The backend ``settings`` describe; in app mode its tokens are kept in ``port``'s
        state (the plugin's factory, :func:`cabinet_bitrix.plugin.compose_backend`, passes
        the cabinet's port for ``bitrix24``)."""
        tokens = PortTokenStore(port) if port is not None else None
        client = make_client(settings, tokens=tokens, transport=transport)
        backend = cls(settings, client=client, transport=transport)
        backend._owns_client = True  # made here, so closed with the backend
        return backend

    def origin_id(self, document: Document) -> str:
        """The cabinet's id of ``document`` as written into the CRM item."""
        return f"{self.settings.origin_prefix}-document-{document.id}"

    def item_fields(self, port: SyncPort, document: Document) -> dict[str, Any]:
        """The item fields a document sets (unknown keys are ignored by Bitrix24)."""
        doc_type = port.document_type(document.doc_type)
        label = doc_type.label.get("pl", document.doc_type) if doc_type else document.doc_type
        fields: dict[str, Any] = {
            "title": f"{label} {document.number or f'#{document.id}'}",
            "currencyId": document.currency,
            "begindate": document.issue_date.isoformat(),
            "comments": document.notes,
        }
        if document.due_date is not None:
            fields["closedate"] = document.due_date.isoformat()
        if document.totals is not None:
            # The document's own total wins over Bitrix's recalculation from the rows.
            fields["opportunity"] = _amount(document.totals.gross)
            fields["isManualOpportunity"] = "Y"
        fields.update(fieldmap.mapped_fields(self._field_map, document))
        return fields

    def user_field_entity(self, entity_type_id: int) -> str:
        """The ``entityId`` user fields of ``entity_type_id`` live under (``CRM_QUOTE``;
        ``CRM_{crm.type.list id}`` for a smart process)."""
        if entity_type_id in _UF_ENTITIES:
            return _UF_ENTITIES[entity_type_id]
        found = rows_of(
            self.client.call("crm.type.list", {"filter": {"entityTypeId": entity_type_id}}),
            "types",
        )
        if not found:
            raise BitrixError("NOT_FOUND", f"no smart process with entityTypeId {entity_type_id}")
        return f"CRM_{found[0]['id']}"

    def ensure_origin_field(self, entity_type_id: int) -> str:
        """The origin field of ``entity_type_id``, created first when it is a user field that
        the portal does not have yet (once per backend and entity type).

        The field is found by its ``xmlId`` (``cabinet_origin``) before its name, so the
        portal's own name wins; it is created as ``userfieldconfig.add`` documents
        (``UF_{entityId}_…``). Another worker creating it at the same moment makes the portal
        answer the duplicate with an empty error code (userfieldconfig-add.md "Field …
        already exists"): the field is then read back."""
        if entity_type_id in self._origin_ready:
            return self._origin_names[entity_type_id]
        name = self.settings.origin_field_for(entity_type_id)
        if not is_user_field(name) or not name.startswith("UF_"):
            # xmlId, or a camelCase name: the portal's field is there by contract.
            self._origin_ready.add(entity_type_id)
            self._origin_names[entity_type_id] = name
            return name
        entity = self.user_field_entity(entity_type_id)
        found = self._find_origin_field(entity, name)
        if found is None:
            try:
                answer = self.client.call(
                    "userfieldconfig.add",
                    {
                        "moduleId": "crm",
                        "field": {
                            "entityId": entity,
                            "fieldName": name,
                            "userTypeId": "string",
                            "xmlId": ORIGIN_FIELD_XML_ID,
                            "multiple": "N",
                            "mandatory": "N",
                            "showFilter": "Y",
                            "editFormLabel": {
                                "pl": "Identyfikator w kabinecie",
                                "en": "Cabinet id",
                            },
                        },
                    },
                )
            except BitrixError as exc:
                if not _already_exists(exc):
                    raise
                found = self._find_origin_field(entity, name)
                if found is None:
                    raise
            else:
                field = answer.get("field") if isinstance(answer, Mapping) else None
                given = field.get("fieldName") if isinstance(field, Mapping) else None
                found = str(given or name)
        self._origin_ready.add(entity_type_id)
        self._origin_names[entity_type_id] = found
        return found

    def _find_origin_field(self, entity: str, name: str) -> str | None:
        """The name of ``entity``'s origin user field: the one carrying our ``xmlId``, else
        the one named ``name``; ``None`` when the portal has neither."""
        for filter_ in ({"xmlId": ORIGIN_FIELD_XML_ID}, {"fieldName": name}):
            fields = rows_of(
                self.client.call(
                    "userfieldconfig.list",
                    {"moduleId": "crm", "filter": {"entityId": entity, **filter_}},
                ),
                "fields",
            )
            names = [str(f["fieldName"]) for f in fields if f.get("fieldName")]
            if names:
                return name if name in names else names[0]
        return None

    def _lookup_params(self, entity_type_id: int, field: str, origin: str) -> dict[str, Any]:
        return {
            "entityTypeId": entity_type_id,
            "select": ["id"],
            "filter": {f"={field}": origin},
            "order": {"id": "ASC"},
            "useOriginalUfNames": "Y",
            "start": -1,
        }

    def find_item(self, entity_type_id: int, origin: str) -> int | None:
        """The id of the item already carrying ``origin``, if a previous attempt created it."""
        field = self.ensure_origin_field(entity_type_id)
        items = rows_of(
            self.client.call("crm.item.list", self._lookup_params(entity_type_id, field, origin)),
            "items",
        )
        return int(items[0]["id"]) if items else None

    def _find_commands(
        self, documents: Sequence[Document]
    ) -> list[tuple[Command, str, dict[str, int]]]:
        """One ``crm.item.list`` per 50 documents of an entity type, with the IN filter
        (``@field``) on their origins; each with the origin field and origin → document id."""
        by_type: dict[int, list[Document]] = {}
        for document in documents:
            by_type.setdefault(self.settings.entity_type_for(document.doc_type), []).append(
                document
            )
        found: list[tuple[Command, str, dict[str, int]]] = []
        for entity_type_id, group in by_type.items():
            field = self.ensure_origin_field(entity_type_id)
            for n in range(0, len(group), PAGE_SIZE):
                part = group[n : n + PAGE_SIZE]
                origins = {self.origin_id(d): d.id or 0 for d in part}
                command = Command(
                    f"find{entity_type_id}_{n // PAGE_SIZE}",
                    "crm.item.list",
                    {
                        "entityTypeId": entity_type_id,
                        "select": ["id", field],
                        "filter": {f"@{field}": list(origins)},
                        "order": {"id": "ASC"},
                        "useOriginalUfNames": "Y",
                        "start": -1,
                    },
                )
                found.append((command, field, origins))
        return found

    def _lookup(
        self,
        documents: Sequence[Document],
        stages: StageMap,
        parties: Sequence[PartyRecord] = (),
    ) -> dict[int, int]:
        """Everything a push must know before writing, in as few batches as commands allow:
        the pipelines of smart processes not read yet (``crm.category.list``), the requisite
        presets and the parties not known yet, and the items of ``documents`` (by origin).
        Existing item ids by document id."""
        setup: list[Command] = []
        for entity_type_id in sorted(
            {self.settings.entity_type_for(d.doc_type) for d in documents}
        ):
            if stages.needs_category(entity_type_id):
                setup.append(
                    Command(
                        f"cat{entity_type_id}",
                        "crm.category.list",
                        {"entityTypeId": entity_type_id},
                    )
                )
            elif stages.needs_stages(entity_type_id):
                setup.append(
                    Command(
                        f"st{entity_type_id}",
                        "crm.status.list",
                        {"filter": {"ENTITY_ID": stages.status_entity(entity_type_id)}},
                    )
                )
        unknown = [p for p in parties if p.origin not in self.parties.known]
        presets = self.parties.preset_command() if unknown else None
        if presets is not None:
            setup.append(presets)
        setup.extend(self.parties.find_command(p) for p in unknown)
        finds = self._find_commands(documents)
        commands = setup + [command for command, _, _ in finds]
        results = self.run_reads(commands)
        for command in setup:
            if command.method == "crm.category.list":
                entity_type_id = int(command.params["entityTypeId"])
                categories = rows_of(results[command.name].unwrap(), "categories")
                default = [c for c in categories if c.get("isDefault") == "Y"] or categories[:1]
                if default:
                    stages.categories[entity_type_id] = int(default[0]["id"])
            elif command.method == "crm.status.list":
                rows = rows_of(results[command.name].unwrap())
                entity_type_id = int(command.name[2:])
                stages.existing[entity_type_id] = frozenset(str(r["STATUS_ID"]) for r in rows)
        if presets is not None:
            self.parties.read_presets(results[presets.name])
        for party in unknown:
            self.parties.found(party, results)
        known: dict[int, int] = {}
        for command, field, origins in finds:
            for item in rows_of(results[command.name].unwrap(), "items"):
                document_id = origins.get(str(item.get(field, "")))
                if document_id is not None and document_id not in known:
                    known[document_id] = int(item["id"])
        return known

    def run_reads(self, commands: Sequence[Command]) -> dict[str, CommandResult]:
        """Run read commands in batches of 50 (several in flight); a command refused for a limit
        (``OPERATION_TIME_LIMIT`` when several expensive reads of one method share a batch)
        is run again once its method has room, within the client's retry policy."""
        results: dict[str, CommandResult] = {}
        todo = list(commands)
        tries = 0
        while todo:
            batches = list(chunks(todo))
            if len(batches) == 1:
                results.update(run_batch(self.client, batches[0]))
            else:
                # Several batches of reads (a reconciliation pass's rows): in flight together,
                # like the writes, so a pass takes the bucket's time, not the sum of answers.
                in_flight = max(1, min(DEFAULT_IN_FLIGHT, len(batches)))
                for out in run_pipelined(
                    self.client, batches, in_flight=in_flight, repeatable=True
                ):
                    if out.results is None:
                        raise out.error or BitrixError("NO_ANSWER", "the batch was not answered")
                    results.update(out.results)
            refused = [c for c in todo if (e := results[c.name].error) is not None and e.transient]
            tries += 1
            if not refused or tries >= self.client.retry.attempts:
                break
            wait = max((results[c.name].error.retry_after or 0.0) for c in refused)  # type: ignore[union-attr]
            if wait > min(self.client.retry.limit_wait, self.client.retry.max_wait):
                break  # a long block: raised, and the worker defers the delivery
            self.client.pause(wait)
            todo = refused
        return results

    def find_items(self, documents: Sequence[Document]) -> dict[int, int]:
        """Existing item ids by document id, looked up by origin: one ``crm.item.list`` with
        an IN filter per 50 documents of a type, 50 of those per batch."""
        return self._lookup(
            documents, StageMap(categories=self._categories, existing=self._stage_ids)
        )

    def document_commands(
        self,
        port: SyncPort,
        document: Document,
        item_id: int | None,
        *,
        stage: str | None = None,
        links: Mapping[str, Any] | None = None,
        catalog: Mapping[int, int] | None = None,
    ) -> list[Command]:
        """The write of one document: its item (added or updated) and its product rows, the
        rows referring to the new item's id through ``$result``. ``stage`` moves the item,
        ``links`` ties it to companies and contacts (ids or ``$result`` references),
        ``catalog`` maps cabinet product ids to catalogue ids for the rows."""
        entity_type_id = self.settings.entity_type_for(document.doc_type)
        fields = self.item_fields(port, document)
        fields.update(links or {})
        if stage is not None:
            fields["stageId"] = stage
        write = f"item{document.id}"
        if item_id is None:
            field = self.ensure_origin_field(entity_type_id)
            fields[field] = self.origin_id(document)
            commands = [
                Command(
                    write,
                    "crm.item.add",
                    {"entityTypeId": entity_type_id, "fields": fields, "useOriginalUfNames": "Y"},
                )
            ]
            owner: Any = ref(write, "item", "id")
        else:
            commands = [
                Command(
                    write,
                    "crm.item.update",
                    {"entityTypeId": entity_type_id, "id": item_id, "fields": fields},
                )
            ]
            owner = item_id
        # A correction's "before" rows describe the corrected invoice, not what is sold now.
        lines = [line for line in document.lines if not line.before]
        rows = []
        for n, line in enumerate(lines, start=1):
            row = product_row(line, document.price_mode, sort=10 * n)
            if catalog and line.product_id is not None and line.product_id in catalog:
                row["productId"] = catalog[line.product_id]
            rows.append(row)
        commands.append(
            Command(
                f"rows{document.id}",
                "crm.item.productrow.set",
                {"ownerType": owner_type(entity_type_id), "ownerId": owner, "productRows": rows},
            )
        )
        return commands

    def client_party(self, port: SyncPort, client: Client) -> PartyRecord:
        """The client as a company, its manager as the Responsible."""
        record = client_record(client, self.settings.origin_prefix)
        return attrs.evolve(record, assigned_by=self.people.responsible(port, client))

    def _party_records(
        self, port: SyncPort, documents: Sequence[Document]
    ) -> dict[int, tuple[PartyRecord | None, PartyRecord | None]]:
        """Each document's counterparty (company or contact) and client (company, its
        manager as the Responsible), each party read once."""
        prefix = self.settings.origin_prefix
        out: dict[int, tuple[PartyRecord | None, PartyRecord | None]] = {}
        clients: dict[int, PartyRecord | None] = {}
        others: dict[int, Counterparty | None] = {}
        for document in documents:
            if document.client_id not in clients:
                owner = port.client(document.client_id)
                clients[document.client_id] = self.client_party(port, owner) if owner else None
            other = None
            if document.counterparty_id is not None:
                if document.counterparty_id not in others:
                    others[document.counterparty_id] = port.counterparty(document.counterparty_id)
                counterparty = others[document.counterparty_id]
                # Only the document's own client's counterparty: an id of another client's
                # counterparty on a document must not tie the item to that company.
                if counterparty is not None and counterparty.client_id == document.client_id:
                    other = counterparty_record(counterparty, prefix)
            out[document.id or 0] = (other, clients[document.client_id])
        return out

    def push_documents(
        self,
        port: SyncPort,
        documents: Sequence[Document],
        *,
        move_stage: Collection[int] = (),
    ) -> dict[int, int | BitrixError]:
        """Create or update the items of ``documents`` with their product rows (see
        :meth:`push_confirmed`) and record each confirmed push for reconciliation (one state
        write); the item id of each document, or the error that stopped it."""
        outcome, pushed = self.push_confirmed(port, documents, move_stage=move_stage)
        entries = synced_entries(pushed)
        if entries:
            port.set_states(entries)
        return outcome

    def push_confirmed(
        self,
        port: SyncPort,
        documents: Sequence[Document],
        *,
        move_stage: Collection[int] = (),
    ) -> tuple[dict[int, int | BitrixError], list[Pushed]]:
        """Create or update the items of ``documents`` with their product rows: the lookups
        in as few batches as fit (:meth:`_lookup`), then 25 documents (item + rows) per batch.
        The item id of each document, or the error that stopped it (the others still go
        through).

        Each item is tied to its counterparty (``companyId`` or ``contactId``) and tagged with
        its client's company (``mycompanyId``); a party the portal does not have yet is created
        in the same batch as the first document that needs it. A new item is put on the stage
        its status maps to; an existing one is moved only for documents in ``move_stage``
        (their status changed in the cabinet), so a plain edit never undoes a stage staff set.

        A write batch that may have run without its answer arriving (a timeout, a 5xx) is
        never resent as it was: the documents are looked up again first, so what was created
        is updated rather than created twice.

        Besides the outcome, what each written document's item was tied to
        (:class:`~cabinet_bitrix.convergence.Pushed`): reconciliation compares the portal
        with it later (:mod:`cabinet_bitrix.convergence`)."""
        stages = StageMap.load(port)
        self._field_map = fieldmap.load(port)
        stages.categories = self._categories
        stages.existing = self._stage_ids
        records = self._party_records(port, documents)
        # The item's Responsible is its client's manager (found with the client's record).
        assignees = {
            d.id or 0: owner.assigned_by
            for d in documents
            if (owner := records[d.id or 0][1]) is not None and owner.assigned_by is not None
        }
        if not self.settings.tag_client:
            records = {key: (other, None) for key, (other, _) in records.items()}
        distinct = {p.origin: p for pair in records.values() for p in pair if p is not None}
        product_ids = {
            line.product_id
            for d in documents
            for line in d.lines
            if line.product_id is not None and not line.before
        }
        catalog = self.products.catalog_ids(product_ids) if product_ids else {}
        pending = list(documents)
        outcome: dict[int, int | BitrixError] = {}
        failures = 0
        while pending:
            known = self._lookup(pending, stages, list(distinct.values()))
            write = _WriteRound(
                self, port, stages, records, known, catalog, move_stage, outcome, assignees
            )
            last_try = failures + 1 >= self.client.retry.attempts
            pending = write.run(pending, give_up=last_try)
            if pending:
                failures += 1
                self.client.pause(self.client.retry.backoff(failures))
        return outcome, self._pushed(documents, outcome, records, assignees)

    def _pushed(
        self,
        documents: Sequence[Document],
        outcome: Mapping[int, int | BitrixError],
        records: Mapping[int, tuple[PartyRecord | None, PartyRecord | None]],
        assignees: Mapping[int, int],
    ) -> list[Pushed]:
        """The confirmed writes of a push, with the party ids their items now name."""
        known = self.parties.known
        pushed: list[Pushed] = []
        for document in documents:
            doc_id = document.id or 0
            item_id = outcome.get(doc_id)
            if not isinstance(item_id, int):
                continue
            other, owner = records[doc_id]
            other_id = known.get(other.origin) if other is not None else None
            owner_id = known.get(owner.origin) if owner is not None else None
            is_contact = other is not None and other.entity_type_id == CONTACT
            pushed.append(
                Pushed(
                    document=document,
                    item=item_id,
                    entity_type=self.settings.entity_type_for(document.doc_type),
                    assigned=assignees.get(doc_id),
                    company=None if is_contact else other_id,
                    contact=other_id if is_contact else None,
                    mycompany=owner_id,
                    # A party whose creation failed: the item went in without the link.
                    unlinked=(other is not None and other_id is None)
                    or (owner is not None and owner_id is None),
                )
            )
        return pushed

    @staticmethod
    def _written(
        results: Mapping[str, Any], document_id: int, known: Mapping[int, int]
    ) -> int | BitrixError:
        try:
            written = results[f"item{document_id}"].unwrap()
            results[f"rows{document_id}"].unwrap()
        except BitrixError as exc:
            return exc
        return known.get(document_id) or int(written["item"]["id"])

    def push_document(self, port: SyncPort, document: Document, *, move_stage: bool = False) -> int:
        """Create or update the CRM item of ``document`` and set its product rows; returns
        the item id."""
        moves = (document.id or 0,) if move_stage else ()
        result = self.push_documents(port, [document], move_stage=moves)[document.id or 0]
        if isinstance(result, BitrixError):
            raise result
        return result

    def attach(self, port: SyncPort, document: Document, item_id: int) -> bool:
        """Post the issued document's PDF and FA(3) XML to its item's timeline, once per
        content (:mod:`cabinet_bitrix.attachments`); whether a comment was added."""
        entity_type_id = self.settings.entity_type_for(document.doc_type)
        return attach_files(port, self.client, document, entity_type_id, item_id)

    def reassign(self, company_id: int, responsible: int) -> int:
        """Move every cabinet item tagged with the company ``company_id`` to the portal user
        ``responsible``; how many moved."""
        entity_types = {*self.settings.entity_types.values(), self.settings.default_entity_type}
        moved = reassign_items(
            self.client,
            entity_types,
            company_id,
            responsible,
            origin_fields={t: self.ensure_origin_field(t) for t in entity_types},
            origin_prefix=self.settings.origin_prefix,
        )
        if moved:
            log.info(
                "bitrix24: %d items of company %s moved to user %s", moved, company_id, responsible
            )
        return moved

    def delete_document(self, document_id: int, doc_type: str) -> bool:
        """Delete the item of a deleted document; whether there was one."""
        entity_type_id = self.settings.entity_type_for(doc_type)
        origin = f"{self.settings.origin_prefix}-document-{document_id}"
        item_id = self.find_item(entity_type_id, origin)
        if item_id is None:
            return False
        try:
            self.client.call("crm.item.delete", {"entityTypeId": entity_type_id, "id": item_id})
        except BitrixError as exc:
            if exc.code != "NOT_FOUND":
                raise
        return True

    # -- outbox delivery ---------------------------------------------------------------------

    @staticmethod
    def _echo(port: SyncPort, message: OutboxMessage) -> bool:
        """A change this backend made itself through its port (an inbound event, a
        reconciliation): not pushed back, or every stage move would bounce between the two
        systems.

        The outbox already gives such a message no delivery to its origin backend (``sync``'s
        echo rule); this guards a message queued for it by other means (a hand-made retry)."""
        return message.origin == port.backend

    def _load_party(self, port: SyncPort, message: OutboxMessage) -> PartyRecord | None:
        prefix = self.settings.origin_prefix
        if message.entity == "client":
            client: Client | None = port.client(message.entity_id or 0)
            return self.client_party(port, client) if client else None
        counterparty = port.counterparty(message.entity_id or 0)
        return counterparty_record(counterparty, prefix) if counterparty else None

    def deliver(self, port: SyncPort, message: OutboxMessage) -> None:
        """Push what a message is about: a document (item, rows, stage, links), a client or
        counterparty (company or contact with requisites), a product (catalogue and price);
        a deleted document's item is deleted. Other messages need nothing from Bitrix24.

        Limits, 5xx answers and timeouts are first retried by the client; once its policy is
        spent they become retryable :class:`DeliveryError`; API errors (4xx) are permanent, as
        retrying the same request cannot succeed.
        """
        try:
            try:
                self._deliver(port, message)
            except BitrixError as exc:
                raise delivery_error(exc) from exc
            except (AuthError, StageMapError) as exc:
                raise self._auth_error(exc) from exc
        except DeliveryError:
            # Whatever failed, a reconciliation pass follows once nothing is due.
            port.set_state(DUE_KEY, port.now().isoformat())
            raise

    def _auth_error(self, exc: AuthError | StageMapError) -> DeliveryError:
        """The delivery error of a missing or refused app (deferred: the app is installed
        or reinstalled by an admin, and every waiting message goes through after that
        without having spent its attempts) or of a malformed stage mapping (an admin's
        mapping to fix: shown with the message, retried once it is fixed)."""
        if isinstance(exc, AuthError):
            return DeliveryError(
                f"bitrix24: {exc}", retry_after=self.client.retry.max_wait, deferred=True
            )
        return DeliveryError(f"bitrix24: {exc}", retry_after=self.client.retry.max_wait)

    def _deliver(self, port: SyncPort, message: OutboxMessage) -> None:
        try:
            topic = Topic(message.topic)
        except ValueError:
            return  # a topic a newer core added: nothing this backend knows to push
        if topic is Topic.CHAT_MESSAGE_POSTED:
            # The chat bridge (Open Lines or a group chat); it skips messages from Bitrix24.
            from cabinet_bitrix import chat

            chat.push_message(port, self, _payload(message, ChatMessage))
            return
        if message.entity_id is None or self._echo(port, message):
            return
        if topic is Topic.DOCUMENT_DELETED:
            self.delete_document(message.entity_id, _payload(message, Document).doc_type)
        elif topic in _DOCUMENT_PUSHES:
            # The document as it is now, not as the message saw it: a retried or late
            # message converges on the current state.
            document = port.document(message.entity_id)
            if document is None:
                return  # deleted before delivery; its own message deletes the item
            flags = stage_moves(port, [message.entity_id])
            item_id = self.push_document(
                port, document, move_stage=topic in _STAGE_MOVES or bool(flags)
            )
            owed = owed_entries(port, [(document, item_id)])
            owed.update(moved_entries(flags, {message.entity_id}))
            if owed:
                port.set_states(owed)
        elif topic in _PARTY_PUSHES:
            party = self._load_party(port, message)
            if party is not None:
                company_id = self.parties.push(party)
                if message.entity == "client" and party.assigned_by is not None:
                    # A client handed to another manager: its items follow its company.
                    self.reassign(company_id, party.assigned_by)
        elif topic in _PRODUCT_PUSHES:
            product = port.product(message.entity_id)
            if product is not None:
                self.products.push(product)

    #: Deliveries the worker claims at a time for this backend (``PreferredClaim``): a claim is
    #: pushed whole before the next, and 4 batches in flight hold only 100 documents, so a claim
    #: of 50 (or the default 200) leaves the portal idle while each claim's last answers return
    #: (0.557 of the rate ceiling at 50). A thousand documents take some 20 s of the portal's
    #: 2 requests a second, far inside the worker's 600 s lease.
    claim_size = 1000

    def deliver_many(
        self, port: SyncPort, messages: Sequence[OutboxMessage]
    ) -> Mapping[int, Exception | None]:
        """Deliver a claimed batch: the documents of all document messages in one
        :meth:`push_documents` (a few batch requests for up to 50 documents), the others one
        by one. Per message id: ``None`` when delivered, else the :class:`DeliveryError`."""
        outcome: dict[int, Exception | None] = {}
        documents: dict[int, list[OutboxMessage]] = {}
        for message in messages:
            key = message.id or 0
            if (
                message.topic in _DOCUMENT_PUSHES
                and message.entity_id is not None
                and not self._echo(port, message)
            ):
                documents.setdefault(message.entity_id, []).append(message)
                continue
            try:
                self.deliver(port, message)
            except DeliveryError as exc:
                outcome[key] = exc
            else:
                outcome[key] = None
        if not documents:
            return outcome
        found = port.documents(documents)
        loaded = {doc_id: found.get(doc_id) for doc_id in documents}
        present = [d for d in loaded.values() if d is not None]
        moves = {
            doc_id
            for doc_id, about in documents.items()
            if any(m.topic in _STAGE_MOVES for m in about)
        }
        # Documents reconciliation found on the wrong stage move like a status change.
        flags = stage_moves(port, list(documents))
        moves |= {int(key.rpartition(".")[2]) for key in flags}
        confirmed: list[Pushed] = []
        try:
            pushed: Mapping[int, int | BitrixError] = {}
            if present:
                pushed, confirmed = self.push_confirmed(port, present, move_stage=moves)
        except BitrixError as exc:
            failed: Exception = delivery_error(exc)
            pushed = {}
        except (AuthError, StageMapError) as exc:
            failed = self._auth_error(exc)
            pushed = {}
        else:
            failed = DeliveryError("bitrix24: the document was not pushed", retry_after=None)
        written_items: list[tuple[Document, int]] = []
        for doc_id, about in documents.items():
            result: Exception | None
            document = loaded[doc_id]
            if document is None:
                result = None
            elif doc_id in pushed:
                written = pushed[doc_id]
                if isinstance(written, BitrixError):
                    result = delivery_error(written)
                else:
                    result = None
                    written_items.append((document, written))
            else:
                result = failed
            for message in about:
                outcome[message.id or 0] = result
        # One state write for the batch: what reconciliation compares later, the files that
        # follow once the queue is drained (``bitrix24.files``, not inline: a backlog's items
        # reach the CRM at the rate limit's pace), the stage moves done, and whether a
        # failure asks for a reconciliation pass.
        entries: dict[str, Any] = synced_entries(confirmed)
        entries.update(owed_entries(port, written_items))
        entries.update(moved_entries(flags, {p.document.id or 0 for p in confirmed}))
        if any(result is not None for result in outcome.values()):
            entries[DUE_KEY] = port.now().isoformat()
        if entries:
            port.set_states(entries)
        return outcome

    def periodic_tasks(self, port: SyncPort) -> list[PeriodicTask[SyncPort]]:
        """What the worker runs on a schedule: reconciliation (Bitrix24 never retries a lost
        event; also soon after a failed delivery, once nothing is due), the owed files of pushed
        documents (behind the queue), the news feed pull and,
        in webhook mode, the chat replies poll (both do nothing when not configured)."""
        from cabinet_bitrix import chat, news
        from cabinet_bitrix.reconcile import AFTER_FAILURE_SECONDS, reconcile, reconcile_if_due

        return [
            PeriodicTask(
                "bitrix24.reconcile",
                self.settings.reconcile_seconds,
                lambda task_port: reconcile(task_port, self),
            ),
            PeriodicTask(
                "bitrix24.repair",
                AFTER_FAILURE_SECONDS,
                lambda task_port: reconcile_if_due(task_port, self),
            ),
            PeriodicTask(
                "bitrix24.files",
                FILES_SECONDS,
                lambda task_port: attach_owed(
                    task_port, lambda document, item_id: self.attach(task_port, document, item_id)
                ),
            ),
            PeriodicTask(
                "bitrix24.news", NEWS_SECONDS, lambda task_port: news.pull_news(task_port, self)
            ),
            PeriodicTask(
                "bitrix24.chat", CHAT_SECONDS, lambda task_port: chat.poll_replies(task_port, self)
            ),
        ]


#: Topics whose entity is pushed as it is now (a deleted document deletes its item instead).
_DOCUMENT_PUSHES = frozenset(
    {
        Topic.DOCUMENT_CREATED,
        Topic.DOCUMENT_UPDATED,
        Topic.DOCUMENT_STATUS_CHANGED,
        Topic.DOCUMENT_PAYMENT_CHANGED,
    }
)
#: Topics that move the item to the stage the document now belongs on (a payment recorded
#: without a status change still lands a paid invoice on its ``paid`` stage).
_STAGE_MOVES = frozenset({Topic.DOCUMENT_STATUS_CHANGED, Topic.DOCUMENT_PAYMENT_CHANGED})
_PARTY_PUSHES = frozenset(
    {
        Topic.CLIENT_CREATED,
        Topic.CLIENT_UPDATED,
        Topic.COUNTERPARTY_CREATED,
        Topic.COUNTERPARTY_UPDATED,
    }
)
_PRODUCT_PUSHES = frozenset({Topic.PRODUCT_CREATED, Topic.PRODUCT_UPDATED})


def _payload(message: OutboxMessage, expected: type[_P]) -> _P:
    """The typed payload of ``message``; a payload that is not what its topic carries can never
    be delivered, so it is a permanent :class:`DeliveryError` (shown to the admin)."""
    try:
        value = decode_payload(message)
    except Exception as exc:
        raise DeliveryError(
            f"bitrix24: the payload of {message.topic} is not a {expected.__name__}: {exc}",
            permanent=True,
        ) from exc
    if not isinstance(value, expected):
        raise DeliveryError(
            f"bitrix24: {message.topic} carries no {expected.__name__}", permanent=True
        )
    return value


def delivery_error(exc: BitrixError) -> DeliveryError:
    """A failed call as the worker's error: transient ones retried (after the portal's wait
    when it named one), API errors permanent. A limit the portal named (the request rate,
    a method's time budget, an overload block) or an app that must be reinstalled is
    *deferred*: the message waits without spending an attempt, so waiting it out never
    fails it (bitrix24.md §2.1, §2.2)."""
    deferred = exc.transient and (exc.code in LIMIT_CODES or exc.reinstall)
    return DeliveryError(
        f"bitrix24: {exc}",
        retry_after=exc.retry_after if exc.transient else None,
        permanent=not exc.transient,
        deferred=deferred,
    )


class _WriteRound:
    """One pass of write batches over the documents of a push (see
    :meth:`BitrixBackend.push_documents`): groups of commands packed whole into batches, a
    missing party created in the batch of the first document that needs it."""

    def __init__(
        self,
        backend: BitrixBackend,
        port: SyncPort,
        stages: StageMap,
        records: Mapping[int, tuple[PartyRecord | None, PartyRecord | None]],
        known: Mapping[int, int],
        catalog: Mapping[int, int],
        move_stage: Collection[int],
        outcome: dict[int, int | BitrixError],
        assignees: Mapping[int, int] | None = None,
    ) -> None:
        self.backend = backend
        self.assignees = assignees or {}
        self.port = port
        self.stages = stages
        self.records = records
        self.known = known
        self.catalog = catalog
        self.move_stage = move_stage
        self.outcome = outcome
        self.batch: list[Command] = []
        self.creating: dict[str, PartyRecord] = {}
        self.unsure: list[Document] = []
        #: Origins of parties created in a batch whose answer never came.
        self.doubtful: set[str] = set()
        self.by_id: dict[int, Document] = {}
        self.give_up = False

    def run(self, documents: Sequence[Document], *, give_up: bool) -> list[Document]:
        """Write ``documents``; those whose batch may or may not have run (to look up again).
        With ``give_up`` such a failure is raised instead.

        Documents that need a party the portal does not have yet go first, one batch at a
        time (the batch creating a party must have answered before another batch may refer
        to it); the others, whose parties are all known, go several batches in flight
        (:func:`~cabinet_bitrix.pipeline.run_pipelined`)."""
        self.give_up = give_up
        self.by_id = {d.id or 0: d for d in documents}
        known = self.backend.parties.known
        # One document per missing party is enough to create it; the rest then refer to it.
        first: list[Document] = []
        covered: set[str] = set()
        for document in documents:
            missing = {
                p.origin
                for p in self.records[document.id or 0]
                if p is not None and p.origin not in known
            }
            if missing - covered:
                first.append(document)
                covered |= missing
        first_ids = {d.id for d in first}
        rest = [d for d in documents if d.id not in first_ids]
        self.sequential(first, finish=False)
        # Fill the last sequential batch before the rest go in flight.
        while rest and self.batch and not self._doubtful(rest[0]):
            group, new = self.group_for(rest[0])
            if len(self.batch) + len(group) > BATCH_LIMIT:
                break
            self.batch.extend(group)
            self.creating.update({party.origin: party for party in new})
            rest.pop(0)
        self.flush()
        self.pipelined(rest)
        return self.unsure

    def sequential(self, documents: Sequence[Document], *, finish: bool = True) -> None:
        """Batches one after the other, each creating the parties its documents need; the
        last one is left unsent unless ``finish``."""
        for document in documents:
            if self._doubtful(document):
                self.unsure.append(document)
                continue
            group, new = self.group_for(document)
            if len(self.batch) + len(group) > BATCH_LIMIT:
                self.flush()
                if self._doubtful(document):
                    self.unsure.append(document)
                    continue
                group, new = self.group_for(document)
            self.batch.extend(group)
            self.creating.update({party.origin: party for party in new})
        if finish:
            self.flush()

    def pipelined(self, documents: Sequence[Document]) -> None:
        """Batches of documents whose parties exist, several in flight."""
        groups = []
        for document in documents:
            if self._doubtful(document):
                self.unsure.append(document)
                continue
            group, new = self.group_for(document)
            if new:
                # A party went missing between the check and now: keep the order safe.
                self.sequential([document])
                continue
            groups.append(group)
        batches = list(pack(groups))
        in_flight = max(1, min(DEFAULT_IN_FLIGHT, len(batches)))
        for out in run_pipelined(self.backend.client, batches, in_flight=in_flight):
            if out.results is None:
                error = out.error or BitrixError("NO_ANSWER", "the batch was not answered")
                if not error.transient or self.give_up:
                    raise error
                self.unsure.extend(
                    self.by_id[int(c.name[4:])] for c in out.commands if c.name.startswith("item")
                )
                continue
            self.record(out.commands, out.results, [])

    def _doubtful(self, document: Document) -> bool:
        """Whether the document needs a party whose creation may or may not have run (its
        batch's answer was lost): creating it again could make a second company, so the
        document waits for the next round's lookup."""
        return any(
            party is not None and party.origin in self.doubtful
            for party in self.records[document.id or 0]
        )

    def group_for(self, document: Document) -> tuple[list[Command], list[PartyRecord]]:
        """The commands of one document (with those of parties still to create) and the
        parties it creates."""
        backend = self.backend
        commands: list[Command] = []
        new: list[PartyRecord] = []
        links: dict[str, Any] = {}
        other, owner = self.records[document.id or 0]
        for party, field in ((other, None), (owner, "mycompanyId")):
            if party is None:
                continue
            name = field or ("contactId" if party.entity_type_id == CONTACT else "companyId")
            if party.origin in backend.parties.known:
                links[name] = backend.parties.known[party.origin]
                continue
            if party.origin not in self.creating and all(p.origin != party.origin for p in new):
                new.append(party)
                commands.extend(backend.parties.create_commands(party))
            links[name] = backend.parties.new_id_ref(party)
        if document.id in self.assignees:
            links["assignedById"] = self.assignees[document.id or 0]
        item_id = self.known.get(document.id or 0)
        stage = None
        if item_id is None or document.id in self.move_stage:
            doc_type = self.port.document_type(document.doc_type)
            if doc_type is not None:
                entity_type_id = backend.settings.entity_type_for(document.doc_type)
                stage = self.stages.stage_for_document(doc_type, entity_type_id, document)
        commands.extend(
            backend.document_commands(
                self.port, document, item_id, stage=stage, links=links, catalog=self.catalog
            )
        )
        return commands, new

    def flush(self) -> None:
        """Send the batch being built."""
        if not self.batch:
            return
        sent, self.batch = self.batch, []
        new_parties = list(self.creating.values())
        self.creating.clear()
        creates = any(c.method.endswith(".add") for c in sent)
        try:
            results = run_batch(self.backend.client, sent, repeatable=not creates)
        except BitrixError as exc:
            if not exc.transient or self.give_up:
                raise
            self.doubtful.update(party.origin for party in new_parties)
            self.unsure.extend(
                self.by_id[int(c.name[4:])] for c in sent if c.name.startswith("item")
            )
            return
        self.record(sent, results, new_parties)

    def record(
        self,
        sent: Sequence[Command],
        results: Mapping[str, CommandResult],
        new_parties: Sequence[PartyRecord],
    ) -> None:
        """Keep the ids of the parties and items an answered batch wrote."""
        for party in new_parties:
            try:
                self.backend.parties.created(party, results)
            except BitrixError as exc:
                # The documents still go in, without that link; the next push retries it.
                log.warning("bitrix24: creating %s failed: %s", party.origin, exc)
        for command in sent:
            if command.name.startswith("item"):
                document_id = int(command.name.removeprefix("item"))
                self.outcome[document_id] = BitrixBackend._written(results, document_id, self.known)
