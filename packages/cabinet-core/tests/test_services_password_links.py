"""cabinet.password_links on both databases: "forgot password" reveals nothing, the link is
made when mailed (in the user's language), works once and expires; invitations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Role
from cabinet_core.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from cabinet_core.settings import DEFAULT_BASE_URL
from cabinet_core.storage import Store
from cabinet_core.worker import Worker
from fixtures_services import PASSWORD, HookRecorder, World
from invoicing_support import CapturingMailer, mail_cabinet

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LINK = re.compile(r"https://cabinet\.example/password/([A-Za-z0-9_-]+)")


@pytest.fixture
def mailer() -> CapturingMailer:
    return CapturingMailer()


@pytest.fixture
def cabinet(
    store: Store, tmp_path: Path, mailer: CapturingMailer, hooks: HookRecorder
) -> Iterator[Cabinet]:
    store.clock = lambda: NOW
    yield mail_cabinet(store, tmp_path, mailer, hooks, base_url="https://cabinet.example/")


def _deliver(cabinet: Cabinet) -> None:
    Worker(cabinet, clock=cabinet.store.clock).run_once()


def _link(mailer: CapturingMailer) -> str:
    match = LINK.search(mailer.sent[-1].body)
    assert match, mailer.sent[-1].body
    return match.group(1)


def test_a_reset_link_works_once_and_ends_every_session(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet = world.cabinet
    session = cabinet.sessions.open(world.alice)
    _, token = cabinet.tokens.create(world.actor(world.alice), name="script")
    cabinet.password_links.request_reset("ALICE@alfa.example", remote="10.1.1.1")
    assert mailer.sent == []  # queued, not sent from the request
    _deliver(cabinet)
    (mail,) = mailer.sent
    assert mail.to == ("alice@alfa.example",)
    assert mail.language == "pl" and "Ustaw nowe hasło" in mail.subject
    secret = _link(mailer)
    link, user = cabinet.password_links.check(secret)
    assert user.id == world.alice.id
    assert link.expires_at == NOW + timedelta(hours=1)
    with pytest.raises(ValidationError) as info:
        cabinet.password_links.complete(secret, "short")
    assert info.value.errors[0].code == "too_short"
    cabinet.password_links.complete(secret, "a fresh password")
    assert cabinet.users.authenticate("alice@alfa.example", "a fresh password")
    assert cabinet.sessions.resolve(session) is None
    with pytest.raises(AuthenticationFailed):
        cabinet.tokens.authenticate(token)
    with pytest.raises(ValidationError) as info:
        cabinet.password_links.complete(secret, "another password")
    assert info.value.errors[0].field == "link"
    actions = [e.action for e in cabinet.audit.list(world.actor(world.admin), entity="user")]
    assert {"user.request_reset", "user.reset_password"} <= set(actions)


def test_a_reset_link_expires(world: World, mailer: CapturingMailer) -> None:
    cabinet = world.cabinet
    cabinet.password_links.request_reset("alice@alfa.example")
    _deliver(cabinet)
    secret = _link(mailer)
    cabinet.store.clock = lambda: NOW + timedelta(hours=1, seconds=1)
    with pytest.raises(ValidationError):
        cabinet.password_links.check(secret)
    with pytest.raises(ValidationError):
        cabinet.password_links.complete(secret, "a fresh password")
    assert cabinet.users.authenticate("alice@alfa.example", PASSWORD)


def test_unknown_deactivated_and_repeated_addresses_get_no_mail(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet = world.cabinet
    assert world.bob.id is not None
    assert cabinet.password_links.request_reset("nobody@nowhere.example") is None
    assert cabinet.password_links.request_reset("not an address") is None
    cabinet.users.deactivate(world.actor(world.admin), world.bob.id)
    cabinet.password_links.request_reset("bob@beta.example")
    for _ in range(5):
        cabinet.password_links.request_reset("alice@alfa.example")
    _deliver(cabinet)
    # Three per address and window, then silence (a mailbox is not bombed).
    assert [m.to for m in mailer.sent] == [("alice@alfa.example",)] * 3


def test_a_link_of_a_user_deactivated_after_the_mail_no_longer_works(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet = world.cabinet
    assert world.alice.id is not None
    cabinet.password_links.request_reset("alice@alfa.example")
    _deliver(cabinet)
    secret = _link(mailer)
    cabinet.users.deactivate(world.actor(world.admin), world.alice.id)
    with pytest.raises(ValidationError):
        cabinet.password_links.complete(secret, "a fresh password")


def test_an_invitation_in_english_sets_the_first_password(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet = world.cabinet
    carol = cabinet.users.create(
        world.actor(world.manager),
        email="carol@alfa.example",
        name="Carol",
        role=Role.CLIENT,
        client_id=world.client_a.id,
        language="en",
        invite=True,
    )
    assert carol.password_hash == ""
    with pytest.raises(AuthenticationFailed):
        cabinet.users.authenticate("carol@alfa.example", "")
    _deliver(cabinet)
    (mail,) = mailer.sent
    assert mail.language == "en" and "invitation" in mail.subject
    secret = _link(mailer)
    link, _ = cabinet.password_links.check(secret)
    assert link.expires_at == NOW + timedelta(days=7)
    cabinet.password_links.complete(secret, "carols own password")
    assert cabinet.users.authenticate("carol@alfa.example", "carols own password").id == carol.id
    actions = [
        e.action for e in cabinet.audit.list(Actor.system(), entity="user", entity_id=carol.id)
    ]
    assert {"user.invite", "user.accept_invitation"} <= set(actions)


def test_only_staff_managing_the_client_invite(world: World) -> None:
    cabinet = world.cabinet
    for actor in (world.alice, world.other_manager, world.accountant):
        with pytest.raises((PermissionDenied, NotFound)):
            cabinet.users.create(
                world.actor(actor),
                email="eve@alfa.example",
                name="Eve",
                role=Role.CLIENT,
                client_id=world.client_a.id,
                invite=True,
            )
    with pytest.raises(ValidationError) as denied:
        cabinet.users.create(
            world.actor(world.admin),
            email="dave@firm.example",
            name="Dave",
            role=Role.ACCOUNTANT,
            client_id=None,
        )
    assert denied.value.errors[0].field == "password"


def test_a_link_refuses_a_common_password_and_still_works(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet = world.cabinet
    cabinet.password_links.request_reset("alice@alfa.example")
    _deliver(cabinet)
    secret = _link(mailer)
    for bad, code in (("iloveyou2026", "common"), ("alice@alfa.example", "like_account")):
        with pytest.raises(ValidationError) as refused:
            cabinet.password_links.complete(secret, bad)
        assert [(e.field, e.code) for e in refused.value.errors] == [("password", code)]
    # The link was not spent by the refusals.
    assert cabinet.password_links.complete(secret, "a much better password").id == world.alice.id


def test_without_a_base_url_the_link_uses_the_branding_host_name_and_firm_name(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet = world.cabinet
    cabinet.settings = attrs.evolve(cabinet.settings, base_url=DEFAULT_BASE_URL)
    cabinet.branding.update(
        world.actor(world.admin),
        firm_name="Kancelaria Nowak",
        primary_color="#1f4e79",
        accent_color="#f2a900",
        host_name="panel.nowak.pl",
    )
    assert cabinet.branding.public_url() == "https://panel.nowak.pl"
    cabinet.password_links.request_reset("alice@alfa.example", remote="10.1.1.1")
    _deliver(cabinet)
    body = mailer.sent[-1].body
    assert "https://panel.nowak.pl/password/" in body
    assert "Kancelaria Nowak" in mailer.sent[-1].subject + body


def test_the_operators_base_url_wins_over_the_host_name(world: World) -> None:
    cabinet = world.cabinet
    cabinet.branding.update(
        world.actor(world.admin),
        firm_name="Kancelaria Nowak",
        primary_color="#1f4e79",
        accent_color="#f2a900",
        host_name="panel.nowak.pl",
    )
    assert cabinet.branding.public_url() == "https://cabinet.example"
    assert cabinet.sync_port("null").base_url == "https://cabinet.example"
