"""Role denials (#11): every action a role must not take is denied to that role on the page,
on the API operation and on the download alike.

One table, :data:`ACTIONS`: an action (a workflow move, user management, settings, tokens, the
audit log, exports, downloads), the roles that must be denied it, and its HTML route, its API
operation and its download route, each named as the routing table names it (the routes are
looked up in ``proof/isolation_routes.py``, which the tenant-isolation crawler keeps equal to
the app's routing table and the OpenAPI document, so a renamed route fails here too).

Every denied role asks every route of the action: the answer must be a 403 or 404 (an anonymous
visitor may get 401 or be sent to sign in), show none of the record, and change nothing in the
database. Then a role that may take the action takes it on every route, so the denials are not
just a broken route answering 404 to everybody.

The roles, on client A's records: A's own client user, A's manager (where only bookkeeping or
an admin may act), the manager of another client (B), an accountant, and an anonymous visitor.
The cabinet has no separate "client admin" role: a client's users all have the client role.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from cabinet_core.entities import Actor, Role, User
from cabinet_web.app import create_app
from isolation_routes import ROUTES
from isolation_world import PASSWORD, IsolationWorld, build
from starlette.testclient import TestClient
from test_tenant_isolation import _csrf_of, _sign_in

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
#: Tables every signed-in request may write (its session's last use, a refused sign-in): not
#: state an action changes. A token's last use is left out of ``api_tokens`` the same way.
VOLATILE = frozenset({"sessions", "login_attempts"})
VOLATILE_COLUMNS = {"api_tokens": frozenset({"last_used_at"})}


@attrs.frozen
class Call:
    """One route of an action: ``path`` exactly as the routing table has it, its parameters
    and a body (form for pages, JSON for the API; ``"{name}"`` stands for the record
    ``name`` of :attr:`Roles.ids`)."""

    method: str
    path: str
    #: Each path parameter's value: the name of a record of :attr:`Roles.ids`, else itself.
    params: Mapping[str, str] = attrs.field(factory=dict)
    body: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


@attrs.frozen
class Action:
    name: str
    #: Roles that must be denied the action everywhere.
    denied: tuple[str, ...]
    #: A role that may take it (asked after every denial, on every route).
    control: str
    page: Call | None = None
    api: Call | None = None
    download: Call | None = None
    #: A text of the record that a denial must not show.
    hides: str = ""

    def calls(self) -> list[tuple[str, Call]]:
        return [
            (where, call)
            for where, call in (("page", self.page), ("api", self.api), ("download", self.download))
            if call is not None
        ]


CLIENT_USER, OWN_MANAGER, OTHER_MANAGER = "user_a", "manager_a", "manager_b"
ACCOUNTANT, ANONYMOUS, ADMIN = "accountant", "anonymous", "admin"
#: Who may never act for client A (other than reading its own client's data).
OUTSIDERS = (OTHER_MANAGER, ANONYMOUS)
BOOKKEEPING_ONLY = (CLIENT_USER, OWN_MANAGER, OTHER_MANAGER, ANONYMOUS)
STAFF_MANAGEMENT = (CLIENT_USER, ACCOUNTANT, OTHER_MANAGER, ANONYMOUS)
ADMIN_ONLY = (CLIENT_USER, OWN_MANAGER, ACCOUNTANT, OTHER_MANAGER, ANONYMOUS)
#: What a manager does for its clients and every client (the audit log, news).
MANAGERS_ONLY = (CLIENT_USER, ACCOUNTANT, ANONYMOUS)


BRANDING = {"firm_name": "Intruz", "primary_color": "#000000", "accent_color": "#ffffff"}
MAIL = {"host": "smtp.intruz.example", "port": 25, "sender": "x@intruz.example"}
#: A user of client A someone would add (each route gives it its own address).
INTRUDER = {"name": "Intruz", "role": "client", "client_id": "{client}"}


def _move(
    name: str, denied: tuple[str, ...], control: str, key: str, doc: str, comment: str = ""
) -> Action:
    """The workflow move ``key`` of the document ``doc`` on its page and through the API."""
    body = {"comment": comment} if comment else {}
    return Action(
        name,
        denied=denied,
        control=control,
        page=Call(
            "POST", "/documents/{doc_id:int}/transitions/{key}", {"doc_id": doc, "key": key}, body
        ),
        # Its own record: the control moves the page's record, then the API's.
        api=Call(
            "POST",
            "/api/v1/documents/{doc_id:int}/transitions/{key}",
            {"doc_id": f"{doc}_api", "key": key},
            body,
        ),
    )


ACTIONS: tuple[Action, ...] = (
    # -- documents: reading and downloading, workflow moves ------------------------------------
    Action(
        "read and download an invoice",
        denied=OUTSIDERS,
        control=CLIENT_USER,
        page=Call("GET", "/documents/{doc_id:int}", {"doc_id": "issued"}),
        api=Call("GET", "/api/v1/documents/{doc_id:int}", {"doc_id": "issued"}),
        download=Call("GET", "/documents/{doc_id:int}/pdf", {"doc_id": "issued"}),
        hides="Alfa notatka",
    ),
    Action(
        "download an invoice through the API",
        denied=OUTSIDERS,
        control=ACCOUNTANT,
        download=Call("GET", "/api/v1/documents/{doc_id:int}/pdf", {"doc_id": "issued"}),
    ),
    Action(
        "download an invoice's FA(3) XML",
        denied=OUTSIDERS,
        control=CLIENT_USER,
        page=Call("GET", "/documents/{doc_id:int}/xml", {"doc_id": "issued"}),
        download=Call("GET", "/api/v1/documents/{doc_id:int}/xml", {"doc_id": "issued"}),
    ),
    Action(
        "download an attachment",
        denied=OUTSIDERS,
        control=OWN_MANAGER,
        page=Call(
            "GET",
            "/documents/{doc_id:int}/attachments/{att_id:int}",
            {"doc_id": "draft", "att_id": "attachment"},
        ),
        download=Call(
            "GET",
            "/api/v1/documents/{doc_id:int}/attachments/{att_id:int}",
            {"doc_id": "draft", "att_id": "attachment"},
        ),
    ),
    _move(
        "issue a draft invoice",
        (ACCOUNTANT, OTHER_MANAGER, ANONYMOUS),
        CLIENT_USER,
        "issue",
        "draft",
    ),
    _move(
        "approve a submitted cost invoice",
        BOOKKEEPING_ONLY,
        ACCOUNTANT,
        "approve",
        "cost_to_approve",
    ),
    _move(
        "return a submitted cost invoice",
        BOOKKEEPING_ONLY,
        ACCOUNTANT,
        "return",
        "cost_to_return",
        comment="Brak podpisu",
    ),
    _move("book an approved cost invoice", BOOKKEEPING_ONLY, ACCOUNTANT, "book", "cost_approved"),
    Action(
        "mark a cost invoice for the VAT registers",
        denied=BOOKKEEPING_ONLY,
        control=ACCOUNTANT,
        api=Call(
            "PUT",
            "/api/v1/documents/{doc_id:int}/vat-mark",
            {"doc_id": "cost_approved"},
            {"non_deductible": True},
        ),
    ),
    # -- user management -----------------------------------------------------------------------
    Action(
        "create a user of client A",
        denied=STAFF_MANAGEMENT,
        control=OWN_MANAGER,
        page=Call(
            "POST",
            "/users",
            body={**INTRUDER, "email": "intruz.page@alfa.example", "language": "pl"},
        ),
        api=Call("POST", "/api/v1/users", body={**INTRUDER, "email": "intruz.api@alfa.example"}),
    ),
    Action(
        "reset a user's second factor",
        denied=ADMIN_ONLY,
        control=ADMIN,
        page=Call("POST", "/users/{user_id}/two-factor/reset", {"user_id": "leaver"}),
        api=Call("POST", "/api/v1/users/{user_id:int}/two-factor/reset", {"user_id": "leaver"}),
    ),
    Action(
        "set a user's password",
        denied=STAFF_MANAGEMENT,
        control=OWN_MANAGER,
        page=Call(
            "POST",
            "/users/{user_id}/password",
            {"user_id": "leaver"},
            {"password": "inne-haslo-kolegi-77"},
        ),
    ),
    Action(
        "deactivate a user",
        denied=STAFF_MANAGEMENT,
        control=OWN_MANAGER,
        page=Call("POST", "/users/{user_id}/deactivate", {"user_id": "leaver"}),
        api=Call("POST", "/api/v1/users/{user_id:int}/deactivate", {"user_id": "leaver"}),
    ),
    # -- tokens --------------------------------------------------------------------------------
    Action(
        "revoke another user's API token",
        denied=ADMIN_ONLY,
        control="colleague",
        page=Call("POST", "/tokens/{token_id}/revoke", {"token_id": "colleague_token"}),
    ),
    # -- settings ------------------------------------------------------------------------------
    Action(
        "read the mail settings",
        denied=ADMIN_ONLY,
        control=ADMIN,
        page=Call("GET", "/settings/mail"),
        api=Call("GET", "/api/v1/settings/mail"),
    ),
    Action(
        "change the mail settings",
        denied=ADMIN_ONLY,
        control=ADMIN,
        # A form sends the port as text, the API as a number.
        page=Call("POST", "/settings/mail", body={**MAIL, "port": "25"}),
        api=Call("PUT", "/api/v1/settings/mail", body=MAIL),
    ),
    Action(
        "change the branding",
        denied=ADMIN_ONLY,
        control=ADMIN,
        page=Call("POST", "/settings/branding", body=BRANDING),
        api=Call("PUT", "/api/v1/settings/branding", body=BRANDING),
    ),
    Action(
        "reassign client A to another manager",
        denied=ADMIN_ONLY,
        control=ADMIN,
        api=Call(
            "PATCH",
            "/api/v1/clients/{client_id:int}",
            {"client_id": "client"},
            {"manager_id": "{manager_b_id}"},
        ),
    ),
    # -- audit and exports ---------------------------------------------------------------------
    Action(
        "read and export the audit log",
        denied=MANAGERS_ONLY,
        control=OWN_MANAGER,
        page=Call("GET", "/audit"),
        api=Call("GET", "/api/v1/audit"),
        download=Call("GET", "/audit.csv"),
    ),
    Action(
        "export the audit log through the API",
        denied=MANAGERS_ONLY,
        control=ADMIN,
        download=Call("GET", "/api/v1/audit/export"),
    ),
    Action(
        "download another user's report export",
        denied=OUTSIDERS,
        control=CLIENT_USER,
        page=Call("GET", "/reports/exports/{job_id:int}", {"job_id": "job"}),
        api=Call("GET", "/api/v1/reports/exports/{job_id}", {"job_id": "job"}),
        download=Call("GET", "/reports/exports/{job_id:int}/file", {"job_id": "job"}),
    ),
    Action(
        "download a cash report",
        denied=OUTSIDERS,
        control=CLIENT_USER,
        page=Call("GET", "/cash/reports/{report_id}", {"report_id": "report"}),
        api=Call("GET", "/api/v1/cash-reports/{report_id:int}", {"report_id": "report"}),
        download=Call("GET", "/cash/reports/{report_id}/pdf", {"report_id": "report"}),
    ),
    # -- news ----------------------------------------------------------------------------------
    Action(
        "publish news to every client",
        denied=MANAGERS_ONLY,
        control=OWN_MANAGER,
        page=Call("POST", "/news", body={"title": "Intruz", "body": "Intruz"}),
    ),
)


@attrs.define
class Roles:
    """The world, a signed-in browser and an API token per role, and the ids the table names."""

    world: IsolationWorld
    browsers: dict[str, TestClient]
    csrf: dict[str, str]
    tokens: dict[str, str]
    ids: dict[str, str]
    #: A client without cookies: the API is asked with the role's token alone.
    api: TestClient

    def call(self, who: str, call: Call) -> Any:
        path = _PARAM.sub(lambda m: self._param(call.params[m.group(1)]), call.path)
        body = {key: self._value(value, call.api) for key, value in call.body.items()} or None
        browser = self.browsers[who]
        if call.api:
            headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who in self.tokens else {}
            return self.api.request(
                call.method,
                path,
                headers=headers,
                json=body if call.method in UNSAFE else None,
                follow_redirects=False,
            )
        if call.method in UNSAFE:
            return browser.request(
                call.method,
                path,
                headers={"X-CSRF-Token": self.csrf[who]},
                data=body or {},
                follow_redirects=False,
            )
        return browser.request(call.method, path, follow_redirects=False)

    def _param(self, value: str) -> str:
        return self.ids.get(value, value)

    def _value(self, value: Any, api: bool) -> Any:
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            found = self.ids[value[1:-1]]
            return int(found) if api else found
        return value


def _id(value: Any) -> str:
    assert value.id is not None
    return str(value.id)


def _moved(cabinet: Any, who: Actor, bookkeeper: Actor, cost: Any, moves: Sequence[str]) -> str:
    """A copy of the cost invoice ``cost``, submitted for approval, then moved through ``moves``
    by ``bookkeeper``; its id."""
    copy = attrs.evolve(cost, id=None, number=None, status="draft", version=0)
    made = cabinet.documents.create(who, copy)
    assert made.id is not None
    cabinet.documents.transition(who, made.id, "submit")
    for move in moves:
        cabinet.documents.transition(bookkeeper, made.id, move)
    return _id(made)


def _copy(cabinet: Any, who: Actor, doc_id: int) -> str:
    """A new draft like the document ``doc_id``; its id."""
    document = cabinet.documents.get(who, doc_id)
    copy = attrs.evolve(document, id=None, number=None, status="draft", version=0)
    return _id(cabinet.documents.create(who, copy))


#: The cost invoices the moves take (each twice: page and API): the bookkeeper's moves after
#: the client's user submitted it.
COST_INVOICES = {"cost_to_approve": (), "cost_to_return": (), "cost_approved": ("approve",)}
#: The users the world lacks: who, e-mail, name, role, and whether a user of client A.
EXTRA_USERS = (
    (ACCOUNTANT, "ksiegowa@firm.example", "Krystyna Księgowa", Role.ACCOUNTANT, False),
    ("colleague", "kolega@alfa.example", "Kolega Alfa", Role.CLIENT, True),
    # The user whose second factor is reset, whose password is set and who is deactivated
    # (each ends its sessions, so not the colleague who revokes its own token).
    ("leaver", "odchodzi@alfa.example", "Odchodzący Alfa", Role.CLIENT, True),
)


@pytest.fixture(scope="module")
def roles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roles]:
    for world in build(Path(tmp_path_factory.mktemp("roles"))):
        cabinet = world.cabinet
        extra = {
            who: cabinet.users.create(
                Actor.system(),
                email=email,
                name=name,
                role=role,
                client_id=world.a.client_id if of_a else None,
                password=PASSWORD,
            )
            for who, email, name, role, of_a in EXTRA_USERS
        }
        user_a, bookkeeper = Actor.of(world.a.user), Actor.of(extra[ACCOUNTANT])
        cost = cabinet.documents.get(user_a, world.a.ids["document"][4])
        assert cost.doc_type == "cost_invoice"
        colleague_token, _ = cabinet.tokens.create(Actor.of(extra["colleague"]), name="kolega")
        people: dict[str, User] = {
            CLIENT_USER: world.a.user,
            OWN_MANAGER: world.manager_a,
            OTHER_MANAGER: world.manager_b,
            ACCOUNTANT: extra[ACCOUNTANT],
            ADMIN: world.admin,
            "colleague": extra["colleague"],
        }
        # Tokens with every scope: what a role may do is the question, not what a token may.
        tokens = {
            who: cabinet.tokens.create(
                Actor.of(user), name="roles", scopes=("read", "write", "admin")
            )[1]
            for who, user in people.items()
        }
        ids = {
            "issued": str(world.a.first("issued")),
            "draft": str(world.a.first("draft")),
            "attachment": str(world.a.first("attachment")),
            "job": str(world.a.first("job")),
            "report": str(world.a.first("report")),
            "client": str(world.a.client_id),
            "draft_api": _copy(cabinet, user_a, world.a.first("draft")),
            "leaver": _id(extra["leaver"]),
            "colleague": _id(extra["colleague"]),
            "colleague_token": _id(colleague_token),
            "manager_b_id": _id(world.manager_b),
        }
        # Each workflow move takes its own cost invoice on the page and one on the API.
        ids.update(
            {
                f"{name}{end}": _moved(cabinet, user_a, bookkeeper, cost, moves)
                for name, moves in COST_INVOICES.items()
                for end in ("", "_api")
            }
        )
        app = create_app(cabinet)
        browsers = {who: TestClient(app) for who in (*people, ANONYMOUS)}
        for who, user in people.items():
            _sign_in(browsers[who], user.email)
        csrf = {who: _csrf_of(browsers[who], "/profile") for who in people}
        csrf[ANONYMOUS] = _csrf_of(browsers[ANONYMOUS], "/login")
        browsers["api-client"] = TestClient(app)
        try:
            yield Roles(
                world=world,
                browsers=browsers,
                csrf=csrf,
                tokens=tokens,
                ids=ids,
                api=browsers.pop("api-client"),
            )
        finally:
            for browser in browsers.values():
                browser.close()


def state(roles: Roles) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the volatile ones."""
    engine = roles.world.cabinet.store.engine
    meta = sa.MetaData()
    meta.reflect(engine)
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in sorted(meta.tables.values(), key=lambda table: table.name):
            if table.name in VOLATILE or table.name.startswith("alembic"):
                continue
            skip = VOLATILE_COLUMNS.get(table.name, frozenset())
            columns = [c for c in table.columns if c.name not in skip]
            rows = connection.execute(sa.select(*columns)).all()
            found[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return found


def _denied(who: str, response: Any) -> bool:
    if response.status_code in (403, 404):
        return True
    location: str = response.headers.get("location", "")
    signing_in = 300 <= response.status_code < 400 and location.startswith("/login")
    return who == ANONYMOUS and (response.status_code == 401 or signing_in)


def _label(action: Action, where: str, call: Call) -> str:
    return f"{action.name} [{where}: {call.method} {call.path}]"


def test_the_table_names_routes_the_app_has() -> None:
    """Each route of the table is one the routing table (and the OpenAPI document) has: the
    isolation crawler keeps proof/isolation_routes.py equal to both."""
    unknown = [
        _label(action, where, call)
        for action in ACTIONS
        for where, call in action.calls()
        if (call.method, call.path) not in ROUTES
    ]
    assert not unknown, f"routes the app does not have: {unknown}"


#: The families of routes whose denials the table must cover: any route of the app under them
#: (from proof/isolation_routes.py, the routing table's mirror) is the route of some action
#: here, or listed in UNCOVERED with the test that covers it instead.
FAMILIES = re.compile(
    r"^(/api/v1)?/(users|audit|settings/(mail|branding)|tokens)\b|/transitions\b|/vat-mark$"
)
UNCOVERED = {
    ("GET", "/users"): "lists only whom the caller may see (test_tenant_isolation)",
    ("GET", "/api/v1/users"): "lists only whom the caller may see (test_tenant_isolation)",
    ("POST", "/users/{user_id}/invite"): "the same check as set_password (can_manage_user)",
    ("POST", "/users/{user_id}/reactivate"): "the same check as deactivate (can_manage_user)",
    ("POST", "/api/v1/users/{user_id:int}/reactivate"): "the same check as deactivate",
    ("GET", "/tokens"): "one's own tokens only",
    ("POST", "/tokens"): "makes one's own token (test_token_scopes)",
    ("GET", "/settings/branding"): "the branding is public (it is on every page)",
    ("GET", "/api/v1/settings/branding"): "the branding is public (it is on every page)",
    ("POST", "/settings/branding/logo"): "the same check as the branding (admins)",
    ("POST", "/settings/branding/logo/remove"): "the same check as the branding (admins)",
    ("POST", "/settings/mail/test"): "the same check as changing the mail settings",
    ("POST", "/api/v1/settings/mail/test"): "the same check as changing the mail settings",
    ("GET", "/api/v1/settings/mail/tests"): "the same check as reading the mail settings",
    ("GET", "/api/v1/documents/{doc_id:int}/transitions"): "lists the caller's own moves",
    ("POST", "/cash/reports/{report_id}/move"): "the cash workflow (test_cash_api)",
    ("POST", "/api/v1/cash-reports/{report_id:int}/transitions"): "the cash workflow",
}


def test_every_sensitive_route_is_in_the_table() -> None:
    covered = {(call.method, call.path) for action in ACTIONS for _, call in action.calls()}
    missing = sorted(
        route
        for route in ROUTES
        if FAMILIES.search(route[1]) and route not in covered and route not in UNCOVERED
    )
    assert not missing, (
        "routes of a sensitive family (users, settings, tokens, audit, transitions) that no "
        f"action of ACTIONS denies: add them to the table (or to UNCOVERED, saying why): {missing}"
    )


def test_each_denied_role_is_denied_on_the_page_the_api_and_the_download(roles: Roles) -> None:
    failures: list[str] = []
    before = state(roles)
    for action in ACTIONS:
        for who in action.denied:
            for where, call in action.calls():
                response = roles.call(who, call)
                label = f"{_label(action, where, call)} as {who}"
                if not _denied(who, response):
                    failures.append(f"{label}: {response.status_code}, not denied")
                if action.hides and action.hides in response.text:
                    failures.append(f"{label}: shows {action.hides!r}")
                after = state(roles)
                if after != before:
                    changed = sorted(t for t in after if after[t] != before.get(t))
                    failures.append(f"{label}: changed {', '.join(changed)}")
                    before = after
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def test_a_role_that_may_act_does_on_every_route(roles: Roles) -> None:
    """The control: the same routes work for someone allowed (else a 404 for everyone would
    pass the denials)."""
    failures: list[str] = []
    for action in ACTIONS:
        for where, call in action.calls():
            response = roles.call(action.control, call)
            if response.status_code >= 400:
                failures.append(
                    f"{_label(action, where, call)} as {action.control}: "
                    f"{response.status_code} {response.text[:200]}"
                )
            elif where == "download" and not response.content:
                failures.append(f"{_label(action, where, call)}: an empty download")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
