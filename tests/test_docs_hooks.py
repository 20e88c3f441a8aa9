"""docs/plugins/hooks.md documents every hook, with the right arguments, and nothing else; and
every hook has at least one implementation among the installed plugins.

A hook exists three times (CONVENTIONS.md): the spec in a ``hookspecs`` module, a heading
``## name(arg, ...)`` in the docs, and a real implementation. These tests keep them in step.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import cabinet_core.hookspecs
import cabinet_web.hookspecs
import pytest
from cabinet_core import Cabinet, Settings

HOOKS_MD = Path(__file__).resolve().parents[1] / "docs" / "plugins" / "hooks.md"
SPEC_MODULES: tuple[ModuleType, ...] = (cabinet_core.hookspecs, cabinet_web.hookspecs)
HEADING = re.compile(r"^##\s+(?P<name>\w+)\((?P<args>[^)]*)\)\s*$")


def hookspecs() -> dict[str, tuple[str, ...]]:
    """Every function marked ``@hookspec`` in the spec modules, with its argument names."""
    specs: dict[str, tuple[str, ...]] = {}
    for module in SPEC_MODULES:
        for name, function in vars(module).items():
            if inspect.isfunction(function) and hasattr(function, "cabinet_spec"):
                assert name not in specs, f"hook {name} is specified twice"
                specs[name] = tuple(inspect.signature(function).parameters)
    return specs


def documented(text: str | None = None) -> dict[str, tuple[str, ...]]:
    """Every ``## name(arg, ...)`` heading of hooks.md (or of ``text``), outside code blocks."""
    if text is None:
        text = HOOKS_MD.read_text(encoding="utf-8")
    found: dict[str, tuple[str, ...]] = {}
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else HEADING.match(line)
        if match:
            name = match["name"]
            assert name not in found, f"hook {name} is documented twice"
            found[name] = tuple(arg.strip() for arg in match["args"].split(",") if arg.strip())
    return found


def test_the_spec_modules_have_hooks():
    # Guards the collection itself: a renamed marker attribute would make every check vacuous.
    assert {"register_document_types", "document_saved", "menu_links"} <= set(hookspecs())


def test_headings_are_read_with_their_arguments_and_code_blocks_skipped():
    text = "\n".join(
        [
            "## Core hooks",
            "## document_saved(cabinet, document,actor, created)",
            "```python",
            "## not_a_heading(x)",
            "```",
            "## template_dirs()",
        ]
    )
    assert documented(text) == {
        "document_saved": ("cabinet", "document", "actor", "created"),
        "template_dirs": (),
    }


@pytest.mark.parametrize("name", sorted(hookspecs()))
def test_every_hook_is_documented_with_its_arguments(name):
    docs = documented()
    assert name in docs, f"hook {name} has no '## {name}(...)' heading in {HOOKS_MD.name}"
    assert docs[name] == hookspecs()[name], (
        f"{HOOKS_MD.name} documents {name}({', '.join(docs[name])}) "
        f"but the spec is {name}({', '.join(hookspecs()[name])})"
    )


def test_nothing_is_documented_that_does_not_exist():
    assert set(documented()) - set(hookspecs()) == set()


@pytest.fixture(scope="module")
def cabinet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cabinet]:
    """A cabinet with every installed plugin (entry points), on a throwaway SQLite file."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("docs-hooks"))
    with Cabinet(settings) as cab:
        yield cab


@pytest.mark.parametrize("name", sorted(hookspecs()))
def test_every_hook_has_an_implementation(cabinet, name):
    caller = getattr(cabinet.pm.hook, name)
    assert caller.has_spec(), f"hook {name} was not added to the cabinet's plugin manager"
    implementations = [impl.plugin_name for impl in caller.get_hookimpls()]
    assert implementations, f"no installed plugin implements {name}"
