"""The document form: create and edit any line-bearing document (lines, live totals, parties, attachments), and its preview page."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
