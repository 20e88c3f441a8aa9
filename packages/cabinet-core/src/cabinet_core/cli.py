"""The ``cabinet`` command line: the click group, and the commands that need no web server
(worker, migrate, users, clients, plugins).

Every command comes through the ``register_commands`` hook (the core's own commands are a
built-in plugin too), so cabinet-web adds ``serve`` and ``demo`` and any other plugin its own
(``cabinet bitrix-reconcile`` …). A command reaches a cabinet with :func:`open_cabinet`. Settings
come from the ``CABINET_*`` environment variables; ``--data-dir`` overrides ``CABINET_DATA_DIR``.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import click
import pluggy

from cabinet_core.app import Cabinet
from cabinet_core.configuration import (
    ConfigurationError,
    Problem,
    check_database,
    check_settings,
    problem_from_error,
)
from cabinet_core.entities import Actor, Address, BankAccount, Client, Role, User
from cabinet_core.errors import CabinetError, ValidationError
from cabinet_core.hookspecs import hookimpl
from cabinet_core.plugins import describe_plugins, make_plugin_manager
from cabinet_core.settings import Settings

__all__ = [
    "EXIT_CONFIGURATION",
    "EXIT_UNAVAILABLE",
    "CliContext",
    "ConfigurationFailed",
    "StartUnavailable",
    "fail",
    "main",
    "make_cli",
    "open_cabinet",
    "settings_from",
    "started_cabinet",
]

#: Exit status of a setting that cannot work (sysexits' EX_CONFIG): restarting will not help.
EXIT_CONFIGURATION = 78
#: Exit status of something the settings point at that is not there now (EX_UNAVAILABLE): an
#: unreachable database, a port another program holds; a restart later may succeed.
EXIT_UNAVAILABLE = 69


class ConfigurationFailed(click.ClickException):
    """A start that cannot go on: one line per problem on stderr,
    ``cabinet: CABINET_MAILER: no mailer named 'smpt' is installed (known: folder, smtp)``,
    and exit status :data:`EXIT_CONFIGURATION`."""

    exit_code = EXIT_CONFIGURATION

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = tuple(problems)

    def show(self, file: Any = None) -> None:
        for problem in self.problems:
            click.echo(f"cabinet: {problem}", err=True, file=file)


class StartUnavailable(ConfigurationFailed):
    """Like :class:`ConfigurationFailed`, for what is not there now (an unreachable database, a
    taken port): exit status :data:`EXIT_UNAVAILABLE`."""

    exit_code = EXIT_UNAVAILABLE


PLUGIN_NAME = "cabinet_core.cli"


@attrs.frozen(kw_only=True)
class CliContext:
    """What the ``cabinet`` group hands its commands as ``ctx.obj``: the plugin manager the
    command line was built with and the ``--data-dir`` given (``None`` when not)."""

    pm: pluggy.PluginManager
    data_dir: Path | None = None

    def settings(self, **overrides: Any) -> Settings:
        """Settings from the environment, with ``--data-dir`` and ``overrides`` applied; a
        malformed value ends the command with one line naming it."""
        if self.data_dir is not None:
            overrides.setdefault("data_dir", self.data_dir)
        try:
            return Settings.from_env(**overrides)
        except ConfigurationError as exc:
            raise ConfigurationFailed([exc.problem]) from None

    def checked_settings(self, **overrides: Any) -> Settings:
        """:meth:`settings`, every one checked (the core's checks and the plugins'
        ``check_configuration``) and the database reached once: what ``serve``, ``worker``
        and ``demo`` start from. :class:`ConfigurationFailed` names what is wrong."""
        settings = self.settings(**overrides)
        problems = check_settings(settings, self.pm)
        if problems:
            raise ConfigurationFailed(problems)
        unreachable = check_database(settings)
        if unreachable is not None:
            raise StartUnavailable([unreachable])
        return settings

    def open_cabinet(self, *, migrate: bool = True, **overrides: Any) -> Cabinet:
        """A cabinet on these settings (schema migrated first unless ``migrate`` is false);
        the caller closes it. A database that cannot be reached ends the command with one
        line naming ``CABINET_DATABASE_URL``."""
        return self._cabinet(self.settings(**overrides), migrate=migrate)

    def _cabinet(self, settings: Settings, *, migrate: bool) -> Cabinet:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        cabinet = Cabinet(settings, pm=self.pm)
        if migrate:
            try:
                cabinet.migrate()
            except Exception:
                # Whatever form the driver's error took (a DBAPI error, the store's own
                # "unavailable"): if the database cannot be reached, that is the one line to
                # show; any other failure is a defect and keeps its traceback.
                cabinet.close()
                unreachable = check_database(settings)
                if unreachable is None:
                    raise
                raise StartUnavailable([unreachable]) from None
        return cabinet

    def started_cabinet(self, **overrides: Any) -> Cabinet:
        """The cabinet ``serve``, ``worker`` and ``demo`` run: settings checked
        (:meth:`checked_settings`), schema migrated, and the CRM backends, mailer, rate
        provider and outbox subscribers the settings make active built once, so a setting
        that cannot work stops the start instead of failing at every message."""
        cabinet = self._cabinet(self.checked_settings(**overrides), migrate=True)
        try:
            _build_active(cabinet)
        except ConfigurationFailed:
            cabinet.close()
            raise
        return cabinet


def _build_active(cabinet: Cabinet) -> None:
    settings = cabinet.settings
    parts: list[tuple[str, Any]] = [
        *(
            ("CABINET_CRM_BACKENDS", lambda n=name: cabinet.crm_backend(n))
            for name in settings.crm_backends
        ),
        ("CABINET_MAILER", lambda: cabinet.mailer),
        ("CABINET_RATE_PROVIDER", lambda: cabinet.rate_provider),
        *(
            (f"CABINET_{name.upper()}_*", lambda n=name: cabinet.outbox_subscriber(n))
            for name in cabinet.outbox_subscriber_names
        ),
    ]
    for setting, build in parts:
        try:
            build()
        except (ConfigurationError, LookupError, ValueError) as exc:
            raise ConfigurationFailed([problem_from_error(exc, default_setting=setting)]) from None


def started_cabinet(ctx: click.Context, **overrides: Any) -> Cabinet:
    """A checked, migrated cabinet for a long-running command (see
    :meth:`CliContext.started_cabinet`); the caller closes it."""
    return context_of(ctx).started_cabinet(**overrides)


def context_of(ctx: click.Context) -> CliContext:
    """The :class:`CliContext` of the ``cabinet`` group ``ctx`` runs under."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):
        raise click.UsageError("this command runs under the cabinet command line (make_cli)")
    return obj


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Settings from the environment, with the command line's ``--data-dir`` and ``overrides``."""
    return context_of(ctx).settings(**overrides)


def open_cabinet(ctx: click.Context, *, migrate: bool = True, **overrides: Any) -> Cabinet:
    """A cabinet for a command, a plugin's included (schema migrated first unless ``migrate``
    is false); ``overrides`` are :class:`Settings` fields. The caller closes it."""
    return context_of(ctx).open_cabinet(migrate=migrate, **overrides)


def fail(exc: CabinetError) -> click.ClickException:
    """A core error as a command-line message (field errors one per line)."""
    if isinstance(exc, ValidationError):
        lines = [f"{error.field}: {error.message}" for error in exc.errors]
        return click.ClickException("\n".join([exc.message, *lines]))
    return click.ClickException(exc.message)


@click.command()
@click.option("--once", is_flag=True, help="Deliver one batch and exit.")
@click.pass_context
def worker(ctx: click.Context, once: bool) -> None:
    """Deliver outbox messages to the CRM backends until stopped (Ctrl+C / SIGTERM)."""
    from cabinet_core.logs import configure_logging
    from cabinet_core.services.notifications import periodic_tasks
    from cabinet_core.worker import Worker

    cabinet = started_cabinet(ctx)
    configure_logging(cabinet.settings.log_format)
    runner = Worker(cabinet, periodic=periodic_tasks())
    try:
        if once:
            click.echo(f"delivered {runner.run_once()} message(s)")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        click.echo("cabinet worker: delivering the outbox (Ctrl+C to stop)")
        runner.run_forever(stop)
    except ConfigurationError as exc:
        raise ConfigurationFailed([exc.problem]) from None
    finally:
        cabinet.close()


@click.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Bring the database schema to the newest version."""
    cabinet = open_cabinet(ctx)
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
    "--password",
    prompt="Password",
    help="At least 10 characters, not a common password (asked for when not given).",
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


def _user_by_email(cabinet: Cabinet, email: str) -> User:
    matches = [
        u for u in cabinet.users.list(Actor.system()) if u.email.lower() == email.strip().lower()
    ]
    if not matches or matches[0].id is None:
        raise click.ClickException(f"no user with the e-mail {email}")
    return matches[0]


def _act_on_user(
    ctx: click.Context, email: str, act: Callable[[Cabinet, int], object], done: str
) -> None:
    # The user commands share one shape: find the user by e-mail, run the service call as the
    # system, turn a refusal into the CLI's one-line error, and say what happened.
    cabinet = open_cabinet(ctx)
    user = _user_by_email(cabinet, email)
    assert user.id is not None
    try:
        act(cabinet, user.id)
    except CabinetError as exc:
        raise fail(exc) from None
    click.echo(done.format(email=user.email))


@users.command("deactivate")
@click.argument("email")
@click.pass_context
def users_deactivate(ctx: click.Context, email: str) -> None:
    """Deactivate a user: signed out everywhere at once, API tokens revoked, no sign-in."""
    _act_on_user(
        ctx,
        email,
        lambda cabinet, user_id: cabinet.users.deactivate(Actor.system(), user_id),
        "deactivated {email}; its sessions and API tokens are gone",
    )


@users.command("reactivate")
@click.argument("email")
@click.pass_context
def users_reactivate(ctx: click.Context, email: str) -> None:
    """Let a deactivated user sign in again."""
    _act_on_user(
        ctx,
        email,
        lambda cabinet, user_id: cabinet.users.reactivate(Actor.system(), user_id),
        "reactivated {email}",
    )


@users.command("reset-two-factor")
@click.argument("email")
@click.pass_context
def users_reset_two_factor(ctx: click.Context, email: str) -> None:
    """Remove a user's second factor (a lost phone; also the last admin's way back in): its
    sessions end and it sets the second factor up again at its next sign-in."""
    _act_on_user(
        ctx,
        email,
        lambda cabinet, user_id: cabinet.two_factor.reset(Actor.system(), user_id),
        "the second factor of {email} is reset",
    )


@users.command("set-password")
@click.argument("email")
@click.password_option("--password", prompt="New password")
@click.pass_context
def users_set_password(ctx: click.Context, email: str, password: str) -> None:
    """Set a user's password (found by e-mail)."""
    _act_on_user(
        ctx,
        email,
        lambda cabinet, user_id: cabinet.users.set_password(Actor.system(), user_id, password),
        "password changed for {email}",
    )


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
    infos = describe_plugins(context_of(ctx).pm)
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


COMMANDS: tuple[click.Command, ...] = (worker, migrate, users, clients, plugins)


@hookimpl
def register_commands(cli: click.Group) -> None:
    """The core's commands: worker, migrate, users, clients, plugins."""
    for command in COMMANDS:
        cli.add_command(command)


def _print_versions(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from cabinet_core.versions import version_report

    click.echo(version_report())
    ctx.exit()


def make_cli(pm: pluggy.PluginManager | None = None) -> click.Group:
    """The ``cabinet`` group with every command plugins register (the core's included)."""
    manager = pm or make_plugin_manager()
    module = sys.modules[__name__]
    if not manager.is_registered(module) and manager.get_plugin(PLUGIN_NAME) is None:
        manager.register(module, name=PLUGIN_NAME)

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.option(
        "--version",
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=_print_versions,
        help="Show the versions of the installed cabinet packages and exit.",
    )
    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        envvar="CABINET_DATA_DIR",
        help="Directory of the SQLite file, mail folder and files (default ./cabinet-data).",
    )
    @click.pass_context
    def cabinet(ctx: click.Context, data_dir: Path | None) -> None:
        """cabinet: the client cabinet of a Polish accounting or law firm."""
        ctx.obj = CliContext(pm=manager, data_dir=data_dir)

    manager.hook.register_commands(cli=cabinet)
    return cabinet


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``cabinet``)."""
    make_cli().main(args=list(argv) if argv is not None else None, prog_name="cabinet")
