"""Which cabinet packages are installed, and in which versions (``cabinet --version``).

A bug report or an upgrade needs the version of every part, not just the core's: the web, the
renderer and each plugin are released as separate distributions. The list is read from the
installed distributions' metadata, never imported, so a broken plugin cannot hide the others.
"""

from __future__ import annotations

import importlib.metadata
import platform

__all__ = ["RELEASED_DISTRIBUTIONS", "installed_versions", "version_report"]

#: The distributions released from the cabinet repository, in the order they are listed.
RELEASED_DISTRIBUTIONS = (
    "cabinet-core",
    "cabinet-web",
    "cabinet-pdf",
    "cabinet-bitrix",
    "cabinet-webhook",
    "cabinet-ksef",
    "cabinet-hello",
    "bitrix24-emulator",
    "ksef-emulator",
)


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed_versions() -> list[tuple[str, str]]:
    """``(distribution, version)`` of each installed cabinet distribution, then of every other
    distribution that registers a plugin in the ``cabinet`` entry-point group (third-party
    plugins), each once."""
    found: dict[str, str] = {}
    for name in RELEASED_DISTRIBUTIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    others: dict[str, str] = {}
    for entry_point in importlib.metadata.entry_points(group="cabinet"):
        dist = entry_point.dist
        if dist is None:
            continue
        name = _canonical(dist.metadata["Name"])
        if name not in found:
            others[name] = dist.version
    return [*found.items(), *sorted(others.items())]


def version_report() -> str:
    """What ``cabinet --version`` prints: one ``name version`` line per distribution, then the
    Python that runs them."""
    lines = [f"{name} {version}" for name, version in installed_versions()]
    lines.append(f"Python {platform.python_version()}")
    return "\n".join(lines)
