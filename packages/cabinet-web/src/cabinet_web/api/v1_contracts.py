"""``/api/v1/contract-templates`` (admins keep them, contract makers read the active ones) and
``/api/v1/contracts`` (make a contract from a template; read its text). The same service calls
as the pages: ``cabinet.contract_templates`` and ``cabinet.contracts``."""

from __future__ import annotations

from typing import Any

from cabinet_core.contract_templates import ContractTemplate, TemplateVersion
from cabinet_core.contract_text import Block
from cabinet_core.converter import to_json_dict
from cabinet_core.entities import Document
from cabinet_core.errors import N_, ValidationError
from cabinet_core.services.contract_templates import MAX_BODY, MAX_NAME
from cabinet_core.services.contracts import ContractOrder
from starlette.requests import Request

from cabinet_web.api._endpoint import Param, actor, json_body, structure, text
from cabinet_web.api.openapi import DECIMAL_SCHEMA
from cabinet_web.api.v1 import _id, _path_int, endpoint
from cabinet_web.kit import cabinet_of, run
from cabinet_web.limits import MAX_INT

#: An id in a body: a whole number the id columns hold.
_ID: dict[str, Any] = {"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT}
TEMPLATE_ID = _id("template_id", "The template's id")
TEMPLATE_FIELDS = ("name", "contract_kind", "language", "body")
TEMPLATE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": text(max_length=MAX_NAME, non_blank=True),
        "contract_kind": {"type": "string", "description": "dzielo or zlecenie"},
        "language": {"type": "string", "enum": ["pl", "en"]},
        "body": text(
            max_length=MAX_BODY,
            non_blank=True,
            description="The template: the safe HTML subset with {{ placeholders }} "
            "(docs/staff-guide.md, Contract templates)",
        ),
    },
    "required": list(TEMPLATE_FIELDS),
    "additionalProperties": False,
}
PREVIEW_SCHEMA = {
    "type": "object",
    "properties": {
        "contract_kind": {"type": "string"},
        "language": {"type": "string", "enum": ["pl", "en"]},
        "body": {"type": "string"},
    },
    "required": ["contract_kind", "language", "body"],
    "additionalProperties": False,
}
BLOCKS_SCHEMA = {
    "type": "object",
    "properties": {
        "blocks": {
            "type": "array",
            "description": "Headings (h1-h3), paragraphs (p), lists (ol, ul) and the signature "
            "block, each with runs of text or items of runs",
            "items": {"type": "object"},
        }
    },
}
CONTRACT_SCHEMA = {
    "type": "object",
    "properties": {
        "client_id": {**_ID, "description": "Staff name the client"},
        "template_id": _ID,
        "counterparty_id": {
            **_ID,
            "description": "One of the client's counterparties as the contractor",
        },
        "contractor": {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["person", "company"]},
                "name": text(non_blank=True),
                "pesel": {"type": "string", "description": "A person's PESEL"},
                "nip": {"type": "string", "description": "A company's NIP"},
                "address": {"type": "object"},
                "email": {"type": "string"},
            },
        },
        "subject": {"type": "string"},
        "date_from": {"type": "string", "format": "date"},
        "date_to": {"type": "string", "format": "date"},
        "rate_type": {"type": "string", "enum": ["lump_sum", "hourly"]},
        "amount": {
            **DECIMAL_SCHEMA,
            "type": ["string", "null"],
            "description": "Gross lump sum, a decimal string",
        },
        "hourly_rate": {
            **DECIMAL_SCHEMA,
            "type": ["string", "null"],
            "description": "Gross hourly rate, a decimal string",
        },
        "currency": {"type": "string"},
        "copyright_transfer": {"type": "boolean"},
        "fields_of_exploitation": {
            "type": "array",
            "items": {
                "type": "string",
                "enum": ["recording", "trading", "public", "internet", "adaptation"],
            },
        },
        "issue_date": {"type": "string", "format": "date"},
    },
    "required": ["template_id", "contractor"],
}


def _blocks(blocks: tuple[Block, ...] | None) -> dict[str, Any]:
    return {"blocks": [to_json_dict(block) for block in blocks or ()]}


async def _template_body(request: Request, template_id: int | None) -> ContractTemplate:
    data = await json_body(request)
    unknown = sorted(set(data) - set(TEMPLATE_FIELDS))
    if unknown:
        raise ValidationError.single(
            unknown[0], "unknown", N_("This field is not part of the request.")
        )
    for name in TEMPLATE_FIELDS:
        if not isinstance(data.get(name, ""), str):
            raise ValidationError.single(
                name, "type", N_("This value has the wrong type or format.")
            )
    return ContractTemplate(
        id=template_id,
        name=data.get("name", ""),
        contract_kind=data.get("contract_kind", ""),
        language=data.get("language", ""),
        body=data.get("body", ""),
    )


@endpoint(
    "/contract-templates",
    "GET",
    "Contract templates (admins see inactive ones with include_inactive=true)",
    params=(Param(name="include_inactive", where="query", schema={"type": "boolean"}),),
    response=("list", ContractTemplate),
)
async def list_contract_templates(request: Request) -> Any:
    """The templates the user may use (admins: all with ``include_inactive``)."""
    raw = request.query_params.get("include_inactive", "").lower() or "false"
    if raw not in ("true", "false"):
        raise ValidationError.single(
            "include_inactive", "type", N_("This value has the wrong type or format.")
        )
    include = raw == "true"
    return await run(
        cabinet_of(request).contract_templates.list, actor(request), include_inactive=include
    )


@endpoint(
    "/contract-templates",
    "POST",
    "Add a contract template (admins); a template that does not render is refused",
    body=TEMPLATE_SCHEMA,
    response=ContractTemplate,
    status=201,
)
async def create_contract_template(request: Request) -> ContractTemplate:
    """Add a template (version 1)."""
    template = await _template_body(request, None)
    created: ContractTemplate = await run(
        cabinet_of(request).contract_templates.create, actor(request), template
    )
    return created


@endpoint(
    "/contract-templates/preview",
    "POST",
    "Render a template's text with the sample contract (admins)",
    body=PREVIEW_SCHEMA,
    response=BLOCKS_SCHEMA,
)
async def preview_contract_template(request: Request) -> Any:
    """The blocks the text gives for the sample contract; a problem is a 422 at ``body``."""
    data = await json_body(request)
    values = {name: data.get(name) for name in ("body", "contract_kind", "language")}
    for name, value in values.items():
        if not isinstance(value, str):
            raise ValidationError.single(
                name, "type", N_("This value has the wrong type or format.")
            )
    blocks = await run(cabinet_of(request).contract_templates.preview, actor(request), **values)
    return _blocks(blocks)


@endpoint(
    "/contract-templates/{template_id}",
    "GET",
    "One contract template with its current text",
    params=(TEMPLATE_ID,),
    response=ContractTemplate,
)
async def get_contract_template(request: Request) -> ContractTemplate:
    """The template (an inactive one for admins only)."""
    template: ContractTemplate = await run(
        cabinet_of(request).contract_templates.get,
        actor(request),
        _path_int(request, "template_id"),
    )
    return template


@endpoint(
    "/contract-templates/{template_id}",
    "PUT",
    "Change a contract template (admins); a changed text becomes a new version",
    params=(TEMPLATE_ID,),
    body=TEMPLATE_SCHEMA,
    response=ContractTemplate,
)
async def update_contract_template(request: Request) -> ContractTemplate:
    """Replace the template's name, kind, language and text."""
    template = await _template_body(request, _path_int(request, "template_id"))
    updated: ContractTemplate = await run(
        cabinet_of(request).contract_templates.update, actor(request), template
    )
    return updated


@endpoint(
    "/contract-templates/{template_id}/versions",
    "GET",
    "Every version of a contract template, newest first (admins)",
    params=(TEMPLATE_ID,),
    response=("list", TemplateVersion),
)
async def list_contract_template_versions(request: Request) -> Any:
    """The versions; contracts name the one they were made from."""
    return await run(
        cabinet_of(request).contract_templates.versions,
        actor(request),
        _path_int(request, "template_id"),
    )


@endpoint(
    "/contract-templates/{template_id}/deactivate",
    "POST",
    "Deactivate a contract template (admins); contracts made from it keep their text",
    params=(TEMPLATE_ID,),
    body_required=False,
    response=ContractTemplate,
)
async def deactivate_contract_template(request: Request) -> ContractTemplate:
    """No new contracts from this template."""
    template: ContractTemplate = await run(
        cabinet_of(request).contract_templates.set_active,
        actor(request),
        _path_int(request, "template_id"),
        False,
    )
    return template


@endpoint(
    "/contract-templates/{template_id}/activate",
    "POST",
    "Activate a contract template again (admins)",
    params=(TEMPLATE_ID,),
    body_required=False,
    response=ContractTemplate,
)
async def activate_contract_template(request: Request) -> ContractTemplate:
    """Offer the template again."""
    template: ContractTemplate = await run(
        cabinet_of(request).contract_templates.set_active,
        actor(request),
        _path_int(request, "template_id"),
        True,
    )
    return template


@endpoint(
    "/contracts",
    "POST",
    "Make a draft contract from a template (the contractor: a person with a PESEL or a "
    "company with a NIP)",
    body=CONTRACT_SCHEMA,
    response=Document,
    status=201,
)
async def create_contract(request: Request) -> Document:
    """The draft contract; sign it with ``POST /documents/{id}/transitions/sign``."""
    order = structure(await json_body(request), ContractOrder)
    document: Document = await run(cabinet_of(request).contracts.create, actor(request), order)
    return document


@endpoint(
    "/contracts/{doc_id}/text",
    "GET",
    "A contract's text as it prints (blocks)",
    params=(_id("doc_id", "The contract's document id"),),
    response=BLOCKS_SCHEMA,
)
async def contract_text(request: Request) -> Any:
    """The text of the template version the contract was made from, filled in."""
    _, blocks = await run(
        cabinet_of(request).contracts.text, actor(request), _path_int(request, "doc_id")
    )
    return _blocks(blocks)
