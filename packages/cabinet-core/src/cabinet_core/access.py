"""Who may see and do what: every access rule of the cabinet, in this one module.

* a client's user sees and edits only its own client's data;
* a manager sees and edits the clients assigned to them (``Client.manager_id``), and creates
  clients and those clients' users;
* an accountant sees every client's documents and data (read-only) and makes the bookkeeping
  moves of the workflows (approve, return, book);
* an admin may do everything, including staff users, templates and settings;
* ``Actor.system()`` (CLI, worker) acts as an admin.

Services call these functions and nothing else decides access. Where even the existence of
another client's data must not leak, the services answer "not found" instead of "forbidden".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from cabinet_core.entities import Actor, Client, Role, TokenScope, User
from cabinet_core.errors import N_, NotFound, PermissionDenied

if TYPE_CHECKING:
    from cabinet_core.storage import Tx


def sees_all_clients(actor: Actor) -> bool:
    """Admins and accountants see every client."""
    return actor.role in (Role.ADMIN, Role.ACCOUNTANT)


def can_view_client(actor: Actor, client: Client) -> bool:
    """The client's own users, its manager, accountants and admins."""
    if sees_all_clients(actor):
        return True
    if actor.role is Role.MANAGER:
        return client.manager_id is not None and client.manager_id == actor.user_id
    return actor.client_id is not None and actor.client_id == client.id


def can_edit_client_data(actor: Actor, client: Client) -> bool:
    """Write a client's documents, counterparties, products and profile: its users, its
    manager and admins (accountants only read and make bookkeeping moves)."""
    if actor.role is Role.ACCOUNTANT:
        return False
    return can_view_client(actor, client)


def can_create_clients(actor: Actor) -> bool:
    """Managers and admins bring in new clients."""
    return actor.role in (Role.MANAGER, Role.ADMIN)


def can_reassign_client(actor: Actor) -> bool:
    """Only an admin moves a client to another manager or switches it off."""
    return actor.role is Role.ADMIN


def can_assign_templates(actor: Actor) -> bool:
    """Only an admin decides which templates a client may use."""
    return actor.role is Role.ADMIN


def visible_client_ids(tx: Tx, actor: Actor) -> tuple[int, ...] | None:
    """The ids of the clients ``actor`` may see, or ``None`` for "every client"."""
    if sees_all_clients(actor):
        return None
    if actor.role is Role.MANAGER:
        if actor.user_id is None:
            return ()
        return tuple(c.id for c in tx.list_clients(manager_id=actor.user_id) if c.id is not None)
    return (actor.client_id,) if actor.client_id is not None else ()


def own_client_id(actor: Actor) -> int | None:
    """A client's user's own client, which it may always read (no lookup needed); ``None`` for
    staff, whose access depends on the client."""
    if actor.role is Role.CLIENT and actor.client_id is not None:
        return actor.client_id
    return None


def narrow_client_ids(
    visible: tuple[int, ...] | None, wanted: Iterable[int] | None
) -> tuple[int, ...] | None:
    """The clients a query may cover: what was asked for, cut down to what is visible."""
    if wanted is None:
        return visible
    wanted = tuple(wanted)
    if visible is None:
        return wanted
    return tuple(client_id for client_id in wanted if client_id in visible)


def can_view_user(actor: Actor, user: User, client: Client | None) -> bool:
    """Oneself; admins and accountants everyone; a manager the users of their clients; a
    client's user the users of the same client. ``client`` is ``user``'s client, if any."""
    if actor.user_id is not None and actor.user_id == user.id:
        return True
    if sees_all_clients(actor):
        return True
    if client is None or user.client_id != client.id:
        return False
    return can_view_client(actor, client)


def can_manage_user(actor: Actor, user: User, client: Client | None) -> bool:
    """Create, deactivate or reset the password of ``user`` (whose client is ``client``).

    Admins manage everyone; a manager manages the client users of their own clients.
    """
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.MANAGER and user.role is Role.CLIENT and client is not None:
        return can_view_client(actor, client) and user.client_id == client.id
    return False


def can_publish_news(actor: Actor) -> bool:
    """Managers and admins write news for every client."""
    return actor.role in (Role.MANAGER, Role.ADMIN)


def can_mark_vat_registers(actor: Actor) -> bool:
    """Marking a document for the VAT registers (not deductible, GTU and procedure markers) is
    bookkeeping: accountants and admins."""
    return actor.role in (Role.ACCOUNTANT, Role.ADMIN)


def can_read_audit(actor: Actor) -> bool:
    """The audit trail is for staff only."""
    return actor.role.is_staff


def audit_client_ids(tx: Tx, actor: Actor) -> tuple[int, ...] | None:
    """The clients whose audit entries ``actor`` may search on the audit log page, ``None``
    for every entry (clientless ones too: users, settings).

    Admins search everything; a manager only the entries of their own clients; nobody else
    has the page (a document's own history is :meth:`AuditService.document_history`).
    """
    if actor.role is Role.ADMIN:
        return None
    if actor.role is Role.MANAGER:
        return visible_client_ids(tx, actor)
    raise PermissionDenied(N_("You are not allowed to do this"))


def can_search_audit(actor: Actor) -> bool:
    """Admins, and managers for their clients, have the audit log page."""
    return actor.role in (Role.ADMIN, Role.MANAGER)


def can_read_settings(actor: Actor) -> bool:
    """Installation settings (CRM mapping …) are staff knowledge."""
    return actor.role.is_staff


def can_change_settings(actor: Actor) -> bool:
    """Only admins change settings."""
    return actor.role is Role.ADMIN


def can_make_transition(actor: Actor, roles: frozenset[Role]) -> bool:
    """A workflow move is open to the roles the document type lists for it."""
    return actor.role in roles


def require(allowed: bool, message: str = N_("You are not allowed to do this")) -> None:
    """Raise :class:`PermissionDenied` unless ``allowed``."""
    if not allowed:
        raise PermissionDenied(message)


def has_scope(actor: Actor, scope: TokenScope) -> bool:
    """Whether the actor's API token (if it acts through one) grants ``scope``."""
    return actor.scopes is None or scope in actor.scopes


def require_scope(actor: Actor, scope: TokenScope) -> None:
    """Raise :class:`PermissionDenied` unless the actor's token grants ``scope``.

    A browser session is limited by the role alone; a token also by what it was made for, so
    a leaked reading token cannot make more tokens, change passwords or manage users."""
    if not has_scope(actor, scope):
        raise PermissionDenied(
            N_("This API token does not have the scope %(scope)s."), scope=scope.value
        )


def require_user(actor: Actor) -> int:
    """The acting user's id; the system actor and anonymous callers have none."""
    if actor.user_id is None:
        raise PermissionDenied(N_("Only a signed-in user can do this"))
    return actor.user_id


def client_for(tx: Tx, actor: Actor, client_id: int | None, *, write: bool = False) -> Client:
    """The client ``client_id`` if ``actor`` may see it (and write to it with ``write``).

    Another client's data answers :class:`NotFound`, so its existence does not leak; a
    client the actor may see but not change answers :class:`PermissionDenied`.
    """
    client = tx.get_client(client_id) if client_id is not None else None
    if client is None or not can_view_client(actor, client):
        raise NotFound(N_("Not found"), entity="client", id=client_id)
    if write:
        require(can_edit_client_data(actor, client))
    return client
