#!/usr/bin/env python3
"""One-command set-up for a fresh machine that has only Python 3.11+ and pip.

    python3 dev.py demo [--port 8000]   set everything up, start the cabinet with demo data
    python3 dev.py test                 set everything up, run the whole test suite (nox)
    python3 dev.py nox -s lint          any nox session

It makes ``.tools/`` (a venv with pinned uv and nox), then lets uv build ``.venv`` from the
committed ``uv.lock``. uv is never allowed to download an interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
TOOL_PINS = ["uv==0.13.9", "nox==2026.10.20"]


def _bin(env: Path, name: str) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_tools() -> None:
    marker = TOOLS / ".pins"
    if marker.exists() and marker.read_text() == "\n".join(TOOL_PINS):
        return
    if not _bin(TOOLS, "python").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
    subprocess.run(
        [
            str(_bin(TOOLS, "python")),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *TOOL_PINS,
        ],
        check=True,
    )
    marker.write_text("\n".join(TOOL_PINS))


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_PYTHON"] = sys.executable
    env["PATH"] = f"{_bin(TOOLS, '')}{os.pathsep}{env.get('PATH', '')}"
    return env


def sync(env: dict[str, str]) -> None:
    subprocess.run(
        [str(_bin(TOOLS, "uv")), "sync", "--frozen", "--all-packages", "--group", "dev"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def summarize(reports: Path) -> str:
    """One closing line over every pytest run that nox made (each wrote a JUnit XML file)."""
    import xml.etree.ElementTree as ET

    passed = failed = skipped = 0
    for path in sorted(reports.glob("*.xml")):
        for suite in ET.parse(path).getroot().iter("testsuite"):
            tests = int(suite.get("tests", 0))
            bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skip = int(suite.get("skipped", 0))
            passed += tests - bad - skip
            failed += bad
            skipped += skip
    return f"total: {passed} passed, {failed} failed, {skipped} skipped"


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "nox", "sync"}:
        print(__doc__)
        return 2
    ensure_tools()
    env = tool_env()
    command, rest = argv[0], argv[1:]
    if command == "nox":
        return subprocess.call([str(_bin(TOOLS, "nox")), *rest], cwd=ROOT, env=env)
    if command == "test":
        reports = ROOT / ".nox-reports"
        for old in reports.glob("*.xml"):
            old.unlink()
        code = subprocess.call([str(_bin(TOOLS, "nox")), *rest], cwd=ROOT, env=env)
        print(summarize(reports))
        return code
    sync(env)
    if command == "sync":
        return 0
    return subprocess.call([str(_bin(ROOT / ".venv", "cabinet")), "demo", *rest], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
