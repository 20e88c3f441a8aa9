"""The pages of one of a client's catalogues (products, counterparties): the list (staff choose
the client), the "New" form, an entry's edit form and its delete button. A page module declares
what differs (its paths, messages, how its form reads and fills in) as a :class:`Catalogue`;
the use cases are the core's :class:`~cabinet_core.services.parties.OwnedService` calls, which
decide who may see or change a client's entries.

Templates: ``<plural>.html`` gets the page of entries under ``<plural>``; ``<name>_form.html``
gets the entry (``None`` on "New") under ``<name>``, ``values``, ``errors`` and ``clients``
(the clients a staff member may add for), with the shared parts in ``_catalogue.html``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs
from cabinet_core import access
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Client, Counterparty, Product
from cabinet_core.errors import FieldError, ValidationError
from cabinet_core.services.parties import OwnedService
from cabinet_core.storage import Page
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.limits import MAX_ID, parse_client_id, parse_id
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    pop_flashes,
    read_form,
    redirect,
    render,
    run,
)
from cabinet_web.pages._forms import writable_clients

E = TypeVar("E", Counterparty, Product)

PAGE_SIZE = 50


def query_client(request: Request) -> int | None:
    """The client a staff member filters by (``?client_id=``); junk means none."""
    raw = request.query_params.get("client_id", "").strip()
    if raw.isdigit() and 0 < int(raw) <= MAX_ID:
        return int(raw)
    return None


def offset_of(request: Request) -> int:
    """Where the list's page starts (``?offset=``); junk means the start."""
    raw = request.query_params.get("offset", "").strip()
    return min(int(raw), MAX_ID) if raw.isdigit() else 0


def _may_add(actor: Actor, clients: Sequence[Client], client_id: int | None) -> bool:
    """Whether the list offers "New": a client's user adds to its own catalogue; staff need
    write access to the chosen client, or to any client before one is chosen (an accountant
    only reads, so never; the service refuses the save all the same)."""
    if access.own_client_id(actor) is not None:
        return True
    return any(
        access.can_edit_client_data(actor, client)
        for client in clients
        if client_id is None or client.id == client_id
    )


@attrs.frozen(kw_only=True)
class Catalogue(Generic[E]):
    """What one catalogue's pages differ in."""

    #: The list's path (``/products``); entries are at ``<path>/<id>``.
    path: str
    #: One entry's name in templates, route names and the path parameter (``product``).
    name: str
    #: The list's name in templates and its template (``products``).
    plural: str
    service: Callable[[Cabinet], OwnedService[E]]
    #: The flash messages (``N_`` msgids) after a save and a delete.
    saved: str
    deleted: str
    #: The "New" form's values (besides the client a staff member named in the link).
    new_values: Mapping[str, str]
    #: The entry a form describes for a client, and the values it could not read (the core
    #: checks the rest).
    from_form: Callable[[Mapping[str, str], int], tuple[E, list[FieldError]]]
    #: The form's values for a stored entry, in the page's language.
    values_of: Callable[[E, str], dict[str, str]]
    #: What the form template needs besides the shared context (choice lists …), given the
    #: values it shows; called off the event loop.
    form_context: Callable[[Request, Mapping[str, str]], dict[str, Any]]
    #: What the list template needs besides the shared context, given the page of entries;
    #: called off the event loop.
    list_context: Callable[[Request, Page[E]], dict[str, Any]] = attrs.field(
        default=lambda request, found: {}
    )

    # -- the parts ---------------------------------------------------------------------------
    async def _form(
        self,
        request: Request,
        values: Mapping[str, str],
        *,
        entry: E | None = None,
        errors: Mapping[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        context: dict[str, Any] = {
            self.name: entry,
            "values": values,
            "errors": errors or {},
            "clients": await run(writable_clients, request) if entry is None else [],
            "flashes": pop_flashes(request),
            **await run(self.form_context, request, values),
        }
        return render(request, f"{self.name}_form.html", context, status_code=status)

    def _all_errors(self, request: Request, entry: E, errors: list[FieldError]) -> None:
        """Raise the values the form could not read together with the core's own findings on
        the rest (a price that is no number must not hide a bad name); no writes."""
        if not errors:
            return
        read = {error.field for error in errors}
        try:
            self.service(cabinet_of(request)).check_new(actor_of(request), entry)
        except ValidationError as exc:
            errors = errors + [error for error in exc.errors if error.field not in read]
        raise ValidationError(errors)

    def _saved(self, request: Request, client_id: int, message: str) -> Response:
        flash(request, request.state.gettext(message))
        return redirect(f"{self.path}?client_id={client_id}")

    async def _current(self, request: Request) -> E:
        entry_id = parse_id(request.path_params[f"{self.name}_id"])
        return await run(self.service(cabinet_of(request)).get, actor_of(request), entry_id)

    # -- the use cases -----------------------------------------------------------------------
    async def list_page(self, request: Request) -> Response:
        """The client's entries (staff choose the client first)."""
        cabinet, actor = cabinet_of(request), actor_of(request)
        clients = await run(cabinet.clients.list, actor) if actor.client_id is None else []
        client_id = actor.client_id or query_client(request)
        search = request.query_params.get("search", "").strip()
        found = None
        if client_id is not None:
            found = await run(
                self.service(cabinet).list,
                actor,
                client_id,
                search=search or None,
                limit=PAGE_SIZE,
                offset=offset_of(request),
            )
        context = {
            self.plural: found,
            "client_id": client_id,
            "clients": [(str(c.id), c.name) for c in clients],
            "client_names": {c.id: c.name for c in clients},
            "search": search,
            "may_add": _may_add(actor, clients, client_id),
            "flashes": pop_flashes(request),
            **(await run(self.list_context, request, found) if found is not None else {}),
        }
        return render(request, f"{self.plural}.html", context)

    async def new_form(self, request: Request) -> Response:
        """The "New" form (staff may name the client in the link: ``?client_id=``)."""
        client_id = query_client(request)
        values = {"client_id": str(client_id) if client_id else "", **self.new_values}
        return await self._form(request, values)

    async def create(self, request: Request) -> Response:
        """Add the entry; every problem at its field, nothing saved."""
        form = await read_form(request)
        actor = actor_of(request)
        client_errors: list[FieldError] = []
        try:
            client_id = parse_client_id(form.get("client_id", ""), own=actor.client_id)
        except ValidationError as exc:
            client_id, client_errors = 0, list(exc.errors)
        entry, errors = self.from_form(form, client_id)
        try:
            await run(self._all_errors, request, entry, client_errors + errors)
            saved = await run(self.service(cabinet_of(request)).create, actor, entry)
        except ValidationError as exc:
            found = errors_by_field(request, exc.errors)
            return await self._form(request, form, errors=found, status=422)
        return self._saved(request, saved.client_id, self.saved)

    async def edit_form(self, request: Request) -> Response:
        """An entry's edit form."""
        entry = await self._current(request)
        values = self.values_of(entry, request.state.language)
        return await self._form(request, values, entry=entry)

    async def update(self, request: Request) -> Response:
        """Save the changes; the owning client never changes."""
        current = await self._current(request)
        form = await read_form(request)
        changed, errors = self.from_form(form, current.client_id)
        try:
            await run(self._all_errors, request, changed, errors)
            saved = await run(
                self.service(cabinet_of(request)).update,
                actor_of(request),
                attrs.evolve(changed, id=current.id),
            )
        except ValidationError as exc:
            found = errors_by_field(request, exc.errors)
            return await self._form(request, form, entry=current, errors=found, status=422)
        return self._saved(request, saved.client_id, self.saved)

    async def delete(self, request: Request) -> Response:
        """Delete the entry; the documents made with it keep their own copy."""
        current = await self._current(request)
        assert current.id is not None
        await run(self.service(cabinet_of(request)).delete, actor_of(request), current.id)
        return self._saved(request, current.client_id, self.deleted)

    def routes(self) -> list[Route]:
        """The six routes: list, "New" (form and save), an entry (form and save), delete."""
        entry = f"{self.path}/{{{self.name}_id}}"
        return [
            Route(self.path, page()(self.list_page), methods=["GET"], name=self.plural),
            Route(f"{self.path}/new", page()(self.new_form), methods=["GET"]),
            Route(f"{self.path}/new", page()(self.create), methods=["POST"]),
            Route(entry, page()(self.edit_form), methods=["GET"]),
            Route(entry, page()(self.update), methods=["POST"]),
            Route(f"{entry}/delete", page()(self.delete), methods=["POST"]),
        ]
