"""The web layer's hook specifications, added to a cabinet's plugin manager by cabinet-web.

The core knows nothing of HTTP, so these live here (``cabinet_web.plugin.add_hookspecs``). Same
style as the core's: plain verbs, keyword arguments, synchronous and cheap. The built-in pages,
the JSON API and the menu are implemented through these very hooks in :mod:`cabinet_web.plugin`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
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
def api_endpoints(register: Callable[[Mapping[str, Any]], None]) -> None:
    """A plugin's JSON API operations, served under ``/api/v1`` and described in its OpenAPI
    document like the built-in ones (authentication, token scopes, problems, the fuzzers).

    ``register(spec)`` for each operation; ``spec`` is a plain mapping (a plugin need not
    import cabinet-web): ``path`` below ``/api/v1`` (``"/ksef/clients/{client_id:int}"``),
    ``method``, ``handler`` (``async (request) -> Response | JSON-able``), ``summary``,
    ``operation_id`` (unique), and optionally ``params`` (mappings with ``name``, ``in``
    (``path``/``query``), ``schema``, ``description``, ``required``), ``body`` (a JSON Schema,
    or ``{media type: schema}``), ``body_required``, ``response`` (a JSON Schema, or
    ``{media type: schema}``) and ``status`` (200). Declare every constraint the handler
    enforces in the schemas: the API fuzzer holds the operation to them.
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


@hookspec(firstresult=True)
def actor_from_request(cabinet: Cabinet, request: Request) -> User | None:
    """Who is making ``request``: the first non-``None`` :class:`~cabinet_core.entities.User` wins.

    The built-in implementation (``trylast``) reads an ``Authorization: Bearer cab_…`` personal
    token, or else the session cookie (never the session when an ``Authorization`` header is
    present). Requests carrying an ``Authorization`` header are exempt from the CSRF check, since
    a browser never adds one on its own; a plugin that authenticates through some other
    browser-sent credential must keep that in mind.
    """


@hookspec
def translation_dirs() -> Sequence[str] | None:
    """Directories of a plugin's compiled catalogs (``<dir>/<lang>/LC_MESSAGES/messages.mo``).

    They are merged into the web's catalogs (``Translations.merge``), so the plugin's pages,
    templates and ``request.state.gettext`` speak the user's language; where a plugin has a
    msgid the web has too, the web's translation wins.
    """


@hookspec
def static_dirs() -> Mapping[str, str] | None:
    """A plugin's static files: ``{name: directory}``, each served at
    ``/static/plugins/<name>/``. Two plugins claiming one name is an error."""


@hookspec
def demo_loops(register: Callable[[str, DemoLoopFactory], None]) -> None:
    """Offer something ``cabinet demo --with NAME`` can run next to the demo cabinet:
    ``register(name, factory)``, where ``factory(host=..., port=...)`` returns a
    :class:`DemoLoop` (``port`` is ``--emulator-port``, where an emulated service may listen).
    """


@hookspec
def settings_pages(actor: User, request: Request) -> Sequence[Mapping[str, str]] | None:
    """Settings pages a plugin adds to the admins' settings index (``/settings``): a list of
    ``{"href": ..., "label": ..., "description": ...}`` dicts (``description`` optional),
    already translated. ``actor`` is the signed-in administrator; the page itself must still
    check the role (``kit.page(roles=[Role.ADMIN])``)."""


class DemoLoop(Protocol):
    """What one ``cabinet demo --with NAME`` runs (a CRM emulator, say), in three steps."""

    #: CRM backends the demo cabinet must make active (``Settings.crm_backends``).
    crm_backends: Sequence[str]

    def plugin_settings(self) -> Mapping[str, Mapping[str, str]]:
        """``Settings.plugins`` entries the demo cabinet needs (``{namespace: {key: value}}``);
        the demo passes them into the cabinet's settings, never into the environment."""

    def running(self, cabinet: Cabinet, base_url: str) -> AbstractContextManager[str]:
        """Run next to ``cabinet`` (served at ``base_url``) until the block ends; the value is a
        banner the demo prints. The demo's worker runs inside the block and stops first."""


DemoLoopFactory = Callable[..., DemoLoop]
