"""The web layer's hook specifications, added to a cabinet's plugin manager by cabinet-web.

The core knows nothing of HTTP, so these live here (``cabinet_web.plugin.add_hookspecs``). Same
style as the core's: plain verbs, keyword arguments, synchronous and cheap. The built-in pages,
the JSON API and the menu are implemented through these very hooks in :mod:`cabinet_web.plugin`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import User
    from starlette.requests import Request
    from starlette.routing import BaseRoute

hookspec = pluggy.HookspecMarker("cabinet")
hookimpl = pluggy.HookimplMarker("cabinet")


@hookspec
def register_routes(register: Callable[[BaseRoute], None]) -> None:
    """Register Starlette routes: ``register(route)`` for each ``Route``/``Mount``.

    Endpoints reach the cabinet as ``request.app.state.cabinet`` and the signed-in user as
    ``request.state.user`` (``None`` when anonymous). Routes registered later win over earlier
    ones only if their paths differ; a duplicate path is an error.
    """


@hookspec
def menu_links(actor: User | None, request: Request) -> Sequence[Mapping[str, str]] | None:
    """Links for the main navigation: a list of ``{"href": ..., "label": ...}`` dicts.

    ``actor`` is the signed-in :class:`~cabinet_core.entities.User` or ``None``; labels should
    already be translated (``request.state.gettext``). Return ``None`` or ``[]`` to add nothing.
    """


@hookspec
def extra_template_vars(request: Request) -> Mapping[str, Any] | None:
    """Extra variables for every page template rendered for ``request`` (a dict, or ``None``)."""


@hookspec
def template_dirs() -> Sequence[str] | None:
    """Directories searched for page templates before the built-in ones.

    A plugin template overrides a built-in one of the same name;
    ``{% extends "default:base.html" %}`` reaches the built-in version to extend it.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``cabinet`` command line: ``@cli.command()`` on the given click group."""


@hookspec(firstresult=True)
def actor_from_request(cabinet: Cabinet, request: Request) -> User | None:
    """Who is making ``request``: the first non-``None`` :class:`~cabinet_core.entities.User` wins.

    The built-in implementation (``trylast``) reads an ``Authorization: Bearer cab_…`` personal
    token, or else the session cookie (never the session when an ``Authorization`` header is
    present). Requests carrying an ``Authorization`` header are exempt from the CSRF check, since
    a browser never adds one on its own; a plugin that authenticates through some other
    browser-sent credential must keep that in mind.
    """
