"""The released wheels work on their own: built from the workspace, installed into a fresh
virtual environment outside it (as ``pip install cabinet-web[pdf] cabinet-core[postgresql]``
would), they answer ``cabinet --version``, run ``cabinet demo --no-serve`` and ``cabinet
migrate`` on SQLite and on a throwaway PostgreSQL database.

This is what catches a wheel that forgot its templates, migrations or fonts, an internal
dependency left unpinned, or a driver the PostgreSQL extra does not bring.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cabinet_core.testing.databases import (
    in_ci,
    postgres_server,
    postgres_unreachable,
    throwaway_database,
)
from release_kit import (
    RELEASED,
    build_wheels,
    clean_environ,
    install,
    locked_constraints,
    make_venv,
    outside_workspace,
    run,
)

pytestmark = pytest.mark.slow

SEED_DEMO_DATA = """
from pathlib import Path
import sqlalchemy as sa
from cabinet_core import Cabinet, Settings
from cabinet_web.demo import seed
with Cabinet(Settings.from_env()) as cabinet:
    seed(cabinet, Path("pg"))
    with cabinet.store.engine.connect() as db:
        print("documents", db.execute(sa.text("SELECT count(*) FROM documents")).scalar())
"""


class Installed:
    """The fresh environment: its interpreter, its ``cabinet`` script and a scratch folder."""

    def __init__(self, home: Path, python: Path, wheels: dict[str, Path]) -> None:
        self.home = home
        self.python = python
        self.cabinet = python.parent / "cabinet"
        self.wheels = wheels

    def env(self, **extra: str) -> dict[str, str]:
        path = f"{self.python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return clean_environ({"PATH": path, **extra})

    def cabinet_run(self, *args: str, **extra: str) -> str:
        return run([str(self.cabinet), *args], cwd=self.home, env=self.env(**extra)).stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    home = tmp_path_factory.mktemp("wheels")
    assert outside_workspace(home), f"{home} must lie outside the repository"
    wheels = build_wheels(home / "dist")
    assert set(RELEASED) | {"cabinet-hello"} == set(wheels), sorted(wheels)
    python = make_venv(home / "venv")
    extras = {"cabinet-core": "[postgresql]", "cabinet-web": "[pdf]"}
    # Each wheel by its file, so no internal package can be taken from an index instead.
    requirements = [f"{name}{extras.get(name, '')} @ {wheels[name].as_uri()}" for name in RELEASED]
    install(python, requirements, constraints=locked_constraints(home / "constraints.txt"))
    yield Installed(home, python, wheels)


def test_the_packages_come_from_the_new_environment(installed: Installed) -> None:
    shown = run(
        [
            str(installed.python),
            "-c",
            "import cabinet_core, cabinet_web, cabinet_pdf, psycopg\n"
            "for module in (cabinet_core, cabinet_web, cabinet_pdf, psycopg):\n"
            "    print(module.__file__)",
        ],
        cwd=installed.home,
        env=installed.env(),
    ).stdout.split()
    for module_file in shown:
        assert Path(module_file).is_relative_to(installed.home / "venv"), module_file


def test_internal_dependencies_are_pinned_to_the_minor_version(installed: Installed) -> None:
    requires = run(
        [
            str(installed.python),
            "-c",
            "import importlib.metadata as m; print('\\n'.join(m.requires('cabinet-web')))",
        ],
        cwd=installed.home,
        env=installed.env(),
    ).stdout.splitlines()
    (core,) = [line for line in requires if line.startswith("cabinet-core")]
    major, minor = importlib.metadata.version("cabinet-core").split(".")[:2]
    assert core == f"cabinet-core<{major}.{int(minor) + 1},>={major}.{minor}.0"


def test_version_lists_every_installed_package(installed: Installed) -> None:
    lines = installed.cabinet_run("--version").splitlines()
    versions = dict(line.split(" ", 1) for line in lines)
    for name in RELEASED:
        assert versions[name] == importlib.metadata.version(name), name
    assert "cabinet-hello" not in versions  # the example plugin was not installed
    assert lines[-1].startswith("Python 3.")


def test_demo_without_serving_seeds_a_sqlite_cabinet(installed: Installed) -> None:
    demo_dir = installed.home / "demo"
    out = installed.cabinet_run("demo", "--no-serve", "--data-dir", str(demo_dir))
    assert "Demo cabinet: http://127.0.0.1:8000/" in out
    assert re.search(r"^\s+admin\s+\S+@\S+\s+\S+$", out, re.MULTILINE), out
    with sqlite3.connect(demo_dir / "cabinet.sqlite3") as db:
        (clients,) = db.execute("SELECT count(*) FROM clients").fetchone()
        (documents,) = db.execute("SELECT count(*) FROM documents").fetchone()
    assert clients > 0
    assert documents > 0


def test_migrate_on_sqlite(installed: Installed) -> None:
    data = installed.home / "sqlite"
    out = installed.cabinet_run("--data-dir", str(data), "migrate")
    assert f"database is up to date: sqlite:///{data}/cabinet.sqlite3" in out
    tables = installed.cabinet_run("--data-dir", str(data), "clients", "list").split()
    assert tables == ["id", "nip", "manager", "active", "accounts", "name"]  # empty, but there


def test_migrate_and_use_postgresql(installed: Installed) -> None:
    server = postgres_server()
    problem = postgres_unreachable(server)
    if problem is not None:
        if in_ci():
            pytest.fail(problem)
        pytest.skip(problem)
    with throwaway_database(server, prefix="cabinet_wheels") as url:
        settings = {"CABINET_DATABASE_URL": url, "CABINET_DATA_DIR": str(installed.home / "pg")}
        out = installed.cabinet_run("migrate", **settings)
        assert "database is up to date: postgresql+psycopg://" in out
        installed.cabinet_run(
            "clients", "create", "--name", "Żabka Sp. z o.o.", "--nip", "5260250274", **settings
        )
        listed = installed.cabinet_run("clients", "list", **settings)
        assert "Żabka Sp. z o.o." in listed
        assert "5260250274" in listed
        # `cabinet demo` always runs on its own SQLite file; the demo's data on PostgreSQL
        # (users, clients, issued documents) is seeded by the same function the demo calls.
        seeded = run(
            [str(installed.python), "-c", SEED_DEMO_DATA],
            cwd=installed.home,
            env=installed.env(**settings),
        ).stdout.split()
        assert seeded[0] == "documents" and int(seeded[1]) > 0, seeded
