"""cabinet-bitrix's plugin module (entry point ``cabinet_bitrix``): the ``bitrix24`` backend, the
``cabinet bitrix-reconcile`` and ``cabinet bitrix-emulator`` commands, and with cabinet-web
installed the web routes of :mod:`cabinet_bitrix.web` (events, install, placement sign-in,
settings page), its catalogs, static files, settings page entry and demo loop.

The backend is registered always, active only when settings name it
(``CABINET_CRM_BACKENDS=bitrix24``); it is configured from the ``bitrix`` settings namespace
(``CABINET_BITRIX_*``). The web hooks are cabinet-web's, hence ``optionalhook=True``: without the
web layer the plugin still loads. Nothing here imports cabinet-web.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cabinet_core.entities import Role, User
from cabinet_core.hookspecs import Register, hookimpl

from cabinet_bitrix.backend import BitrixBackend

#: Where the package's templates, catalogs and static files are.
PACKAGE_DIR = Path(__file__).resolve().parent

if TYPE_CHECKING:
    import click
    from starlette.requests import Request
    from starlette.routing import BaseRoute


@hookimpl
def register_crm_backends(register: Register) -> None:
    """Register the ``bitrix24`` CRM backend (configured from the ``bitrix`` namespace,
    ``CABINET_BITRIX_*``)."""
    register("bitrix24", BitrixBackend.from_cabinet)


def emulator_banner(emulator: object) -> str:
    """What ``cabinet bitrix-emulator`` prints: the webhook URL and the app's credentials."""
    from cabinet_bitrix.emulator import Emulator

    assert isinstance(emulator, Emulator)
    base = emulator.config.portal_url.rstrip("/")
    return "\n".join(
        [
            f"Bitrix24 emulator at {base}/ ({emulator.config.plan.name} plan)",
            f"  inbound webhook:  {emulator.webhook_url}",
            f"  app client_id:    {emulator.app.client_id}",
            f"  app client_secret: {emulator.app.client_secret}",
            f"  OAuth token URL:  {base}/oauth/token/",
            f"  control API:      {base}/_emulator/state",
            f"  CABINET_BITRIX_WEBHOOK_URL={emulator.webhook_url}",
        ]
    )


@hookimpl(optionalhook=True)
def register_routes(register: Callable[[BaseRoute], None]) -> None:
    """The Bitrix24 routes: events, install, placement sign-in, the admins' settings page."""
    from cabinet_bitrix import web

    for route in web.ROUTES:
        register(route)


@hookimpl(optionalhook=True)
def template_dirs() -> list[str]:
    """The settings page's template."""
    return [str(PACKAGE_DIR / "templates")]


@hookimpl(optionalhook=True)
def translation_dirs() -> list[str]:
    """The plugin's own Polish and English catalogs (its pages and the placement)."""
    return [str(PACKAGE_DIR / "locale")]


@hookimpl(optionalhook=True)
def static_dirs() -> dict[str, str]:
    """The placement page's stylesheet, at ``/static/plugins/bitrix24/``."""
    return {"bitrix24": str(PACKAGE_DIR / "static")}


@hookimpl(optionalhook=True)
def settings_pages(actor: User, request: Request) -> Sequence[Mapping[str, str]]:
    """The Bitrix24 connection's page on the admins' settings index."""
    if actor.role is not Role.ADMIN:
        return []
    _ = request.state.gettext
    return [
        {
            "href": "/settings/bitrix24",
            "label": _("Bitrix24 connection"),
            "description": _("Documents, parties and products sent to the CRM"),
        }
    ]


@hookimpl(optionalhook=True)
def demo_loops(register: Callable[..., None]) -> None:
    """``cabinet demo --with bitrix24``: the demo against an emulated portal."""
    from cabinet_bitrix.demo import BitrixDemoLoop

    register("bitrix24", BitrixDemoLoop.create)


@hookimpl
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
        from cabinet_core.cli import open_cabinet

        from cabinet_bitrix.reconcile import reconcile

        cabinet = open_cabinet(ctx)
        try:
            report = reconcile(cabinet, since=since.replace(tzinfo=UTC) if since else None)
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

    @cli.command("bitrix-emulator")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8099, show_default=True, type=int)
    @click.option(
        "--plan",
        type=click.Choice(["standard", "enterprise"]),
        default="standard",
        show_default=True,
        help="Request-rate limits: burst 50 at 2/s, or 250 at 5/s.",
    )
    @click.option(
        "--write-seconds",
        default=0.0,
        show_default=True,
        type=float,
        help="Simulated server time of one CRM write.",
    )
    @click.option(
        "--read-seconds",
        default=0.0,
        show_default=True,
        type=float,
        help="Simulated server time of one read.",
    )
    @click.option(
        "--batch-seconds",
        default=None,
        type=float,
        help="Simulated server time of a whole batch, whatever it holds.",
    )
    @click.option("--webhook-token", default=None, help="The webhook's secret (random if unset).")
    @click.option("--client-id", default=None, help="The app's client id (random if unset).")
    @click.option(
        "--client-secret", default=None, help="The app's client secret (random if unset)."
    )
    def bitrix_emulator(
        host: str,
        port: int,
        plan: str,
        write_seconds: float,
        read_seconds: float,
        batch_seconds: float | None,
        webhook_token: str | None,
        client_id: str | None,
        client_secret: str | None,
    ) -> None:
        """Serve an emulated Bitrix24 portal (REST, OAuth, events) for tests and demos."""
        import uvicorn

        from cabinet_bitrix.emulator import PLANS, Emulator, EmulatorConfig

        config = EmulatorConfig(
            portal_url=f"http://{host}:{port}",
            plan=PLANS[plan],
            read_seconds=read_seconds,
            write_seconds=write_seconds,
            batch_seconds=batch_seconds,
            deliver_events_inline=False,
        )
        # Fixed credentials let a restarted emulator keep answering a configured cabinet.
        if webhook_token:
            config.webhook_token = webhook_token
        if client_id:
            config.client_id = client_id
        if client_secret:
            config.client_secret = client_secret
        emulator = Emulator(config)
        click.echo(emulator_banner(emulator))
        uvicorn.run(emulator.asgi(), host=host, port=port, log_level="warning")
