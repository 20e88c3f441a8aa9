"""The optional breached-password check (cabinet_core.breached_passwords) against a local fake
of Have I Been Pwned's range API: only five hex digits of the SHA-1 leave the cabinet, padding is
asked for, a breached password is refused wherever a password is set, and an unreachable or
failing service lets the password through with a log line (it never blocks a sign-up)."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attrs
import pytest
from cabinet_core.breached_passwords import BreachedPasswordCheck
from cabinet_core.entities import Client, Role
from cabinet_core.errors import ValidationError
from cabinet_core.password_policy import password_errors
from cabinet_core.services.clients import FirstUser
from cabinet_core.settings import Settings
from fixtures_services import PASSWORD, World

BREACHED = "tramwaj-na-mokotow-7"  # not on the shipped common list, "breached" in the fake
CLEAN = "Kot w butach 2026"


def _sha1(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


class FakeRange:
    """A range server that knows ``BREACHED`` (count 42) and pads every answer with suffixes of
    count 0, one of them ``CLEAN``'s own suffix (a padded entry is no breach)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.status = 200
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append((self.path, dict(self.headers.items())))
                prefix = self.path.rsplit("/", 1)[1]
                lines = [f"{'0' * 35}:0", f"{'F' * 35}:3"]
                for password, count in ((BREACHED, 42), (CLEAN, 0)):
                    digest = _sha1(password)
                    if digest.startswith(prefix):
                        lines.append(f"{digest[5:]}:{count}")
                body = "\r\n".join(lines).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                """Say nothing: the base class writes every request to stderr."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/range/"


@pytest.fixture
def fake_range() -> Iterator[FakeRange]:
    fake = FakeRange()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_only_a_five_digit_prefix_is_sent_with_padding(fake_range: FakeRange) -> None:
    check = BreachedPasswordCheck(fake_range.url)
    assert check(BREACHED) is True
    assert check(CLEAN) is False  # its suffix is in the answer, with the padding's count 0
    assert check("x7#Lq!vR9mZ2") is False
    for (path, headers), password in zip(
        fake_range.requests, (BREACHED, CLEAN, "x7#Lq!vR9mZ2"), strict=True
    ):
        assert path == "/range/" + _sha1(password)[:5]
        assert headers["Add-Padding"] == "true"
        assert _sha1(password)[5:] not in path


def test_the_policy_refuses_a_breached_password_last(fake_range: FakeRange) -> None:
    check = BreachedPasswordCheck(fake_range.url)
    assert [e.code for e in password_errors(BREACHED, breached=check)] == ["breached"]
    assert password_errors(CLEAN, breached=check) == []
    # The free rules answer first: a short or common password never reaches the service.
    assert [e.code for e in password_errors("short", breached=check)] == ["too_short"]
    assert [e.code for e in password_errors("password1234", breached=check)] == ["common"]
    assert len(fake_range.requests) == 2


@pytest.mark.parametrize("failure", ["down", "error", "slow"])
def test_the_check_fails_open_with_a_log_line(
    fake_range: FakeRange, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    if failure == "down":
        fake_range.server.shutdown()
        fake_range.server.server_close()
        check = BreachedPasswordCheck(fake_range.url, timeout=1)
    elif failure == "error":
        fake_range.status = 503
        check = BreachedPasswordCheck(fake_range.url, timeout=1)
    else:
        # A server that accepts the connection and never answers in time.
        check = BreachedPasswordCheck("http://10.255.255.1/range/", timeout=0.2)
    with caplog.at_level(logging.WARNING, logger="cabinet_core.breached_passwords"):
        assert password_errors(BREACHED, breached=check) == []
    assert any("breached-password check skipped" in r.getMessage() for r in caplog.records)


def test_off_by_default_and_read_from_the_environment() -> None:
    assert Settings().breached_password_url is None
    settings = Settings.from_env(
        {
            "CABINET_BREACHED_PASSWORD_URL": "https://api.pwnedpasswords.com/range/",
            "CABINET_BREACHED_PASSWORD_TIMEOUT": "1.5",
        }
    )
    assert settings.breached_password_url == "https://api.pwnedpasswords.com/range/"
    assert settings.breached_password_timeout == 1.5


def test_every_service_that_sets_a_password_asks_the_service(
    world: World, fake_range: FakeRange
) -> None:
    cabinet = world.cabinet
    cabinet.settings = attrs.evolve(cabinet.settings, breached_password_url=fake_range.url)
    cabinet.breached_passwords = BreachedPasswordCheck(fake_range.url)
    admin = world.actor(world.admin)
    assert world.alice.id is not None
    with pytest.raises(ValidationError) as created:
        cabinet.users.create(
            admin,
            email="new@firm.example",
            name="New",
            role=Role.ACCOUNTANT,
            client_id=None,
            password=BREACHED,
        )
    assert [(e.field, e.code) for e in created.value.errors] == [("password", "breached")]
    with pytest.raises(ValidationError) as set_by_manager:
        cabinet.users.set_password(world.actor(world.manager), world.alice.id, BREACHED)
    assert [e.code for e in set_by_manager.value.errors] == ["breached"]
    with pytest.raises(ValidationError) as changed:
        cabinet.users.change_own_password(world.actor(world.alice), current=PASSWORD, new=BREACHED)
    assert [(e.field, e.code) for e in changed.value.errors] == [("new_password", "breached")]
    assert cabinet.users.authenticate("alice@alfa.example", PASSWORD).id == world.alice.id
    with pytest.raises(ValidationError) as first:
        cabinet.clients.create(
            admin,
            Client(name="Gamma sp. z o.o."),
            first_user=FirstUser(email="jan@gamma.example", name="Jan", password=BREACHED),
        )
    assert [(e.field, e.code) for e in first.value.errors] == [("first_user.password", "breached")]
    assert [c.name for c in cabinet.clients.list(admin)].count("Gamma sp. z o.o.") == 0
    # A good password still goes through, with the service asked about it.
    cabinet.users.set_password(world.actor(world.manager), world.alice.id, CLEAN)
    assert cabinet.users.authenticate("alice@alfa.example", CLEAN).id == world.alice.id
