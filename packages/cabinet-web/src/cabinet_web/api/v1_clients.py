"""``POST /api/v1/clients``: a manager or an admin creates a client (listing, reading and
``PATCH`` are in :mod:`cabinet_web.api.v1`). The service checks NIP, REGON, address and every
bank sub-account's currency and IBAN; a manager's new client is always theirs."""

from __future__ import annotations

from cabinet_core.entities import Client
from starlette.requests import Request

from cabinet_web.api._endpoint import SERVER_FIELDS, actor, json_body, structure
from cabinet_web.api.v1 import _without, endpoint
from cabinet_web.kit import cabinet_of, run


@endpoint(
    "/clients",
    "POST",
    "Create a client (managers and admins; a manager's new client is theirs)",
    body=Client,
    response=Client,
    status=201,
)
async def create_client(request: Request) -> Client:
    """Validate and save a new client; on any problem nothing is saved."""
    cabinet = cabinet_of(request)
    body = _without(await json_body(request), SERVER_FIELDS)
    created: Client = await run(cabinet.clients.create, actor(request), structure(body, Client))
    return created
