"""A cabinet web app wired to the emulator both ways (the backend calls the emulator in-process;
the emulator's events are posted to the app), for the web and demo-loop tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import cabinet_bitrix.plugin as bitrix_plugin
import httpx
from bitrix24_emulator import Emulator
from cabinet_core import Cabinet, Settings
from cabinet_core.hookspecs import Register, hookimpl
from starlette.testclient import TestClient

BASE_URL = "https://cabinet.example"


class EmulatedBitrixPlugin:
    """cabinet-bitrix's plugin with the ``bitrix24`` backend built on the emulator's transport."""

    def __init__(self, emulator: Emulator, environ: Mapping[str, str]) -> None:
        self.emulator = emulator
        self.environ = dict(environ)

    @hookimpl
    def register_crm_backends(self, register: Register) -> None:
        register(
            "bitrix24",
            lambda cabinet: bitrix_plugin.compose_backend(
                cabinet, environ=self.environ, transport=self.emulator.transport()
            ),
        )

    @hookimpl(optionalhook=True)
    def register_routes(self, register: Callable[[Any], None]) -> None:
        bitrix_plugin.register_routes(register)

    @hookimpl(optionalhook=True)
    def template_dirs(self) -> list[str]:
        return bitrix_plugin.template_dirs()

    @hookimpl(optionalhook=True)
    def menu_links(self, actor: Any, request: Any) -> list[dict[str, str]]:
        return bitrix_plugin.menu_links(actor, request)


def emulated_cabinet(tmp_path: Path, emulator: Emulator, environ: Mapping[str, str]) -> Cabinet:
    """A migrated cabinet whose ``bitrix24`` backend talks to ``emulator``."""
    settings = Settings(
        data_dir=tmp_path,
        secret_key="test-secret-key-" + "x" * 32,
        base_url=BASE_URL,
        crm_backends=("bitrix24",),
        rate_provider="offline",
    )
    cabinet = Cabinet(
        settings, load_entrypoints=False, plugins=[EmulatedBitrixPlugin(emulator, environ)]
    )
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
