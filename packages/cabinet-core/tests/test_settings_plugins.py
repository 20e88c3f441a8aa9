"""Per-plugin settings namespaces: ``CABINET_<NAMESPACE>_*`` read by the core once, overlaid by
``Settings.plugins`` set in code, handed out by ``plugin_config``."""

from __future__ import annotations

from pathlib import Path

import attrs
from cabinet_core import Cabinet, Settings


def test_the_environment_fills_a_namespace_with_lower_case_keys():
    settings = Settings.from_env(
        {
            "CABINET_BITRIX_WEBHOOK_URL": " https://portal.example/rest/1/x/ ",
            "CABINET_BITRIX_NEWS_GROUP": "12",
            "CABINET_BITRIX_PLAN": "",  # empty is unset
            "CABINET_BITRIXOTHER_KEY": "not ours",
            "CABINET_DATA_DIR": "/tmp/cabinet",
            "HOME": "/root",
        }
    )
    assert settings.plugin_config("bitrix") == {
        "webhook_url": "https://portal.example/rest/1/x/",
        "news_group": "12",
    }
    assert settings.plugin_config("webhook") == {}
    assert "HOME" not in settings.environment  # only CABINET_* variables are kept


def test_values_set_in_code_win_and_are_copied():
    mine = {"webhook_url": "https://code.example/rest/1/y/"}
    settings = Settings.from_env(
        {"CABINET_BITRIX_WEBHOOK_URL": "https://env.example/", "CABINET_BITRIX_PLAN": "enterprise"},
        plugins={"bitrix": mine},
    )
    mine["webhook_url"] = "changed later"
    assert settings.plugin_config("bitrix") == {
        "webhook_url": "https://code.example/rest/1/y/",
        "plan": "enterprise",
    }


def test_settings_built_in_code_read_no_environment(monkeypatch):
    monkeypatch.setenv("CABINET_BITRIX_WEBHOOK_URL", "https://env.example/")
    assert Settings().plugin_config("bitrix") == {}
    assert Settings(plugins={"bitrix": {"plan": "standard"}}).plugin_config("bitrix") == {
        "plan": "standard"
    }


def test_the_seen_environment_is_not_part_of_equality():
    # Two installations configured alike are equal whatever else was exported.
    assert Settings.from_env({"CABINET_X_Y": "1"}, secret_key="k") == Settings.from_env(
        {}, secret_key="k"
    )
    assert attrs.evolve(Settings(secret_key="k"), plugins={"x": {"y": "1"}}) != Settings(
        secret_key="k"
    )


def test_the_cabinet_hands_out_its_plugins_namespaces(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, plugins={"hello": {"greeting": "Dzień dobry"}})
    with Cabinet(settings, load_entrypoints=False) as cabinet:
        assert cabinet.plugin_config("hello") == {"greeting": "Dzień dobry"}
        assert cabinet.plugin_config("other") == {}
