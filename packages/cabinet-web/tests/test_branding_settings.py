"""``/settings/branding``: the branding kept in the database, its WCAG AA contrast check, the
logo's limits, the environment's precedence, and that every page shows it. SQLite and
PostgreSQL."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.audit import AuditFilter
from cabinet_core.contrast import contrast_ratio
from cabinet_core.entities import Actor
from cabinet_core.services import branding as branding_service
from cabinet_core.services.branding import LOGO_MAX_BYTES
from cabinet_web.app import create_app
from starlette.testclient import TestClient
from web_support import PASSWORD, World, csrf_of, login, make_settings


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


def _png(width: int = 2, height: int = 1, padding: int = 0) -> bytes:
    """A small valid PNG (``padding`` bytes of an ancillary chunk make it larger)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height)))
    extra = chunk(b"tEXt", b"c\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def _save(web: TestClient, **values: str) -> Any:
    data = {
        "firm_name": "Biuro Rachunkowe Nowak",
        "primary_color": "#0b3d2e",
        "accent_color": "#ffd166",
        "host_name": "biuro.example.pl",
        **values,
        "csrf_token": csrf_of(web, "/settings/branding"),
    }
    return web.post("/settings/branding", data=data)


def test_contrast_ratio_follows_wcag() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1)
    # The classic boundary: #777 on white is just below AA, #767676 just above.
    assert contrast_ratio("#ffffff", "#777777") < 4.5 < contrast_ratio("#ffffff", "#767676")


def test_admin_changes_branding_and_every_page_shows_it(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    login(web, world.admin.email)
    assert "/settings/branding" in web.get("/settings").text
    saved = _save(web)
    assert saved.status_code == 200 and saved.url.path == "/settings/branding"
    home = web.get("/")
    assert "--primary: #0b3d2e" in home.text
    assert "--accent: #ffd166" in home.text
    assert "Biuro Rachunkowe Nowak" in home.text
    entries = cabinet.audit.search(Actor.of(world.admin), AuditFilter(action="branding.update"))
    assert entries.total == 1
    assert entries.records[0].entry.detail["new"]["primary_color"] == "#0b3d2e"
    # Another user's pages, and the sign-in page, show it too.
    web.post("/logout", data={"csrf_token": csrf_of(web, "/")})
    assert "--primary: #0b3d2e" in web.get("/login").text


def test_colours_below_wcag_aa_are_refused_at_the_field(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    login(web, world.admin.email)
    refused = _save(web, primary_color="#777777", accent_color="#333333")
    assert refused.status_code == 422
    assert 'data-error-for="primary_color"' in refused.text
    assert 'data-error-for="accent_color"' in refused.text
    assert "4.48:1" in refused.text or "4,48:1" in refused.text
    bad = _save(web, primary_color="red", host_name="not a host!", firm_name=" ")
    assert bad.status_code == 422
    for field in ("primary_color", "host_name", "firm_name"):
        assert f'data-error-for="{field}"' in bad.text
    assert "--primary: #123456" in web.get("/").text  # nothing was saved
    assert cabinet.audit.search(Actor.of(world.admin), AuditFilter(entity="setting")).total == 0


def test_logo_upload_limits_and_serving(web: TestClient, world: World, cabinet: Cabinet) -> None:
    login(web, world.admin.email)

    def upload(content: bytes, name: str = "logo.png", kind: str = "image/png") -> Any:
        return web.post(
            "/settings/branding/logo",
            data={"csrf_token": csrf_of(web, "/settings/branding")},
            files={"logo": (name, content, kind)},
        )

    too_large = upload(_png(padding=LOGO_MAX_BYTES))
    assert too_large.status_code == 422 and 'data-error-for="logo"' in too_large.text
    svg = upload(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "x.svg", "image/png")
    assert svg.status_code == 422 and 'data-error-for="logo"' in svg.text
    assert upload(b"").status_code == 422
    png = _png()
    assert upload(png).status_code == 200
    home = web.get("/").text
    assert 'src="/branding/logo?v=' in home
    address = home.split('src="/branding/logo?v=')[1].split('"')[0]
    web.post("/logout", data={"csrf_token": csrf_of(web, "/")})
    served = web.get(f"/branding/logo?v={address}")  # public: the sign-in page shows it
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content == png
    actions = {
        record.entry.action
        for record in cabinet.audit.search(Actor.of(world.admin), AuditFilter()).records
    }
    assert "branding.logo" in actions


def test_only_admins_change_branding(web: TestClient, world: World) -> None:
    login(web, world.manager.email)
    assert web.get("/settings/branding").status_code == 403
    response = web.post(
        "/settings/branding",
        data={
            "firm_name": "X",
            "primary_color": "#000000",
            "accent_color": "#ffffff",
            "csrf_token": csrf_of(web, "/"),
        },
    )
    assert response.status_code == 403


def test_the_environment_wins_and_the_page_says_so(tmp_path: Path, world: World) -> None:
    settings = make_settings(tmp_path, environment={"CABINET_PRIMARY_COLOR": "#4a0000"})
    with Cabinet(settings, load_entrypoints=False) as cab:
        cab.migrate()
        admin = cab.users.create(
            Actor.system(),
            email="a@test.pl",
            name="A",
            role=world.admin.role,
            client_id=None,
            password=PASSWORD,
        )
        with TestClient(create_app(cab)) as web:
            login(web, admin.email, PASSWORD)
            page = web.get("/settings/branding")
            assert "CABINET_PRIMARY_COLOR" in page.text
            assert _save(web, primary_color="#0b3d2e").status_code == 200
            assert "--primary: #4a0000" in web.get("/").text


def test_other_processes_see_a_change_once_their_copy_expires(
    cabinet: Cabinet, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page shows the branding, so each process keeps what it read for a few seconds: the
    process that saves sees the change at once, another one (here a second cabinet on the same
    database) when its copy is older than ``EFFECTIVE_TTL_SECONDS``."""
    clock = [1000.0]
    monkeypatch.setattr(branding_service.time, "monotonic", lambda: clock[0])
    with Cabinet(cabinet.settings, load_entrypoints=False) as other:
        assert other.branding.effective().primary_color == "#123456"
        admin = Actor.of(world.admin)
        cabinet.branding.update(
            admin, firm_name="Nowa", primary_color="#0b3d2e", accent_color="#ffd166"
        )
        assert cabinet.branding.effective().primary_color == "#0b3d2e"
        clock[0] += branding_service.EFFECTIVE_TTL_SECONDS - 0.5
        assert other.branding.effective().primary_color == "#123456"
        clock[0] += 1.0
        assert other.branding.effective().firm_name == "Nowa"
        assert other.branding.effective().primary_color == "#0b3d2e"
