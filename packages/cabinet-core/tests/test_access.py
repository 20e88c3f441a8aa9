"""Every access rule in cabinet_core.access, once each."""

from __future__ import annotations

import pytest
from cabinet_core import access
from cabinet_core.entities import Actor, Client, Role, User
from cabinet_core.errors import NotFound, PermissionDenied
from cabinet_core.storage import Store

MANAGER = Actor(user_id=10, role=Role.MANAGER)
OTHER_MANAGER = Actor(user_id=11, role=Role.MANAGER)
ACCOUNTANT = Actor(user_id=20, role=Role.ACCOUNTANT)
ADMIN = Actor(user_id=30, role=Role.ADMIN)
ALICE = Actor(user_id=40, role=Role.CLIENT, client_id=1)
BOB = Actor(user_id=41, role=Role.CLIENT, client_id=2)
SYSTEM = Actor.system()
CLIENT_1 = Client(id=1, name="Alfa", manager_id=10)
CLIENT_2 = Client(id=2, name="Beta", manager_id=11)
UNMANAGED = Client(id=3, name="Gamma")


def test_client_user_sees_only_its_own_client() -> None:
    assert access.can_view_client(ALICE, CLIENT_1)
    assert not access.can_view_client(ALICE, CLIENT_2)
    assert not access.can_view_client(Actor(user_id=1, role=Role.CLIENT), CLIENT_1)


def test_manager_sees_assigned_clients_only() -> None:
    assert access.can_view_client(MANAGER, CLIENT_1)
    assert not access.can_view_client(MANAGER, CLIENT_2)
    assert not access.can_view_client(MANAGER, UNMANAGED)
    assert not access.can_view_client(Actor(user_id=None, role=Role.MANAGER), UNMANAGED)


@pytest.mark.parametrize("actor", [ACCOUNTANT, ADMIN, SYSTEM])
def test_accountant_admin_and_system_see_every_client(actor: Actor) -> None:
    assert all(access.can_view_client(actor, c) for c in (CLIENT_1, CLIENT_2, UNMANAGED))
    assert access.sees_all_clients(actor)


def test_accountant_reads_but_does_not_edit_client_data() -> None:
    assert not access.can_edit_client_data(ACCOUNTANT, CLIENT_1)
    assert access.can_edit_client_data(ALICE, CLIENT_1)
    assert access.can_edit_client_data(MANAGER, CLIENT_1)
    assert access.can_edit_client_data(ADMIN, CLIENT_2)
    assert not access.can_edit_client_data(BOB, CLIENT_1)


def test_creating_reassigning_clients_and_templates() -> None:
    assert [access.can_create_clients(a) for a in (ALICE, MANAGER, ACCOUNTANT, ADMIN)] == [
        False,
        True,
        False,
        True,
    ]
    assert [access.can_reassign_client(a) for a in (ALICE, MANAGER, ACCOUNTANT, ADMIN)] == [
        False,
        False,
        False,
        True,
    ]
    assert [access.can_assign_templates(a) for a in (ALICE, MANAGER, ACCOUNTANT, ADMIN)] == [
        False,
        False,
        False,
        True,
    ]


def test_narrow_client_ids() -> None:
    assert access.narrow_client_ids(None, None) is None
    assert access.narrow_client_ids(None, [5]) == (5,)
    assert access.narrow_client_ids((1, 2), None) == (1, 2)
    assert access.narrow_client_ids((1, 2), [2, 3]) == (2,)
    assert access.narrow_client_ids((), [1]) == ()


def test_who_sees_which_user() -> None:
    alice = User(id=40, email="a@x.pl", role=Role.CLIENT, client_id=1)
    carol = User(id=42, email="c@x.pl", role=Role.CLIENT, client_id=1)
    accountant = User(id=20, email="k@x.pl", role=Role.ACCOUNTANT)
    assert access.can_view_user(ALICE, carol, CLIENT_1)
    assert not access.can_view_user(BOB, carol, CLIENT_1)
    assert access.can_view_user(MANAGER, carol, CLIENT_1)
    assert not access.can_view_user(OTHER_MANAGER, carol, CLIENT_1)
    assert not access.can_view_user(MANAGER, accountant, None)
    assert access.can_view_user(ACCOUNTANT, accountant, None)  # oneself
    assert access.can_view_user(ACCOUNTANT, alice, CLIENT_1)
    # A user claimed to be of a client it does not belong to is not shown through it.
    assert not access.can_view_user(MANAGER, User(id=9, email="z@x.pl", client_id=2), CLIENT_1)


def test_who_manages_which_user() -> None:
    carol = User(id=42, email="c@x.pl", role=Role.CLIENT, client_id=1)
    staff = User(id=50, email="s@x.pl", role=Role.ACCOUNTANT)
    assert access.can_manage_user(ADMIN, staff, None)
    assert access.can_manage_user(MANAGER, carol, CLIENT_1)
    assert not access.can_manage_user(OTHER_MANAGER, carol, CLIENT_1)
    assert not access.can_manage_user(MANAGER, staff, None)
    assert not access.can_manage_user(ALICE, carol, CLIENT_1)
    assert not access.can_manage_user(ACCOUNTANT, carol, CLIENT_1)


def test_news_audit_and_settings_roles() -> None:
    everyone = (ALICE, MANAGER, ACCOUNTANT, ADMIN)
    assert [access.can_publish_news(a) for a in everyone] == [False, True, False, True]
    assert [access.can_read_audit(a) for a in everyone] == [False, True, True, True]
    assert [access.can_read_settings(a) for a in everyone] == [False, True, True, True]
    assert [access.can_change_settings(a) for a in everyone] == [False, False, False, True]


def test_transitions_follow_the_listed_roles() -> None:
    roles = frozenset({Role.ACCOUNTANT, Role.ADMIN})
    assert access.can_make_transition(ACCOUNTANT, roles)
    assert not access.can_make_transition(MANAGER, roles)


def test_require_helpers() -> None:
    access.require(True)
    with pytest.raises(PermissionDenied):
        access.require(False)
    assert access.require_user(ALICE) == 40
    with pytest.raises(PermissionDenied):
        access.require_user(SYSTEM)


def test_visible_client_ids_and_client_for(store: Store) -> None:
    with store.transaction() as tx:
        tx.add_user(User(email="m@x.pl", role=Role.MANAGER))
        manager_id = tx.get_user_by_email("m@x.pl").id  # type: ignore[union-attr]
        mine = tx.add_client(Client(name="Alfa", manager_id=manager_id))
        other = tx.add_client(Client(name="Beta"))
        assert mine.id is not None and other.id is not None
        manager = Actor(user_id=manager_id, role=Role.MANAGER)
        client_user = Actor(user_id=99, role=Role.CLIENT, client_id=other.id)
        assert access.visible_client_ids(tx, manager) == (mine.id,)
        assert access.visible_client_ids(tx, client_user) == (other.id,)
        assert access.visible_client_ids(tx, ACCOUNTANT) is None
        assert access.visible_client_ids(tx, Actor(user_id=None, role=Role.MANAGER)) == ()
        assert access.visible_client_ids(tx, Actor(user_id=5, role=Role.CLIENT)) == ()
        assert access.client_for(tx, manager, mine.id, write=True) == mine
        with pytest.raises(NotFound):
            access.client_for(tx, manager, other.id)
        with pytest.raises(NotFound):
            access.client_for(tx, ADMIN, 12345)
        with pytest.raises(NotFound):
            access.client_for(tx, ADMIN, None)
        with pytest.raises(PermissionDenied):
            access.client_for(tx, ACCOUNTANT, mine.id, write=True)
