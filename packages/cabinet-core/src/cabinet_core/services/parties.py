"""A client's own counterparties (kontrahenci) and products; only that client ever sees them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from cabinet_core import access
from cabinet_core.entities import Actor, Counterparty, Product
from cabinet_core.errors import N_, FieldError, NotFound, ValidationError
from cabinet_core.identifiers import (
    checked_email,
    validate_country,
    validate_krs,
    validate_nip,
    validate_regon,
    validate_vat_eu,
)
from cabinet_core.limits import blank_errors, decimal_errors, text_errors
from cabinet_core.money import SUPPORTED_CURRENCIES
from cabinet_core.services._base import Service, raise_if
from cabinet_core.storage import Page, Tx
from cabinet_core.sync import Topic
from cabinet_core.vat import rates_for
from cabinet_core.vat_statement.markers import SALES_PROCEDURES, ordered, procedure_errors

if TYPE_CHECKING:
    from datetime import date

    from cabinet_core.app import Cabinet

E = TypeVar("E", Counterparty, Product)

_GTU = re.compile(r"^GTU_(0[1-9]|1[0-3])$")
MAX_PAGE = 500


@attrs.frozen(kw_only=True)
class _Table(Generic[E]):
    """The store operations for one kind of client-owned entity."""

    name: str
    #: The outbox topic of each action ("create", "update", "delete").
    topics: Mapping[str, Topic]
    add: Callable[[Tx, E], E]
    update: Callable[[Tx, E], E]
    get: Callable[[Tx, int], E | None]
    delete: Callable[[Tx, int], None]
    page: Callable[[Tx, int, str | None, int, int], Page[E]]


class OwnedService(Service, Generic[E]):
    """Create, read, update, delete and list entities owned by one client.

    A client's user always works on its own client (``client_id`` is forced); staff work on
    the clients they may see; another client's entity is "not found".
    """

    def __init__(self, cabinet: Cabinet, table: _Table[E], check: Callable[[E], E]) -> None:
        super().__init__(cabinet)
        self._table: _Table[E] = table
        self._check: Callable[[E], E] = check

    def _owned(self, tx: Tx, actor: Actor, entity_id: int, *, write: bool) -> E:
        entity = self._table.get(tx, entity_id)
        if entity is None:
            raise NotFound(N_("Not found"), entity=self._table.name, id=entity_id)
        try:
            access.client_for(tx, actor, entity.client_id, write=write)
        except NotFound:
            raise NotFound(N_("Not found"), entity=self._table.name, id=entity_id) from None
        return entity

    def _checked(self, entity: E) -> E:
        """The entity as the check normalises it, or every field error at once (numbers no
        column holds first: the check must not compute with NaN)."""
        raise_if(decimal_errors(entity))
        errors = list(text_errors(entity))
        checked = entity
        try:
            checked = self._check(entity)
        except ValidationError as error:
            too_long = {e.field for e in errors}
            errors += [e for e in error.errors if e.field not in too_long]
        raise_if(errors)
        return checked

    def check_new(self, actor: Actor, entity: E) -> E:
        """A new entity as :meth:`create` would save it (owner forced for a client's user,
        checked and normalised), or :class:`ValidationError` with every field error; no writes.

        With :meth:`add` it lets another use case save the entity in its own unit of work.
        """
        if actor.client_id is not None:
            entity = attrs.evolve(entity, client_id=actor.client_id)
        return self._checked(attrs.evolve(entity, id=None, created_at=self.now()))

    def add(self, tx: Tx, actor: Actor, entity: E) -> E:
        """Store an entity :meth:`check_new` returned, with its audit entry and outbox row, in
        the caller's transaction ``tx``; the caller has checked the actor may write to the
        entity's client."""
        stored = self._table.add(tx, entity)
        self._record(tx, actor, "create", stored)
        return stored

    def create(self, actor: Actor, entity: E) -> E:
        """Save a new entity for the client (a client's user: always its own client)."""
        entity = self.check_new(actor, entity)
        with self.store.transaction() as tx:
            access.client_for(tx, actor, entity.client_id, write=True)
            stored = self.add(tx, actor, entity)
        return stored

    def update(self, actor: Actor, entity: E) -> E:
        """Save changes; the owning client never changes."""
        if entity.id is None:
            raise NotFound(N_("Not found"), entity=self._table.name, id=None)
        raise_if(decimal_errors(entity))
        with self.store.transaction() as tx:
            current = self._owned(tx, actor, entity.id, write=True)
            checked = self._checked(
                attrs.evolve(entity, client_id=current.client_id, created_at=current.created_at)
            )
            stored = self._table.update(tx, checked)
            self._record(tx, actor, "update", stored)
        return stored

    def get(self, actor: Actor, entity_id: int) -> E:
        """One entity of a client the actor may see."""
        with self.store.transaction(readonly=True) as tx:
            return self._owned(tx, actor, entity_id, write=False)

    def delete(self, actor: Actor, entity_id: int) -> None:
        """Delete it (documents keep their own snapshot of the party or product)."""
        with self.store.transaction() as tx:
            current = self._owned(tx, actor, entity_id, write=True)
            self._table.delete(tx, entity_id)
            self._record(tx, actor, "delete", current)

    def list(
        self,
        actor: Actor,
        client_id: int | None,
        *,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[E]:
        """A page of one client's entities (a client's user: always its own)."""
        if actor.client_id is not None:
            client_id = actor.client_id
        limit = max(1, min(limit, MAX_PAGE))
        with self.store.transaction(readonly=True) as tx:
            own = access.own_client_id(actor)
            if own is None:
                client = access.client_for(tx, actor, client_id)
                assert client.id is not None
                own = client.id
            return self._table.page(tx, own, search, limit, max(0, offset))

    def _record(self, tx: Tx, actor: Actor, action: str, entity: E) -> None:
        name = self._table.name
        self.record(
            tx,
            actor,
            action=f"{name}.{action}",
            entity=name,
            entity_id=entity.id,
            client_id=entity.client_id,
            topic=self._table.topics[action],
            message=entity,
        )


def check_counterparty(counterparty: Counterparty) -> Counterparty:
    """A counterparty with NIP, VAT-EU number and country normalised, or ValidationError.

    A company or a person; the NIP (with its check digit) for Polish ones, the VAT-EU number
    for EU ones (either or neither: a consumer has none); the address country is an ISO 3166
    two-letter code the FA(3) schema accepts (blank means PL); the e-mail address is stored in
    its deliverable form.
    """
    errors: list[FieldError] = blank_errors(counterparty)
    email, email_problems = checked_email(counterparty.email, required=False)
    errors += email_problems
    nip = None
    if counterparty.nip and counterparty.nip.strip():
        try:
            nip = validate_nip(counterparty.nip)
        except ValidationError as error:
            errors += error.errors
    vat_eu = None
    if counterparty.vat_eu and counterparty.vat_eu.strip():
        try:
            vat_eu = validate_vat_eu(counterparty.vat_eu)
        except ValidationError as error:
            errors += error.errors
    # REGON and KRS go to the CRM's requisites (RQ_REGON, RQ_KRS) with the NIP.
    regon = krs = None
    if counterparty.regon and counterparty.regon.strip():
        try:
            regon = validate_regon(counterparty.regon)
        except ValidationError as error:
            errors += error.errors
    if counterparty.krs and counterparty.krs.strip():
        try:
            krs = validate_krs(counterparty.krs)
        except ValidationError as error:
            errors += error.errors
    # A blank country is the usual case of a Polish counterparty typed in a hurry.
    country = counterparty.address.country.strip().upper() or "PL"
    try:
        validate_country(country, code="invalid")
    except ValidationError as error:
        errors += error.errors
    raise_if(errors)
    return attrs.evolve(
        counterparty,
        name=counterparty.name.strip(),
        email=email,
        nip=nip,
        vat_eu=vat_eu,
        regon=regon,
        krs=krs,
        address=attrs.evolve(counterparty.address, country=country),
    )


def product_checker(cabinet: Cabinet, today: Callable[[], date]) -> Callable[[Product], Product]:
    """A check for products against the VAT rates in force ``today``."""

    def check(product: Product) -> Product:
        errors: list[FieldError] = blank_errors(product)
        if product.unit_price < 0:
            errors.append(
                FieldError(
                    field="unit_price", code="negative", message=N_("The price cannot be negative.")
                )
            )
        if product.currency not in SUPPORTED_CURRENCIES:
            errors.append(
                FieldError(
                    field="currency", code="unsupported", message=N_("Choose PLN, EUR or USD.")
                )
            )
        rules = rates_for(cabinet.tax_rules, today())
        if product.vat_rate not in rules.codes:
            errors.append(
                FieldError(
                    field="vat_rate", code="unknown_vat_rate", message=N_("Unknown VAT rate.")
                )
            )
        if product.gtu is not None and not _GTU.match(product.gtu):
            errors.append(
                FieldError(field="gtu", code="unknown", message=N_("Choose GTU_01 … GTU_13."))
            )
        errors += procedure_errors(product.procedures, "procedures")
        raise_if(errors)
        return attrs.evolve(
            product,
            name=product.name.strip(),
            unit=product.unit.strip(),
            procedures=ordered(product.procedures, SALES_PROCEDURES),
        )

    return check


class CounterpartyService(OwnedService[Counterparty]):
    """``cabinet.counterparties``: a client's buyers and sellers."""

    def __init__(self, cabinet: Cabinet) -> None:
        table = _Table[Counterparty](
            name="counterparty",
            topics={
                "create": Topic.COUNTERPARTY_CREATED,
                "update": Topic.COUNTERPARTY_UPDATED,
                "delete": Topic.COUNTERPARTY_DELETED,
            },
            add=Tx.add_counterparty,
            update=Tx.update_counterparty,
            get=Tx.get_counterparty,
            delete=Tx.delete_counterparty,
            page=lambda tx, client_id, search, limit, offset: tx.list_counterparties(
                client_id, search=search, limit=limit, offset=offset
            ),
        )
        super().__init__(cabinet, table, check_counterparty)


class ProductService(OwnedService[Product]):
    """``cabinet.products``: a client's catalogue of goods and services."""

    def __init__(self, cabinet: Cabinet) -> None:
        table = _Table[Product](
            name="product",
            topics={
                "create": Topic.PRODUCT_CREATED,
                "update": Topic.PRODUCT_UPDATED,
                "delete": Topic.PRODUCT_DELETED,
            },
            add=Tx.add_product,
            update=Tx.update_product,
            get=Tx.get_product,
            delete=Tx.delete_product,
            page=lambda tx, client_id, search, limit, offset: tx.list_products(
                client_id, search=search, limit=limit, offset=offset
            ),
        )
        super().__init__(cabinet, table, product_checker(cabinet, lambda: self.now().date()))
