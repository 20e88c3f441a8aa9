"""The "test connection" button: a staff member asks, the worker checks, the page shows the result.

A KSeF call never happens while a person waits for a page (ksef-api.md §0.5), so the button
only writes a request into the client's state and the plugin's queue of checks; the worker's
periodic pass authenticates with the client's stored credentials (a full challenge → token or
XAdES → redeem, not a cached token) and writes what happened, which the page shows on its next
load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cabinet_core.crm import DeliveryError

from cabinet_ksef.errors import KsefError

if TYPE_CHECKING:
    from cabinet_core.ksef.port import KsefPort

    from cabinet_ksef.sending import KsefSender

#: Per-client state: the last check (``queued``, ``ok``, ``failed``, ``no_credentials``; when;
#: the detail).
CHECK_KEY = "check"
#: Plugin state: the clients whose check waits for the worker.
QUEUE_KEY = "checks"


def request_check(port: KsefPort, client_id: int) -> None:
    """Queue a connection check of ``client_id`` (what the button does)."""
    port.set_client_state(
        client_id, CHECK_KEY, {"status": "queued", "at": port.now().isoformat(), "message": ""}
    )
    queue = [int(item) for item in port.state(QUEUE_KEY, []) or []]
    if client_id not in queue:
        port.set_state(QUEUE_KEY, [*queue, client_id])


def last_check(port: KsefPort, client_id: int) -> dict[str, Any] | None:
    """The client's last check as stored (``None`` when never asked for)."""
    value = port.client_state(client_id, CHECK_KEY)
    return dict(value) if isinstance(value, dict) else None


def run_checks(sender: KsefSender) -> list[int]:
    """Check every queued client once (the worker's periodic task); the clients checked."""
    port = sender.port
    queue = [int(item) for item in port.state(QUEUE_KEY, []) or []]
    if not queue:
        return []
    for client_id in queue:
        status, message = check(sender, client_id)
        port.set_client_state(
            client_id,
            CHECK_KEY,
            {"status": status, "at": port.now().isoformat(), "message": message[:500]},
        )
    # Staff may have asked for more while these ran: keep those for the next pass.
    left = [int(item) for item in port.state(QUEUE_KEY, []) or [] if int(item) not in queue]
    port.set_state(QUEUE_KEY, left or None)
    return queue


def check(sender: KsefSender, client_id: int) -> tuple[str, str]:
    """Authenticate for the client now: the status (``ok``, ``failed``, ``no_credentials``)
    and its detail (the address reached, or KSeF's own words); the page translates the
    status."""
    try:
        connection, credentials = sender.open(client_id)
    except DeliveryError:
        return "no_credentials", ""
    try:
        tokens = connection.client.authenticate(credentials)
    except KsefError as exc:
        return "failed", str(exc)
    connection.tokens = tokens  # a fresh authentication serves the next sends too
    sender.note_error(client_id, None)
    return "ok", connection.base_url
