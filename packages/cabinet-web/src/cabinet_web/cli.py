"""The web's commands on the ``cabinet`` command line: ``serve`` and ``demo``.

They come through the ``register_commands`` hook (cabinet-web's built-in plugin adds them); the
``cabinet`` group itself and the commands that need no web server (worker, migrate, users,
clients, plugins) are cabinet-core's (:mod:`cabinet_core.cli`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import socket
from pathlib import Path
from typing import Any

import click
from cabinet_core.cli import ConfigurationFailed, StartUnavailable, context_of, started_cabinet
from cabinet_core.configuration import ConfigurationError, Problem, bind_port
from cabinet_core.logs import configure_logging
from cabinet_core.plugins import example_plugins
from cabinet_core.services.notifications import periodic_tasks
from cabinet_core.worker import Worker

#: glibc's ``mallopt`` parameter number of ``M_ARENA_MAX`` (malloc.h).
_M_ARENA_MAX = -8
#: Malloc arenas a web process keeps (glibc's default is 8 per core, one per busy thread).
WEB_MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = WEB_MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for the threads started from now on (the thread pool that
    runs the service calls). Each thread would otherwise get its own arena, and memory freed in
    one is not reused by the others: a web process held ~13 MB more after 3,000 requests
    (docs/performance.md). ``MALLOC_ARENA_MAX`` in the environment wins; outside glibc (musl,
    macOS) nothing changes. Returns whether the cap was set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))


def _listen(host: str, port: int, *, option: str = "--port") -> socket.socket:
    """The server's socket, taken before anything is printed as ready."""
    try:
        return bind_port(host, port, option=option)
    except ConfigurationError as exc:
        raise StartUnavailable([exc.problem]) from None


def _port_free(host: str, port: int, *, option: str) -> None:
    """Fail now if a demo loop's emulator could not listen on ``port`` later."""
    _listen(host, port, option=option).close()


def run_server(app: Any, sock: socket.socket, *, log_level: str) -> None:
    """Serve ``app`` on the socket taken at start until stopped; logging is already configured
    (ours), so uvicorn adds no handlers and no access log of its own (ours names route
    templates). ``serve`` and ``demo`` call it last, so a test replaces it to look at the app."""
    import uvicorn

    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=log_level,
        access_log=False,
        # Open live chat streams never end by themselves: give them a moment, then close them.
        timeout_graceful_shutdown=5,
        # The app believes forwarded headers from settings.trusted_proxies only
        # (CABINET_TRUSTED_PROXIES, in create_app), not from uvicorn's own FORWARDED_ALLOW_IPS.
        proxy_headers=False,
    )
    uvicorn.Server(config).run(sockets=[sock])


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Run the web server (checks the settings and migrates the database first)."""
    from cabinet_web.app import create_app

    cabinet = started_cabinet(ctx)
    try:
        sock = _listen(host, port)
    except ConfigurationFailed:
        cabinet.close()
        raise
    configure_logging(cabinet.settings.log_format)
    limit_malloc_arenas()
    with sock, contextlib.closing(cabinet):
        app = create_app(cabinet)
        click.echo(f"cabinet: http://{host}:{port}/")
        run_server(app, sock, log_level="info")


@click.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--data-dir",
    "demo_dir",
    default="./cabinet-data/demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo's SQLite file, mail folder and passwords live.",
)
@click.option("--no-serve", is_flag=True, help="Only create the demo data and print the logins.")
@click.option(
    "--with",
    "loops",
    multiple=True,
    metavar="NAME",
    help="Run a plugin's demo loop next to the cabinet (bitrix24: an emulated Bitrix24 portal "
    "where documents, stages, news and chat cross both ways). Repeatable.",
)
@click.option(
    "--with-bitrix-emulator",
    "with_bitrix",
    is_flag=True,
    envvar="CABINET_DEMO_BITRIX",
    help="The same as --with bitrix24.",
)
@click.option(
    "--with-ksef-emulator",
    "with_ksef",
    is_flag=True,
    envvar="CABINET_DEMO_KSEF",
    help="The same as --with ksef (cabinet-ksef: invoices sent to an emulated KSeF).",
)
@click.option(
    "--with-example-plugins",
    "with_examples",
    is_flag=True,
    envvar="CABINET_DEMO_EXAMPLE_PLUGINS",
    help="Also enable the installed example plugins (cabinet-hello: a greeting on the home page, "
    "a menu entry and the power of attorney); without it the demo leaves them out.",
)
@click.option(
    "--emulator-port",
    default=8099,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Where a demo loop's emulated service listens (with --with); a second loop's "
    "listens on the next port.",
)
@click.pass_context
def demo(
    ctx: click.Context,
    port: int,
    host: str,
    demo_dir: Path,
    no_serve: bool,
    loops: tuple[str, ...],
    with_bitrix: bool,
    with_ksef: bool,
    with_examples: bool,
    emulator_port: int,
) -> None:
    """Start a cabinet with demo data (SQLite, mail to a folder) and print the logins; a worker
    thread delivers what the cabinet queues (e-mails into the folder); without --with no CRM
    is connected."""
    from cabinet_web.demo import demo_loops, seed

    pm = context_of(ctx).pm
    # The example plugin greets every demo user and adds a menu entry: a demo shows the
    # cabinet as a firm would run it, and an author asks for the example to see it work.
    left_out = [] if with_examples else example_plugins(pm)
    for name in left_out:
        pm.unregister(name=name)
    flagged = (*(("bitrix24",) if with_bitrix else ()), *(("ksef",) if with_ksef else ()))
    names = tuple(dict.fromkeys((*loops, *flagged)))
    try:
        running_loops = demo_loops(context_of(ctx).pm, names, host=host, port=emulator_port)
    except LookupError as exc:
        raise ConfigurationFailed([Problem("--with", str(exc).strip("'\""))]) from None
    try:
        demo_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = Problem("--data-dir", f"cannot create {demo_dir}: {exc.strerror}")
        raise ConfigurationFailed([problem]) from None
    url = f"http://{host}:{port}"
    crm_backends = tuple(
        dict.fromkeys(name for loop in running_loops for name in loop.crm_backends)
    )
    plugin_settings: dict[str, dict[str, str]] = {}
    for loop in running_loops:
        for namespace, values in loop.plugin_settings().items():
            plugin_settings.setdefault(namespace, {}).update(values)
    cabinet = started_cabinet(
        ctx,
        data_dir=demo_dir,
        database_url=None,
        crm_backends=crm_backends or ("null",),
        mailer="folder",
        rate_provider="offline",
        base_url=url,
        secret_key=_demo_secret(demo_dir),
        plugins=plugin_settings,
        # The demo's accounts sign in with the printed passwords alone.
        staff_two_factor=False,
    )
    sock: socket.socket | None = None
    try:
        if not no_serve:
            sock = _listen(host, port)
            for offset in range(len(running_loops)):
                _port_free(host, emulator_port + offset, option="--emulator-port")
    except ConfigurationFailed:
        cabinet.close()
        raise
    logins = seed(cabinet, demo_dir)
    click.echo(f"Demo cabinet: {url}/")
    click.echo(f"Data: {demo_dir.resolve()}")
    click.echo(
        f"Mail: {cabinet.settings.mail_dir.resolve()}  (every e-mail the cabinet sends is "
        "written there as an .eml file by the demo's worker)"
    )
    if left_out:
        click.echo(
            f"Example plugins left out: {', '.join(left_out)} (--with-example-plugins adds them)"
        )
    click.echo("Logins:")
    for role, email, password in logins:
        click.echo(f"  {role:<11} {email:<22} {password}")
    if sock is None:
        cabinet.close()
        return
    from cabinet_web.app import create_app

    # The demo's console is for the URL and the logins: warnings and errors only.
    configure_logging(cabinet.settings.log_format, level=logging.WARNING)
    with contextlib.ExitStack() as running:
        running.callback(cabinet.close)
        running.enter_context(sock)
        for loop in running_loops:
            click.echo(running.enter_context(loop.running(cabinet, url)))
        # Entered last, so left first: a batch in flight finishes while the loops still run.
        # "Send by e-mail" only queues the mail; the worker writes it into the mail folder.
        running.enter_context(Worker(cabinet, periodic=periodic_tasks()).in_thread())
        click.echo("Stop it with Ctrl+C.")
        run_server(create_app(cabinet), sock, log_level="warning")


def _demo_secret(demo_dir: Path) -> str:
    """The demo keeps its session key across restarts, so a browser stays signed in."""
    import secrets

    path = demo_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


COMMANDS: tuple[click.Command, ...] = (serve, demo)
