"""The application object: settings, its own plugin manager, the registries hooks fill, the store
and the services every entry point (web page, API, CLI, worker) goes through."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

import pluggy

from cabinet_core.breached_passwords import BreachedPasswordCheck
from cabinet_core.broadcast import Broadcast, broadcast_for
from cabinet_core.errors import NotFound
from cabinet_core.metrics import Metrics
from cabinet_core.plugins import make_plugin_manager
from cabinet_core.settings import Settings
from cabinet_core.sync import MAIL_SUBSCRIBER

if TYPE_CHECKING:
    from cabinet_core.cashdesk.printing import CashPrinter
    from cabinet_core.contract_text import TextEngine
    from cabinet_core.crm import CrmBackend
    from cabinet_core.doctypes import DocumentType
    from cabinet_core.entities import Template
    from cabinet_core.fx import RateProvider
    from cabinet_core.ksef.port import KsefPort
    from cabinet_core.mail import Mailer
    from cabinet_core.outbox_subscribers import OutboxSubscriber
    from cabinet_core.rendering import Renderer
    from cabinet_core.reports import ReportService
    from cabinet_core.services import (
        AuditService,
        BrandingService,
        CashService,
        ChatService,
        ClientService,
        ContractService,
        ContractTemplateService,
        CounterpartyService,
        DashboardService,
        DocumentNotesService,
        DocumentService,
        InvoicingService,
        KsefService,
        MailDelivery,
        MailSettingsService,
        NewsService,
        NotificationService,
        PasswordLinkService,
        ProductService,
        SessionService,
        SettingsStoreService,
        TaxYearService,
        TokenService,
        TwoFactorService,
        UserService,
        VatRateService,
        VatStatementService,
    )
    from cabinet_core.services.attachments import AttachmentService
    from cabinet_core.storage import Store
    from cabinet_core.sync import SyncPort
    from cabinet_core.vat import TaxRules
    from cabinet_core.vat_statement import StatementRenderer

Factory = Callable[["Cabinet"], Any]


class Cabinet:
    """One cabinet installation. Cheap to build; nothing global is touched.

    ``plugins`` are extra plugin objects registered after the installed ones (tests and
    embedders use this); ``store`` replaces the store built from the settings.
    """

    # The services, attached by cabinet_core.services.install_services.
    users: UserService
    tokens: TokenService
    sessions: SessionService
    password_links: PasswordLinkService
    two_factor: TwoFactorService
    clients: ClientService
    counterparties: CounterpartyService
    products: ProductService
    documents: DocumentService
    invoicing: InvoicingService
    ksef: KsefService
    mail_delivery: MailDelivery
    attachments: AttachmentService
    news: NewsService
    chat: ChatService
    notifications: NotificationService
    dashboard: DashboardService
    audit: AuditService
    settings_store: SettingsStoreService
    branding: BrandingService
    mail_settings: MailSettingsService
    tax_years: TaxYearService
    vat_rates: VatRateService
    document_notes: DocumentNotesService
    cash: CashService
    contract_templates: ContractTemplateService
    contracts: ContractService
    vat_statements: VatStatementService
    reports: ReportService

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        plugins: Iterable[object] = (),
        load_entrypoints: bool = True,
        pm: pluggy.PluginManager | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.pm = pm or make_plugin_manager(
            load_entrypoints=load_entrypoints, extra_plugins=plugins
        )
        self.document_types: dict[str, DocumentType] = {}
        self.templates: dict[str, Template] = {}
        self.renderers: list[Renderer] = []
        self.cash_printers: list[CashPrinter] = []
        self.tax_rules: list[TaxRules] = []
        self.text_engines: dict[str, TextEngine] = {}
        #: VAT statement renderers by media type (the last registered of a type wins).
        self.statement_renderers: dict[str, StatementRenderer] = {}
        self._crm_factories: dict[str, Factory] = {}
        self._mailer_factories: dict[str, Factory] = {}
        self._rate_factories: dict[str, Factory] = {}
        self._subscriber_factories: dict[str, Factory] = {}
        self._instances: dict[tuple[str, str], Any] = {}
        self._sync_ports: dict[str, SyncPort] = {}
        self._ksef_port: KsefPort | None = None
        #: This cabinet's Prometheus counters and histograms (:mod:`cabinet_core.metrics`),
        #: made here rather than on first use, which two threads could race to.
        self.metrics = Metrics()
        #: The breached-password check new passwords go through, when one is configured.
        self.breached_passwords: Callable[[str], bool] | None = (
            BreachedPasswordCheck(
                self.settings.breached_password_url,
                timeout=self.settings.breached_password_timeout,
            )
            if self.settings.breached_password_url
            else None
        )
        self._collect()
        if store is None:
            from cabinet_core.storage import Store as _Store

            store = _Store.from_url(
                self.settings.effective_database_url,
                threads=self.settings.web_threads,
            )
        self.store = store
        #: The broadcast seam live pages listen on (LISTEN/NOTIFY on PostgreSQL).
        self.broadcast: Broadcast = broadcast_for(
            store.engine.url.render_as_string(hide_password=False), engine=store.engine
        )
        from cabinet_core.services import install_services

        install_services(self)

    # -- registries ---------------------------------------------------------------------------
    def _collect(self) -> None:
        hook = self.pm.hook

        def keyed(target: dict[str, Any], what: str) -> Callable[[Any], None]:
            def register(obj: Any) -> None:
                if obj.key in target:
                    raise ValueError(f"{what} {obj.key!r} is registered twice")
                target[obj.key] = obj

            return register

        def named(target: dict[str, Factory], what: str) -> Callable[[str, Factory], None]:
            def register(name: str, factory: Factory) -> None:
                if name in target:
                    raise ValueError(f"{what} {name!r} is registered twice")
                target[name] = factory

            return register

        hook.register_document_types(register=keyed(self.document_types, "document type"))
        hook.register_templates(register=keyed(self.templates, "template"))
        hook.register_renderers(register=self.renderers.append)
        hook.register_cash_printers(register=self.cash_printers.append)
        hook.register_tax_rules(register=self.tax_rules.append)

        def statement_renderer(renderer: StatementRenderer) -> None:
            self.statement_renderers[renderer.media_type] = renderer

        hook.register_statement_renderers(register=statement_renderer)
        hook.register_crm_backends(register=named(self._crm_factories, "CRM backend"))
        hook.register_mailers(register=named(self._mailer_factories, "mailer"))
        hook.register_rate_providers(register=named(self._rate_factories, "rate provider"))
        hook.register_outbox_subscribers(
            register=named(self._subscriber_factories, "outbox subscriber")
        )
        clash = set(self._subscriber_factories) & (set(self._crm_factories) | {MAIL_SUBSCRIBER})
        if clash:
            raise ValueError(f"outbox subscriber names taken already: {', '.join(sorted(clash))}")

    def _instance(self, kind: str, factories: dict[str, Factory], name: str) -> Any:
        if (kind, name) not in self._instances:
            if name not in factories:
                known = ", ".join(sorted(factories)) or "none"
                raise LookupError(f"no {kind} named {name!r} is registered (known: {known})")
            self._instances[(kind, name)] = factories[name](self)
        return self._instances[(kind, name)]

    @property
    def crm_backend_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._crm_factories))

    @property
    def outbox_subscriber_names(self) -> tuple[str, ...]:
        """The registered outbox subscribers' names, sorted (the order the worker serves them)."""
        return tuple(sorted(self._subscriber_factories))

    def outbox_subscriber(self, name: str) -> OutboxSubscriber:
        """The outbox subscriber registered as ``name``, built once per cabinet."""
        return self._instance("subscriber", self._subscriber_factories, name)  # type: ignore[no-any-return]

    def ksef_port(self) -> KsefPort:
        """All the KSeF plugin may ask of this cabinet (``docs/plugins/ksef.md``), built once."""
        if self._ksef_port is None:
            from cabinet_core.services.ksef_port import CabinetKsefPort

            self._ksef_port = CabinetKsefPort(self)
        return self._ksef_port

    @property
    def mailer_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._mailer_factories))

    @property
    def rate_provider_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._rate_factories))

    def crm_backends(self) -> list[CrmBackend]:
        """The backends settings make active, built once per cabinet."""
        return [
            self._instance("crm", self._crm_factories, name) for name in self.settings.crm_backends
        ]

    def crm_backend(self, name: str) -> CrmBackend:
        return self._instance("crm", self._crm_factories, name)  # type: ignore[no-any-return]

    def sync_port(self, name: str) -> SyncPort:
        """All the CRM backend registered as ``name`` may ask of this cabinet (built once)."""
        if name not in self._sync_ports:
            from cabinet_core.services.sync_port import CabinetSyncPort

            self._sync_ports[name] = CabinetSyncPort(self, name)
        return self._sync_ports[name]

    @property
    def mailer(self) -> Mailer:
        return self._instance("mailer", self._mailer_factories, self.settings.mailer)  # type: ignore[no-any-return]

    @property
    def rate_provider(self) -> RateProvider:
        return self._instance("rates", self._rate_factories, self.settings.rate_provider)  # type: ignore[no-any-return]

    def plugin_config(self, namespace: str) -> dict[str, str]:
        """The settings of the plugin whose namespace is ``namespace`` (``CABINET_<NAMESPACE>_*``
        overlaid by ``Settings.plugins``); see :meth:`Settings.plugin_config`."""
        return self.settings.plugin_config(namespace)

    def document_type(self, key: str) -> DocumentType:
        try:
            return self.document_types[key]
        except KeyError:
            raise NotFound("Unknown document type", doc_type=key) from None

    @property
    def text_engine(self) -> TextEngine:
        """The engine contract templates are rendered with (the last one registered).

        Collected on first use rather than in the constructor: the web registers its plugin
        on an existing cabinet (``create_app``), and the engine is the web's."""
        if not self.text_engines:
            self.pm.hook.register_text_engines(
                register=lambda engine: self.text_engines.setdefault(engine.key, engine)
            )
        if not self.text_engines:
            raise NotFound("No template engine is registered")
        return list(self.text_engines.values())[-1]

    def tax_rules_on(self, on: date) -> TaxRules:
        """The VAT rules that apply on ``on``, from the registered rule sets (plugin-registered
        ones included); see :func:`cabinet_core.vat.rules_on` for the fallbacks."""
        from cabinet_core.vat import rules_on

        return rules_on(self.tax_rules, on)

    def renderer_for(self, doc_type: str, media_type: str) -> Renderer:
        """The last-registered renderer of ``media_type`` that handles ``doc_type``."""
        for renderer in reversed(self.renderers):
            if renderer.media_type == media_type and doc_type in renderer.document_types:
                return renderer
        raise NotFound("No renderer for this document", doc_type=doc_type, media_type=media_type)

    # -- lifecycle ----------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring the database schema to the newest version (Alembic); messages queued before
        per-subscriber delivery go to the CRM backends these settings make active."""
        self.store.migrate(crm_backends=self.settings.crm_backends)

    def close(self) -> None:
        """Release what this cabinet opened: plugin-made objects, then the store."""
        for instance in self._instances.values():
            close = getattr(instance, "close", None)
            if callable(close):
                close()
        self._instances.clear()
        self.broadcast.close()
        self.store.close()

    def __enter__(self) -> Cabinet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
