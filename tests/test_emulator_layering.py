"""The emulators (Bitrix24, KSeF) are test doubles in their own distributions: each uses nothing
of cabinet, and cabinet's production code never imports one at module level. Only the commands
and the demo loops that serve an emulated service may import it, inside the function that needs
it."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Each emulator: its distribution, its sources, and where a function may import it (the
#: plugin's emulator command and demo loop; cabinet-web reaches the loops through the
#: ``demo_loops`` hook and never names an emulator).
EMULATORS = {
    "bitrix24_emulator": (
        "bitrix24-emulator",
        ROOT / "packages" / "bitrix24-emulator" / "src" / "bitrix24_emulator",
        {
            "packages/cabinet-bitrix/src/cabinet_bitrix/plugin.py",
            "packages/cabinet-bitrix/src/cabinet_bitrix/demo.py",
        },
    ),
    "ksef_emulator": (
        "ksef-emulator",
        ROOT / "packages" / "ksef-emulator" / "src" / "ksef_emulator",
        {
            "plugins/cabinet-ksef/src/cabinet_ksef/plugin.py",
            "plugins/cabinet-ksef/src/cabinet_ksef/demo.py",
        },
    ),
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


@pytest.mark.parametrize("emulator", EMULATORS)
def test_the_emulator_imports_nothing_of_cabinet(emulator):
    modules = sorted(EMULATORS[emulator][1].rglob("*.py"))
    assert len(modules) > 10
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in modules
        for module, line, _ in _imports(path)
        if _top(module).startswith("cabinet")
    ]
    assert offending == []


@pytest.mark.parametrize("emulator", EMULATORS)
def test_the_emulator_distribution_requires_nothing_of_cabinet(emulator):
    distribution = EMULATORS[emulator][0]
    requires = importlib.metadata.requires(distribution) or []
    assert requires, f"{distribution} declares its dependencies"
    assert [name for name in requires if name.lower().startswith("cabinet")] == []


@pytest.mark.parametrize("emulator", EMULATORS)
def test_every_emulator_module_imports_with_cabinet_unavailable(emulator):
    # A dynamic import (importlib, __import__) escapes the scan above; this catches it.
    script = (
        """
import importlib, importlib.abc, pkgutil, sys

class NoCabinet(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0].startswith("cabinet"):
            raise ImportError(f"the emulator imported {name}")
        return None

sys.meta_path.insert(0, NoCabinet())
import EMULATOR as emulator
for module in pkgutil.walk_packages(emulator.__path__, "EMULATOR."):
    if module.name != "EMULATOR.__main__":  # that one serves
        importlib.import_module(module.name)
print(len([m for m in sys.modules if m.startswith("EMULATOR")]))
"""
    ).replace("EMULATOR", emulator)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 10


@pytest.mark.parametrize("emulator", EMULATORS)
def test_cabinet_never_imports_the_emulator_at_module_level(emulator):
    lazy_allowed = EMULATORS[emulator][2]
    sources = _cabinet_sources()
    assert sources
    module_level, lazy = [], []
    for path in sources:
        name = path.relative_to(ROOT).as_posix()
        for module, line, in_function in _imports(path):
            if _top(module) != emulator:
                continue
            if not in_function:
                module_level.append(f"{name}:{line}")
            elif name not in lazy_allowed:
                lazy.append(f"{name}:{line}")
    assert module_level == [], "production code imports the emulator at module level"
    assert lazy == [], "only the emulator command and the demo loop may import it"


@pytest.mark.parametrize(
    ("plugin", "module"),
    [
        ("packages/cabinet-bitrix/src/cabinet_bitrix/plugin.py", "bitrix24_emulator.cli"),
        ("plugins/cabinet-ksef/src/cabinet_ksef/plugin.py", "ksef_emulator.cli"),
    ],
)
def test_the_scan_sees_the_commands_own_import(plugin, module):
    # Guards the scan itself: the command does import the emulator, inside its function.
    assert (module, True) in {
        (found, in_function) for found, _, in_function in _imports(ROOT / plugin)
    }
