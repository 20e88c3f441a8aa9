"""The plugin tutorial (docs/plugins/writing-plugins.md) works when followed literally.

Its whole-file code blocks (the first line names the file in a comment) are written into an
empty folder outside the repository, then its one ``bash`` block is run there as it stands:
a fresh virtual environment, the documented ``pip install``, the documented tests, the
``try_it.py`` script and ``cabinet plugins``. Only ``CABINET_REPO`` (the checkout the page tells
the reader to point at) and ``python3`` (this interpreter) come from the test run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import pytest
from release_kit import ROOT, clean_environ, outside_workspace

pytestmark = pytest.mark.slow

TUTORIAL = ROOT / "docs" / "plugins" / "writing-plugins.md"
EXAMPLE = ROOT / "plugins" / "cabinet-hello"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
FILE_NAME = re.compile(r"^(?:#|\{#)\s*([\w./-]+\.\w+)\s*(?:#\})?$")


def blocks() -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced block, in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(TUTORIAL.read_text("utf-8"))]


def files() -> dict[str, str]:
    """The whole files the page gives: ``{relative path: content}``."""
    found: dict[str, str] = {}
    for _language, body in blocks():
        named = FILE_NAME.match(body.splitlines()[0]) if body else None
        if named:
            assert named.group(1) not in found, f"{named.group(1)} is given twice"
            found[named.group(1)] = body
    return found


def test_the_page_gives_every_file_of_the_plugin() -> None:
    assert set(files()) == {
        "pyproject.toml",
        "src/cabinet_hello/__init__.py",
        "src/cabinet_hello/power_of_attorney.py",
        "src/cabinet_hello/templates/home.html",
        "tests/test_power_of_attorney.py",
        "try_it.py",
    }


def test_the_page_shows_the_example_plugins_own_code() -> None:
    """The walkthrough and plugins/cabinet-hello never drift apart."""
    given = files()
    for module in ("__init__.py", "power_of_attorney.py"):
        path = f"src/cabinet_hello/{module}"
        shown = given[path].split("\n", 1)[1]  # after the file-name comment
        assert shown == (EXAMPLE / path).read_text("utf-8"), path
    shown = tomllib.loads(given["pyproject.toml"])
    actual = tomllib.loads((EXAMPLE / "pyproject.toml").read_text("utf-8"))
    for key in ("name", "version", "requires-python", "dependencies", "entry-points"):
        assert shown["project"][key] == actual["project"][key], key
    assert shown["build-system"] == actual["build-system"]
    assert shown["tool"] == actual["tool"]  # hatch's wheel target, and no uv workspace source


def test_following_the_tutorial_in_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "cabinet-hello"
    folder.mkdir()
    assert outside_workspace(folder)
    for name, content in files().items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    (script,) = [body for language, body in blocks() if language == "bash"]

    # `python3` is this interpreter's base Python (the page asks for 3.11 or newer).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    base_python = Path(getattr(sys, "_base_executable", sys.executable))
    (bin_dir / "python3").symlink_to(base_python)
    env = clean_environ(
        {
            "CABINET_REPO": str(ROOT),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
    )
    done = subprocess.run(
        ["sh", "-e", "-c", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert re.search(r"^6 passed", done.stdout, re.MULTILINE), output
    year = date.today().year
    assert f"signed PEL/1/{year}\nsigned PEL/2/{year}\n" in done.stdout
    (listed,) = [line for line in done.stdout.splitlines() if line.startswith("cabinet_hello ")]
    # The sample output's row (the pyproject's entry-point line starts the same way).
    (documented,) = [
        line
        for line in TUTORIAL.read_text("utf-8").splitlines()
        if line.startswith("cabinet_hello ") and " cabinet-hello " in line
    ]
    assert listed.split() == documented.split()
    # The plugin came from the folder, the core from the checkout, both into the new venv.
    shown = subprocess.run(
        [
            str(folder / ".venv" / "bin" / "python"),
            "-c",
            "import cabinet_hello; print(cabinet_hello.__file__)",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(shown) == folder / "src" / "cabinet_hello" / "__init__.py"
