"""Clients (the firm's business customers): profile, bank sub-accounts, manager and allowed
templates; a new client may come with its first user, saved in the same transaction."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Sequence

import attrs

from cabinet_core import access
from cabinet_core.entities import Actor, Address, Client, Role, User
from cabinet_core.errors import N_, Conflict, FieldError, ValidationError
from cabinet_core.identifiers import (
    checked_email,
    email_lookup_key,
    normalise_iban,
    validate_country,
    validate_iban,
    validate_krs,
    validate_nip,
    validate_regon,
)
from cabinet_core.limits import blank_errors, text_errors
from cabinet_core.money import SUPPORTED_CURRENCIES
from cabinet_core.password_policy import asked_ahead, password_errors
from cabinet_core.services._base import Service, email_errors, raise_if
from cabinet_core.services.sessions import shut_out
from cabinet_core.storage import Tx
from cabinet_core.sync import Topic, UserInfo

_PL_POSTAL_CODE = re.compile(r"^\d{2}-\d{3}$")


@attrs.frozen(kw_only=True)
class FirstUser:
    """The user a new client gets with it (its staff hand the password over once)."""

    email: str
    name: str = ""
    password: str = attrs.field(repr=False)
    language: str = "pl"


class ClientService(Service):
    """``cabinet.clients``: create (staff), edit, list and assign templates."""

    def _checked(self, tx: Tx, client: Client) -> Client:
        """``client`` with NIP, REGON and IBANs normalised, or every problem as ValidationError."""
        errors: list[FieldError] = blank_errors(client)
        email, email_problems = checked_email(client.email, required=False)
        errors += email_problems
        # What the columns hold (PostgreSQL refuses more; SQLite would keep it silently).
        errors += text_errors(client)
        nip = regon = None
        if client.nip:
            try:
                nip = validate_nip(client.nip)
            except ValidationError as error:
                errors += error.errors
        if client.regon:
            try:
                regon = validate_regon(client.regon)
            except ValidationError as error:
                errors += error.errors
        krs = None
        if client.krs and client.krs.strip():
            try:
                krs = validate_krs(client.krs)
            except ValidationError as error:
                errors += error.errors
        address = _normalised_address(client.address)
        errors += _address_errors(address)
        accounts = []
        seen = set()
        for index, account in enumerate(client.bank_accounts):
            iban = normalise_iban(account.iban)
            try:
                iban = validate_iban(iban, field=f"bank_accounts.{index}.iban")
            except ValidationError as error:
                errors += error.errors
            if account.currency not in SUPPORTED_CURRENCIES:
                errors.append(
                    FieldError(
                        field=f"bank_accounts.{index}.currency",
                        code="unsupported",
                        message=N_("Choose PLN, EUR or USD."),
                    )
                )
            if (account.currency, account.label) in seen:
                errors.append(
                    FieldError(
                        field=f"bank_accounts.{index}.label",
                        code="duplicate",
                        message=N_("Give each account of one currency its own label."),
                    )
                )
            seen.add((account.currency, account.label))
            accounts.append(
                attrs.evolve(
                    account,
                    iban=iban,
                    bank_name=account.bank_name.strip(),
                    label=account.label.strip(),
                )
            )
        if client.language not in self.cabinet.settings.languages:
            errors.append(
                FieldError(field="language", code="unsupported", message=N_("Unknown language."))
            )
        errors += self._template_errors(client.allowed_templates, client.default_template)
        if client.manager_id is not None:
            manager = tx.get_user(client.manager_id)
            if manager is None or manager.role not in (Role.MANAGER, Role.ADMIN):
                errors.append(
                    FieldError(
                        field="manager_id", code="not_a_manager", message=N_("Choose a manager.")
                    )
                )
        if client.accountant_id is not None:
            accountant = tx.get_user(client.accountant_id)
            if (
                accountant is None
                or accountant.role is not Role.ACCOUNTANT
                or not accountant.active
            ):
                errors.append(
                    FieldError(
                        field="accountant_id",
                        code="not_an_accountant",
                        message=N_("Choose an accountant."),
                    )
                )
        raise_if(errors)
        return attrs.evolve(
            client,
            name=client.name.strip(),
            email=email,
            nip=nip,
            regon=regon,
            krs=krs,
            address=address,
            bank_accounts=tuple(accounts),
        )

    def _template_errors(self, keys: Sequence[str], default: str | None) -> list[FieldError]:
        errors = [
            FieldError(
                field="allowed_templates",
                code="unknown",
                message=N_("Unknown template."),
                params={"template": key},
            )
            for key in keys
            if key not in self.cabinet.templates
        ]
        if default is not None and default not in keys:
            errors.append(
                FieldError(
                    field="default_template",
                    code="not_allowed",
                    message=N_("The default template must be one of the allowed ones."),
                )
            )
        return errors

    def create(
        self, actor: Actor, client: Client, *, first_user: FirstUser | None = None
    ) -> Client:
        """A new client; a manager's new client is assigned to them. With ``first_user`` the
        client's first user is created too: both are saved, or (on any problem) neither."""
        access.require(access.can_create_clients(actor))
        if actor.role is Role.MANAGER:
            client = attrs.evolve(client, manager_id=actor.user_id)
        breached = (
            asked_ahead(
                self.cabinet.breached_passwords,
                first_user.password,
                email=first_user.email,
                name=first_user.name,
            )
            if first_user is not None
            else None
        )
        if not access.can_reassign_client(actor):
            client = attrs.evolve(client, accountant_id=None)
        with self.store.transaction() as tx:
            try:
                checked = self._checked(tx, attrs.evolve(client, id=None, created_at=self.now()))
                user_errors: list[FieldError] = []
            except ValidationError as error:
                checked, user_errors = None, list(error.errors)
            if first_user is not None:
                user_errors += self._first_user_errors(tx, first_user, breached)
            raise_if(user_errors)
            assert checked is not None
            stored = tx.add_client(checked)
            self.record(
                tx,
                actor,
                action="client.create",
                entity="client",
                entity_id=stored.id,
                client_id=stored.id,
                topic=Topic.CLIENT_CREATED,
                message=stored,
            )
            if first_user is not None:
                user = User(
                    email=email_lookup_key(first_user.email),
                    name=first_user.name.strip(),
                    role=Role.CLIENT,
                    client_id=stored.id,
                    language=first_user.language,
                    password_hash=self.cabinet.users.hasher.hash(first_user.password),
                )
                try:
                    user = tx.add_user(user)
                except Conflict:
                    # Taken since the check above: the client is rolled back with it.
                    raise ValidationError.single(
                        "first_user.email",
                        "taken",
                        N_("A user with this e-mail already exists."),
                    ) from None
                self.record(
                    tx,
                    actor,
                    action="user.create",
                    entity="user",
                    entity_id=user.id,
                    client_id=stored.id,
                    detail={"email": user.email, "role": user.role},
                    topic=Topic.USER_CREATED,
                    message=UserInfo.of(user),
                )
        self.fire("client_created", client=stored, actor=actor)
        return stored

    def _first_user_errors(
        self, tx: Tx, user: FirstUser, breached: Callable[[str], bool] | None
    ) -> list[FieldError]:
        """What is wrong with a new client's first user, under ``first_user.*`` fields."""
        errors = email_errors(user.email) + password_errors(
            user.password,
            email=user.email,
            name=user.name,
            breached=breached,
        )
        if user.language not in self.cabinet.settings.languages:
            errors.append(
                FieldError(field="language", code="unsupported", message=N_("Unknown language."))
            )
        if not errors and tx.get_user_by_email(email_lookup_key(user.email)) is not None:
            errors.append(
                FieldError(
                    field="email",
                    code="taken",
                    message=N_("A user with this e-mail already exists."),
                )
            )
        return [attrs.evolve(error, field=f"first_user.{error.field}") for error in errors]

    def update(self, actor: Actor, client: Client) -> Client:
        """Save a client's profile. A client's own users and managers cannot change who manages
        it, its templates or whether it is active; only an admin can: asking to is refused
        (PermissionDenied, nothing saved), sending the values as they are is not."""
        with self.store.transaction() as tx:
            current = access.client_for(tx, actor, client.id, write=True)
            if not access.can_reassign_client(actor):
                access.require(
                    (client.manager_id, client.accountant_id, client.active)
                    == (current.manager_id, current.accountant_id, current.active)
                )
            if not access.can_assign_templates(actor):
                access.require(
                    (client.allowed_templates, client.default_template)
                    == (current.allowed_templates, current.default_template)
                )
            checked = self._checked(tx, attrs.evolve(client, created_at=current.created_at))
            stored = tx.update_client(checked)
            if current.active and not stored.active:
                # A deactivated client's users are signed out everywhere and lose their tokens.
                shut_out(tx, [u.id for u in tx.list_users(client_id=stored.id) if u.id is not None])
            self.record(
                tx,
                actor,
                action="client.update",
                entity="client",
                entity_id=stored.id,
                client_id=stored.id,
                topic=Topic.CLIENT_UPDATED,
                message=stored,
            )
        return stored

    def get(self, actor: Actor, client_id: int) -> Client:
        """A client the actor may see (others are "not found")."""
        with self.store.transaction(readonly=True) as tx:
            return access.client_for(tx, actor, client_id)

    def list(self, actor: Actor, *, search: str | None = None) -> builtins.list[Client]:
        """Managers their own clients, accountants and admins all, a client user its own."""
        with self.store.transaction(readonly=True) as tx:
            if actor.role is Role.MANAGER:
                if actor.user_id is None:
                    return []
                return tx.list_clients(manager_id=actor.user_id, search=search)
            clients = tx.list_clients(search=search)
        return [client for client in clients if access.can_view_client(actor, client)]

    def set_preferences(
        self, actor: Actor, client_id: int, *, auto_send: bool, default_template: str | None
    ) -> Client:
        """The client's own choices: send issued documents to the buyer automatically, and
        which of its allowed templates new documents start with.

        Unlike :meth:`assign_templates` this is open to whoever may edit the client's data
        (its users too): it never widens the allowed list an admin set.
        """
        with self.store.transaction() as tx:
            current = access.client_for(tx, actor, client_id, write=True)
            if default_template is not None and (
                default_template not in self.cabinet.templates
                or (current.allowed_templates and default_template not in current.allowed_templates)
            ):
                raise ValidationError.single(
                    "default_template",
                    "not_allowed",
                    N_("The default template must be one of the allowed ones."),
                )
            stored = tx.update_client(
                attrs.evolve(current, auto_send=auto_send, default_template=default_template)
            )
            self.record(
                tx,
                actor,
                action="client.set_preferences",
                entity="client",
                entity_id=stored.id,
                client_id=stored.id,
                detail={"auto_send": auto_send, "default_template": default_template},
                topic=Topic.CLIENT_UPDATED,
                message=stored,
            )
        return stored

    def assign_templates(
        self, actor: Actor, client_id: int, template_keys: Sequence[str], default: str | None
    ) -> Client:
        """Choose the templates a client may use and its default one (admins only)."""
        access.require(access.can_assign_templates(actor))
        keys = tuple(dict.fromkeys(template_keys))
        raise_if(self._template_errors(keys, default))
        with self.store.transaction() as tx:
            current = access.client_for(tx, actor, client_id)
            stored = tx.update_client(
                attrs.evolve(current, allowed_templates=keys, default_template=default)
            )
            self.record(
                tx,
                actor,
                action="client.assign_templates",
                entity="client",
                entity_id=stored.id,
                client_id=stored.id,
                detail={"templates": list(keys), "default": default},
                topic=Topic.CLIENT_UPDATED,
                message=stored,
            )
        return stored


def _normalised_address(address: Address) -> Address:
    return Address(
        line1=address.line1.strip(),
        line2=address.line2.strip(),
        postal_code=address.postal_code.strip(),
        city=address.city.strip(),
        country=address.country.strip().upper() or "PL",
    )


def _address_errors(address: Address) -> list[FieldError]:
    """A country must be an ISO 3166 code; a Polish postal code reads NN-NNN (as invoices
    print it)."""
    errors: list[FieldError] = []
    try:
        validate_country(address.country)
    except ValidationError as error:
        errors += error.errors
    if (
        address.country == "PL"
        and address.postal_code
        and not _PL_POSTAL_CODE.match(address.postal_code)
    ):
        errors.append(
            FieldError(
                field="address.postal_code",
                code="postal_code",
                message=N_("Enter a Polish postal code as 00-000."),
            )
        )
    return errors
