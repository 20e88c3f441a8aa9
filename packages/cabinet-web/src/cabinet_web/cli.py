"""The ``cabinet`` command line: serve, demo, worker, migrate, users, clients, plugins.

The commands are added through the ``register_commands`` hook (the built-in plugin adds these),
so an installed plugin can add its own (``cabinet bitrix-emulator`` …). Settings come from the
``CABINET_*`` environment variables; ``--data-dir`` overrides ``CABINET_DATA_DIR``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click
import pluggy
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, BankAccount, Client, Role
from cabinet_core.errors import CabinetError, ValidationError
from cabinet_core.plugins import describe_plugins, make_plugin_manager
from cabinet_core.settings import Settings

from cabinet_web import plugin as web_plugin


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Settings from the environment, with the command line's overrides."""
    data_dir = ctx.find_root().params.get("data_dir")
    if data_dir is not None:
        overrides.setdefault("data_dir", Path(data_dir))
    return Settings.from_env(**overrides)


def open_cabinet(ctx: click.Context, *, migrate: bool = True, **overrides: Any) -> Cabinet:
    """A cabinet for a command (schema migrated first unless ``migrate`` is false)."""
    settings = settings_from(ctx, **overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    cabinet = Cabinet(settings, pm=ctx.find_root().obj["pm"])
    if migrate:
        cabinet.migrate()
    return cabinet


def fail(exc: CabinetError) -> click.ClickException:
    """A core error as a command-line message (field errors one per line)."""
    if isinstance(exc, ValidationError):
        lines = [f"{error.field}: {error.message}" for error in exc.errors]
        return click.ClickException("\n".join([exc.message, *lines]))
    return click.ClickException(exc.message)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Run the web server (migrates the database first)."""
    import uvicorn

    from cabinet_web.app import create_app

    cabinet = open_cabinet(ctx)
    click.echo(f"cabinet: http://{host}:{port}/")
    uvicorn.run(create_app(cabinet), host=host, port=port, log_level="info")


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
    "--with-bitrix-emulator",
    "with_bitrix",
    is_flag=True,
    envvar="CABINET_DEMO_BITRIX",
    help="Connect the demo to an emulated Bitrix24 portal (needs cabinet-bitrix): documents, "
    "stages, news and chat cross both ways.",
)
@click.option(
    "--emulator-port",
    default=8099,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Where the emulated portal listens (with --with-bitrix-emulator).",
)
@click.pass_context
def demo(
    ctx: click.Context,
    port: int,
    host: str,
    demo_dir: Path,
    no_serve: bool,
    with_bitrix: bool,
    emulator_port: int,
) -> None:
    """Start a cabinet with demo data (SQLite, mail to a folder) and print the logins; a worker
    thread delivers what the cabinet queues (e-mails into the folder); without
    --with-bitrix-emulator no CRM is connected."""
    from cabinet_web.demo import seed

    demo_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://{host}:{port}"
    emulator = _demo_emulator(host, emulator_port) if with_bitrix else None
    cabinet = open_cabinet(
        ctx,
        data_dir=demo_dir,
        database_url=None,
        crm_backends=("bitrix24",) if with_bitrix else ("null",),
        mailer="folder",
        rate_provider="offline",
        base_url=url,
        secret_key=_demo_secret(demo_dir),
    )
    logins = seed(cabinet, demo_dir)
    click.echo(f"Demo cabinet: {url}/")
    click.echo(f"Data: {demo_dir.resolve()}")
    click.echo(
        f"Mail: {cabinet.settings.mail_dir.resolve()}  (every e-mail the cabinet sends is "
        "written there as an .eml file by the demo's worker)"
    )
    click.echo("Logins:")
    for role, email, password in logins:
        click.echo(f"  {role:<11} {email:<22} {password}")
    if no_serve:
        cabinet.close()
        return
    import uvicorn

    from cabinet_web.app import create_app

    with contextlib.ExitStack() as running:
        running.callback(cabinet.close)
        if emulator is not None:
            running.enter_context(_bitrix_loop(cabinet, emulator, url))
        else:
            # "Send by e-mail" only queues the mail; the worker writes it into the mail folder.
            running.enter_context(background_worker(cabinet))
        click.echo("Stop it with Ctrl+C.")
        uvicorn.run(create_app(cabinet), host=host, port=port, log_level="warning")


def _demo_emulator(host: str, port: int) -> Any:
    """An emulated portal for the demo; its settings go into this process's environment,
    where the bitrix24 backend reads them."""
    try:
        from bitrix24_emulator import ENTERPRISE, Emulator, EmulatorConfig
    except ImportError:
        raise click.ClickException(
            "--with-bitrix-emulator needs cabinet-bitrix with its emulator: "
            "pip install 'cabinet-bitrix[emulator]'"
        ) from None
    from cabinet_web.demo import bitrix_environment

    # Events go out from the emulator's own server after each answer, as a portal's queue does.
    # The enterprise plan's burst (250) lets the demo's first push through without pacing.
    emulator = Emulator(
        EmulatorConfig(
            portal_url=f"http://{host}:{port}", plan=ENTERPRISE, deliver_events_inline=False
        )
    )
    os.environ.update(bitrix_environment(emulator))
    return emulator


@contextlib.contextmanager
def _bitrix_loop(cabinet: Cabinet, emulator: Any, url: str) -> Iterator[None]:
    """Serve the emulator, install the app for the cabinet and run a worker, until the end."""
    from bitrix24_emulator.server import serve_in_thread

    from cabinet_web.demo import bitrix_banner, connect_bitrix, seed_bitrix

    base = emulator.config.portal_url
    port = int(base.rsplit(":", 1)[1])
    with serve_in_thread(emulator, host=base.split("//")[1].rsplit(":", 1)[0], port=port):
        connect_bitrix(cabinet, emulator, url)
        seed_bitrix(emulator)
        try:
            # The worker stops (a batch in flight finishes) while the portal is still served.
            with background_worker(cabinet):
                click.echo(bitrix_banner(emulator))
                yield
        finally:
            # Hang up on the portal before it stops (the backend keeps its connections open).
            from cabinet_bitrix.web import bitrix_backend

            backend = bitrix_backend(cabinet)
            if backend is not None:
                backend.client.close()


@contextlib.contextmanager
def background_worker(cabinet: Cabinet, *, idle_sleep: float = 1.0) -> Iterator[threading.Thread]:
    """Deliver the outbox (mail into the mail folder or to SMTP, messages to the CRM) in a
    thread while the block runs; on leaving, a batch in flight finishes first."""
    from cabinet_core.worker import Worker

    stop = threading.Event()
    runner = threading.Thread(
        target=Worker(cabinet).run_forever,
        args=(stop,),
        kwargs={"idle_sleep": idle_sleep},
        name="worker",
        daemon=True,
    )
    runner.start()
    try:
        yield runner
    finally:
        stop.set()
        runner.join(timeout=120)


def _demo_secret(demo_dir: Path) -> str:
    """The demo keeps its session key across restarts, so a browser stays signed in."""
    import secrets

    path = demo_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


@click.command()
@click.option("--once", is_flag=True, help="Deliver one batch and exit.")
@click.pass_context
def worker(ctx: click.Context, once: bool) -> None:
    """Deliver outbox messages to the CRM backends until stopped (Ctrl+C / SIGTERM)."""
    from cabinet_core.worker import Worker

    cabinet = open_cabinet(ctx)
    runner = Worker(cabinet)
    if once:
        click.echo(f"delivered {runner.run_once()} message(s)")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("cabinet worker: delivering the outbox (Ctrl+C to stop)")
    runner.run_forever(stop)


@click.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Bring the database schema to the newest version."""
    cabinet = open_cabinet(ctx, migrate=False)
    cabinet.migrate()
    click.echo(f"database is up to date: {_safe_url(cabinet.settings.effective_database_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group()
def users() -> None:
    """Manage users (staff and client users)."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option(
    "--role", type=click.Choice([role.value for role in Role]), default="client", show_default=True
)
@click.option("--client-id", type=int, default=None, help="Required for client users.")
@click.option("--language", type=click.Choice(["pl", "en"]), default="pl", show_default=True)
@click.password_option(
    "--password", prompt="Password", help="At least 10 characters (asked for when not given)."
)
@click.pass_context
def users_create(
    ctx: click.Context,
    email: str,
    name: str,
    role: str,
    client_id: int | None,
    language: str,
    password: str,
) -> None:
    """Create a user."""
    cabinet = open_cabinet(ctx)
    try:
        user = cabinet.users.create(
            Actor.system(),
            email=email,
            name=name,
            role=Role(role),
            client_id=client_id,
            password=password,
            language=language,
        )
    except CabinetError as exc:
        raise fail(exc) from None
    click.echo(f"created user {user.id}: {user.email} ({user.role.value})")


@users.command("list")
@click.option("--role", type=click.Choice([role.value for role in Role]), default=None)
@click.option("--client-id", type=int, default=None)
@click.pass_context
def users_list(ctx: click.Context, role: str | None, client_id: int | None) -> None:
    """List users."""
    cabinet = open_cabinet(ctx)
    found = cabinet.users.list(
        Actor.system(), client_id=client_id, role=Role(role) if role else None
    )
    rows = [
        (str(u.id), u.email, u.role.value, str(u.client_id or ""), "yes" if u.active else "no")
        for u in found
    ]
    _table(("id", "email", "role", "client", "active"), rows)


@users.command("set-password")
@click.argument("email")
@click.password_option("--password", prompt="New password")
@click.pass_context
def users_set_password(ctx: click.Context, email: str, password: str) -> None:
    """Set a user's password (found by e-mail)."""
    cabinet = open_cabinet(ctx)
    matches = [
        u for u in cabinet.users.list(Actor.system()) if u.email.lower() == email.strip().lower()
    ]
    if not matches or matches[0].id is None:
        raise click.ClickException(f"no user with the e-mail {email}")
    try:
        cabinet.users.set_password(Actor.system(), matches[0].id, password)
    except CabinetError as exc:
        raise fail(exc) from None
    click.echo(f"password changed for {matches[0].email}")


@click.group()
def clients() -> None:
    """Manage clients (the firm's business customers)."""


def _bank_account(value: str) -> BankAccount:
    """``CUR:IBAN`` (``PLN:PL61 1090 …``) as an account; the service checks both parts."""
    currency, sep, iban = value.partition(":")
    if not sep:
        raise click.BadParameter(f"{value!r}: write it as CURRENCY:IBAN, e.g. PLN:PL61109010…")
    return BankAccount(currency=currency.strip().upper(), iban=iban)


@clients.command("create")
@click.option("--name", required=True, help="The company's name.")
@click.option("--nip", default=None, help="Polish tax id (checked).")
@click.option("--regon", default=None)
@click.option("--email", default="", help="The company's e-mail address.")
@click.option("--street", "line1", default="", help="Street and number.")
@click.option("--postal-code", default="")
@click.option("--city", default="")
@click.option("--country", default="PL", show_default=True, help="Two-letter country code.")
@click.option(
    "--bank-account",
    "bank_accounts",
    multiple=True,
    help="CURRENCY:IBAN, once per sub-account (PLN, EUR, USD).",
)
@click.option("--language", type=click.Choice(["pl", "en"]), default="pl", show_default=True)
@click.option(
    "--manager-email", default=None, help="The manager who looks after the client (a user)."
)
@click.pass_context
def clients_create(
    ctx: click.Context,
    name: str,
    nip: str | None,
    regon: str | None,
    email: str,
    line1: str,
    postal_code: str,
    city: str,
    country: str,
    bank_accounts: tuple[str, ...],
    language: str,
    manager_email: str | None,
) -> None:
    """Create a client."""
    accounts = tuple(_bank_account(value) for value in bank_accounts)
    cabinet = open_cabinet(ctx)
    manager_id = None
    if manager_email is not None:
        matches = [
            u
            for u in cabinet.users.list(Actor.system())
            if u.email.lower() == manager_email.strip().lower()
        ]
        found = matches[0] if matches else None
        if found is None:
            raise click.ClickException(f"no user with the e-mail {manager_email}")
        manager_id = found.id
    client = Client(
        name=name,
        nip=nip,
        regon=regon,
        email=email,
        address=Address(line1=line1, postal_code=postal_code, city=city, country=country),
        bank_accounts=accounts,
        language=language,
        manager_id=manager_id,
    )
    try:
        created = cabinet.clients.create(Actor.system(), client)
    except CabinetError as exc:
        raise fail(exc) from None
    click.echo(f"created client {created.id}: {created.name} (NIP {created.nip or '-'})")


@clients.command("list")
@click.option("--search", default=None, help="Part of the name or NIP.")
@click.pass_context
def clients_list(ctx: click.Context, search: str | None) -> None:
    """List clients with their manager and bank sub-accounts' currencies."""
    cabinet = open_cabinet(ctx)
    system = Actor.system()
    managers = {u.id: u.email for u in cabinet.users.list(system) if u.role.is_staff}
    rows = [
        (
            str(c.id),
            c.nip or "",
            managers.get(c.manager_id, "") if c.manager_id is not None else "",
            "yes" if c.active else "no",
            ",".join(a.currency for a in c.bank_accounts),
            c.name,
        )
        for c in cabinet.clients.list(system, search=search)
    ]
    _table(("id", "nip", "manager", "active", "accounts", "name"), rows)


@click.command()
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List the loaded plugins: name, package, version and the hooks each implements."""
    infos = describe_plugins(ctx.find_root().obj["pm"])
    _table(
        ("name", "package", "version", "hooks"),
        [(info.name, info.package, info.version, ", ".join(info.hooks)) for info in infos],
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [
        max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)
    ]
    # The last column (hooks) may be long; it is not padded.
    widths[-1] = 0
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


BUILTIN_COMMANDS: tuple[click.Command, ...] = (
    serve,
    demo,
    worker,
    migrate,
    users,
    clients,
    plugins,
)


def make_cli(pm: pluggy.PluginManager | None = None) -> click.Group:
    """The ``cabinet`` group with every command plugins register (built-ins included)."""
    manager = pm or make_plugin_manager()
    web_plugin.ensure_registered(manager)

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        default=None,
        envvar="CABINET_DATA_DIR",
        help="Directory of the SQLite file, mail folder and files (default ./cabinet-data).",
    )
    @click.pass_context
    def cabinet(ctx: click.Context, data_dir: str | None) -> None:
        """cabinet: the client cabinet of a Polish accounting or law firm."""
        ctx.obj = {"pm": manager}

    manager.hook.register_commands(cli=cabinet)
    return cabinet


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``cabinet``)."""
    make_cli().main(args=list(argv) if argv is not None else None, prog_name="cabinet")
