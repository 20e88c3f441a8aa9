"""The core's hook specifications (entry-point group ``cabinet``).

Style (datasette, llm): hooks are plain verbs with keyword arguments, synchronous and cheap.
``register_*`` hooks hand the plugin a ``register`` callable; the objects a plugin registers do the
work. Event hooks (``document_saved`` …) are called after the change has been committed, for every
plugin; CRM delivery does not rely on them (it goes through the outbox), so a plugin that raises
in an event hook cannot lose data. Every spec here has a heading in ``docs/plugins/hooks.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from cabinet_core.app import Cabinet
    from cabinet_core.configuration import Problem
    from cabinet_core.entities import Actor, ChatMessage, Client, Document, NewsItem
    from cabinet_core.settings import Settings

hookspec = pluggy.HookspecMarker("cabinet")
hookimpl = pluggy.HookimplMarker("cabinet")

Register = Callable[..., Any]


@hookspec
def register_document_types(register: Register) -> None:
    """Register document types: ``register(document_type)`` for each
    :class:`cabinet_core.doctypes.DocumentType`."""


@hookspec
def register_crm_backends(register: Register) -> None:
    """Register CRM backends: ``register(name, factory)``; ``factory(cabinet)`` returns a
    :class:`cabinet_core.crm.CrmBackend`. Settings (``crm_backends``) choose the active ones."""


@hookspec
def register_outbox_subscribers(register: Register) -> None:
    """Register outbox subscribers: ``register(name, factory)``; ``factory(cabinet)`` returns a
    :class:`cabinet_core.outbox_subscribers.OutboxSubscriber` that receives the messages whose
    topic is addressed to ``name`` (``ksef.*`` → ``ksef``). The worker delivers to it like to a
    CRM backend."""


@hookspec
def register_renderers(register: Register) -> None:
    """Register renderers: ``register(renderer)`` for each :class:`cabinet_core.rendering.Renderer`
    (one media type, a set of document types)."""


@hookspec
def register_cash_printers(register: Register) -> None:
    """Register printers of cash slips and reports: ``register(printer)`` for each
    :class:`cabinet_core.cashdesk.printing.CashPrinter` (KP, KW and raport kasowy in one media
    type; the last registered of a media type prints)."""


@hookspec
def register_statement_renderers(register: Register) -> None:
    """Register VAT statement renderers: ``register(renderer)`` for each
    :class:`cabinet_core.vat_statement.StatementRenderer` (one media type: the built-in CSV,
    cabinet-pdf's PDF). A later registration of a media type replaces an earlier one."""


@hookspec
def register_templates(register: Register) -> None:
    """Register document templates: ``register(template)`` for each
    :class:`cabinet_core.entities.Template` that admins may assign to clients."""


@hookspec
def register_text_engines(register: Register) -> None:
    """Register template engines for contract texts: ``register(engine)`` for each
    :class:`cabinet_core.contract_text.TextEngine` (a sandbox: a template reaches nothing but
    the values it is given). The last one registered renders contracts."""


@hookspec
def register_rate_providers(register: Register) -> None:
    """Register exchange-rate providers: ``register(name, factory)``; ``factory(cabinet)`` returns a
    :class:`cabinet_core.fx.RateProvider` (NBP, offline …). Settings choose one."""


@hookspec
def register_tax_rules(register: Register) -> None:
    """Register tax rule sets: ``register(rules)`` for each :class:`cabinet_core.vat.TaxRules`
    (VAT rates and markers valid from a date)."""


@hookspec
def register_mailers(register: Register) -> None:
    """Register mailers: ``register(name, factory)``; ``factory(cabinet)`` returns a
    :class:`cabinet_core.mail.Mailer` (SMTP, local folder …). Settings choose one."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``cabinet`` command line: ``@cli.command()`` on the given click
    group. A command reaches a cabinet through :func:`cabinet_core.cli.open_cabinet`."""


@hookspec
def check_configuration(settings: Settings) -> list[Problem] | None:
    """Check this plugin's settings before ``cabinet serve``, ``worker`` or ``demo`` says it is
    ready: return a :class:`cabinet_core.configuration.Problem` (the setting's name, what is
    wrong, in one line) for each that cannot work, ``[]`` or ``None`` when all are fine. Check only
    what ``settings`` makes active (a CRM backend's credentials when ``crm_backends`` names it)
    and touch no network: a wrong setting must stop the start, an unreachable service must not."""


@hookspec
def document_saved(cabinet: Cabinet, document: Document, actor: Actor, created: bool) -> None:
    """A document was created (``created=True``) or edited, and the change is committed."""


@hookspec
def document_status_changed(
    cabinet: Cabinet, document: Document, old_status: str, new_status: str, actor: Actor
) -> None:
    """A document moved from ``old_status`` to ``new_status``; the change is committed."""


@hookspec
def chat_message_posted(cabinet: Cabinet, message: ChatMessage, actor: Actor) -> None:
    """A chat message was stored (from the cabinet or bridged in from a CRM)."""


@hookspec
def news_published(cabinet: Cabinet, news_item: NewsItem) -> None:
    """A news item was published or updated."""


@hookspec
def client_created(cabinet: Cabinet, client: Client, actor: Actor) -> None:
    """A new client (company) was added to the cabinet."""
