"""Tenant isolation: no route shows, changes or links one client's data for another.

The crawler builds a cabinet with two client companies (A and B, each with one of everything,
see ``isolation_world``), a manager of A only, an admin and an anonymous visitor, then walks
every route of the app's routing table and every operation of ``/api/v1/openapi.json``, each
classified in ``isolation_routes`` (a route it does not know fails the crawl):

* every record of B named in a path (and A's records mixed with B's) is tried by A's user, A's
  manager and the visitor, for reads (pages, JSON, PDF, FA(3) XML, attachments, exports) and
  writes (forms and JSON: edits, deletes, workflow moves, uploads); each answer must be a 403
  or 404 (the visitor may be sent to sign in) and show none of B's data;
* routes that name no record are read with every id of B in the query string and written with
  every id of B in the body (``client_id``, ``counterparty_id``, a line's ``product_id``,
  ``related_id``, ``document_id`` …): anything but a 500, nothing of B's shown;
* after every write B's rows are read back and must be unchanged, and no row of A may point
  at a record of B;
* B's own user or the admin must reach each record route with the same ids, so a denial
  means the access rule and not a wrong id.

B's data is recognised by one word, ``isolation_world.CANARY``, which every text of B carries.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import attrs
import pytest
from cabinet_web.app import create_app
from isolation_routes import ROUTES, TRANSITION_KEYS, Rule
from isolation_world import CANARY, PASSWORD, IsolationWorld, build, cross_links, snapshot
from starlette.routing import Route
from starlette.testclient import TestClient

ATTACKERS = ("user_a", "manager_a", "anonymous")
#: An id no record has: what a denial must look like when a body is refused before the lookup.
MISSING_ID = 999_999
CONTROLS = ("user_b", "admin")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


@attrs.define
class Crawl:
    """The world, one signed-in browser per person, and what went wrong so far."""

    world: IsolationWorld
    browsers: dict[str, TestClient]
    api: TestClient
    csrf: dict[str, str]
    baseline: dict[str, list[tuple[Any, ...]]]
    failures: list[str] = attrs.Factory(list)
    requests: int = 0
    #: Rows of A pointing at B found so far (each is reported once, by the write that made it).
    links: set[str] = attrs.Factory(set)

    def call(
        self, who: str, method: str, path: str, *, query: str = "", ref: str | None = None
    ) -> Any:
        """One request as ``who``: API paths with the person's token, pages with their
        session (and its CSRF token on writes). A write's body names B's record in the
        reference ``ref`` only, or in every reference when ``ref`` is ``None``."""
        self.requests += 1
        url = f"{path}?{query}" if query else path
        world = self.world
        if _is_api(path):
            headers = {}
            if who != "anonymous":
                headers["Authorization"] = f"Bearer {world.tokens[who]}"
            json_body = foreign_json(world, ref) if method in UNSAFE else None
            return self.api.request(
                method, url, headers=headers, json=json_body, follow_redirects=False
            )
        browser = self.browsers[who]
        if method in UNSAFE:
            return browser.request(
                method,
                url,
                headers={"X-CSRF-Token": self.csrf[who]},
                data=foreign_form(world, ref),
                follow_redirects=False,
            )
        return browser.request(method, url, follow_redirects=False)

    def fail(self, who: str, method: str, url: str, response: Any, why: str) -> None:
        self.failures.append(f"{method} {url} as {who}: {response.status_code} ({why})")

    def check_b_unchanged(self, who: str, method: str, url: str) -> None:
        now = snapshot(self.world.cabinet.store, self.world.b)
        if now != self.baseline:
            changed = sorted(t for t in now if now[t] != self.baseline.get(t))
            self.failures.append(f"{method} {url} as {who} changed B's {', '.join(changed)}")
            self.baseline = now
        links = set(cross_links(self.world.cabinet.store, self.world.a, self.world.b))
        if links - self.links:
            new = sorted(links - self.links)
            self.failures.append(f"{method} {url} as {who} linked A to B: {new}")
            self.links |= links


def _ids(world: IsolationWorld) -> Mapping[str, Mapping[str, tuple[int, ...]]]:
    return {"a": world.a.ids, "b": world.b.ids}


def foreign_query(world: IsolationWorld) -> str:
    """Every filter a list might take, naming B's records."""
    b = world.b
    return urlencode(
        {
            "client_id": b.client_id,
            "counterparty_id": b.first("counterparty"),
            "product_id": b.first("product"),
            "related_id": b.first("issued"),
            "document_id": b.first("issued"),
            "entity": "document",
            "entity_id": b.first("issued"),
            "actor_id": b.first("user"),
            "user_id": b.first("user"),
            "desk_id": b.first("desk"),
            # Words both clients' records contain (the canary would only be echoed back).
            "q": "Kontrahent",
            "search": "Produkt",
        }
    )


#: The references a write's body may make to another record, as form fields and JSON paths.
FORM_REFERENCES: Mapping[str, str] = {
    "client_id": "client",
    "counterparty_id": "counterparty",
    "related_id": "issued",
    "document_id": "issued",
    "product_id": "product",
    "lines.0.product_id": "product",
    "desk_id": "desk",
    "report_id": "report",
    "user_id": "user",
}
JSON_REFERENCES = FORM_REFERENCES


def _references(world: IsolationWorld, ref: str | None) -> dict[str, int]:
    """A's client as the target, and B's record in ``ref`` (in every reference: ``None``)."""
    chosen = dict(FORM_REFERENCES) if ref is None else {ref: FORM_REFERENCES[ref]}
    found = {"client_id": world.a.client_id}
    found.update({name: world.b.first(kind) for name, kind in chosen.items()})
    return found


def foreign_form(world: IsolationWorld, ref: str | None = None) -> dict[str, str]:
    """A form every write page could take (a document, a contract, a cash slip, a message …)
    whose reference ``ref`` (every reference: ``None``) names one of B's records."""
    values = {
        "doc_type": "vat_invoice",
        "issue_date": "2026-12-01",
        "sale_date": "2026-12-01",
        "due_date": "2026-12-15",
        "buyer.name": "Kupiec sp. z o.o.",
        "buyer.nip": "5260001246",
        "lines.0.name": "Usługa",
        "lines.0.quantity": "1",
        "lines.0.unit": "szt.",
        "lines.0.unit_price": "10",
        "lines.0.vat_rate": "23",
        "kind": "KP",
        "date": "2026-12-02",
        "amount": "10",
        "party_name": "Jan Kowalski",
        "title": "Wpłata",
        "body": "Dzień dobry",
        "subject": "Dzieło",
        "contractor.name": "Jan Kowalski",
        "contractor.pesel": "44051401359",
        "date_from": "2026-12-01",
        "date_to": "2026-12-31",
        "template_id": "1",
        "name": "Nowa nazwa",
        "symbol": "KX",
        "email": "nowy@alfa.example",
        "role": "client",
        "reason": "Błąd",
        "comment": "Uwagi",
        "seller_email": "sprzedawca@example.com",
        "transition": "approve",
        "to": "kupiec@example.com",
        "version": "1",
    }
    return {**values, **{k: str(v) for k, v in _references(world, ref).items()}}


def foreign_json(world: IsolationWorld, ref: str | None = None) -> dict[str, Any]:
    """The JSON counterpart of :func:`foreign_form`."""
    refs = _references(world, ref)
    line: dict[str, Any] = {"name": "Usługa", "quantity": "1", "unit_price": "10", "vat_rate": "23"}
    if "lines.0.product_id" in refs:
        line["product_id"] = refs.pop("lines.0.product_id")
    return {
        **refs,
        "template_id": 1,
        "doc_type": "vat_invoice",
        "issue_date": "2026-12-01",
        "sale_date": "2026-12-01",
        "buyer": {"name": "Kupiec sp. z o.o.", "nip": "5260001246"},
        "lines": [line],
        "kind": "KP",
        "on": "2026-12-02",
        "amount": "10.00",
        "party_name": "Jan Kowalski",
        "title": "Wpłata",
        "body": "Dzień dobry",
        "subject": "Dzieło",
        "contractor": {"name": "Jan Kowalski", "pesel": "44051401359"},
        "date_from": "2026-12-01",
        "date_to": "2026-12-31",
        "name": "Nowa nazwa",
        "symbol": "KX",
        "email": "nowy@alfa.example",
        "reason": "Błąd",
        "seller_email": "sprzedawca@example.com",
        "version": 1,
        "transition": "approve",
        "non_deductible": True,
        "templates": ["default"],
    }


def _sign_in(browser: TestClient, email: str) -> None:
    page = browser.get("/login")
    token = _CSRF.search(page.text)
    assert token, "no CSRF token on the sign-in page"
    response = browser.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.url.path == "/", f"{email} could not sign in"


def _csrf_of(browser: TestClient, path: str) -> str:
    match = _CSRF.search(browser.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    for world in build(Path(tmp_path_factory.mktemp("isolation"))):
        app = create_app(world.cabinet)
        people = {
            "user_a": world.a.user.email,
            "manager_a": world.manager_a.email,
            "user_b": world.b.user.email,
            "admin": world.admin.email,
        }
        with TestClient(app) as api:
            browsers = {who: TestClient(app) for who in (*people, "anonymous")}
            for who, email in people.items():
                _sign_in(browsers[who], email)
            csrf = {who: _csrf_of(browsers[who], "/profile") for who in people}
            csrf["anonymous"] = _csrf_of(browsers["anonymous"], "/login")
            try:
                yield Crawl(
                    world=world,
                    browsers=browsers,
                    api=api,
                    csrf=csrf,
                    baseline=snapshot(world.cabinet.store, world.b),
                )
            finally:
                for browser in browsers.values():
                    browser.close()


# -- the route table ------------------------------------------------------------------------------


def _app_routes(crawl: Crawl) -> set[tuple[str, str]]:
    app = crawl.browsers["anonymous"].app
    found: set[tuple[str, str]] = set()
    for route in app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((method, route.path))
    return found


def _bare(path: str) -> str:
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def test_every_route_and_api_operation_is_classified(crawl: Crawl) -> None:
    routes = _app_routes(crawl)
    unknown = sorted(routes - set(ROUTES))
    assert not unknown, (
        "routes the isolation crawler does not know; classify them in proof/isolation_routes.py:"
        f" {unknown}"
    )
    stale = sorted(set(ROUTES) - routes)
    assert not stale, f"classified routes the app no longer has: {stale}"
    document = crawl.api.get("/api/v1/openapi.json").json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE")
    }
    classified = {(method, _bare(path)) for method, path in ROUTES}
    missing = sorted(operations - classified)
    assert not missing, f"OpenAPI operations without a route the crawler knows: {missing}"


# -- crawling ------------------------------------------------------------------------------------


def _values(crawl: Crawl, rule: Rule, name: str, owner: str) -> tuple[str, ...]:
    kind = rule.param(name)
    if isinstance(kind, tuple):
        return kind
    return tuple(str(i) for i in _ids(crawl.world)[owner][kind])


@attrs.frozen
class Target:
    """One URL to try: ``url`` names records of B (alone, or mixed with A's); ``missing`` is
    the same URL with ids no record has."""

    url: str
    missing: str


def _urls(crawl: Crawl, path: str, rule: Rule, *, mixed: bool) -> list[Target]:
    """The path with B's records (and, when ``mixed``, A's records in all but one tenant
    parameter, so that a record of B reached through one of A's is tried as well)."""
    names = _PARAM.findall(path)
    tenant = [n for n in names if not isinstance(rule.param(n), tuple)]
    owners: list[dict[str, str]] = [dict.fromkeys(tenant, "b")]
    if mixed and len(tenant) > 1:
        for foreign in tenant:
            owners.append({n: "b" if n == foreign else "a" for n in tenant})
    targets: list[Target] = []
    for owner in owners:
        choices = [_values(crawl, rule, n, owner.get(n, "b")) for n in names]
        for combination in itertools.product(*choices):
            values = dict(zip(names, combination, strict=True))
            absent = {**values, **dict.fromkeys(tenant, str(MISSING_ID))}
            targets.append(Target(url=_fill(path, values), missing=_fill(path, absent)))
    return targets


def _fill(path: str, values: Mapping[str, str]) -> str:
    return _PARAM.sub(lambda match: values[match.group(1)], path)


def _shows_b(response: Any) -> bool:
    text: str = response.content.decode("utf-8", "replace")
    return CANARY.lower() in text.lower()


def _sent_to_sign_in(response: Any) -> bool:
    location: str = response.headers.get("location", "")
    status: int = response.status_code
    return 300 <= status < 400 and location.startswith("/login")


def _denied(who: str, response: Any) -> bool:
    if response.status_code in (403, 404):
        return True
    return who == "anonymous" and (response.status_code == 401 or _sent_to_sign_in(response))


def _as_if_missing(crawl: Crawl, who: str, method: str, target: Target, response: Any) -> bool:
    """Whether the answer is the very answer (status and body) for ids that do not exist."""
    if _denied(who, response) or response.status_code >= 500:
        return False
    absent = crawl.call(who, method, target.missing)
    return bool(absent.status_code == response.status_code and absent.content == response.content)


def _check(crawl: Crawl, who: str, method: str, url: str, response: Any, *, deny: bool) -> None:
    if response.status_code >= 500:
        crawl.fail(who, method, url, response, "server error")
    if _shows_b(response):
        crawl.fail(who, method, url, response, f"shows B's data ({CANARY})")
    if deny and not _denied(who, response):
        crawl.fail(who, method, url, response, "not denied with 403/404")


def _crawl_route(crawl: Crawl, method: str, path: str, rule: Rule) -> None:
    world = crawl.world
    if rule.kind == "stream":
        return
    if rule.kind == "public":
        for url in (target.url for target in _urls(crawl, path, rule, mixed=False)):
            response = crawl.call("anonymous", method, url)
            _check(crawl, "anonymous", method, url, response, deny=False)
            if method in UNSAFE:
                crawl.check_b_unchanged("anonymous", method, url)
        return
    if rule.kind in ("own", "self"):
        if rule.kind == "self" and method in UNSAFE:
            return  # acts on the caller's own account only, and would end the crawl's session
        query = foreign_query(world) if method == "GET" else ""
        # One of B's records per write, so that no other refusal hides the one tried.
        refs: tuple[str | None, ...] = tuple(FORM_REFERENCES) if method in UNSAFE else (None,)
        for url in (target.url for target in _urls(crawl, path, rule, mixed=False)):
            for who in ATTACKERS:
                for ref in refs if who != "anonymous" else (None,):
                    response = crawl.call(who, method, url, query=query, ref=ref)
                    shown = f"{url} [{ref}]" if ref else url
                    _check(crawl, who, method, shown, response, deny=who == "anonymous")
                    if method in UNSAFE:
                        crawl.check_b_unchanged(who, method, shown)
        return
    assert rule.kind == "object", f"unknown kind {rule.kind!r} for {method} {path}"
    for target in _urls(crawl, path, rule, mixed=True):
        url = target.url
        for who in ATTACKERS:
            response = crawl.call(who, method, url, query=rule.query)
            # Denied, or answered exactly as records that do not exist (a body refused
            # before any lookup): either way the answer tells nothing about B. A record of A
            # reached through one of B's (a slip through B's cash report) is denied too.
            deny = not _as_if_missing(crawl, who, method, target, response)
            _check(crawl, who, method, url, response, deny=deny)
            if method in UNSAFE:
                crawl.check_b_unchanged(who, method, url)
    if method == "GET" and rule.control:
        reached = any(
            crawl.call(who, method, target.url, query=rule.query).status_code < 300
            for target in _urls(crawl, path, rule, mixed=False)
            for who in CONTROLS
        )
        if not reached:
            crawl.failures.append(
                f"GET {path}: neither B's user nor the admin reached it with B's ids, so its "
                "denials prove nothing (fix the seed or the route's rule)"
            )


def _report(crawl: Crawl) -> str:
    shown = crawl.failures[:400]
    more = len(crawl.failures) - len(shown)
    tail = f"\n… and {more} more" if more > 0 else ""
    return (
        f"{len(crawl.failures)} problems in {crawl.requests} requests:\n" + "\n".join(shown) + tail
    )


def test_reads_show_nothing_of_another_client(crawl: Crawl) -> None:
    crawl.failures.clear()
    for (method, path), rule in sorted(ROUTES.items()):
        if method == "GET":
            _crawl_route(crawl, method, path, rule)
    assert not crawl.failures, _report(crawl)


def test_writes_change_and_link_nothing_of_another_client(crawl: Crawl) -> None:
    crawl.failures.clear()
    # B's own reads (the controls) may have marked B's chat read: B as it is now is the start.
    crawl.baseline = snapshot(crawl.world.cabinet.store, crawl.world.b)
    # Deletes last: a wrongly allowed delete would otherwise hide later writes' effects.
    order = {"POST": 0, "PUT": 1, "PATCH": 2, "DELETE": 3}
    for (method, path), rule in sorted(
        ROUTES.items(), key=lambda item: (order.get(item[0][0], 9), item[0][1])
    ):
        if method in UNSAFE:
            _crawl_route(crawl, method, path, rule)
    assert not crawl.failures, _report(crawl)


def test_b_is_as_it_was_and_every_transition_was_tried(crawl: Crawl) -> None:
    crawl.failures.clear()
    crawl.check_b_unchanged("everyone", "-", "after the crawl")
    assert not crawl.failures, _report(crawl)
    # The moves tried are every move the installed document types declare.
    declared = {
        transition.key
        for document_type in crawl.world.cabinet.document_types.values()
        for transition in document_type.workflow.transitions
    }
    assert declared <= set(TRANSITION_KEYS), sorted(declared - set(TRANSITION_KEYS))
