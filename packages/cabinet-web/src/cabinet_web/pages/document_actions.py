"""Actions on one document: send by e-mail, convert, correct, correction requests, FA(3) import, template choices."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
