"""``/api/v1`` invoicing endpoints: send by e-mail and the mail status, convert a proforma,
correct an invoice, ask a seller for a correction, import a KSeF FA(3) file, and the templates
an admin allows a client. Thin adapters over ``cabinet.invoicing`` and ``cabinet.clients``."""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import Client
from cabinet_core.errors import N_, ValidationError
from starlette.requests import Request

from cabinet_web.api._endpoint import actor, json_body
from cabinet_web.api.v1 import _id, _path_int, endpoint
from cabinet_web.pages._common import cabinet_of, run


def _text(body: dict[str, Any], name: str, *, default: str = "") -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValidationError.single(name, "type", N_("This value has the wrong type or format."))
    return value


# -- templates per client -------------------------------------------------------------------------
TEMPLATES_BODY = {
    "type": "object",
    "properties": {
        "templates": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Template keys the client may use (none: every template)",
        },
        "default": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "One of `templates`",
        },
    },
    "required": ["templates"],
    "additionalProperties": False,
}


@endpoint(
    "/clients/{client_id:int}/templates",
    "PUT",
    "Set the templates a client may use and its default one (admins)",
    params=(_id("client_id", "The client's id"),),
    body=TEMPLATES_BODY,
    response=Client,
)
async def put_client_templates(request: Request) -> Client:
    """Replace the client's allowed templates; unknown keys are field errors, nothing saved."""
    cabinet = cabinet_of(request)
    body = await json_body(request)
    keys = body.get("templates")
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise ValidationError.single(
            "templates", "type", N_("Give the template keys as a list of strings.")
        )
    default = body.get("default")
    if default is not None and not isinstance(default, str):
        raise ValidationError.single(
            "default", "type", N_("This value has the wrong type or format.")
        )
    client: Client = await run(
        cabinet.clients.assign_templates,
        actor(request),
        _path_int(request, "client_id"),
        keys,
        default or None,
    )
    return client
