"""The Bitrix24 emulator is a test double in its own distribution: it uses nothing of cabinet,
and cabinet's production code never imports it at module level. Only the commands and the
demo loop that serve an emulated portal may import it, inside the function that needs it."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EMULATOR = ROOT / "packages" / "bitrix24-emulator" / "src" / "bitrix24_emulator"
#: Where a function may import the emulator: the ``cabinet bitrix-emulator`` command, the
#: Bitrix24 demo loop in cabinet-bitrix, and cabinet-web's CLI, which holds that demo loop
#: until it moves into cabinet-bitrix (issue #8, point 6).
LAZY_ALLOWED = {
    "packages/cabinet-bitrix/src/cabinet_bitrix/plugin.py",
    "packages/cabinet-bitrix/src/cabinet_bitrix/demo.py",
    "packages/cabinet-web/src/cabinet_web/cli.py",
}


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """Every absolute import in ``path``: (module, line, whether it sits inside a function)."""
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module, child.lineno, in_function))
            function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, in_function or function)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), False)
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


def _cabinet_sources() -> list[Path]:
    return sorted(
        [*ROOT.glob("packages/cabinet-*/src/**/*.py"), *ROOT.glob("plugins/*/src/**/*.py")]
    )


def test_the_emulator_imports_nothing_of_cabinet():
    modules = sorted(EMULATOR.rglob("*.py"))
    assert len(modules) > 10
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in modules
        for module, line, _ in _imports(path)
        if _top(module).startswith("cabinet")
    ]
    assert offending == []


def test_the_emulator_distribution_requires_nothing_of_cabinet():
    requires = importlib.metadata.requires("bitrix24-emulator") or []
    assert requires, "bitrix24-emulator declares its dependencies"
    assert [name for name in requires if name.lower().startswith("cabinet")] == []


def test_every_emulator_module_imports_with_cabinet_unavailable():
    # A dynamic import (importlib, __import__) escapes the scan above; this catches it.
    script = """
import importlib, importlib.abc, pkgutil, sys

class NoCabinet(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0].startswith("cabinet"):
            raise ImportError(f"the emulator imported {name}")
        return None

sys.meta_path.insert(0, NoCabinet())
import bitrix24_emulator
for module in pkgutil.walk_packages(bitrix24_emulator.__path__, "bitrix24_emulator."):
    if module.name != "bitrix24_emulator.__main__":  # that one serves
        importlib.import_module(module.name)
print(len([m for m in sys.modules if m.startswith("bitrix24_emulator")]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 10


def test_cabinet_never_imports_the_emulator_at_module_level():
    sources = _cabinet_sources()
    assert sources
    module_level, lazy = [], []
    for path in sources:
        name = path.relative_to(ROOT).as_posix()
        for module, line, in_function in _imports(path):
            if _top(module) != "bitrix24_emulator":
                continue
            if not in_function:
                module_level.append(f"{name}:{line}")
            elif name not in LAZY_ALLOWED:
                lazy.append(f"{name}:{line}")
    assert module_level == [], "production code imports the emulator at module level"
    assert lazy == [], "only the emulator command and the demo loop may import it"


def test_the_scan_sees_the_commands_own_import():
    # Guards the scan itself: the command does import the emulator, inside its function.
    plugin = ROOT / "packages/cabinet-bitrix/src/cabinet_bitrix/plugin.py"
    assert ("bitrix24_emulator.cli", True) in {
        (module, in_function) for module, _, in_function in _imports(plugin)
    }
