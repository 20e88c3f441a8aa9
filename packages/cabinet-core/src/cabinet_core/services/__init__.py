"""The use cases every page, API call, CLI command and worker goes through.

:func:`install_services` puts one object per area on the :class:`~cabinet_core.app.Cabinet`
(``cabinet.documents``, ``cabinet.users`` …). Every method takes the acting
:class:`~cabinet_core.entities.Actor` first and checks it with :mod:`cabinet_core.access`;
every write runs in one transaction with its audit entry and outbox row, and the event hooks
are called after the commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cabinet_core.services.attachments import AttachmentService
from cabinet_core.services.audit import AuditService
from cabinet_core.services.branding import BrandingService
from cabinet_core.services.cash import CashService
from cabinet_core.services.chat import ChatService
from cabinet_core.services.clients import ClientService
from cabinet_core.services.contract_templates import ContractTemplateService
from cabinet_core.services.contracts import ContractService
from cabinet_core.services.dashboard import DashboardService
from cabinet_core.services.document_notes import DocumentNotesService
from cabinet_core.services.documents import DocumentService
from cabinet_core.services.invoicing import InvoicingService
from cabinet_core.services.ksef_submissions import KsefService
from cabinet_core.services.mail_delivery import MailDelivery
from cabinet_core.services.mail_settings import MailSettingsService
from cabinet_core.services.news import NewsService
from cabinet_core.services.notifications import NotificationService
from cabinet_core.services.parties import CounterpartyService, ProductService
from cabinet_core.services.password_links import PasswordLinkService
from cabinet_core.services.sessions import SessionService
from cabinet_core.services.settings_store import SettingsStoreService
from cabinet_core.services.tax_years import TaxYearService
from cabinet_core.services.tokens import TokenService
from cabinet_core.services.two_factor import TwoFactorService
from cabinet_core.services.users import UserService
from cabinet_core.services.vat_rates import VatRateService
from cabinet_core.services.vat_statements import VatStatementService

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet

__all__ = [
    "AuditService",
    "BrandingService",
    "CashService",
    "ChatService",
    "ClientService",
    "ContractService",
    "ContractTemplateService",
    "CounterpartyService",
    "DashboardService",
    "DocumentNotesService",
    "DocumentService",
    "InvoicingService",
    "KsefService",
    "MailDelivery",
    "MailSettingsService",
    "NewsService",
    "NotificationService",
    "PasswordLinkService",
    "ProductService",
    "SessionService",
    "SettingsStoreService",
    "TaxYearService",
    "TokenService",
    "TwoFactorService",
    "UserService",
    "VatRateService",
    "VatStatementService",
    "install_services",
]


def install_services(cabinet: Cabinet) -> None:
    """Attach the services to ``cabinet`` (called by its constructor)."""
    cabinet.users = UserService(cabinet)
    cabinet.tokens = TokenService(cabinet)
    cabinet.sessions = SessionService(cabinet)
    cabinet.password_links = PasswordLinkService(cabinet)
    cabinet.two_factor = TwoFactorService(cabinet)
    cabinet.clients = ClientService(cabinet)
    cabinet.counterparties = CounterpartyService(cabinet)
    cabinet.products = ProductService(cabinet)
    cabinet.documents = DocumentService(cabinet)
    cabinet.invoicing = InvoicingService(cabinet)
    cabinet.ksef = KsefService(cabinet)
    cabinet.mail_delivery = MailDelivery(cabinet)
    cabinet.attachments = AttachmentService(cabinet)
    cabinet.news = NewsService(cabinet)
    cabinet.chat = ChatService(cabinet)
    cabinet.notifications = NotificationService(cabinet)
    cabinet.dashboard = DashboardService(cabinet)
    cabinet.audit = AuditService(cabinet)
    cabinet.settings_store = SettingsStoreService(cabinet)
    cabinet.branding = BrandingService(cabinet)
    cabinet.mail_settings = MailSettingsService(cabinet)
    cabinet.tax_years = TaxYearService(cabinet)
    cabinet.vat_rates = VatRateService(cabinet)
    cabinet.document_notes = DocumentNotesService(cabinet)
    cabinet.cash = CashService(cabinet)
    cabinet.contract_templates = ContractTemplateService(cabinet)
    cabinet.contracts = ContractService(cabinet)
    cabinet.vat_statements = VatStatementService(cabinet)
    from cabinet_core.reports import ReportService  # the reports package builds on the services

    cabinet.reports = ReportService(cabinet)
