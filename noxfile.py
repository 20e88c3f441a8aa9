"""Every session a developer or CI runs. ``python3 dev.py test`` runs the default ones.

Each package is tested alone (only its own dependencies from ``uv.lock`` installed) and all
together (integration). The database tests run on SQLite always and on PostgreSQL when
``CABINET_TEST_POSTGRES_URL`` points at a server (CI sets it and makes its absence an error).
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.sessions = [
    "lint",
    "types",
    "core",
    "pdf",
    "bitrix",
    "web",
    "emulator",
    "ksef-emulator",
    "integration",
    "proof",
    "docs",
]

PACKAGES = {
    "core": "cabinet-core",
    "pdf": "cabinet-pdf",
    "bitrix": "cabinet-bitrix",
    "web": "cabinet-web",
    "emulator": "bitrix24-emulator",
    "ksef-emulator": "ksef-emulator",
}


def _sync(session: nox.Session, *args: str) -> None:
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        "--no-default-groups",
        *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location, "UV_PYTHON_DOWNLOADS": "never"},
        external=True,
    )


def _pytest(session: nox.Session, *paths: str) -> None:
    # Each run leaves a JUnit report; dev.py adds them up into one closing line.
    report = f".nox-reports/{session.name}.xml"
    session.run("python", "-m", "pytest", *paths, f"--junitxml={report}", *session.posargs)


def _package_session(short: str, package: str) -> None:
    @nox.session(name=short)
    def run(session: nox.Session) -> None:
        _sync(session, "--package", package, "--group", "test")
        _pytest(session, f"packages/{package}/tests")

    run.__doc__ = f"Install {package} alone and run its tests."
    globals()[f"session_{short}"] = run


for _short, _package in PACKAGES.items():
    _package_session(_short, _package)


@nox.session
def integration(session: nox.Session) -> None:
    """All packages and plugins together: cross-package, plugin and browser tests."""
    _sync(session, "--all-packages", "--group", "dev")
    _pytest(session, "tests", "plugins")


@nox.session
def proof(session: nox.Session) -> None:
    """The slow proof suites (``proof/``): isolation, fuzzing, faults, load, accessibility."""
    _sync(session, "--all-packages", "--group", "dev")
    _pytest(session, "proof")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml) built into site/ with warnings as errors."""
    _sync(session, "--all-packages", "--group", "docs")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check over the whole tree."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


# Every package and plugin ships py.typed, so each is checked as its users' type checker sees it.
TYPED_SOURCES = [
    "packages/cabinet-core/src/cabinet_core",
    "packages/cabinet-pdf/src/cabinet_pdf",
    "packages/cabinet-bitrix/src/cabinet_bitrix",
    "packages/cabinet-web/src/cabinet_web",
    "packages/bitrix24-emulator/src/bitrix24_emulator",
    "packages/ksef-emulator/src/ksef_emulator",
    "plugins/cabinet-hello/src/cabinet_hello",
    "plugins/cabinet-webhook/src/cabinet_webhook",
    "plugins/cabinet-ksef/src/cabinet_ksef",
]


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict on every package and plugin (their test groups bring the stub packages)."""
    _sync(session, "--all-packages", "--group", "test")
    session.install("mypy==2.4.1")
    session.run("mypy", "--strict", *TYPED_SOURCES)


@nox.session
def demo(session: nox.Session) -> None:
    """Start the cabinet with demo data (same as ``python3 dev.py demo``)."""
    _sync(session, "--all-packages")
    session.run("cabinet", "demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks; results go to bench/results and the ratios to docs/performance.md."""
    _sync(session, "--all-packages", "--group", "dev")
    session.run("python", "-m", "bench", *session.posargs)
