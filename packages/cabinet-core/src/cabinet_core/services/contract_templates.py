"""``cabinet.contract_templates``: the admins' contract templates, their versions and rendering.

A template is validated when it is saved by a dry run: it is rendered with the sample contract
(:func:`cabinet_core.contract_templates.sample_document`) in two variants that take the usual
branches (a lump sum with a copyright transfer to a person; an hourly rate to a company without
one), and the output is read as the safe HTML subset (:func:`cabinet_core.contract_text.parse`).
An unknown placeholder, a syntax error, forbidden markup or anything the sandbox refuses is an
error at the ``body`` field, and nothing is saved. Changing the text writes a new version.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from cabinet_core import access
from cabinet_core.contract_templates import (
    TEMPLATE_LANGUAGES,
    ContractTemplate,
    TemplateVersion,
    contract_context,
    sample_document,
)
from cabinet_core.contract_text import Block, TemplateProblem, parse
from cabinet_core.entities import Actor, Address, Client, Document, Party, PartyKind, Role
from cabinet_core.errors import N_, FieldError, NotFound, ValidationError
from cabinet_core.services._base import Service, raise_if, required_text
from cabinet_core.storage import contract_templates as db

if TYPE_CHECKING:
    from cabinet_core.doctypes import DocumentType

#: The longest template source an admin may save (characters).
MAX_BODY = 100_000
MAX_NAME = 200


def templated_type(document_types: Mapping[str, DocumentType]) -> DocumentType:
    """The document type whose text comes from a contract template (``from_template``)."""
    for document_type in document_types.values():
        if document_type.from_template:
            return document_type
    raise NotFound(N_("Contracts are not available"), entity="document_type")


def contract_kinds(document_type: DocumentType) -> Mapping[str, Mapping[str, str]]:
    """The contract kinds (``contract_kind`` choices) of the templated type, with labels."""
    for spec in document_type.fields:
        if spec.name == "contract_kind":
            return spec.choices
    return {}


def problem_error(problem: TemplateProblem, field: str = "body") -> FieldError:
    """A template problem as an error at ``field``."""
    return FieldError(
        field=field, code="template", message=problem.message, params=dict(problem.params)
    )


def _variant(document: Document) -> Document:
    """The sample's other branches: an hourly rate, no copyright transfer, a company, no end
    date and no number yet."""
    extra = dict(document.extra)
    extra.update(
        rate_type="hourly",
        amount=None,
        hourly_rate="45.00",
        copyright_transfer=False,
        fields_of_exploitation=[],
        date_to=None,
        contractor_pesel="",
    )
    company = Party(
        kind=PartyKind.COMPANY,
        name="Usługi IT Nowak sp.j.",
        nip="7251801126",
        address=Address(line1="ul. Ogrodowa 3", postal_code="90-001", city="Łódź"),
    )
    return attrs.evolve(document, number=None, buyer=company, extra=extra)


class ContractTemplateService(Service):
    """Admins keep the templates; users who make contracts read the active ones."""

    # -- reading --------------------------------------------------------------------------
    def list(
        self,
        actor: Actor,
        *,
        include_inactive: bool = False,
        contract_kind: str | None = None,
        language: str | None = None,
    ) -> list[ContractTemplate]:
        """Templates by kind, language and name; inactive ones only for admins."""
        access.require_user(actor)
        active_only = not (include_inactive and actor.role is Role.ADMIN)
        with self.store.transaction(readonly=True) as tx:
            return db.listing(
                tx.connection,
                active_only=active_only,
                contract_kind=contract_kind,
                language=language,
            )

    def get(self, actor: Actor, template_id: int) -> ContractTemplate:
        """One template with its current text (an inactive one only for admins)."""
        access.require_user(actor)
        with self.store.transaction(readonly=True) as tx:
            template = db.get(tx.connection, template_id)
        if template is None or (not template.active and actor.role is not Role.ADMIN):
            raise NotFound(N_("Not found"), entity="contract_template", id=template_id)
        return template

    def versions(self, actor: Actor, template_id: int) -> builtins.list[TemplateVersion]:
        """Every version of a template, newest first (admins)."""
        access.require(access.can_change_settings(actor))
        with self.store.transaction(readonly=True) as tx:
            if db.get(tx.connection, template_id) is None:
                raise NotFound(N_("Not found"), entity="contract_template", id=template_id)
            return db.versions(tx.connection, template_id)

    # -- writing --------------------------------------------------------------------------
    def create(self, actor: Actor, template: ContractTemplate) -> ContractTemplate:
        """Add a template (version 1) after the dry run."""
        access.require(access.can_change_settings(actor))
        template = self._clean(template)
        raise_if(self._errors(template))
        key = template.key or f"t-{secrets.token_hex(6)}"
        with self.store.transaction() as tx:
            stored = db.add(
                tx.connection,
                attrs.evolve(template, key=key, builtin=False),
                author_id=actor.user_id,
                now=self.now(),
            )
            self._audit(tx, actor, "contract_template.create", stored)
        return stored

    def update(self, actor: Actor, template: ContractTemplate) -> ContractTemplate:
        """Change a template: a changed text becomes a new version; earlier versions stay."""
        access.require(access.can_change_settings(actor))
        template = self._clean(template)
        raise_if(self._errors(template))
        with self.store.transaction() as tx:
            current = db.get(tx.connection, template.id) if template.id is not None else None
            if current is None:
                raise NotFound(N_("Not found"), entity="contract_template", id=template.id)
            stored = db.update(
                tx.connection, current, template, author_id=actor.user_id, now=self.now()
            )
            self._audit(tx, actor, "contract_template.update", stored)
        return stored

    def set_active(self, actor: Actor, template_id: int, active: bool) -> ContractTemplate:
        """Deactivate a template (no new contracts from it; made ones keep their text) or
        activate it again."""
        access.require(access.can_change_settings(actor))
        with self.store.transaction() as tx:
            current = db.get(tx.connection, template_id)
            if current is None:
                raise NotFound(N_("Not found"), entity="contract_template", id=template_id)
            stored = db.update(
                tx.connection,
                current,
                attrs.evolve(current, active=active),
                author_id=actor.user_id,
                now=self.now(),
            )
            action = "contract_template.activate" if active else "contract_template.deactivate"
            self._audit(tx, actor, action, stored)
        return stored

    def install_builtins(self, actor: Actor) -> int:
        """Add the built-in templates that are missing (a fresh cabinet has them from its
        migration); how many were added."""
        access.require(access.can_change_settings(actor))
        with self.store.transaction() as tx:
            return db.seed_builtins(tx.connection, self.now())

    # -- rendering ------------------------------------------------------------------------
    def preview(
        self, actor: Actor, *, body: str, contract_kind: str, language: str
    ) -> tuple[Block, ...]:
        """``body`` rendered with the sample contract (admins, before saving); a problem is a
        :class:`ValidationError` at ``body``."""
        access.require(access.can_change_settings(actor))
        if language not in TEMPLATE_LANGUAGES:
            # The amount in words has no other language: a field error, not a server error.
            raise ValidationError.single(
                "language", "invalid_choice", N_("Choose a value from the list.")
            )
        document_type = templated_type(self.cabinet.document_types)
        document, client = sample_document(document_type.key, contract_kind, language)
        try:
            return self.render(body, document, client, language=language)
        except TemplateProblem as problem:
            raise ValidationError([problem_error(problem)]) from None

    def render(
        self, body: str, document: Document, client: Client, *, language: str
    ) -> tuple[Block, ...]:
        """``body`` filled with ``document`` of ``client``, read into blocks (any problem →
        :class:`TemplateProblem`)."""
        document_type = self.cabinet.document_types.get(document.doc_type)
        labels = contract_kinds(document_type) if document_type is not None else {}
        context: dict[str, Any] = contract_context(
            document, client, language=language, kind_labels=labels
        )
        return parse(self.cabinet.text_engine.render(body, context))

    def text_of(self, document: Document, client: Client) -> tuple[Block, ...] | None:
        """The text of a contract made from a template: the version it was made from, filled
        with its values; ``None`` for a document without a template. A system read: the
        caller has already been allowed to see ``document``."""
        version_id = document.extra.get("template_version_id")
        if not isinstance(version_id, int):
            return None
        with self.store.transaction(readonly=True) as tx:
            version = db.get_version(tx.connection, version_id)
            template = (
                db.get(tx.connection, version.template_id)
                if version is not None and version.template_id is not None
                else None
            )
        if version is None or template is None:
            return None
        try:
            return self.render(version.body, document, client, language=template.language)
        except TemplateProblem as problem:
            raise ValidationError([problem_error(problem, "template_version_id")]) from None

    # -- helpers --------------------------------------------------------------------------
    def _clean(self, template: ContractTemplate) -> ContractTemplate:
        return attrs.evolve(
            template, name=template.name.strip(), body=template.body.replace("\r\n", "\n")
        )

    def _errors(self, template: ContractTemplate) -> builtins.list[FieldError]:
        errors = required_text(template.name, "name")
        if len(template.name) > MAX_NAME:
            errors.append(FieldError(field="name", code="too_long", message=N_("Too long.")))
        document_type = templated_type(self.cabinet.document_types)
        kinds = contract_kinds(document_type)
        if template.contract_kind not in kinds:
            errors.append(
                FieldError(
                    field="contract_kind",
                    code="invalid_choice",
                    message=N_("Choose a value from the list."),
                )
            )
        if template.language not in TEMPLATE_LANGUAGES:
            errors.append(
                FieldError(
                    field="language",
                    code="invalid_choice",
                    message=N_("Choose a value from the list."),
                )
            )
        if not template.body.strip():
            return [*errors, *required_text(template.body, "body")]
        if len(template.body) > MAX_BODY:
            return [
                *errors,
                FieldError(
                    field="body",
                    code="too_long",
                    message=N_("The template is longer than %(limit)s characters."),
                    params={"limit": MAX_BODY},
                ),
            ]
        if errors:
            return errors
        document, client = sample_document(
            document_type.key, template.contract_kind, template.language
        )
        for sample in (document, _variant(document)):
            try:
                self.render(template.body, sample, client, language=template.language)
            except TemplateProblem as problem:
                return [problem_error(problem)]
        return []

    def _audit(self, tx: Any, actor: Actor, action: str, template: ContractTemplate) -> None:
        self.record(
            tx,
            actor,
            action=action,
            entity="contract_template",
            entity_id=template.id,
            client_id=None,
            detail={"name": template.name, "version": template.version, "active": template.active},
        )
