"""cabinet-bitrix's plugin module (entry point ``cabinet_bitrix``): the ``bitrix24`` backend, the
``cabinet bitrix-reconcile`` and ``cabinet bitrix-emulator`` commands (the latter serves the
``bitrix24-emulator`` package, the ``[emulator]`` extra), and with cabinet-web installed the web
routes of :mod:`cabinet_bitrix.web` (events, install, placement sign-in, settings page), its
catalogs, static files, settings page entry and demo loop.

The backend is registered always, active only when settings name it
(``CABINET_CRM_BACKENDS=bitrix24``), configured from the ``bitrix`` settings namespace
(``CABINET_BITRIX_*``). This module is the plugin's composition root, the one place that sees
the :class:`~cabinet_core.app.Cabinet`: :func:`compose_backend` reads the configuration and hands
the backend its sync port; everything else works through the port. The web hooks are
cabinet-web's, hence ``optionalhook=True``: without the web layer the plugin still loads.
Nothing here imports cabinet-web.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cabinet_core.configuration import Problem, problem_from_error
from cabinet_core.entities import Role, User
from cabinet_core.hookspecs import Register, hookimpl

from cabinet_bitrix.backend import BACKEND_NAME, BitrixBackend
from cabinet_bitrix.settings import BitrixSettings

#: Where the package's templates, catalogs and static files are.
PACKAGE_DIR = Path(__file__).resolve().parent

if TYPE_CHECKING:
    import click
    import httpx
    from cabinet_core.app import Cabinet
    from cabinet_core.settings import Settings
    from starlette.requests import Request
    from starlette.routing import BaseRoute


def compose_backend(
    cabinet: Cabinet,
    *,
    config: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> BitrixBackend:
    """The ``bitrix24`` backend of ``cabinet``, configured from its ``bitrix`` settings namespace
    (``CABINET_BITRIX_*``) or from ``config``, its app tokens kept in the cabinet's port for
    ``bitrix24``."""
    settings = BitrixSettings.of(cabinet) if config is None else BitrixSettings.from_config(config)
    return BitrixBackend.from_settings(
        settings, cabinet.sync_port(BACKEND_NAME), transport=transport
    )


@hookimpl
def register_crm_backends(register: Register) -> None:
    """Register the ``bitrix24`` CRM backend (configured from the ``bitrix`` namespace,
    ``CABINET_BITRIX_*``)."""
    register(BACKEND_NAME, compose_backend)


@hookimpl
def check_configuration(settings: Settings) -> list[Problem]:
    """With the ``bitrix24`` backend active: its credentials and every ``CABINET_BITRIX_*``
    value read as the backend will read them (no request to the portal)."""
    if BACKEND_NAME not in settings.crm_backends:
        return []
    from cabinet_bitrix.settings import NAMESPACE

    try:
        BitrixSettings.from_config(settings.plugin_config(NAMESPACE))
    except ValueError as exc:
        return [problem_from_error(exc, default_setting="CABINET_BITRIX_*")]
    return []


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
        """Apply stage changes Bitrix24's events missed; compare every document with its
        item and push again what differs (in sync / waiting / repaired / failed)."""
        from cabinet_core.cli import open_cabinet

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
        passed = report.convergence
        counts = passed.counts()
        click.echo(
            f"checked {report.items_checked} changed item(s) and {passed.checked} document(s) "
            f"in {passed.requests} request(s); {len(report.applied)} stage change(s) applied"
        )
        click.echo(
            f"in sync {counts['in_sync']}, waiting {counts['waiting']}, "
            f"repaired {counts['repaired']}, failed {counts['failed']}"
            + (" (the walk wrapped to the first document)" if passed.wrapped else "")
        )
        for line in report.applied:
            click.echo(f"  {line}")
        for document_id, why in sorted(passed.repaired.items()):
            click.echo(f"  repaired: document {document_id} ({', '.join(why)})")
        for document_id in passed.failed:
            click.echo(f"  failed: document {document_id} (repairs gave up; see the settings page)")
        for document_id in passed.waiting:
            click.echo(f"  waiting: document {document_id}")

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
            from bitrix24_emulator.cli import banner, parse_args, serve
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] != "bitrix24_emulator":
                raise
            raise click.ClickException(
                "the Bitrix24 emulator is not installed: "
                "pip install 'cabinet-bitrix[emulator]' (or bitrix24-emulator)"
            ) from None
        served = parse_args(options, prog="cabinet bitrix-emulator")
        emulator = served.emulator()  # its clock and fault profiles included
        click.echo(banner(emulator))
        click.echo(f"  CABINET_BITRIX_WEBHOOK_URL={emulator.webhook_url}")
        serve(emulator, host=served.host, port=served.port)
