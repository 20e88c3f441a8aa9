"""Clients and counterparties as CRM companies and contacts with requisites (bitrix24.md §3.7).

A company counterparty, and every client (a client of the firm is always a business), becomes a
company (``entityTypeId`` 4); a person counterparty becomes a contact (3). Both are written with
``crm.item.*`` — the old ``crm.company.*``/``crm.contact.*`` are frozen (§0.9).

Idempotence: companies and contacts have ``originatorId``/``originId`` (§3.7), so each carries
``originatorId = <prefix>`` and ``originId = <prefix>-client-7`` / ``<prefix>-counterparty-5`` and
is looked up by them before anything is added. Its requisite carries the same id in ``XML_ID``.

Requisites: ``crm.requisite.add`` with the portal's Polish preset (``crm.requisite.preset.list``,
``COUNTRY_ID`` 110: the company preset, or the person preset for a contact). **There is no
``RQ_NIP``**; the NIP goes to ``RQ_VAT_ID`` by default (the doc's own Polish example does so)
or to ``RQ_INN`` when ``CABINET_BITRIX_NIP_FIELD`` says so — which one the stock preset shows is
not documented (§10), so it is a setting. A VAT-EU number goes to ``RQ_VAT_ID`` when that field is
free. ``RQ_REGON`` takes the client's REGON. The address is the requisite's registered address,
``crm.address.*`` with ``ENTITY_TYPE_ID`` 8 (the requisite) and ``TYPE_ID`` 6.

The lookups of one party go in one ``batch`` and its writes in another; the writes of a new
party refer to the new ids through ``$result`` so a company, its requisite and its address are
created in one request (:meth:`PartySync.create_commands` is also used by the document push to
create a missing party in the same batch as the document that needs it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from cabinet_core.entities import Address, Client, Counterparty, PartyKind

from cabinet_bitrix.batching import Command, CommandResult, ref, run_batch
from cabinet_bitrix.client import BitrixError
from cabinet_bitrix.paging import rows_of

if TYPE_CHECKING:
    from cabinet_bitrix.client import BitrixClient
    from cabinet_bitrix.settings import BitrixSettings

log = logging.getLogger("cabinet.bitrix.parties")

COMPANY = 4
CONTACT = 3
#: ``ENTITY_TYPE_ID`` of a requisite, the owner of its addresses.
REQUISITE = 8
#: ``TYPE_ID`` of the registered (legal) address in ``crm.address.*``.
REGISTERED_ADDRESS = 6
#: ``COUNTRY_ID`` of Poland in ``crm.requisite.preset.list``.
POLAND = 110


@attrs.frozen(kw_only=True)
class PartyRecord:
    """What the CRM is told about a client or a counterparty."""

    origin: str
    kind: PartyKind
    name: str
    nip: str | None = None
    vat_eu: str | None = None
    regon: str | None = None
    krs: str | None = None
    address: Address = attrs.field(factory=Address)
    email: str = ""
    #: The portal user responsible for it (a client's manager, :mod:`cabinet_bitrix.people`);
    #: ``None`` leaves the portal's Responsible as it is.
    assigned_by: int | None = None

    @property
    def entity_type_id(self) -> int:
        """4 (company) or 3 (contact)."""
        return CONTACT if self.kind == PartyKind.PERSON else COMPANY

    @property
    def key(self) -> str:
        """A batch command name part derived from the origin (letters, digits, ``_``)."""
        return "".join(c if c.isalnum() else "_" for c in self.origin)


def client_origin(prefix: str, client_id: int) -> str:
    """The ``originId`` of a client's company."""
    return f"{prefix}-client-{client_id}"


def counterparty_origin(prefix: str, counterparty_id: int) -> str:
    """The ``originId`` of a counterparty's company or contact."""
    return f"{prefix}-counterparty-{counterparty_id}"


def client_record(client: Client, prefix: str) -> PartyRecord:
    """A client as a company."""
    assert client.id is not None
    return PartyRecord(
        origin=client_origin(prefix, client.id),
        kind=PartyKind.COMPANY,
        name=client.name,
        nip=client.nip,
        regon=client.regon,
        krs=client.krs,
        address=client.address,
        email=client.email,
    )


def counterparty_record(counterparty: Counterparty, prefix: str) -> PartyRecord:
    """A counterparty as a company or, for a person, a contact."""
    assert counterparty.id is not None
    return PartyRecord(
        origin=counterparty_origin(prefix, counterparty.id),
        kind=counterparty.kind,
        name=counterparty.name,
        nip=counterparty.nip,
        vat_eu=counterparty.vat_eu,
        regon=counterparty.regon,
        krs=counterparty.krs,
        address=counterparty.address,
        email=counterparty.email,
    )


def split_name(name: str) -> tuple[str, str]:
    """``"Jan Maria Kowalski"`` → ``("Jan Maria", "Kowalski")``: contacts have a first and a
    last name; a single word is the last name."""
    first, _, last = name.strip().rpartition(" ")
    return first, last


class PartySync:
    """Creates and updates the companies and contacts of one cabinet on one portal."""

    def __init__(self, client: BitrixClient, settings: BitrixSettings) -> None:
        self.client = client
        self.settings = settings
        #: Requisite preset ids by party kind, read once from ``crm.requisite.preset.list``.
        self.presets: dict[PartyKind, int] = {}
        #: Item ids by origin, of parties known to exist.
        self.known: dict[str, int] = {}

    # -- the fields ------------------------------------------------------------------------

    def item_fields(self, party: PartyRecord, *, new: bool) -> dict[str, Any]:
        """The company or contact fields; the origin and the e-mail only on creation (``fm``
        entries are added, not replaced, by an update)."""
        fields: dict[str, Any]
        if party.kind == PartyKind.PERSON:
            first, last = split_name(party.name)
            fields = {"name": first, "lastName": last}
        else:
            fields = {"title": party.name}
        if party.assigned_by is not None:
            fields["assignedById"] = party.assigned_by
        if new:
            fields["originatorId"] = self.settings.origin_prefix
            fields["originId"] = party.origin
            if party.email:
                fields["fm"] = [{"typeId": "EMAIL", "valueType": "WORK", "value": party.email}]
        return fields

    def requisite_fields(self, party: PartyRecord) -> dict[str, Any]:
        """The ``RQ_*`` fields of the party's requisite (bitrix24.md §3.7)."""
        fields: dict[str, Any] = {"NAME": party.name[:255], "ACTIVE": "Y", "XML_ID": party.origin}
        if party.kind == PartyKind.PERSON:
            first, last = split_name(party.name)
            fields.update({"RQ_FIRST_NAME": first, "RQ_LAST_NAME": last})
        else:
            fields.update({"RQ_COMPANY_NAME": party.name, "RQ_COMPANY_FULL_NAME": party.name})
        nip_field = self.settings.nip_field
        if party.nip:
            fields[nip_field] = party.nip
        if party.vat_eu and (nip_field != "RQ_VAT_ID" or not party.nip):
            fields["RQ_VAT_ID"] = party.vat_eu
        if party.regon:
            fields["RQ_REGON"] = party.regon
        if party.krs:
            fields["RQ_KRS"] = party.krs
        return fields

    @staticmethod
    def address_fields(address: Address) -> dict[str, Any] | None:
        """The registered address as ``crm.address`` fields (``None`` when there is none)."""
        if not (address.line1 or address.line2 or address.city or address.postal_code):
            return None
        return {
            "ADDRESS_1": address.line1,
            "ADDRESS_2": address.line2,
            "POSTAL_CODE": address.postal_code,
            "CITY": address.city,
            "COUNTRY_CODE": address.country,
        }

    # -- lookups ---------------------------------------------------------------------------

    def preset_command(self) -> Command | None:
        """The preset read, while the presets are not known."""
        if self.presets:
            return None
        return Command(
            "presets",
            "crm.requisite.preset.list",
            {"filter": {"COUNTRY_ID": POLAND}, "select": ["ID", "NAME", "XML_ID"]},
        )

    def read_presets(self, result: CommandResult) -> None:
        """Keep the company and person preset ids from a ``crm.requisite.preset.list`` answer."""
        for row in rows_of(result.unwrap()):
            xml_id = str(row.get("XML_ID", "")).upper()
            kind = PartyKind.PERSON if "PERSON" in xml_id else PartyKind.COMPANY
            self.presets.setdefault(kind, int(row["ID"]))

    def preset_for(self, party: PartyRecord) -> int:
        """The preset of the party's requisite (``NOT_FOUND`` when the portal has none)."""
        preset = self.presets.get(party.kind) or self.presets.get(PartyKind.COMPANY)
        if preset is None:
            raise BitrixError("NOT_FOUND", "the portal has no Polish requisite preset")
        return preset

    def find_command(self, party: PartyRecord) -> Command:
        """Look the party up by its origin."""
        return Command(
            f"find_{party.key}",
            "crm.item.list",
            {
                "entityTypeId": party.entity_type_id,
                "select": ["id"],
                "filter": {
                    "=originatorId": self.settings.origin_prefix,
                    "=originId": party.origin,
                },
                "order": {"id": "ASC"},
                "start": -1,
            },
        )

    def found(self, party: PartyRecord, results: Mapping[str, CommandResult]) -> int | None:
        """The party's item id from a batch holding :meth:`find_command` (remembered)."""
        items = rows_of(results[f"find_{party.key}"].unwrap(), "items")
        if not items:
            return None
        self.known[party.origin] = int(items[0]["id"])
        return self.known[party.origin]

    # -- writes ----------------------------------------------------------------------------

    def create_commands(self, party: PartyRecord) -> list[Command]:
        """Add the party, its requisite and its address, each referring to the previous new
        id; the item's id is ``$result[add_<key>][item][id]`` (see :meth:`new_id_ref`)."""
        add = f"add_{party.key}"
        commands = [
            Command(
                add,
                "crm.item.add",
                {
                    "entityTypeId": party.entity_type_id,
                    "fields": self.item_fields(party, new=True),
                },
            )
        ]
        try:
            preset = self.preset_for(party)
        except BitrixError as exc:
            # The company still comes; its requisite waits for the party's next update.
            log.warning("bitrix24: %s gets no requisite: %s", party.origin, exc)
            return commands
        commands.append(
            Command(
                f"rq_{party.key}",
                "crm.requisite.add",
                {
                    "fields": {
                        "ENTITY_TYPE_ID": party.entity_type_id,
                        "ENTITY_ID": ref(add, "item", "id"),
                        "PRESET_ID": preset,
                        **self.requisite_fields(party),
                    }
                },
            )
        )
        address = self.address_fields(party.address)
        if address is not None:
            commands.append(
                Command(
                    f"addr_{party.key}",
                    "crm.address.add",
                    {
                        "fields": {
                            "TYPE_ID": REGISTERED_ADDRESS,
                            "ENTITY_TYPE_ID": REQUISITE,
                            "ENTITY_ID": ref(f"rq_{party.key}"),
                            **address,
                        }
                    },
                )
            )
        return commands

    @staticmethod
    def new_id_ref(party: PartyRecord) -> str:
        """The ``$result`` reference to the id of a party created by :meth:`create_commands`."""
        return ref(f"add_{party.key}", "item", "id")

    def created(self, party: PartyRecord, results: Mapping[str, CommandResult]) -> int:
        """The id of a party created by :meth:`create_commands` (its errors raised)."""
        item = results[f"add_{party.key}"].unwrap()
        # Known as soon as it exists, even if its requisite failed: never add it twice.
        self.known[party.origin] = int(item["item"]["id"])
        for name in (f"rq_{party.key}", f"addr_{party.key}"):
            if name in results:
                results[name].unwrap()
        return self.known[party.origin]

    def push(self, party: PartyRecord) -> int:
        """Create or update the party with its requisite and address; its item id.

        One lookup batch (the item, its requisite and address, the presets on first use) and
        one write batch. A write that may have run without its answer arriving is looked up
        again before anything is re-sent, so a retry never adds a second company."""
        failures = 0
        while True:
            lookups = [self.find_command(party)]
            lookups.append(
                Command(
                    "requisite",
                    "crm.requisite.list",
                    {"filter": {"XML_ID": party.origin}, "select": ["ID", "ENTITY_ID"]},
                )
            )
            lookups.append(
                Command(
                    "address",
                    "crm.address.list",
                    {
                        "filter": {
                            "TYPE_ID": REGISTERED_ADDRESS,
                            "ENTITY_TYPE_ID": REQUISITE,
                            "ENTITY_ID": ref("requisite", 0, "ID"),
                        }
                    },
                )
            )
            presets = self.preset_command()
            if presets is not None:
                lookups.insert(0, presets)
            found = run_batch(self.client, lookups)
            if presets is not None:
                self.read_presets(found["presets"])
            item_id = self.found(party, found)
            requisites = rows_of(found["requisite"].unwrap())
            has_address = bool(requisites) and bool(rows_of(found["address"].unwrap()))
            if item_id is None:
                commands = self.create_commands(party)
            else:
                commands = self.update_commands(party, item_id, requisites, has_address)
            creates = any(c.method.endswith(".add") for c in commands)
            try:
                results = run_batch(self.client, commands, repeatable=not creates)
            except BitrixError as exc:
                failures += 1
                if not exc.transient or failures >= self.client.retry.attempts:
                    raise
                self.client.pause(self.client.retry.backoff(failures))
                continue
            if item_id is None:
                return self.created(party, results)
            for result in results.values():
                result.unwrap()
            return item_id

    def update_commands(
        self,
        party: PartyRecord,
        item_id: int,
        requisites: Sequence[Mapping[str, Any]],
        has_address: bool,
    ) -> list[Command]:
        """Update an existing party; add the requisite or address it lacks."""
        commands = [
            Command(
                f"upd_{party.key}",
                "crm.item.update",
                {
                    "entityTypeId": party.entity_type_id,
                    "id": item_id,
                    "fields": self.item_fields(party, new=False),
                },
            )
        ]
        requisite_ref: Any
        if requisites:
            requisite_ref = int(requisites[0]["ID"])
            commands.append(
                Command(
                    f"rq_{party.key}",
                    "crm.requisite.update",
                    {"id": requisite_ref, "fields": self.requisite_fields(party)},
                )
            )
        else:
            commands.append(
                Command(
                    f"rq_{party.key}",
                    "crm.requisite.add",
                    {
                        "fields": {
                            "ENTITY_TYPE_ID": party.entity_type_id,
                            "ENTITY_ID": item_id,
                            "PRESET_ID": self.preset_for(party),
                            **self.requisite_fields(party),
                        }
                    },
                )
            )
            requisite_ref = ref(f"rq_{party.key}")
        address = self.address_fields(party.address)
        if address is not None:
            commands.append(
                Command(
                    f"addr_{party.key}",
                    "crm.address.update" if has_address else "crm.address.add",
                    {
                        "fields": {
                            "TYPE_ID": REGISTERED_ADDRESS,
                            "ENTITY_TYPE_ID": REQUISITE,
                            "ENTITY_ID": requisite_ref,
                            **address,
                        }
                    },
                )
            )
        return commands
