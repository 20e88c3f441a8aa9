"""cabinet-web's built-in plugin: the pages, the JSON API, the menu, sign-in and the ``serve`` and
``demo`` commands are all registered through the same hooks any other plugin uses."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import pluggy
from cabinet_core.entities import Actor, Role, User
from cabinet_core.errors import N_, AuthenticationFailed, NotFound

from cabinet_web import hookspecs
from cabinet_web.hookspecs import hookimpl

if TYPE_CHECKING:
    import click
    from cabinet_core.app import Cabinet
    from starlette.requests import Request
    from starlette.routing import BaseRoute

PLUGIN_NAME = "cabinet_web"
#: The accountant's queue: cost invoices the clients submitted for approval.
APPROVAL_QUEUE = "/documents?doc_type=cost_invoice&status=submitted"
#: The bills (rachunki) the user may see; a new one is issued from its contract's page.
BILLS = "/documents?doc_type=bill"


def add_hookspecs(pm: pluggy.PluginManager) -> None:
    """Add the web hookspecs to ``pm`` (idempotent; core's plugin loader calls this)."""
    if not hasattr(pm.hook, "register_routes") or not pm.hook.register_routes.has_spec():
        pm.add_hookspecs(hookspecs)


def ensure_registered(pm: pluggy.PluginManager) -> None:
    """Make sure ``pm`` has the web hookspecs and this built-in plugin (once)."""
    add_hookspecs(pm)
    module = sys.modules[__name__]
    if not pm.is_registered(module) and pm.get_plugin(PLUGIN_NAME) is None:
        pm.register(module, name=PLUGIN_NAME)


@hookimpl
def register_routes(register: Callable[[BaseRoute], None]) -> None:
    """The built-in pages and the JSON API."""
    from cabinet_web import inbound
    from cabinet_web.api import v1
    from cabinet_web.pages import ROUTES

    for route in (*ROUTES, *v1.ROUTES, *inbound.ROUTES):
        register(route)


@hookimpl
def register_text_engines(register: Callable[[Any], None]) -> None:
    """Contract templates are rendered in Jinja2's sandbox (the core imports no Jinja2)."""
    from cabinet_web.contract_engine import SandboxEngine

    register(SandboxEngine())


@hookimpl
def menu_links(actor: User | None, request: Request) -> Sequence[Mapping[str, str]]:
    """Navigation for the signed-in user's role."""
    if actor is None:
        return []
    _ = request.state.gettext
    links = [{"href": "/", "label": _("Home")}, {"href": "/documents", "label": _("Documents")}]
    # Every role works with bills: the client side issues them, accountants book them.
    links.append({"href": BILLS, "label": _("Bills")})
    links.append({"href": "/reports", "label": _("Reports")})
    links += [{"href": "/chat", "label": _("Chat")}, {"href": "/news", "label": _("News")}]
    links.append({"href": "/cash", "label": _("Cash desks")})
    links.append({"href": "/products", "label": _("Products and services")})
    links.append({"href": "/counterparties", "label": _("Counterparties")})
    links += _contract_links(actor, request)
    links.append({"href": "/vat-statement", "label": _("VAT statement")})
    if actor.role in (Role.MANAGER, Role.ADMIN):
        links.append({"href": "/users", "label": _("Users")})
    if actor.role.is_staff:
        links.append({"href": "/clients", "label": _("Clients")})
    if actor.role in (Role.ACCOUNTANT, Role.ADMIN):
        links.append({"href": APPROVAL_QUEUE, "label": _("Cost invoices to approve")})
    if actor.role.is_staff:
        links.append({"href": "/ksef/submissions", "label": _("KSeF: rejected and waiting")})
    if actor.role in (Role.ADMIN, Role.MANAGER):
        links.append({"href": "/audit", "label": _("Audit log")})
    if actor.role is Role.ADMIN:
        links.append({"href": "/settings", "label": _("Settings")})
    links.append({"href": "/tokens", "label": _("API tokens")})
    links.append({"href": "/profile", "label": _("Profile")})
    links.append({"href": "/help", "label": _("Help")})
    return links


def _contract_links(actor: User, request: Request) -> list[dict[str, str]]:
    """ "Contracts", and "New contract" for the roles the contract workflow names."""
    app = request.scope.get("app")
    if app is None:  # a request outside the app (a plugin's test of its own links)
        return []
    contracts = app.state.cabinet.contracts
    try:
        may_make = contracts.may_make(Actor.of(actor))
    except NotFound:  # no document type is made from templates
        return []
    _ = request.state.gettext
    links = [{"href": "/contracts", "label": _("Contracts")}]
    if may_make:
        links.append({"href": "/contracts/new", "label": _("New contract")})
    return links


@hookimpl
def settings_pages(actor: User, request: Request) -> Sequence[Mapping[str, str]]:
    """Branding and the contract templates (admins only reach the settings index)."""
    _ = request.state.gettext
    return [
        {
            "href": "/settings/branding",
            "label": _("Branding"),
            "description": _("The firm's name, colours, logo and host name"),
        },
        {
            "href": "/settings/mail",
            "label": _("Mail settings"),
            "description": _("The SMTP server, and a test e-mail"),
        },
        {
            "href": "/settings/document-notes",
            "label": _("Document notes"),
            "description": _("The text each type of document starts with, printed on its PDF"),
        },
        {
            "href": "/settings/vat-rates",
            "label": _("VAT rates offered"),
            "description": _("Which VAT rates the document forms offer"),
        },
        {
            "href": "/settings/tax-years",
            "label": _("Tax years"),
            "description": _("PIT and ZUS parameters per year, which bills are computed with"),
        },
        {
            "href": "/settings/contract-templates",
            "label": _("Contract templates"),
            "description": _("Umowa o dzieło, umowa zlecenie and your own, in Polish and English"),
        },
    ]


@hookimpl
def extra_template_vars(request: Request) -> Mapping[str, Any]:
    """How many unread notifications the signed-in user has (shown in the header)."""
    user = getattr(request.state, "user", None)
    if user is None:
        return {"unread_notifications": 0}
    cabinet = request.app.state.cabinet
    unread = cabinet.notifications.unread_count(Actor.of(user))
    from cabinet_web.pages.document_actions import actions_for  # the preview's action partial

    return {"unread_notifications": unread, "document_actions": partial(actions_for, request)}


@hookimpl(trylast=True)
def actor_from_request(cabinet: Cabinet, request: Request) -> User | None:
    """A personal API token (``Authorization: Bearer cab_…``), else the session cookie."""
    from cabinet_web.security import session_secret

    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationFailed(N_("Send the API token as: Authorization: Bearer <token>."))
        signed_in = cabinet.tokens.resolve(secret.strip())
        request.state.auth = "token"
        # The token's scopes limit every service call made for this request (actor_of).
        request.state.token_scopes = frozenset(signed_in.token.scopes)
        user: User = signed_in.user
        return user
    session = request.scope.get("session")
    secret = session_secret(session)
    if session is None or not secret:
        return None
    resolved = cabinet.sessions.resolve(secret)
    if resolved is None:
        # Signed out elsewhere, idled out or deactivated: the cookie is worthless now.
        session.clear()
        return None
    request.state.signin_session = resolved.session
    if not resolved.session.verified:
        # The password was right, the second factor is still to come: not signed in yet.
        request.state.pending_user = resolved.user
        return None
    request.state.auth = "session"
    return resolved.user


@hookimpl
def register_commands(cli: click.Group) -> None:
    """The web's commands: serve and demo (the others are the core's)."""
    from cabinet_web import cli as commands

    for command in commands.COMMANDS:
        cli.add_command(command)
