"""The built-in HTML pages; :data:`ROUTES` is what the built-in plugin registers."""

from __future__ import annotations

from cabinet_web.pages import (
    auth,
    chat,
    clients,
    document_actions,
    document_form,
    documents,
    home,
    news,
    profile,
    reports,
    settings,
    tokens,
    users,
)

ROUTES = [
    *auth.ROUTES,
    *home.ROUTES,
    *profile.ROUTES,
    *users.ROUTES,
    *clients.ROUTES,
    *tokens.ROUTES,
    *documents.ROUTES,
    # Action routes come before the form's /documents/{id} so their fixed paths win.
    *document_actions.ROUTES,
    *document_form.ROUTES,
    *chat.ROUTES,
    *news.ROUTES,
    *settings.ROUTES,
    *reports.ROUTES,
]

__all__ = ["ROUTES"]
