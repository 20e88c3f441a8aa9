"""Settings checked at start (cabinet_core.configuration): each wrong setting is one problem
naming it; the SMTP mailer's check comes through the check_configuration hook."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pluggy
import pytest
from cabinet_core import Settings, hookimpl
from cabinet_core.configuration import (
    ConfigurationError,
    Problem,
    bind_port,
    check_database,
    check_settings,
    problem_from_error,
    registered_names,
)
from cabinet_core.plugins import make_plugin_manager
from cabinet_core.settings import SmtpSettings


@pytest.fixture
def pm() -> pluggy.PluginManager:
    return make_plugin_manager(load_entrypoints=False)


def problems(pm, **values: object) -> list[str]:
    settings = Settings(**values)  # type: ignore[arg-type]
    return [str(problem) for problem in check_settings(settings, pm)]


def test_the_defaults_are_fine(pm: pluggy.PluginManager, tmp_path: Path) -> None:
    assert problems(pm, data_dir=tmp_path) == []


def test_the_built_in_names(pm: pluggy.PluginManager) -> None:
    names = registered_names(pm)
    assert names["crm_backends"] == {"null"}
    assert names["mailers"] == {"folder", "smtp"}
    assert {"offline", "nbp"} <= names["rate_providers"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"crm_backends": ("null", "bitrix")},
            "CABINET_CRM_BACKENDS: no CRM backend named 'bitrix' is installed (known: null)",
        ),
        (
            {"mailer": "smpt"},
            "CABINET_MAILER: no mailer named 'smpt' is installed (known: folder, smtp)",
        ),
        ({"default_language": "de"}, "CABINET_DEFAULT_LANGUAGE: 'de' is not one of pl, en"),
        ({"base_url": "cabinet.example.pl"}, "CABINET_BASE_URL: not an http(s) URL: "),
        ({"log_format": "xml"}, "CABINET_LOG_FORMAT: 'xml' is not one of text, json"),
        (
            {"worker_heartbeat_seconds": 10},
            "CABINET_WORKER_HEARTBEAT_SECONDS: 0 (no check) or at least 30, got 10",
        ),
        ({"metrics_allow": ("10.0.0.0/8", "intranet")}, "CABINET_METRICS_ALLOW: not an address"),
        ({"metrics_token": "short"}, "CABINET_METRICS_TOKEN: needs at least 16 characters"),
        ({"database_url": "mysql://x@y/z"}, "CABINET_DATABASE_URL: unsupported database 'mysql'"),
        ({"database_url": "not a url"}, "CABINET_DATABASE_URL: not a database URL"),
        (
            {"mailer": "smtp", "smtp": SmtpSettings(host="", port=70000)},
            "CABINET_SMTP_HOST: is empty; the smtp mailer needs a server",
        ),
        (
            {"mailer": "smtp", "smtp": SmtpSettings(ssl=True, starttls=True)},
            "CABINET_SMTP_STARTTLS: set together with CABINET_SMTP_SSL; choose one",
        ),
    ],
)
def test_each_wrong_setting_is_named(
    pm: pluggy.PluginManager, tmp_path: Path, values: dict[str, object], expected: str
) -> None:
    found = problems(pm, data_dir=tmp_path, **values)
    assert found and found[0].startswith(expected), found


def test_smtp_settings_are_checked_only_for_the_smtp_mailer(
    pm: pluggy.PluginManager, tmp_path: Path
) -> None:
    broken = SmtpSettings(host="", port=0)
    assert problems(pm, data_dir=tmp_path, smtp=broken) == []
    assert problems(pm, data_dir=tmp_path, mailer="smtp", smtp=broken) == [
        "CABINET_SMTP_HOST: is empty; the smtp mailer needs a server",
        "CABINET_SMTP_PORT: not a port number: 0",
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_data_dir_that_cannot_be_written(pm: pluggy.PluginManager, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert problems(pm, data_dir=locked)[0].startswith("CABINET_DATA_DIR: cannot write in")


def test_a_data_dir_under_a_file(pm: pluggy.PluginManager, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    found = problems(pm, data_dir=tmp_path / "file" / "data")
    assert found[0].startswith("CABINET_DATA_DIR: cannot create ")


def test_plugins_add_their_problems(pm, tmp_path: Path) -> None:
    class Checker:
        @hookimpl
        def check_configuration(self, settings: Settings) -> list[Problem]:
            if not settings.plugin_config("acme").get("token"):
                return [Problem("CABINET_ACME_TOKEN", "is not set")]
            return []

    pm.register(Checker())
    assert problems(pm, data_dir=tmp_path) == ["CABINET_ACME_TOKEN: is not set"]
    assert problems(pm, data_dir=tmp_path, plugins={"acme": {"token": "t"}}) == []


def test_from_env_names_a_malformed_number() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"CABINET_WORKER_HEARTBEAT_SECONDS": "two minutes"})
    assert str(raised.value.problem) == (
        "CABINET_WORKER_HEARTBEAT_SECONDS: not a whole number: 'two minutes'"
    )


def test_from_env_reads_the_operations_settings() -> None:
    settings = Settings.from_env(
        {
            "CABINET_LOG_FORMAT": "JSON",
            "CABINET_METRICS_TOKEN": " t0ken ",
            "CABINET_METRICS_ALLOW": "10.0.0.0/8, 192.0.2.1",
            "CABINET_WORKER_HEARTBEAT_SECONDS": "0",
        }
    )
    assert settings.log_format == "json"
    assert settings.metrics_token == "t0ken"
    assert settings.metrics_allow == ("10.0.0.0/8", "192.0.2.1")
    assert settings.worker_heartbeat_seconds == 0
    assert "t0ken" not in repr(settings)


def test_problem_from_a_plugins_value_error() -> None:
    error = ValueError("CABINET_BITRIX_PLAN must be one of ['enterprise', 'standard'], not 'x'")
    assert problem_from_error(error, default_setting="CABINET_BITRIX_*") == Problem(
        "CABINET_BITRIX_PLAN", "must be one of ['enterprise', 'standard'], not 'x'"
    )
    plain = ValueError("the secret is empty")
    assert problem_from_error(plain, default_setting="CABINET_X_*") == Problem(
        "CABINET_X_*", "the secret is empty"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_database_is_one_line() -> None:
    url = f"postgresql://cabinet:s3cret@127.0.0.1:{free_port()}/cabinet"
    problem = check_database(Settings(database_url=url))
    assert problem is not None and problem.setting == "CABINET_DATABASE_URL"
    assert problem.message.startswith("cannot connect to postgresql://cabinet:***@127.0.0.1:")
    assert "s3cret" not in problem.message and "\n" not in problem.message


def test_a_reachable_database(tmp_path: Path) -> None:
    assert check_database(Settings(data_dir=tmp_path)) is None


def test_bind_port_takes_the_port_or_names_the_option() -> None:
    with bind_port("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigurationError) as raised:
            bind_port("127.0.0.1", port)
    assert str(raised.value.problem) == (
        f"--port: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


def test_a_missing_multiprocess_directory(
    pm: pluggy.PluginManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "absent"))
    assert problems(pm, data_dir=tmp_path) == [
        f"PROMETHEUS_MULTIPROC_DIR: not a writable directory: {tmp_path / 'absent'}"
    ]
    (tmp_path / "absent").mkdir()
    assert problems(pm, data_dir=tmp_path) == []


def test_web_threads_size_the_database_pool(tmp_path: Path) -> None:
    settings = Settings.from_env({"CABINET_WEB_THREADS": "12"})
    assert settings.web_threads == 12
    from cabinet_core.storage import Store

    store = Store.from_url(f"sqlite:///{tmp_path / 'c.sqlite3'}", threads=settings.web_threads)
    try:
        # A connection per thread plus two kept; a burst may open four more.
        assert store.engine.pool.size() == 14  # type: ignore[attr-defined]
        assert store.engine.pool._max_overflow == 4  # type: ignore[attr-defined]
    finally:
        store.close()
    # An in-memory database has one connection per thread by its nature: no sizes to give.
    Store.from_url("sqlite://", threads=12).close()


def test_web_threads_must_be_positive(pm: pluggy.PluginManager, tmp_path: Path) -> None:
    settings = Settings.from_env({"CABINET_WEB_THREADS": "0", "CABINET_DATA_DIR": str(tmp_path)})
    assert Problem("CABINET_WEB_THREADS", "must be positive") in check_settings(settings, pm)
