"""The emulated portal's data: CRM types with pipelines, items, product rows, catalogue,
requisites, users, the feed, chats, event bindings, apps and their tokens.

Plain attrs objects guarded by the emulator's lock; methods (``emulator.methods``) read and
change them. Item fields are kept as ``crm.item.*`` returns them (camelCase), user fields under
their original ``UF_CRM_…`` names so either spelling can be answered.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

#: Fields ``crm.item.add`` accepts per type (bitrix24.md §3.2, §3.4, §3.7); user fields
#: (``ufCrm…``) and parent links (``parentId{N}``) are accepted for every type.
_SPA_FIELDS = frozenset(
    [
        "title",
        "xmlId",
        "assignedById",
        "opened",
        "webformId",
        "begindate",
        "closedate",
        "companyId",
        "contactId",
        "contactIds",
        "observers",
        "categoryId",
        "stageId",
        "sourceId",
        "sourceDescription",
        "currencyId",
        "isManualOpportunity",
        "opportunity",
        "taxValue",
        "mycompanyId",
    ]
)
_QUOTE_FIELDS = frozenset(
    [
        "title",
        "assignedById",
        "opened",
        "content",
        "terms",
        "comments",
        "dealId",
        "leadId",
        "storageTypeId",
        "storageElementIds",
        "quoteNumber",
        "webformId",
        "companyId",
        "contactId",
        "contactIds",
        "locationId",
        "currencyId",
        "isManualOpportunity",
        "opportunity",
        "taxValue",
        "stageId",
        "begindate",
        "closedate",
        "actualDate",
        "mycompanyId",
        "utmSource",
        "utmMedium",
        "utmCampaign",
        "utmContent",
        "utmTerm",
    ]
)
_COMPANY_FIELDS = frozenset(
    [
        "title",
        "typeId",
        "industry",
        "employees",
        "currencyId",
        "revenue",
        "opened",
        "comments",
        "isMyCompany",
        "assignedById",
        "contactIds",
        "leadId",
        "originatorId",
        "originId",
        "originVersion",
        "observers",
        "fm",
        "address",
        "utmSource",
        "utmMedium",
        "utmCampaign",
        "utmContent",
        "utmTerm",
    ]
)
_CONTACT_FIELDS = frozenset(
    [
        "honorific",
        "name",
        "secondName",
        "lastName",
        "birthdate",
        "typeId",
        "sourceId",
        "sourceDescription",
        "post",
        "comments",
        "opened",
        "export",
        "assignedById",
        "companyId",
        "companyIds",
        "leadId",
        "originatorId",
        "originId",
        "originVersion",
        "observers",
        "fm",
    ]
)
_DEAL_FIELDS = frozenset(
    [
        "title",
        "typeId",
        "categoryId",
        "stageId",
        "isRecurring",
        "isReturnCustomer",
        "isRepeatedApproach",
        "probability",
        "currencyId",
        "opportunity",
        "isManualOpportunity",
        "taxValue",
        "companyId",
        "contactId",
        "contactIds",
        "quoteId",
        "begindate",
        "closedate",
        "opened",
        "closed",
        "comments",
        "assignedById",
        "sourceId",
        "sourceDescription",
        "leadId",
        "additionalInfo",
        "locationId",
        "originatorId",
        "originId",
        "observers",
        "utmSource",
        "utmMedium",
        "utmCampaign",
        "utmContent",
        "utmTerm",
    ]
)
_LEAD_FIELDS = frozenset(
    [
        "title",
        "honorific",
        "name",
        "secondName",
        "lastName",
        "birthdate",
        "companyTitle",
        "sourceId",
        "sourceDescription",
        "stageId",
        "statusDescription",
        "post",
        "currencyId",
        "opportunity",
        "isManualOpportunity",
        "taxValue",
        "opened",
        "comments",
        "assignedById",
        "companyId",
        "contactId",
        "contactIds",
        "isReturnCustomer",
        "originatorId",
        "originId",
        "observers",
        "fm",
        "utmSource",
        "utmMedium",
        "utmCampaign",
        "utmContent",
        "utmTerm",
    ]
)
#: Read-only system fields every item answers with.
SYSTEM_FIELDS = frozenset(
    [
        "id",
        "createdTime",
        "updatedTime",
        "createdBy",
        "updatedBy",
        "movedBy",
        "movedTime",
        "stageSemanticId",
        "previousStageId",
        "lastActivityBy",
        "lastActivityTime",
        "entityTypeId",
    ]
)
INT_FIELDS = frozenset(
    [
        "id",
        "quoteId",
        "probability",
        "assignedById",
        "companyId",
        "contactId",
        "categoryId",
        "mycompanyId",
        "dealId",
        "leadId",
        "createdBy",
        "updatedBy",
        "movedBy",
        "lastActivityBy",
        "webformId",
        "locationId",
        "storageTypeId",
    ]
)
# ``originatorId`` is not among them: it names the external system (a string, like originId).
FLOAT_FIELDS = frozenset({"opportunity", "taxValue", "revenue"})
INT_LIST_FIELDS = frozenset({"contactIds", "observers", "companyIds", "storageElementIds"})
DATE_FIELDS = frozenset({"begindate", "closedate", "actualDate", "birthdate"})

#: Short owner codes of system types (``ownerType`` of product rows, binding prefixes).
OWNER_CODES = {1: "L", 2: "D", 3: "C", 4: "CO", 7: "Q", 31: "SI"}


@attrs.define
class Stage:
    """One stage of a pipeline (a ``crm.status.list`` row)."""

    status_id: str
    name: str
    sort: int
    semantics: str | None = None  # None (in progress), "S" success, "F" failure

    @property
    def semantic_id(self) -> str:
        """``stageSemanticId`` of items on this stage: ``P``, ``S`` or ``F``."""
        return self.semantics or "P"


@attrs.define
class Category:
    """A pipeline with its stages."""

    id: int
    name: str
    sort: int
    is_default: bool
    stages: list[Stage]


@attrs.define
class CrmType:
    """A CRM entity type: a system one (quote, company, contact) or a smart process (SPA)."""

    entity_type_id: int
    name: str  # entityTypeName: QUOTE, COMPANY, DYNAMIC_1038, …
    title: str
    fields: frozenset[str]
    categories: list[Category] = attrs.field(factory=list)
    type_id: int | None = None  # the SPA's id in crm.type.list (its UF entity is CRM_{id})
    has_product_rows: bool = True

    @property
    def is_dynamic(self) -> bool:
        """Smart processes and new invoices fire ``ONCRMDYNAMICITEM*`` events."""
        return self.entity_type_id >= 128 or self.entity_type_id == 31

    @property
    def owner_code(self) -> str:
        """``ownerType`` of its product rows: ``Q``, or ``T`` + hex id for an SPA."""
        return OWNER_CODES.get(self.entity_type_id) or f"T{self.entity_type_id:x}"

    def status_entity(self, category: Category) -> str:
        """The ``ENTITY_ID`` of a pipeline's stages in ``crm.status.list``."""
        if self.entity_type_id == 7:
            return "QUOTE_STATUS"
        if self.entity_type_id == 1:
            return "STATUS"
        if self.entity_type_id == 2:
            return "DEAL_STAGE" if category.id == 0 else f"DEAL_STAGE_{category.id}"
        return f"DYNAMIC_{self.entity_type_id}_STAGE_{category.id}"

    def default_category(self) -> Category | None:
        """The pipeline new items go to."""
        return next((c for c in self.categories if c.is_default), None)

    def category(self, category_id: int | None) -> Category | None:
        """A pipeline by id (``None``: the default one)."""
        if category_id is None:
            return self.default_category()
        return next((c for c in self.categories if c.id == category_id), None)

    def stage(self, status_id: str) -> tuple[Category, Stage] | None:
        """The pipeline and stage of ``status_id``."""
        for category in self.categories:
            for stage in category.stages:
                if stage.status_id == status_id:
                    return category, stage
        return None

    @property
    def uf_entity(self) -> str:
        """The user-field entity of the type: ``CRM_QUOTE``, ``CRM_COMPANY``, or ``CRM_{id}``
        for an SPA (its ``crm.type.list`` id, not the entityTypeId)."""
        if self.type_id is not None:
            return f"CRM_{self.type_id}"
        return f"CRM_{self.name}"

    def accepts(self, name: str) -> bool:
        """Whether ``crm.item.add/update`` stores field ``name`` (others are ignored)."""
        return (
            name in self.fields
            or name.startswith(("ufCrm", "UF_CRM_"))
            or (name.startswith("parentId") and name[8:].isdigit())
        )


def spa_stages(entity_type_id: int, category_id: int) -> list[Stage]:
    """The five stages a new smart-process pipeline gets (``DT{type}_{cat}:NEW`` …)."""
    prefix = f"DT{entity_type_id}_{category_id}:"
    return [
        Stage(prefix + "NEW", "Start", 10),
        Stage(prefix + "PREPARATION", "Preparation", 20),
        Stage(prefix + "CLIENT", "Client", 30),
        Stage(prefix + "SUCCESS", "Success", 40, "S"),
        Stage(prefix + "FAIL", "Fail", 50, "F"),
    ]


def quote_type() -> CrmType:
    """The Quote (estimate), ``entityTypeId`` 7, with the ``QUOTE_STATUS`` stages."""
    stages = [
        Stage("DRAFT", "New", 10),
        Stage("SENT", "Sent to client", 20),
        Stage("APPROVED", "Approved", 30, "S"),
        Stage("DECLAINED", "Declined", 40, "F"),
    ]
    return CrmType(
        7, "QUOTE", "Estimate", _QUOTE_FIELDS, [Category(0, "General", 100, True, stages)]
    )


def deal_type() -> CrmType:
    """The Deal, ``entityTypeId`` 2: the general pipeline (id 0, ``DEAL_STAGE``)."""
    stages = [
        Stage("NEW", "New", 10),
        Stage("PREPARATION", "Preparing documents", 20),
        Stage("PREPAYMENT_INVOICE", "Invoice", 30),
        Stage("EXECUTING", "In progress", 40),
        Stage("FINAL_INVOICE", "Final invoice", 50),
        Stage("WON", "Deal won", 60, "S"),
        Stage("LOSE", "Deal lost", 70, "F"),
    ]
    return CrmType(2, "DEAL", "Deal", _DEAL_FIELDS, [Category(0, "General", 100, True, stages)])


def lead_type() -> CrmType:
    """The Lead, ``entityTypeId`` 1, with the ``STATUS`` directory as its stages."""
    stages = [
        Stage("NEW", "Unassigned", 10),
        Stage("IN_PROCESS", "In progress", 20),
        Stage("PROCESSED", "Processed", 30),
        Stage("CONVERTED", "Good lead", 40, "S"),
        Stage("JUNK", "Junk lead", 50, "F"),
    ]
    return CrmType(1, "LEAD", "Lead", _LEAD_FIELDS, [Category(0, "General", 100, True, stages)])


def spa_type(entity_type_id: int, type_id: int, title: str, category_id: int) -> CrmType:
    """A smart process with one default pipeline (``category_id``) and the stock stages."""
    category = Category(category_id, "General", 100, True, spa_stages(entity_type_id, category_id))
    return CrmType(
        entity_type_id, f"DYNAMIC_{entity_type_id}", title, _SPA_FIELDS, [category], type_id
    )


def _token() -> str:
    return secrets.token_hex(16)


@attrs.define
class App:
    """An installed local server application (OAuth client)."""

    client_id: str
    client_secret: str
    application_token: str
    redirect_uri: str = ""
    scope: str = "crm,catalog,user,im,imopenlines,imconnector,log,sonet_group,placement"


@attrs.define
class Token:
    """An access or refresh token: whose it is, for which app, until when."""

    value: str
    user_id: int
    client_id: str
    expires_at: float


@attrs.define
class Binding:
    """An ``event.bind`` subscription (or an outgoing webhook when ``client_id`` is None)."""

    id: int
    event: str
    handler: str
    client_id: str | None
    auth_type: int = 0
    offline: bool = False
    application_token: str = ""


@attrs.define
class Delivery:
    """One attempt to deliver an event: what was posted where, and how it went."""

    url: str
    event: str
    form: list[tuple[str, str]]
    status: int | None = None
    error: str | None = None


@attrs.define
class Portal:
    """Everything the emulated portal stores."""

    member_id: str = attrs.field(factory=_token)
    utc_offset_hours: int = 1
    types: dict[int, CrmType] = attrs.field(factory=dict)
    items: dict[int, dict[int, dict[str, Any]]] = attrs.field(factory=dict)
    item_ids: dict[int, int] = attrs.field(factory=dict)
    rows: dict[tuple[str, int], list[dict[str, Any]]] = attrs.field(factory=dict)
    requisites: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    products: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    prices: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    users: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    posts: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    groups: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    requisite_links: dict[tuple[int, int], dict[str, Any]] = attrs.field(factory=dict)
    timeline: list[dict[str, Any]] = attrs.field(factory=list)
    messages: list[dict[str, Any]] = attrs.field(factory=list)
    #: Chat ids of dialogs named by a user or a group (``DIALOG_ID`` ``45``, ``sg12``).
    private_chats: dict[str, int] = attrs.field(factory=dict)
    connectors: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    sessions: dict[tuple[str, str, str], dict[str, Any]] = attrs.field(factory=dict)
    placements: list[dict[str, Any]] = attrs.field(factory=list)
    options: dict[str, Any] = attrs.field(factory=dict)
    user_fields: dict[str, dict[str, dict[str, Any]]] = attrs.field(factory=dict)
    files: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    bindings: list[Binding] = attrs.field(factory=list)
    offline_events: list[dict[str, Any]] = attrs.field(factory=list)
    deliveries: list[Delivery] = attrs.field(factory=list)
    webhooks: dict[tuple[int, str], set[str] | None] = attrs.field(factory=dict)
    apps: dict[str, App] = attrs.field(factory=dict)
    access_tokens: dict[str, Token] = attrs.field(factory=dict)
    refresh_tokens: dict[str, Token] = attrs.field(factory=dict)
    auth_codes: dict[str, Token] = attrs.field(factory=dict)
    _sequences: dict[str, int] = attrs.field(factory=dict)

    def next_id(self, sequence: str, start: int = 1) -> int:
        """The next id of a numbering (items per type, rows, products, …)."""
        value = self._sequences.get(sequence, start - 1) + 1
        self._sequences[sequence] = value
        return value

    @property
    def tz(self) -> timezone:
        """The portal server's time zone (answers carry ``+01:00`` style offsets)."""
        return timezone(timedelta(hours=self.utc_offset_hours))

    def iso(self, when: float) -> str:
        """``YYYY-MM-DDThh:mm:ss±hh:mm`` in the portal's zone."""
        return datetime.fromtimestamp(when, self.tz).isoformat(timespec="seconds")

    def type_of_owner(self, owner_code: str) -> CrmType | None:
        """The CRM type whose product rows carry ``ownerType`` ``owner_code``."""
        return next((t for t in self.types.values() if t.owner_code == owner_code), None)


def default_portal() -> Portal:
    """A portal as a fresh Bitrix24 account of a Polish firm would look to the connector: an
    admin and a manager, quotes, companies, contacts, one smart process (``1038``, "Dokumenty
    klienta"), a CRM catalogue."""
    portal = Portal()
    portal.types[3] = CrmType(3, "CONTACT", "Contact", _CONTACT_FIELDS, has_product_rows=False)
    portal.types[4] = CrmType(4, "COMPANY", "Company", _COMPANY_FIELDS, has_product_rows=False)
    portal.types[7] = quote_type()
    portal.types[2] = deal_type()
    portal.types[1] = lead_type()
    portal.types[1038] = spa_type(1038, 37, "Dokumenty klienta", 37)
    for type_id in portal.types:
        portal.items[type_id] = {}
    portal.users[1] = {
        "ID": "1",
        "ACTIVE": True,
        "NAME": "Anna",
        "LAST_NAME": "Nowak",
        "EMAIL": "anna.nowak@kancelaria.example",
        "ADMIN": True,
        "UF_DEPARTMENT": [1],
        "TIME_ZONE": "Europe/Warsaw",
    }
    portal.users[2] = {
        "ID": "2",
        "ACTIVE": True,
        "NAME": "Piotr",
        "LAST_NAME": "Wiśniewski",
        "EMAIL": "piotr.wisniewski@kancelaria.example",
        "ADMIN": False,
        "UF_DEPARTMENT": [1],
        "TIME_ZONE": "Europe/Warsaw",
    }
    portal.groups[12] = {
        "ID": "12",
        "SITE_ID": "s1",
        "NAME": "Aktualności dla klientów",
        "ACTIVE": "Y",
        "VISIBLE": "Y",
        "OPENED": "N",
        "CLOSED": "N",
        "OWNER_ID": "1",
        "NUMBER_OF_MEMBERS": "2",
        "PROJECT": "N",
        "IS_EXTRANET": "N",
        "_members": [{"USER_ID": "1", "ROLE": "A"}, {"USER_ID": "2", "ROLE": "K"}],
    }
    return portal
