"""Building a plugin manager: one per application object, no import-time side effects.

Built-in behaviour is written as plugins too (``default_*`` modules); they are registered here by
name so the core works without installed metadata. Other packages arrive through the entry-point
group ``cabinet``. ``CABINET_DISABLE_PLUGINS`` (comma-separated names, or ``*`` for every
entry-point plugin) and ``CABINET_PLUGINS`` (an allow-list) come from the environment.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

import attrs
import pluggy

from cabinet_core import hookspecs

PROJECT = "cabinet"

#: The core's built-in plugins, registered in this order under these names.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "cabinet_core.default_document_types",
    "cabinet_core.default_tax_rules",
    "cabinet_core.default_rate_providers",
    "cabinet_core.default_crm_backends",
    "cabinet_core.default_mailers",
    "cabinet_core.default_templates",
    "cabinet_core.default_statement_renderers",
)


#: A plugin (its module or object) that sets this attribute to ``True`` is an example for
#: plugin authors, not a feature: ``cabinet demo`` leaves it out unless asked for.
EXAMPLE_MARKER = "cabinet_example"


def example_plugins(pm: pluggy.PluginManager) -> list[str]:
    """The names of the registered plugins that mark themselves as examples
    (:data:`EXAMPLE_MARKER`)."""
    return [
        name
        for name, plugin in pm.list_name_plugin()
        if plugin is not None and getattr(plugin, EXAMPLE_MARKER, False) is True
    ]


@attrs.frozen(kw_only=True)
class PluginInfo:
    """What ``cabinet plugins`` prints for one registered plugin."""

    name: str
    package: str
    version: str
    hooks: tuple[str, ...]


def _split(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def make_plugin_manager(
    *,
    load_entrypoints: bool = True,
    extra_plugins: Iterable[object] = (),
    environ: Mapping[str, str] | None = None,
) -> pluggy.PluginManager:
    """Return a new plugin manager with the core's specs, built-ins and installed plugins.

    ``extra_plugins`` are registered last (tests and embedders wire objects this way).
    """
    env = os.environ if environ is None else environ
    disabled = _split(env.get("CABINET_DISABLE_PLUGINS"))
    allowed = _split(env.get("CABINET_PLUGINS"))
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        if name in disabled:
            continue
        pm.register(importlib.import_module(name), name=name)
    if load_entrypoints and "*" not in disabled:
        for ep in importlib.metadata.entry_points(group=PROJECT):
            if ep.name in disabled or (allowed and ep.name not in allowed):
                continue
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            plugin = ep.load()
            # Packages may add their own hookspecs (cabinet-web does); register them first.
            add_specs = getattr(plugin, "add_hookspecs", None)
            if callable(add_specs):
                add_specs(pm)
            pm.register(plugin, name=ep.name)
    for plugin in extra_plugins:
        pm.register(plugin)
    pm.check_pending()
    return pm


def _package_of(plugin: Any, name: str) -> tuple[str, str]:
    module = plugin if isinstance(plugin, ModuleType) else type(plugin)
    qualified = getattr(module, "__module__", None) or getattr(module, "__name__", name)
    top = str(qualified).split(".")[0]
    dist_names = importlib.metadata.packages_distributions().get(top, [])
    dist = dist_names[0] if dist_names else top
    try:
        found = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return dist, "unknown"
    # Editable installs are not always in packages_distributions(); the lookup by import name
    # still finds them, and the metadata gives the distribution's own name ("cabinet-web").
    return str(found.metadata["Name"] or dist), found.version


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every registered plugin with its distribution, version and the hooks it implements."""
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))
        package, version = _package_of(plugin, name)
        infos.append(PluginInfo(name=name, package=package, version=version, hooks=hooks))
    return sorted(infos, key=lambda info: (info.package, info.name))
