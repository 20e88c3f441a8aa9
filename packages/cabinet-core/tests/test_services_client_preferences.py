"""cabinet.clients.set_preferences: a client's own auto-send switch and default template."""

from __future__ import annotations

import pytest
from cabinet_core.errors import NotFound, PermissionDenied, ValidationError
from fixtures_services import World


def test_a_client_user_sets_auto_send_and_an_allowed_default(world: World) -> None:
    clients = world.cabinet.clients
    client_id = world.client_id(world.client_a)
    clients.assign_templates(world.actor(world.admin), client_id, ["classic"], None)
    stored = clients.set_preferences(
        world.actor(world.alice), client_id, auto_send=True, default_template="classic"
    )
    assert (stored.auto_send, stored.default_template) == (True, "classic")
    assert stored.allowed_templates == ("classic",)  # never widened
    audit = world.cabinet.audit.list(world.actor(world.admin))
    assert any(entry.action == "client.set_preferences" for entry in audit)


def test_a_default_outside_the_allowed_list_is_refused(world: World) -> None:
    clients = world.cabinet.clients
    client_id = world.client_id(world.client_a)
    clients.assign_templates(world.actor(world.admin), client_id, ["classic"], None)
    for key in ("modern", "no-such-template"):
        with pytest.raises(ValidationError) as info:
            clients.set_preferences(
                world.actor(world.alice), client_id, auto_send=True, default_template=key
            )
        assert info.value.errors[0].field == "default_template"
    stored = clients.get(world.actor(world.admin), client_id)
    assert (stored.auto_send, stored.default_template) == (False, None)


def test_without_an_allowed_list_any_registered_template_may_be_the_default(
    world: World,
) -> None:
    stored = world.cabinet.clients.set_preferences(
        world.actor(world.alice),
        world.client_id(world.client_a),
        auto_send=False,
        default_template="modern",
    )
    assert stored.default_template == "modern"


def test_only_those_who_edit_the_clients_data(world: World) -> None:
    clients = world.cabinet.clients
    client_id = world.client_id(world.client_a)
    with pytest.raises(NotFound):
        clients.set_preferences(
            world.actor(world.bob), client_id, auto_send=True, default_template=None
        )
    with pytest.raises((PermissionDenied, NotFound)):
        clients.set_preferences(
            world.actor(world.accountant), client_id, auto_send=True, default_template=None
        )
    manager = clients.set_preferences(
        world.actor(world.manager), client_id, auto_send=True, default_template=None
    )
    assert manager.auto_send is True
