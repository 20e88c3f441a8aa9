"""Fixtures for the service tests: a Cabinet on B's ``store`` (both databases) and a small
world of staff, two clients with their users, and a hook recorder.

Loaded with ``pytest_plugins = ["fixtures_services"]`` by the service test modules.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from argon2 import PasswordHasher
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, BankAccount, Client, Role, User
from cabinet_core.hookspecs import hookimpl
from cabinet_core.services.users import UserService
from cabinet_core.settings import Settings
from cabinet_core.storage import Store

PASSWORD = "correct horse battery"
# argon2id with the smallest cost: the tests check behaviour, not the work factor.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class HookRecorder:
    """A plugin that remembers every event hook call (registered like any plugin)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    @hookimpl
    def document_saved(self, cabinet: Cabinet, document: Any, actor: Actor, created: bool) -> None:
        self.calls.append(("document_saved", {"document": document, "created": created}))

    @hookimpl
    def document_status_changed(
        self, cabinet: Cabinet, document: Any, old_status: str, new_status: str, actor: Actor
    ) -> None:
        self.calls.append(
            ("document_status_changed", {"old": old_status, "new": new_status, "doc": document})
        )

    @hookimpl
    def chat_message_posted(self, cabinet: Cabinet, message: Any, actor: Actor) -> None:
        self.calls.append(("chat_message_posted", {"message": message}))

    @hookimpl
    def news_published(self, cabinet: Cabinet, news_item: Any) -> None:
        self.calls.append(("news_published", {"item": news_item}))

    @hookimpl
    def client_created(self, cabinet: Cabinet, client: Any, actor: Actor) -> None:
        self.calls.append(("client_created", {"client": client}))


@pytest.fixture
def hooks() -> HookRecorder:
    return HookRecorder()


@pytest.fixture
def cabinet(store: Store, tmp_path: Path, hooks: HookRecorder) -> Iterator[Cabinet]:
    """A Cabinet with the built-in plugins only, on a migrated store (SQLite and PostgreSQL)."""
    settings = Settings(data_dir=tmp_path, secret_key="test", rate_provider="offline")
    app = Cabinet(settings, load_entrypoints=False, store=store, plugins=[hooks])
    app.users = UserService(app, hasher=FAST_HASHER)
    yield app


@attrs.frozen(kw_only=True)
class World:
    """Staff, two clients (A managed by ``manager``, B by ``other_manager``) and their users."""

    cabinet: Cabinet
    admin: User
    manager: User
    other_manager: User
    accountant: User
    client_a: Client
    client_b: Client
    alice: User  # a user of client A
    bob: User  # a user of client B

    def actor(self, user: User) -> Actor:
        return Actor.of(user)

    def client_id(self, client: Client) -> int:
        assert client.id is not None
        return client.id


def _user(cabinet: Cabinet, email: str, role: Role, client_id: int | None = None) -> User:
    return cabinet.users.create(
        Actor.system(),
        email=email,
        name=email.split("@")[0].title(),
        role=role,
        client_id=client_id,
        password=PASSWORD,
    )


@pytest.fixture
def world(cabinet: Cabinet) -> World:
    system = Actor.system()
    admin = _user(cabinet, "admin@firm.example", Role.ADMIN)
    manager = _user(cabinet, "manager@firm.example", Role.MANAGER)
    other_manager = _user(cabinet, "other@firm.example", Role.MANAGER)
    accountant = _user(cabinet, "accountant@firm.example", Role.ACCOUNTANT)
    client_a = cabinet.clients.create(
        system,
        Client(
            name="Alfa sp. z o.o.",
            nip="1234563218",
            email="biuro@alfa.example",
            address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
            bank_accounts=(BankAccount(currency="PLN", iban="PL61 1090 1014 0000 0712 1981 2874"),),
            manager_id=manager.id,
        ),
    )
    client_b = cabinet.clients.create(
        system, Client(name="Beta S.A.", nip="5260001246", manager_id=other_manager.id)
    )
    assert client_a.id is not None and client_b.id is not None
    alice = _user(cabinet, "alice@alfa.example", Role.CLIENT, client_a.id)
    bob = _user(cabinet, "bob@beta.example", Role.CLIENT, client_b.id)
    return World(
        cabinet=cabinet,
        admin=admin,
        manager=manager,
        other_manager=other_manager,
        accountant=accountant,
        client_a=client_a,
        client_b=client_b,
        alice=alice,
        bob=bob,
    )
