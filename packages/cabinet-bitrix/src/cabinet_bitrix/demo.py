"""The Bitrix24 loop of ``cabinet demo --with bitrix24``: an emulated portal served next to the
demo cabinet, the local app installed for it, a first post in the news workgroup.

Offered to the demo through cabinet-web's ``demo_loops`` hook (:mod:`cabinet_bitrix.plugin`);
the loop's settings go into the demo cabinet's ``Settings.plugins["bitrix"]``, never into the
process's environment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from cabinet_bitrix.settings import NAMESPACE

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet

#: The emulated portal's workgroup "Aktualności dla klientów", whose feed is the demo's news.
DEMO_NEWS_GROUP = 12
#: The emulated portal's manager (Piotr Wiśniewski), who answers the clients in Open Lines.
DEMO_OPERATOR = 2


def bitrix_config(emulator: Any) -> dict[str, str]:
    """The ``bitrix`` settings namespace of a cabinet using ``emulator`` as its portal through
    the local app (app mode: events, the placement and Open Lines all work)."""
    base = emulator.config.portal_url.rstrip("/")
    return {
        "client_id": emulator.app.client_id,
        "client_secret": emulator.app.client_secret,
        "member_id": emulator.portal.member_id,
        "token_url": f"{base}/oauth/token/",
        "plan": emulator.config.plan.name.lower(),
        "news_group": str(DEMO_NEWS_GROUP),
        "openline": "1",
    }


def connect_bitrix(cabinet: Cabinet, emulator: Any, cabinet_url: str) -> list[str]:
    """Install the app on the emulated portal for ``cabinet`` (what an admin's click on
    "Install" does): store its tokens, bind the events to ``cabinet_url``'s
    ``/hooks/bitrix24``, the placement and the Open Lines connector. What was bound."""
    from cabinet_bitrix.auth import PortTokenStore, install
    from cabinet_bitrix.web import bitrix_backend, setup_app

    install(PortTokenStore(cabinet.sync_port("bitrix24")), {"auth": emulator.install_app()})
    backend = bitrix_backend(cabinet)
    if backend is None:
        raise RuntimeError("the cabinet's bitrix24 backend is not active")
    bound: list[str] = setup_app(cabinet, backend.client, cabinet_url.rstrip("/"))
    return bound


def seed_bitrix(emulator: Any) -> None:
    """A first post in the news workgroup's feed (once)."""
    if any(f"SG{DEMO_NEWS_GROUP}" in post["_rights"] for post in emulator.portal.posts.values()):
        return
    emulator.act(
        "log.blogpost.add",
        {
            "POST_TITLE": "Witamy w Panelu Klienta",
            "POST_MESSAGE": "Ta wiadomość pochodzi z [b]Bitrix24[/b]: wpisy grupy "
            "„Aktualności dla klientów” trafiają do aktualności w Panelu Klienta.",
            "DEST": [f"SG{DEMO_NEWS_GROUP}"],
        },
    )


def bitrix_banner(emulator: Any) -> str:
    """How to play the firm's side of the loop against the emulator (printed by the demo)."""
    base = emulator.config.portal_url.rstrip("/")
    act = f"curl -s -X POST {base}/_emulator/act -H 'Content-Type: application/json' -d"
    return "\n".join(
        [
            f"Bitrix24 emulator: {base}/  (app installed; what it holds: {base}/_emulator/state)",
            "Play the firm's staff in Bitrix24:",
            "  move a document's quote to Approved (its id is in _emulator/state under '7'):",
            f"""    {act} '{{"method": "crm.item.update", "params": """
            """{"entityTypeId": 7, "id": 1, "fields": {"stageId": "APPROVED"}}}'""",
            "  publish news in the clients' workgroup feed:",
            f"""    {act} '{{"method": "log.blogpost.add", "params": {{"POST_TITLE": """
            f""""Nowość", "POST_MESSAGE": "Treść", "DEST": ["SG{DEMO_NEWS_GROUP}"]}}}}'""",
            "  answer a client's chat message as its manager (after the client wrote one):",
            f"    curl -s -X POST {base}/_emulator/operator-reply "
            "-H 'Content-Type: application/json' "
            """-d '{"chat": "client-1", "text": "Dzień dobry!"}'""",
        ]
    )


def demo_emulator(host: str, port: int) -> Any:
    """An emulated portal for the demo at ``host:port``. Events go out from the emulator's own
    server after each answer, as a portal's queue does; the enterprise plan's burst (250) lets
    the demo's first push through without pacing."""
    try:
        from bitrix24_emulator import ENTERPRISE, Emulator, EmulatorConfig
    except ImportError:
        raise LookupError(
            "the bitrix24 demo loop needs cabinet-bitrix with its emulator: "
            "pip install 'cabinet-bitrix[emulator]'"
        ) from None

    return Emulator(
        EmulatorConfig(
            portal_url=f"http://{host}:{port}", plan=ENTERPRISE, deliver_events_inline=False
        )
    )


class BitrixDemoLoop:
    """``cabinet demo --with bitrix24``: the demo cabinet against an emulated portal."""

    crm_backends = ("bitrix24",)

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator

    @classmethod
    def create(cls, *, host: str, port: int) -> BitrixDemoLoop:
        """The loop with an emulated portal at ``host:port`` (the factory the plugin offers)."""
        return cls(demo_emulator(host, port))

    def plugin_settings(self) -> Mapping[str, Mapping[str, str]]:
        """The demo cabinet's ``bitrix`` namespace: the emulated portal's app."""
        return {NAMESPACE: bitrix_config(self.emulator)}

    @contextlib.contextmanager
    def running(self, cabinet: Cabinet, base_url: str) -> Iterator[str]:
        """Serve the emulator, install the app for the cabinet and seed the feed; the banner
        says how to play the portal's side. The demo's worker runs inside the block."""
        from bitrix24_emulator.server import serve_in_thread

        from cabinet_bitrix.web import bitrix_backend

        base = self.emulator.config.portal_url
        host, port = base.split("//")[1].rsplit(":", 1)
        with serve_in_thread(self.emulator, host=host, port=int(port)):
            connect_bitrix(cabinet, self.emulator, base_url)
            seed_bitrix(self.emulator)
            try:
                yield bitrix_banner(self.emulator)
            finally:
                # Hang up on the portal before it stops (the backend keeps its connections open).
                backend = bitrix_backend(cabinet)
                if backend is not None:
                    backend.client.close()
