"""cabinet-bitrix's plugin module (entry point ``cabinet_bitrix``): the ``bitrix24`` backend,
and with cabinet-web installed the ``cabinet bitrix-emulator`` command (which serves the
``bitrix24-emulator`` package, the ``[emulator]`` extra) and the web routes of
:mod:`cabinet_bitrix.web` (events, install, placement sign-in, settings page).

The backend is registered always, active only when settings name it
(``CABINET_CRM_BACKENDS=bitrix24``). This module is the plugin's composition root, the one
place that sees the :class:`~cabinet_core.app.Cabinet`: :func:`compose_backend` reads the
configuration and hands the backend its sync port; everything else works through the port.
``register_commands`` is a cabinet-web hook, hence ``optionalhook=True``: without the web
layer the plugin still loads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cabinet_core.entities import Role, User
from cabinet_core.hookspecs import Register, hookimpl

from cabinet_bitrix.backend import BACKEND_NAME, BitrixBackend

if TYPE_CHECKING:
    import click
    import httpx
    from cabinet_core.app import Cabinet
    from starlette.requests import Request
    from starlette.routing import BaseRoute


def compose_backend(
    cabinet: Cabinet,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> BitrixBackend:
    """The ``bitrix24`` backend of ``cabinet``, configured from ``CABINET_BITRIX_*`` (or
    ``environ``), its app tokens kept in the cabinet's port for ``bitrix24``."""
    return BitrixBackend.from_env(
        cabinet.sync_port(BACKEND_NAME), environ=environ, transport=transport
    )


@hookimpl
def register_crm_backends(register: Register) -> None:
    """Register the ``bitrix24`` CRM backend (configured from ``CABINET_BITRIX_*``)."""
    register(BACKEND_NAME, compose_backend)


@hookimpl(optionalhook=True)
def register_routes(register: Callable[[BaseRoute], None]) -> None:
    """The Bitrix24 routes: events, install, placement sign-in, the admins' settings page."""
    from cabinet_bitrix import web

    for route in web.ROUTES:
        register(route)


@hookimpl(optionalhook=True)
def template_dirs() -> list[str]:
    """The settings page's template."""
    return [str(Path(__file__).parent / "templates")]


@hookimpl(optionalhook=True, trylast=True)
def menu_links(actor: User | None, request: Request) -> list[dict[str, str]]:
    """Admins reach the Bitrix24 settings from the menu (after the built-in links)."""
    if actor is None or actor.role is not Role.ADMIN:
        return []
    return [{"href": "/settings/bitrix24", "label": "Bitrix24"}]


@hookimpl(optionalhook=True)
def register_commands(cli: click.Group) -> None:
    """Add ``cabinet bitrix-emulator`` (serve a Bitrix24 REST emulator over HTTP) and
    ``cabinet bitrix-reconcile`` (one reconciliation pass now)."""
    import click

    @cli.command("bitrix-reconcile")
    @click.option(
        "--since",
        default=None,
        type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
        help="Look at items changed since then (UTC) instead of since the last pass.",
    )
    @click.pass_context
    def bitrix_reconcile(ctx: click.Context, since: datetime | None) -> None:
        """Apply stage changes Bitrix24's events missed; re-queue documents never pushed."""
        from cabinet_web.cli import open_cabinet  # type: ignore[import-untyped]

        from cabinet_bitrix.reconcile import reconcile

        cabinet = open_cabinet(ctx)
        try:
            if BACKEND_NAME not in cabinet.settings.crm_backends:
                raise RuntimeError("the bitrix24 backend is not active (CABINET_CRM_BACKENDS)")
            backend = cabinet.crm_backend(BACKEND_NAME)
            assert isinstance(backend, BitrixBackend)
            report = reconcile(
                cabinet.sync_port(BACKEND_NAME),
                backend,
                since=since.replace(tzinfo=UTC) if since else None,
            )
        except (RuntimeError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            cabinet.close()
        click.echo(
            f"checked {report.items_checked} item(s) and {report.documents_checked} document(s); "
            f"{len(report.applied)} stage change(s) applied, {len(report.requeued)} re-queued"
        )
        for line in report.applied:
            click.echo(f"  {line}")

    @cli.command(
        "bitrix-emulator",
        # The options are the emulator's own: passed on whole, --help included.
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.argument("options", nargs=-1, type=click.UNPROCESSED)
    def bitrix_emulator(options: tuple[str, ...]) -> None:
        """Serve an emulated Bitrix24 portal (REST, OAuth, events) for tests and demos."""
        try:
            from bitrix24_emulator import Emulator
            from bitrix24_emulator.cli import banner, parse_args, serve
        except ModuleNotFoundError as exc:
            if exc.name != "bitrix24_emulator":
                raise
            raise click.ClickException(
                "the Bitrix24 emulator is not installed: "
                "pip install 'cabinet-bitrix[emulator]' (or bitrix24-emulator)"
            ) from None
        served = parse_args(options, prog="cabinet bitrix-emulator")
        emulator = Emulator(served.config)
        click.echo(banner(emulator))
        click.echo(f"  CABINET_BITRIX_WEBHOOK_URL={emulator.webhook_url}")
        serve(emulator, host=served.host, port=served.port)
