"""cabinet-ksef's plugin module (entry point ``cabinet_ksef``): the composition root.

* the outbox subscriber ``"ksef"`` (:class:`~cabinet_ksef.sending.KsefSender`, through the
  core's ``register_outbox_subscribers`` hook), which sends every issued invoice to KSeF and,
  on the worker's schedule, polls statuses, re-queues offline invoices after an outage,
  receives purchase invoices (:mod:`cabinet_ksef.receiving`) and runs the connection checks
  staff asked for (:mod:`cabinet_ksef.checks`);
* the commands ``cabinet ksef-emulator`` (serve the ``ksef-emulator`` package, the
  ``[emulator]`` extra) and ``cabinet ksef-receive`` (one receiving pass now);
* with cabinet-web installed, the staff's KSeF settings pages (:mod:`cabinet_ksef.web`), their
  templates and catalogs, a menu link and a settings-index entry, and the demo loop of
  ``cabinet demo --with ksef``.

Configured from the ``ksef`` settings namespace (``CABINET_KSEF_*``, :mod:`cabinet_ksef.settings`).
Nothing here imports cabinet-web: its hooks are optional (``optionalhook=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cabinet_core.configuration import Problem, problem_from_error
from cabinet_core.crm import PeriodicTask
from cabinet_core.entities import User
from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.sync import KSEF_SUBSCRIBER

from cabinet_ksef.settings import KsefSettings

if TYPE_CHECKING:
    import click
    import httpx
    from cabinet_core.app import Cabinet
    from cabinet_core.settings import Settings
    from starlette.requests import Request
    from starlette.routing import BaseRoute

    from cabinet_ksef.sending import KsefSender

#: Where the package's templates and catalogs are.
PACKAGE_DIR = Path(__file__).resolve().parent


def compose_sender(
    cabinet: Cabinet,
    *,
    settings: KsefSettings | None = None,
    transport: httpx.BaseTransport | None = None,
) -> KsefSender:
    """The ``"ksef"`` subscriber of ``cabinet``, configured from its ``ksef`` namespace, with
    its periodic passes (tests hand an httpx ``transport`` to reach an in-process emulator)."""
    from cabinet_ksef.checks import run_checks
    from cabinet_ksef.client import KsefClient
    from cabinet_ksef.connections import Connections
    from cabinet_ksef.credentials import CredentialVault
    from cabinet_ksef.receiving import Receiver
    from cabinet_ksef.sending import KsefSender

    settings = settings or KsefSettings.of(cabinet)
    port = cabinet.ksef_port()

    def client(base_url: str) -> KsefClient:
        return KsefClient(base_url, transport=transport, timeout=settings.timeout)

    vault = CredentialVault(settings.credentials_key, port)
    sender = KsefSender(port, settings, Connections(client, port, port.now, shared=vault))
    receiver = Receiver(sender)
    sender.on_close.append(receiver.close)
    sender.extra_tasks = [
        PeriodicTask(name="ksef.receive", interval_seconds=60.0, run=lambda _s: receiver.run()),
        PeriodicTask(name="ksef.checks", interval_seconds=10.0, run=run_checks),
    ]
    return sender


@hookimpl
def check_configuration(settings: Settings) -> list[Problem]:
    """Every ``CABINET_KSEF_*`` value as the sender reads it (the subscriber is always active
    once the plugin is installed); no request to KSeF."""
    from cabinet_ksef.settings import NAMESPACE

    try:
        KsefSettings.from_config(settings.plugin_config(NAMESPACE), secret_key=settings.secret_key)
    except ValueError as exc:
        return [problem_from_error(exc, default_setting="CABINET_KSEF_*")]
    return []


@hookimpl
def register_outbox_subscribers(register: Register) -> None:
    """Register the ``"ksef"`` subscriber (every ``ksef.send`` message goes to it)."""
    register(KSEF_SUBSCRIBER, compose_sender)


@hookimpl(optionalhook=True)
def register_routes(register: Callable[[BaseRoute], None]) -> None:
    """The staff's KSeF pages: the clients' overview and each client's settings."""
    from cabinet_ksef import web

    for route in web.ROUTES:
        register(route)


@hookimpl(optionalhook=True)
def api_endpoints(register: Callable[[Mapping[str, object]], None]) -> None:
    """The KSeF settings of a client in the JSON API, under ``/api/v1/ksef/clients/…``."""
    from cabinet_ksef import web

    for spec in web.API_ENDPOINTS:
        register(spec)


@hookimpl(optionalhook=True)
def template_dirs() -> list[str]:
    """The KSeF pages' templates."""
    return [str(PACKAGE_DIR / "templates")]


@hookimpl(optionalhook=True)
def translation_dirs() -> list[str]:
    """The plugin's own Polish and English catalogs."""
    return [str(PACKAGE_DIR / "locale")]


@hookimpl(optionalhook=True)
def menu_links(actor: User | None, request: Request) -> Sequence[Mapping[str, str]]:
    """ "KSeF" in the staff's menu: the clients' KSeF settings."""
    if actor is None or not actor.role.is_staff:
        return []
    from cabinet_ksef.web import OVERVIEW_PATH

    return [{"href": OVERVIEW_PATH, "label": request.state.gettext("KSeF settings")}]


@hookimpl(optionalhook=True)
def settings_pages(actor: User, request: Request) -> Sequence[Mapping[str, str]]:
    """The KSeF settings on the admins' settings index."""
    if not actor.role.is_staff:
        return []
    from cabinet_ksef.web import OVERVIEW_PATH

    _ = request.state.gettext
    return [
        {
            "href": OVERVIEW_PATH,
            "label": _("KSeF settings"),
            "description": _("Each client's KSeF environment, credentials and status"),
        }
    ]


@hookimpl(optionalhook=True)
def demo_loops(register: Callable[..., None]) -> None:
    """``cabinet demo --with ksef``: the demo against the KSeF emulator."""
    from cabinet_ksef.demo import KsefDemoLoop

    register("ksef", KsefDemoLoop.create)


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``cabinet ksef-emulator`` and ``cabinet ksef-receive``."""
    import click

    @cli.command("ksef-receive")
    @click.option("--client", "client_id", type=int, default=None, help="Only this client.")
    @click.pass_context
    def ksef_receive(ctx: click.Context, client_id: int | None) -> None:
        """Fetch purchase invoices from KSeF now (what the worker does on its schedule)."""
        from cabinet_core.cli import open_cabinet

        from cabinet_ksef.receiving import Receiver

        cabinet = open_cabinet(ctx)
        try:
            receiver = Receiver(compose_sender(cabinet))
            if client_id is not None:
                results = [receiver.receive(client_id)]
            else:
                results = [
                    receiver.receive(client.id)
                    for client in receiver.port.clients_with_ksef()
                    if client.id is not None
                ]
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            cabinet.close()
        for result in results:
            line = (
                f"client {result.client_id}: {result.imported} imported, "
                f"{result.skipped} known, {result.pages} page(s)"
            )
            click.echo(line + (f"; error: {result.error}" if result.error else ""))

    @cli.command(
        "ksef-emulator",
        # The options are the emulator's own: passed on whole, --help included.
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.argument("options", nargs=-1, type=click.UNPROCESSED)
    def ksef_emulator(options: tuple[str, ...]) -> None:
        """Serve a KSeF 2.0 emulator (--port P) for tests and demos."""
        try:
            from ksef_emulator.cli import banner, build, parse_args, serve
        except ModuleNotFoundError as exc:
            if exc.name not in ("ksef_emulator", "ksef_emulator.cli"):
                raise
            raise click.ClickException(
                "the KSeF emulator is not installed: "
                "pip install 'cabinet-ksef[emulator]' (or ksef-emulator)"
            ) from None
        served = parse_args(options, prog="cabinet ksef-emulator")
        emulator, tokens = build(served)
        click.echo(banner(emulator, tokens))
        click.echo(f"  CABINET_KSEF_BASE_URL={emulator.config.base_url.rstrip('/')}/v2")
        click.echo("  then, per client: Settings → KSeF settings → the client → its KSeF token")
        serve(emulator, host=served.host, port=served.port)
