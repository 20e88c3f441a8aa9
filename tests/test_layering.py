"""The layering the architecture promises, read from the sources' imports (an AST scan, so a
name in a docstring or comment does not count, and imports under ``if TYPE_CHECKING:`` are
allowed: they never run).

* cabinet-core imports no plugin and no web package;
* cabinet-bitrix never imports cabinet-web (it reaches the web only through hooks and the web kit
  the app hands it as ``request.app.state.kit``);
* cabinet-web never names cabinet-bitrix (the demo loop, catalog and commands come through hooks).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "packages"
#: Every first-party distribution's import name that the core must never import.
NOT_FOR_THE_CORE = (
    "cabinet_web",
    "cabinet_bitrix",
    "cabinet_pdf",
    "cabinet_hello",
    "cabinet_webhook",
    "cabinet_ksef",
)


def sources(package: str, module: str) -> list[Path]:
    found = sorted((PACKAGES / package / "src" / module).rglob("*.py"))
    assert found, f"no sources under packages/{package}/src/{module}"
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, module)`` of every import that runs (``if TYPE_CHECKING:`` bodies skipped);
    a dynamic ``importlib.import_module("x")`` with a literal counts too."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                skipped.update(id(inner) for inner in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def offending_imports(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in runtime_imports(tree):
            if module.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


def names_in_code(paths: list[Path], name: str) -> list[str]:
    """Where ``name`` appears as an identifier, an attribute, an import or a string literal
    outside ``if TYPE_CHECKING:`` (docstrings excepted: prose may mention a plugin)."""
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for line, module in runtime_imports(tree):
            if name in module.split("."):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.Name):
                text = node.id
            elif isinstance(node, ast.Attribute):
                text = node.attr
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                text = node.value
            if text is not None and name in text:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} names {name}")
    return sorted(set(found))


def test_the_scan_sees_type_checking_and_dynamic_imports():
    # Guards the scanner: without this, a broken walk would make every rule pass.
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import cabinet_web.kit\n"
        "if TYPE_CHECKING:\n"
        "    from cabinet_web import kit\n"
        "def f():\n"
        "    from cabinet_web.i18n import translations\n"
        "    importlib.import_module('cabinet_bitrix.web')\n"
    )
    assert [module for _, module in runtime_imports(tree)] == [
        "typing",
        "cabinet_web.kit",
        "cabinet_web.i18n",
        "cabinet_bitrix.web",
    ]


def test_the_core_imports_no_plugin_and_no_web():
    found = offending_imports(sources("cabinet-core", "cabinet_core"), NOT_FOR_THE_CORE)
    assert not found, "\n".join(found)


def plugin_sources(name: str, module: str) -> list[Path]:
    found = sorted((ROOT / "plugins" / name / "src" / module).rglob("*.py"))
    assert found, f"no sources under plugins/{name}/src/{module}"
    return found


@pytest.mark.parametrize(
    "paths",
    [
        sources("cabinet-bitrix", "cabinet_bitrix"),
        plugin_sources("cabinet-webhook", "cabinet_webhook"),
        plugin_sources("cabinet-ksef", "cabinet_ksef"),
    ],
    ids=["cabinet_bitrix", "cabinet_webhook", "cabinet_ksef"],
)
def test_plugins_never_import_cabinet_web(paths):
    # They reach the web through hooks and the kit the app hands them (request.app.state.kit).
    found = offending_imports(paths, ("cabinet_web",))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", ["cabinet_bitrix", "cabinet_webhook", "cabinet_ksef"])
def test_cabinet_web_never_names_a_plugin(name):
    found = names_in_code(sources("cabinet-web", "cabinet_web"), name)
    assert not found, "\n".join(found)


#: The CRM plugins: they read and write the cabinet through their sync port (and their web face
#: through the services the kernel offers), never through the store.
CRM_PLUGINS = [
    sources("cabinet-bitrix", "cabinet_bitrix"),
    plugin_sources("cabinet-webhook", "cabinet_webhook"),
    # Not a CRM, but the same rule: the KSeF plugin works through its KsefPort.
    plugin_sources("cabinet-ksef", "cabinet_ksef"),
]


def store_uses(paths: list[Path]) -> list[str]:
    """Imports of ``cabinet_core.storage`` and ``.store`` attribute reads, outside
    ``if TYPE_CHECKING:``."""
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in runtime_imports(tree):
            if module.startswith("cabinet_core.storage"):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "store":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} reads .store")
    return found


@pytest.mark.parametrize(
    "paths", CRM_PLUGINS, ids=["cabinet_bitrix", "cabinet_webhook", "cabinet_ksef"]
)
def test_crm_plugins_never_touch_the_store(paths):
    assert paths, "no sources found"
    found = store_uses(paths)
    assert not found, "\n".join(found)
