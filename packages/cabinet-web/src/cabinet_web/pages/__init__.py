"""The built-in HTML pages; :data:`ROUTES` is what the built-in plugin registers."""

from __future__ import annotations

from cabinet_web.pages import (
    audit,
    auth,
    branding,
    cash,
    chat,
    clients,
    contract_templates,
    contracts,
    document_actions,
    document_form,
    documents,
    help,
    home,
    ksef,
    mail_settings,
    news,
    notifications,
    passwords,
    profile,
    reports,
    settings,
    tax_years,
    tokens,
    two_factor,
    users,
    vat_statement,
)

ROUTES = [
    *auth.ROUTES,
    *passwords.ROUTES,
    *two_factor.ROUTES,
    *home.ROUTES,
    *notifications.ROUTES,
    *profile.ROUTES,
    *users.ROUTES,
    *clients.ROUTES,
    *tokens.ROUTES,
    *documents.ROUTES,
    # Action routes come before the form's /documents/{id} so their fixed paths win.
    *document_actions.ROUTES,
    *ksef.ROUTES,
    *document_form.ROUTES,
    *chat.ROUTES,
    *news.ROUTES,
    *settings.ROUTES,
    *cash.ROUTES,
    *contract_templates.ROUTES,
    *contracts.ROUTES,
    *vat_statement.ROUTES,
    *reports.ROUTES,
    *audit.ROUTES,
    *branding.ROUTES,
    *mail_settings.ROUTES,
    *tax_years.ROUTES,
    *help.ROUTES,
]

__all__ = ["ROUTES"]
