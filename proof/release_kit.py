"""Helpers for the proof suites that install cabinet the way a user does: built wheels in a
fresh virtual environment outside the workspace, or a tutorial followed in an empty folder.

Nothing here imports the workspace's packages into that environment: every command runs as a
subprocess with the new environment's own interpreter, in a folder outside the repository, with
the ``CABINET_*`` variables of the test run removed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The distributions a firm installs to run the cabinet (the example plugin stays out).
RELEASED = (
    "cabinet-core",
    "cabinet-web",
    "cabinet-pdf",
    "cabinet-bitrix",
    "cabinet-webhook",
    "cabinet-ksef",
    "bitrix24-emulator",
    "ksef-emulator",
)


def uv() -> str:
    """The uv that ``dev.py`` pinned (``.tools``), or one on ``PATH``."""
    pinned = ROOT / ".tools" / "bin" / "uv"
    if pinned.exists():
        return str(pinned)
    found = shutil.which("uv")
    if found is None:
        raise RuntimeError("uv is needed: run `python3 dev.py sync` first")
    return found


def clean_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment without the test run's cabinet, uv-project and virtual-env
    variables (so nothing points back into the workspace), plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CABINET_", "VIRTUAL_ENV", "UV_PROJECT", "PYTHONPATH"))
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra or {})
    return env


def run(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run ``command``; fail with its whole output when it exits non-zero."""
    done = subprocess.run(
        list(command),
        cwd=cwd,
        env=dict(env) if env is not None else clean_environ(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {done.returncode}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


def build_wheels(dist: Path) -> dict[str, Path]:
    """Build every workspace member's wheel into ``dist``; ``{distribution name: wheel}``."""
    run([uv(), "build", "--all-packages", "--wheel", "--out-dir", str(dist)], cwd=ROOT)
    wheels = {}
    for wheel in sorted(dist.glob("*.whl")):
        wheels[wheel.name.split("-", 1)[0].replace("_", "-")] = wheel
    return wheels


def make_venv(where: Path) -> Path:
    """A fresh virtual environment at ``where`` on this interpreter; its ``python``."""
    run([uv(), "venv", "--python", sys.executable, str(where)], cwd=where.parent)
    return where / "bin" / "python"


def locked_constraints(target: Path) -> Path:
    """The third-party versions of ``uv.lock`` as a constraints file, so the wheels are
    installed with exactly the dependencies the workspace is tested with (and uv's cache
    holds them)."""
    run(
        [
            uv(),
            "export",
            "--frozen",
            "--all-packages",
            "--all-extras",
            "--no-dev",
            "--no-emit-workspace",
            "--no-hashes",
            "--output-file",
            str(target),
        ],
        cwd=ROOT,
    )
    return target


def install(python: Path, requirements: Sequence[str], *, constraints: Path | None = None) -> None:
    """``uv pip install`` into the environment of ``python``: from uv's cache alone when it holds
    everything, else from the package index."""
    command = [uv(), "pip", "install", "--python", str(python), *requirements]
    if constraints is not None:
        command += ["--constraint", str(constraints)]
    try:
        run([*command, "--offline"], cwd=python.parent)
    except AssertionError:
        run(command, cwd=python.parent)


def outside_workspace(path: Path) -> bool:
    """Whether ``path`` lies outside the repository (so nothing can be imported from it)."""
    return not path.resolve().is_relative_to(ROOT)
