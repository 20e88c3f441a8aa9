"""A cabinet web app wired to the emulator both ways (the backend calls the emulator in-process;
the emulator's events are posted to the app), for the web and demo-loop tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import cabinet_bitrix.plugin as bitrix_plugin
import httpx
from bitrix24_emulator import Emulator
from cabinet_bitrix.settings import NAMESPACE
from cabinet_core import Cabinet, Settings
from cabinet_core.hookspecs import Register, hookimpl
from starlette.testclient import TestClient

BASE_URL = "https://cabinet.example"


class EmulatedBitrixPlugin:
    """cabinet-bitrix's plugin with the ``bitrix24`` backend built on the emulator's transport."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    @hookimpl
    def register_crm_backends(self, register: Register) -> None:
        register(
            "bitrix24",
            lambda cabinet: bitrix_plugin.compose_backend(
                cabinet, transport=self.emulator.transport()
            ),
        )

    @hookimpl(optionalhook=True)
    def register_routes(self, register: Callable[[Any], None]) -> None:
        bitrix_plugin.register_routes(register)

    @hookimpl(optionalhook=True)
    def template_dirs(self) -> list[str]:
        return bitrix_plugin.template_dirs()

    @hookimpl(optionalhook=True)
    def settings_pages(self, actor: Any, request: Any) -> Any:
        return bitrix_plugin.settings_pages(actor, request)

    @hookimpl(optionalhook=True)
    def translation_dirs(self) -> list[str]:
        return bitrix_plugin.translation_dirs()

    @hookimpl(optionalhook=True)
    def static_dirs(self) -> dict[str, str]:
        return bitrix_plugin.static_dirs()


def bitrix_namespace(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``bitrix`` settings namespace that ``CABINET_BITRIX_*`` variables give (read the way
    the core reads them, without touching this process's environment)."""
    return Settings.from_env(environ).plugin_config(NAMESPACE)


def emulated_cabinet(tmp_path: Path, emulator: Emulator, environ: Mapping[str, str]) -> Cabinet:
    """A migrated cabinet whose ``bitrix24`` backend talks to ``emulator``, configured by the
    ``CABINET_BITRIX_*`` values in ``environ`` (given to its settings, not to the process)."""
    settings = Settings(
        data_dir=tmp_path,
        secret_key="test-secret-key-" + "x" * 32,
        base_url=BASE_URL,
        crm_backends=("bitrix24",),
        rate_provider="offline",
        plugins={NAMESPACE: bitrix_namespace(environ)},
    )
    cabinet = Cabinet(settings, load_entrypoints=False, plugins=[EmulatedBitrixPlugin(emulator)])
    cabinet.migrate()
    return cabinet


def events_to(web: TestClient) -> httpx.MockTransport:
    """An event transport for the emulator that posts to the app behind ``web``."""

    def deliver(request: httpx.Request) -> httpx.Response:
        response = web.post(
            request.url.path,
            content=request.content,
            headers={"content-type": request.headers["content-type"]},
        )
        return httpx.Response(response.status_code, content=response.content)

    return httpx.MockTransport(deliver)
