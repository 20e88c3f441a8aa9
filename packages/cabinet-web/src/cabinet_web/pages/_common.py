"""What every page endpoint needs: the public web kit (:mod:`cabinet_web.kit`) under the names
the built-in pages import."""

from __future__ import annotations

from cabinet_web.kit import (
    Endpoint,
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    pop_flashes,
    read_form,
    redirect,
    render,
    run,
    safe_next,
)

__all__ = [
    "Endpoint",
    "actor_of",
    "cabinet_of",
    "errors_by_field",
    "flash",
    "page",
    "pop_flashes",
    "read_form",
    "redirect",
    "render",
    "run",
    "safe_next",
]
