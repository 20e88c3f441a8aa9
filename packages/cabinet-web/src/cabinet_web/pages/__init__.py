"""The built-in HTML pages; :data:`ROUTES` is what the built-in plugin registers."""

from __future__ import annotations

from cabinet_web.pages import auth, documents, home, profile, tokens, users

ROUTES = [
    *auth.ROUTES,
    *home.ROUTES,
    *profile.ROUTES,
    *users.ROUTES,
    *tokens.ROUTES,
    *documents.ROUTES,
]

__all__ = ["ROUTES"]
