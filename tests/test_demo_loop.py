"""The demo's loop with the Bitrix24 emulator, in-process: the cabinet's app and the emulated
portal talk through httpx transports (the backend calls the emulator; the emulator posts its
events to the app). A document created in the cabinet appears in the portal's CRM, a stage
moved there comes back as a status, a feed post becomes news, and a chat message crosses both
ways, each once."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cabinet_bitrix.plugin as bitrix_plugin
import httpx
import pytest
from bitrix24_emulator import Emulator, EmulatorConfig
from cabinet_bitrix import BitrixBackend
from cabinet_bitrix.chat import CONNECTOR_ID
from cabinet_bitrix.demo import (
    DEMO_NEWS_GROUP,
    bitrix_banner,
    bitrix_config,
    connect_bitrix,
    seed_bitrix,
)
from cabinet_bitrix.settings import NAMESPACE
from cabinet_core import Cabinet, Settings
from cabinet_core.cli import make_cli
from cabinet_core.entities import Actor, Role
from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.worker import Worker
from cabinet_web.app import create_app
from cabinet_web.demo import seed
from click.testing import CliRunner
from starlette.testclient import TestClient

BASE_URL = "http://demo.example"
SYSTEM = Actor.system()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class InProcessBitrix:
    """cabinet-bitrix's plugin with the backend on the emulator's in-process transport."""

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


@pytest.fixture
def emulator() -> Emulator:
    # The system clock: the connector paces itself on it, so both sides must agree on time.
    return Emulator(EmulatorConfig(portal_url="http://portal.example"))


@pytest.fixture
def cabinet(tmp_path: Path, emulator: Emulator) -> Iterator[Cabinet]:
    settings = Settings(
        data_dir=tmp_path,
        secret_key="demo-loop-" + "x" * 32,
        base_url=BASE_URL,
        crm_backends=("bitrix24",),
        mailer="folder",
        rate_provider="offline",
        # The demo's own settings of the loop, in code: nothing goes through the environment.
        plugins={NAMESPACE: bitrix_config(emulator)},
    )
    with Cabinet(settings, load_entrypoints=False, plugins=[InProcessBitrix(emulator)]) as cab:
        cab.migrate()
        yield cab


def events_to(web: TestClient) -> httpx.MockTransport:
    def deliver(request: httpx.Request) -> httpx.Response:
        answer = web.post(
            request.url.path,
            content=request.content,
            headers={"content-type": request.headers["content-type"]},
        )
        return httpx.Response(answer.status_code, content=answer.content)

    return httpx.MockTransport(deliver)


def drain(cabinet: Cabinet) -> None:
    worker = Worker(cabinet)
    while worker.run_once():
        pass


def test_the_whole_loop(cabinet: Cabinet, emulator: Emulator, tmp_path: Path) -> None:
    logins = {email: password for _, email, password in seed(cabinet, tmp_path)}
    app = create_app(cabinet)
    app.state.bitrix_transport = emulator.transport()
    with (
        TestClient(app, base_url=BASE_URL) as browser,
        TestClient(app, base_url=BASE_URL) as portal_side,
    ):
        emulator.event_transport = events_to(portal_side)
        bound = connect_bitrix(cabinet, emulator, BASE_URL)
        assert "ONCRMQUOTEUPDATE" in bound and f"imconnector:{CONNECTOR_ID}" in bound

        # A document created in the cabinet appears in the portal's CRM.
        drain(cabinet)
        issued = next(
            d
            for d in cabinet.documents.list(SYSTEM, _all_documents()).items
            if d.status == "issued" and d.doc_type == "vat_invoice"
        )
        quotes = emulator.portal.items[7]
        origin = f"cabinet-document-{issued.id}"
        (item_id,) = [i for i, item in quotes.items() if origin in item.values()]

        # A stage moved there shows as a new status.
        emulator.act(
            "crm.item.update",
            {"entityTypeId": 7, "id": item_id, "fields": {"stageId": "APPROVED"}},
        )
        assert cabinet.documents.get(SYSTEM, issued.id or 0).status == "paid"

        # A feed post appears as news.
        seed_bitrix(emulator)
        titles = [n.title for n in cabinet.news.list(SYSTEM).items]
        assert "Witamy w Panelu Klienta" in titles
        token = CSRF.search(browser.get("/login").text)
        assert token
        browser.post(
            "/login",
            data={
                "email": "client@demo.pl",
                "password": logins["client@demo.pl"],
                "csrf_token": token.group(1),
            },
        )
        assert "Witamy w Panelu Klienta" in browser.get("/news").text

        # A chat message crosses both ways, once each.
        client_id = next(
            u.client_id for u in cabinet.users.list(SYSTEM) if u.email == "client@demo.pl"
        )
        page = f"/chat/{client_id}"
        token = CSRF.search(browser.get(page).text)
        assert token
        question = {"body": "Czy faktura jest opłacona?", "csrf_token": token.group(1)}
        browser.post(page, data=question)
        drain(cabinet)
        (session,) = emulator.portal.sessions.values()
        in_portal = [m for m in emulator.portal.messages if m["dialog_id"].startswith("chat")]
        assert [m["text"] for m in in_portal] == ["Czy faktura jest opłacona?"]
        emulator.operator_reply(CONNECTOR_ID, "1", f"client-{client_id}", "Tak, dziękujemy!")
        drain(cabinet)
        bodies = [m.body for m in cabinet.chat.list(SYSTEM, client_id or 0)]
        assert bodies == ["Czy faktura jest opłacona?", "Tak, dziękujemy!"]
        assert len([m for m in emulator.portal.messages if m["dialog_id"].startswith("chat")]) == 2
        assert session["CHAT_ID"]
        assert "_emulator/act" in bitrix_banner(emulator)
        assert DEMO_NEWS_GROUP == 12


def _all_documents() -> Any:
    from cabinet_core.storage import DocumentQuery

    return DocumentQuery(limit=100)


def test_demo_command_without_serving_leaves_the_emulator_alone(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        make_cli(), ["demo", "--no-serve", "--data-dir", str(tmp_path / "demo")]
    )
    assert result.exit_code == 0, result.output
    assert "Bitrix24 emulator" not in result.output
    assert [line.split()[0] for line in result.output.splitlines() if "@demo.pl" in line] == [
        role.value for role in (Role.CLIENT, Role.MANAGER, Role.ACCOUNTANT, Role.ADMIN)
    ]


def test_bitrix_reconcile_command(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    data_dir = str(tmp_path / "cabinet")
    monkeypatch.setenv("CABINET_CRM_BACKENDS", "null")
    refused = runner.invoke(make_cli(), ["--data-dir", data_dir, "bitrix-reconcile"])
    assert refused.exit_code == 1 and "not active" in refused.output

    original = BitrixBackend.from_settings.__func__  # type: ignore[attr-defined]

    def on_emulator(
        cls: type[BitrixBackend], settings: Any, port: Any = None, **kwargs: Any
    ) -> Any:
        return original(cls, settings, port, transport=emulator.transport())

    monkeypatch.setattr(BitrixBackend, "from_settings", classmethod(on_emulator))
    monkeypatch.setenv("CABINET_CRM_BACKENDS", "bitrix24")
    # The command line reads the environment once (Settings.from_env); the plugin never does.
    monkeypatch.setenv("CABINET_BITRIX_WEBHOOK_URL", emulator.webhook_url)
    done = runner.invoke(make_cli(), ["--data-dir", data_dir, "bitrix-reconcile"])
    assert done.exit_code == 0, done.output
    assert "0 stage change(s) applied" in done.output
    # The comparison's report: an empty cabinet has nothing in any state.
    assert "in sync 0, waiting 0, repaired 0, failed 0" in done.output


@pytest.mark.parametrize("flag", [["--with", "bitrix24"], ["--with-bitrix-emulator"]])
def test_demo_command_with_the_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: list[str]
) -> None:
    """``cabinet demo --with bitrix24`` (or its older spelling): the emulated portal is served
    on its port, the app is installed for the cabinet and the worker runs while the web server
    does; the loop's settings reach the cabinet's settings, never the environment."""
    import cabinet_web.cli
    from bitrix24_emulator.server import free_port

    for key in [k for k in os.environ if k.startswith("CABINET_BITRIX_")]:
        monkeypatch.delenv(key)
    seen: dict[str, Any] = {}

    def serve(app: Any, **kwargs: Any) -> None:
        # Instead of serving the cabinet: look at the portal while the loop is up.
        cabinet = app.state.cabinet
        state = httpx.get(f"http://127.0.0.1:{emulator_port}/_emulator/state", timeout=10).json()
        seen["bindings"] = {b["event"] for b in state["bindings"]}
        seen["handlers"] = {b["handler"] for b in state["bindings"]}
        seen["backends"] = cabinet.settings.crm_backends
        seen["member_id"] = cabinet.plugin_config(NAMESPACE).get("member_id")

    monkeypatch.setattr(cabinet_web.cli, "run_server", lambda app, sock, **kw: serve(app))
    emulator_port = free_port()
    before = dict(os.environ)
    result = CliRunner().invoke(
        make_cli(),
        [
            "demo",
            *flag,
            "--port",
            "8765",
            "--emulator-port",
            str(emulator_port),
            "--data-dir",
            str(tmp_path / "demo"),
        ],
    )
    assert dict(os.environ) == before  # the demo wrote nothing into the environment
    assert result.exit_code == 0, result.output
    assert f"Bitrix24 emulator: http://127.0.0.1:{emulator_port}/" in result.output
    assert "_emulator/operator-reply" in result.output
    assert seen["backends"] == ("bitrix24",)
    assert seen["member_id"]  # the emulated portal's app, from the loop's plugin settings
    assert {"ONCRMQUOTEUPDATE", "ONIMCONNECTORMESSAGEADD"} <= seen["bindings"]
    assert seen["handlers"] == {"http://127.0.0.1:8765/hooks/bitrix24"}
