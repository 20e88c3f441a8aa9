"""bitrix24.md §9: every contract case, against the emulator in-process (virtual clock)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx
import pytest
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from bitrix24_emulator.encoding import parse_pairs, urlencode


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def received():
    return []


@pytest.fixture
def emulator(clock, received):
    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    return Emulator(clock=clock, event_transport=httpx.MockTransport(handler))


@pytest.fixture
def http(emulator):
    with httpx.Client(transport=emulator.transport()) as client:
        yield client


@pytest.fixture
def hook(emulator):
    return emulator.webhook_url


@pytest.fixture
def app_auth(emulator):
    return emulator.install_app()


def add_quote(http, hook, **fields):
    response = http.post(hook + "crm.item.add", json={"entityTypeId": 7, "fields": fields})
    assert response.status_code == 200, response.text
    return response.json()["result"]["item"]


# 1. webhook routing ---------------------------------------------------------------------


def test_1_webhook_routes_with_and_without_json_suffix_and_any_case(http, hook):
    item = add_quote(http, hook, title="Oferta")
    for name in ("crm.item.get.json", "crm.item.get", "CRM.Item.Get"):
        response = http.post(hook + name, json={"entityTypeId": 7, "id": item["id"]})
        assert response.status_code == 200
        assert response.json()["result"]["item"]["title"] == "Oferta"


def test_1_wrong_webhook_secret_is_no_auth_found(http, emulator):
    response = http.post(emulator.webhook_for(1, "wrong") + "user.current", json={})
    assert response.status_code == 401
    assert response.json()["error"] == "NO_AUTH_FOUND"


# 2. OAuth auth parameter ----------------------------------------------------------------


def test_2_auth_in_query_json_and_form_body(http, emulator, app_auth):
    base = app_auth["client_endpoint"]
    token = app_auth["access_token"]
    answers = [
        http.get(base + "user.current", params={"auth": token}),
        http.post(base + "user.current", json={"auth": token}),
        http.post(base + "user.current", data={"auth": token}),
    ]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert {r.json()["result"]["ID"] for r in answers} == {"1"}


def test_2_expired_and_unknown_tokens(http, emulator, app_auth, clock):
    base = app_auth["client_endpoint"]
    unknown = http.post(base + "user.current", json={"auth": "nope"})
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_token")
    clock.advance(3601)
    expired = http.post(base + "user.current", json={"auth": app_auth["access_token"]})
    assert expired.status_code == 401
    assert expired.json() == {
        "error": "expired_token",
        "error_description": "The access token provided has expired.",
    }


# 3. refresh rotation ----------------------------------------------------------------------


def test_3_refresh_returns_a_new_pair_and_the_old_refresh_token_dies(http, emulator, app_auth):
    url = emulator.config.portal_url + "/oauth/token/"
    params = {
        "grant_type": "refresh_token",
        "client_id": emulator.app.client_id,
        "client_secret": emulator.app.client_secret,
        "refresh_token": app_auth["refresh_token"],
    }
    fresh = http.get(url, params=params)
    assert fresh.status_code == 200
    body = fresh.json()
    assert {
        "access_token",
        "refresh_token",
        "expires",
        "expires_in",
        "member_id",
        "user_id",
    } <= set(body)
    assert body["refresh_token"] != app_auth["refresh_token"]
    again = http.get(url, params=params)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    works = http.post(body["client_endpoint"] + "profile", json={"auth": body["access_token"]})
    assert works.status_code == 200


# 4. encodings ---------------------------------------------------------------------------


def test_4_json_urlencoded_multipart_and_query_are_equivalent(http, hook):
    for n in range(3):
        add_quote(http, hook, title=f"Oferta {n}", opportunity=100 * n)
    params = {
        "entityTypeId": 7,
        "filter": {">opportunity": 50},
        "select": ["id", "title"],
        "order": {"id": "DESC"},
    }
    flat = urlencode(params)
    answers = [
        http.post(hook + "crm.item.list", json=params),
        http.post(
            hook + "crm.item.list",
            content=flat,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        http.post(hook + "crm.item.list", files={k: (None, v) for k, v in parse_qsl(flat)}),
        http.get(hook + "crm.item.list?" + flat),
    ]
    results = [r.json()["result"] for r in answers]
    assert results[0]["items"] == [{"id": 3, "title": "Oferta 2"}, {"id": 2, "title": "Oferta 1"}]
    assert all(result == results[0] for result in results)


def test_4_bracket_keys_append_and_nest():
    assert parse_pairs([("a[]", "x"), ("a[]", "y"), ("f[P][0][V]", "1")]) == {
        "a": ["x", "y"],
        "f": {"P": [{"V": "1"}]},
    }


# 5. unknown method ------------------------------------------------------------------------


def test_5_unknown_method_is_404(http, hook):
    response = http.post(hook + "crm.nothing.here", json={})
    assert response.status_code == 404
    assert response.json() == {
        "error": "ERROR_METHOD_NOT_FOUND",
        "error_description": "Method not found!",
    }


# 6 and 7. paging ---------------------------------------------------------------------------


def seed(emulator, count, **fields):
    """Quotes created by staff in the portal (no request-rate cost)."""
    for _ in range(count):
        emulator.act("crm.item.add", {"entityTypeId": 7, "fields": fields})


def _list(http, hook, **params):
    return http.post(hook + "crm.item.list", json={"entityTypeId": 7, **params}).json()


def test_6_fifty_items_fit_one_page(http, hook, emulator):
    seed(emulator, 50)
    page = _list(http, hook)
    assert (len(page["result"]["items"]), page["total"], "next" in page) == (50, 50, False)


def test_6_the_51st_item_makes_a_second_page(http, hook, emulator):
    seed(emulator, 51)
    first = _list(http, hook)
    assert (len(first["result"]["items"]), first["total"], first["next"]) == (50, 51, 50)
    second = _list(http, hook, start=50)
    assert (len(second["result"]["items"]), "next" in second) == (1, False)
    fast = _list(http, hook, start=-1)
    assert (len(fast["result"]["items"]), fast["total"], "next" in fast) == (50, 0, False)


def test_7_id_window_export(http, hook, emulator):
    seed(emulator, 120)
    seen, last = [], 0
    while True:
        page = _list(http, hook, order={"id": "ASC"}, filter={">id": last}, start=-1, select=["id"])
        ids = [item["id"] for item in page["result"]["items"]]
        seen += ids
        if len(ids) < 50:
            break
        last = ids[-1]
    assert seen == list(range(1, 121))


# 8-11. batch --------------------------------------------------------------------------------


def _batch(http, hook, cmd, halt=0):
    response = http.post(hook + "batch", json={"halt": halt, "cmd": cmd})
    return response.status_code, response.json()


def test_8_batch_references_and_sections(http, hook):
    status, body = _batch(
        http,
        hook,
        {
            "add": "crm.item.add?entityTypeId=7&fields[title]=Z batcha",
            "rows": "crm.item.productrow.set?ownerType=Q&ownerId=$result[add][item][id]"
            "&productRows[0][productName]=Usługa&productRows[0][price]=100",
            "list": "crm.item.list?entityTypeId=7&select[]=id",
            "get": "crm.item.get?entityTypeId=7&id=$result[list][items][0][id]",
        },
    )
    assert status == 200
    result = body["result"]
    assert set(result) == {"result", "result_error", "result_total", "result_next", "result_time"}
    assert (
        result["result"]["rows"]["productRows"][0]["ownerId"]
        == result["result"]["add"]["item"]["id"]
    )
    assert result["result"]["get"]["item"]["title"] == "Z batcha"
    assert result["result_error"] == [] and result["result_next"] == []
    assert result["result_total"] == {"list": 1}
    assert set(result["result_time"]) == {"add", "rows", "list", "get"}


def test_9_failing_command_without_halt_keeps_going(http, hook):
    status, body = _batch(
        http,
        hook,
        {
            "bad": "crm.item.get?entityTypeId=7&id=999",
            "good": "user.current",
        },
    )
    assert status == 200
    assert body["result"]["result_error"]["bad"]["error"] == "NOT_FOUND"
    assert body["result"]["result"]["good"]["ID"] == "1"


def test_9_halt_stops_at_the_first_error(http, hook):
    _, body = _batch(
        http,
        hook,
        {
            "first": "user.current",
            "bad": "crm.item.get?entityTypeId=7&id=999",
            "never": "crm.item.add?entityTypeId=7&fields[title]=x",
        },
        halt=1,
    )
    result = body["result"]
    assert set(result["result"]) == {"first"}
    assert set(result["result_error"]) == {"bad"}
    assert "never" not in result["result_time"]
    assert _list(http, hook)["total"] == 0


def test_10_batch_limits(http, hook):
    status, body = _batch(http, hook, {f"c{n}": "user.current" for n in range(51)})
    assert (status, body["error"]) == (400, "ERROR_BATCH_LENGTH_EXCEEDED")
    _, nested = _batch(http, hook, {"inner": "batch?cmd[a]=user.current"})
    assert nested["result"]["result_error"]["inner"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"


def test_11_numeric_keys_give_a_list(http, hook):
    _, body = _batch(http, hook, ["user.current", "profile"])
    assert isinstance(body["result"]["result"], list)
    assert body["result"]["result"][0]["ID"] == "1"


# 12-14. limits and the time object -----------------------------------------------------


def test_12_burst_then_drain_and_a_batch_counts_once(http, hook, clock):
    codes = [http.post(hook + "user.current").status_code for _ in range(51)]
    assert codes[:50] == [200] * 50
    refused = http.post(hook + "user.current")
    assert refused.status_code == 503
    assert refused.json() == {
        "error": "QUERY_LIMIT_EXCEEDED",
        "error_description": "Too many requests",
    }
    clock.advance(1.0)
    batch = http.post(hook + "batch", json={"cmd": {str(n): "user.current" for n in range(50)}})
    assert batch.status_code == 200
    assert http.post(hook + "user.current").status_code == 200
    assert http.post(hook + "user.current").status_code == 503


def test_12_enterprise_plan_bursts_to_250(clock):
    from bitrix24_emulator import ENTERPRISE

    emulator = Emulator(EmulatorConfig(plan=ENTERPRISE), clock=clock)
    with httpx.Client(transport=emulator.transport()) as http:
        codes = [http.post(emulator.webhook_url + "profile").status_code for _ in range(251)]
    assert codes.count(200) == 250 and codes[-1] == 503


def test_13_operating_limit_per_method(clock):
    # Each add takes 100 s of (virtual) server time, so each opens its own basket.
    emulator = Emulator(EmulatorConfig(write_seconds=100.0), clock=clock)
    hook = emulator.webhook_url
    with httpx.Client(transport=emulator.transport()) as http:
        bodies = []
        for n in range(5):
            response = http.post(hook + "crm.item.add", json={"entityTypeId": 7, "fields": {}})
            assert response.status_code == 200, n
            bodies.append(response.json())
        # 500 s spent (the call crossing 480 s still ran): the next add is refused...
        blocked = http.post(hook + "crm.item.add", json={"entityTypeId": 7, "fields": {}})
        assert blocked.status_code == 429
        assert blocked.json()["error"] == "OPERATION_TIME_LIMIT"
        # ...other methods still work...
        assert http.post(hook + "crm.item.list", json={"entityTypeId": 7}).status_code == 200
        time = bodies[-1]["time"]
        assert time["operating"] == pytest.approx(500.0)
        # ...and the method is available again once the oldest basket expires.
        clock.advance(time["operating_reset_at"] - clock.now())
        again = http.post(hook + "crm.item.add", json={"entityTypeId": 7, "fields": {}})
        assert again.status_code == 200


def test_14_every_success_has_a_time_object(http, hook, clock):
    body = http.post(hook + "user.current").json()
    assert set(body["time"]) == {
        "start",
        "finish",
        "duration",
        "processing",
        "date_start",
        "date_finish",
        "operating_reset_at",
        "operating",
    }
    assert body["time"]["start"] == clock.now()
    assert body["time"]["date_start"].endswith("+01:00")


def test_14_simulated_server_time_passes_on_the_clock(clock):
    emulator = Emulator(EmulatorConfig(write_seconds=0.25), clock=clock)
    with httpx.Client(transport=emulator.transport()) as http:
        before = clock.now()
        body = http.post(
            emulator.webhook_url + "crm.item.add", json={"entityTypeId": 7, "fields": {}}
        ).json()
    assert body["time"]["duration"] == 0.25
    assert clock.now() == before + 0.25


# 15. crm.item round trip --------------------------------------------------------------------


def test_15_item_defaults_unknown_fields_uf_names_delete(http, hook):
    # Quote user fields made by crm.quote.userfield.add get the UF_CRM_ prefix.
    for code in ("1_DIGIT", "UF_5_ABC1"):
        made = http.post(
            hook + "crm.quote.userfield.add",
            json={"fields": {"FIELD_NAME": code, "USER_TYPE_ID": "string"}},
        ).json()
        assert isinstance(made["result"], int)
    item = add_quote(
        http, hook, unknownField="x", UF_CRM_1_DIGIT="7", ufCrm_5_ABC1="q", UF_CRM_NEVER_MADE="z"
    )
    assert item["title"] == f"Estimate #{item['id']}"
    assert item["stageId"] == "DRAFT" and item["stageSemanticId"] == "P"
    assert "unknownField" not in item
    # A user field the portal never created is ignored like any unknown key.
    assert "ufCrm_NEVER_MADE" not in item and "UF_CRM_NEVER_MADE" not in item
    assert item["ufCrm1Digit"] == "7" and item["ufCrm_5_ABC1"] == "q"
    original = http.post(
        hook + "crm.item.get", json={"entityTypeId": 7, "id": item["id"], "useOriginalUfNames": "Y"}
    ).json()["result"]["item"]
    assert original["UF_CRM_1_DIGIT"] == "7" and original["UF_CRM_5_ABC1"] == "q"
    deleted = http.post(hook + "crm.item.delete", json={"entityTypeId": 7, "id": item["id"]})
    assert deleted.json()["result"] == []
    gone = http.post(hook + "crm.item.get", json={"entityTypeId": 7, "id": item["id"]})
    assert (gone.status_code, gone.json()["error"]) == (400, "NOT_FOUND")


def test_15_filter_operators(http, hook):
    for title, amount in (("Alfa", 10), ("Beta", 20), ("Gamma", 30)):
        add_quote(http, hook, title=title, opportunity=amount, isManualOpportunity="Y")

    def titles(filter_):
        items = _list(http, hook, filter=filter_, select=["title"])["result"]["items"]
        return [i["title"] for i in items]

    assert titles({">=opportunity": 20}) == ["Beta", "Gamma"]
    assert titles({"@id": [1, 3]}) == ["Alfa", "Gamma"]
    assert titles({"!@id": [1, 3]}) == ["Beta"]
    assert titles({"%title": "mm"}) == ["Gamma"]
    assert titles({"!=title": "Alfa", "<opportunity": 30}) == ["Beta"]
    assert titles({"logic": "OR", "0": {"=title": "Alfa"}, "1": {">opportunity": 25}}) == [
        "Alfa",
        "Gamma",
    ]
    refused = http.post(hook + "crm.item.list", json={"entityTypeId": 7, "filter": {"nope": 1}})
    assert (refused.status_code, refused.json()["error"]) == (400, "INVALID_ARG_VALUE")


# 16. stages -------------------------------------------------------------------------------


def test_16_spa_stages_and_moving_fires_the_update_event(http, emulator, hook, received):
    stages = http.post(
        hook + "crm.status.list", json={"filter": {"ENTITY_ID": "DYNAMIC_1038_STAGE_37"}}
    ).json()["result"]
    assert stages[0]["STATUS_ID"] == "DT1038_37:NEW"
    assert [s["SEMANTICS"] for s in stages] == [None, None, None, "S", "F"]
    handler = "https://cabinet.example/bitrix/events"
    app = emulator.install_app()
    bound = http.post(
        app["client_endpoint"] + "event.bind",
        json={"auth": app["access_token"], "event": "ONCRMDYNAMICITEMUPDATE", "handler": handler},
    )
    assert bound.json()["result"] is True
    item = http.post(hook + "crm.item.add", json={"entityTypeId": 1038, "fields": {}}).json()
    item_id = item["result"]["item"]["id"]
    emulator.act(
        "crm.item.update",
        {"entityTypeId": 1038, "id": item_id, "fields": {"stageId": "DT1038_37:SUCCESS"}},
    )
    moved = http.post(hook + "crm.item.get", json={"entityTypeId": 1038, "id": item_id}).json()
    assert moved["result"]["item"]["stageSemanticId"] == "S"
    assert moved["result"]["item"]["previousStageId"] == "DT1038_37:NEW"
    assert len(received) == 1
    other = http.post(
        hook + "crm.item.update",
        json={"entityTypeId": 1038, "id": item_id, "fields": {"stageId": "DRAFT"}},
    )
    assert other.status_code == 400


# 17. product rows ---------------------------------------------------------------------------


def test_17_product_rows_replace_and_compute_prices(http, hook):
    item = add_quote(http, hook)
    rows = [
        {
            "productName": "Doradztwo",
            "price": 123,
            "quantity": 2,
            "taxRate": 23,
            "taxIncluded": "Y",
            "sort": 10,
        }
    ]
    first = http.post(
        hook + "crm.item.productrow.set",
        json={"ownerType": "Q", "ownerId": item["id"], "productRows": rows * 2},
    )
    assert len(first.json()["result"]["productRows"]) == 2
    second = http.post(
        hook + "crm.item.productrow.set",
        json={"ownerType": "Q", "ownerId": item["id"], "productRows": rows},
    )
    (row,) = second.json()["result"]["productRows"]
    assert (row["priceExclusive"], row["priceBrutto"], row["taxRate"]) == (100.0, 123.0, 23.0)
    listed = http.post(
        hook + "crm.item.productrow.list",
        json={"filter": {"=ownerType": "Q", "=ownerId": item["id"]}},
    ).json()
    assert [r["id"] for r in listed["result"]["productRows"]] == [row["id"]]
    assert listed["total"] == 1
    again = http.post(hook + "crm.item.get", json={"entityTypeId": 7, "id": item["id"]}).json()
    assert again["result"]["item"]["opportunity"] == 246.0
    no_filter = http.post(hook + "crm.item.productrow.list", json={"filter": {}})
    assert no_filter.status_code == 400
    missing = http.post(
        hook + "crm.item.productrow.set",
        json={"ownerType": "Q", "ownerId": 999, "productRows": rows},
    )
    assert missing.json()["error"] == "OWNER_NOT_FOUND"


def test_17_spa_owner_type_is_t_and_hex(http, hook):
    item = http.post(hook + "crm.item.add", json={"entityTypeId": 1038, "fields": {}}).json()
    response = http.post(
        hook + "crm.item.productrow.set",
        json={
            "ownerType": "T40e",
            "ownerId": item["result"]["item"]["id"],
            "productRows": [{"productName": "x", "price": 1}],
        },
    )
    assert response.json()["result"]["productRows"][0]["ownerType"] == "T40e"


# 18. file fields ---------------------------------------------------------------------------


def _file_fields(http, hook):
    # crm.quote.userfield.add prefixes the code: 7_SCAN becomes UF_CRM_7_SCAN (ufCrm7Scan).
    for code, multiple in (("7_SCAN", "N"), ("7_ATTACHMENTS", "Y")):
        created = http.post(
            hook + "crm.quote.userfield.add",
            json={"fields": {"FIELD_NAME": code, "USER_TYPE_ID": "file", "MULTIPLE": multiple}},
        )
        assert created.status_code == 200, created.text


def test_18_single_file_field_upload_keep_replace_clear(http, hook):
    _file_fields(http, hook)
    item = add_quote(http, hook, ufCrm7Scan=["skan.pdf", "JVBERi0x"])
    uploaded = item["ufCrm7Scan"]
    assert set(uploaded) == {"id", "url", "urlMachine"}

    def update(value):
        response = http.post(
            hook + "crm.item.update",
            json={"entityTypeId": 7, "id": item["id"], "fields": {"ufCrm7Scan": value}},
        )
        return response.json()["result"]["item"]["ufCrm7Scan"]

    assert update({"id": uploaded["id"]}) == uploaded
    replaced = update(["nowy.pdf", "JVBERi0y"])
    assert replaced["id"] != uploaded["id"]
    assert update("") is None


def test_18_multiple_file_field_drops_ids_not_repeated(http, hook):
    _file_fields(http, hook)
    item = add_quote(http, hook, ufCrm7Attachments=[["a.pdf", "QQ=="], ["b.pdf", "Qg=="]])
    first, second = item["ufCrm7Attachments"]
    updated = http.post(
        hook + "crm.item.update",
        json={
            "entityTypeId": 7,
            "id": item["id"],
            "fields": {"ufCrm7Attachments": [{"id": second["id"]}, ["c.pdf", "Qw=="]]},
        },
    ).json()
    files = updated["result"]["item"]["ufCrm7Attachments"]
    assert files[0]["id"] == second["id"]
    assert first["id"] not in [f["id"] for f in files] and len(files) == 2


def test_strict_user_fields_ignore_fields_never_created(clock):
    emulator = Emulator(EmulatorConfig(strict_user_fields=True), clock=clock)
    with httpx.Client(transport=emulator.transport()) as http:
        hook = emulator.webhook_url
        http.post(
            hook + "userfieldconfig.add",
            json={
                "moduleId": "crm",
                "field": {
                    "entityId": "CRM_37",
                    "fieldName": "UF_CRM_37_CABINET_ID",
                    "userTypeId": "string",
                },
            },
        )
        item = http.post(
            hook + "crm.item.add",
            json={
                "entityTypeId": 1038,
                "fields": {"ufCrm37CabinetId": "cab-1", "ufCrm_NEVER": "x"},
            },
        ).json()["result"]["item"]
        fields = http.post(hook + "crm.item.fields", json={"entityTypeId": 1038}).json()
    assert item["ufCrm37CabinetId"] == "cab-1"
    assert not any(key.startswith("ufCrm_NEVER") for key in item)
    assert fields["result"]["fields"]["ufCrm37CabinetId"]["type"] == "string"


# 19. events ---------------------------------------------------------------------------------


def test_19_event_delivery_is_form_encoded_once_with_the_application_token(
    http, emulator, hook, received
):
    app = emulator.install_app()
    for event in ("ONCRMQUOTEUPDATE", "ONCRMDYNAMICITEMUPDATE"):
        http.post(
            app["client_endpoint"] + "event.bind",
            json={
                "auth": app["access_token"],
                "event": event,
                "handler": "https://cabinet.example/hook",
            },
        )
    item = add_quote(http, hook)
    http.post(
        hook + "crm.item.update",
        json={"entityTypeId": 7, "id": item["id"], "fields": {"title": "Nowy"}},
    )
    (request,) = received
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = dict(parse_qsl(request.content.decode()))
    assert form["event"] == "ONCRMQUOTEUPDATE"
    assert form["data[FIELDS][ID]"] == str(item["id"])
    assert form["auth[application_token]"] == app["application_token"]
    assert {"event_handler_id", "ts", "auth[domain]", "auth[member_id]"} <= set(form)


def test_19_a_failed_delivery_is_not_retried(clock):
    attempts = []

    def refuse(request):
        attempts.append(request)
        return httpx.Response(500)

    emulator = Emulator(clock=clock, event_transport=httpx.MockTransport(refuse))
    app = emulator.install_app()
    with httpx.Client(transport=emulator.transport()) as http:
        http.post(
            app["client_endpoint"] + "event.bind",
            json={
                "auth": app["access_token"],
                "event": "ONCRMDYNAMICITEMADD",
                "handler": "https://cabinet.example/hook",
            },
        )
        http.post(emulator.webhook_url + "crm.item.add", json={"entityTypeId": 1038, "fields": {}})
        http.post(emulator.webhook_url + "user.current")
    assert len(attempts) == 1
    assert emulator.portal.deliveries[0].status == 500


# 20, 21. app context, error with 200 -------------------------------------------------------


@pytest.mark.parametrize("name", ["event.bind", "placement.bind", "imconnector.register"])
def test_20_app_only_methods_refuse_webhooks(http, hook, name):
    response = http.post(hook + name, json={"event": "ONCRMQUOTEUPDATE", "handler": "x"})
    assert (response.status_code, response.json()["error"]) == (403, "WRONG_AUTH_TYPE")


def test_21_placement_bind_without_placement_is_an_error_with_200(http, app_auth):
    response = http.post(
        app_auth["client_endpoint"] + "placement.bind",
        json={"auth": app_auth["access_token"], "HANDLER": "https://x"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "error": "ERROR_ARGUMENT",
        "error_description": "Argument 'PLACEMENT' is null or empty",
        "argument": "PLACEMENT",
    }


# 22. feed ------------------------------------------------------------------------------------


def test_22_feed_by_group_with_cursor_and_cap(http, hook):
    for n in range(3):
        http.post(
            hook + "log.blogpost.add",
            json={"POST_TITLE": f"News {n}", "POST_MESSAGE": "[b]Hi[/b]", "DEST": ["SG12"]},
        )
    http.post(hook + "log.blogpost.add", json={"POST_MESSAGE": "elsewhere", "DEST": ["SG7"]})
    posts = http.post(hook + "log.blogpost.get", json={"LOG_RIGHTS": ["SG12"]}).json()["result"]
    assert [p["TITLE"] for p in posts] == ["News 2", "News 1", "News 0"]
    assert {"DETAIL_TEXT", "DATE_PUBLISH"} <= set(posts[0])
    newer = http.post(
        hook + "log.blogpost.get",
        json={"LOG_RIGHTS": ["SG12"], "FIRST_ID": posts[1]["ID"], "LIMIT": 500},
    ).json()["result"]
    assert [p["ID"] for p in newer] == [posts[0]["ID"]]


# 23. Open Lines ---------------------------------------------------------------------------


def test_23_open_lines_connector_loop(http, emulator, app_auth, received):
    base, token = app_auth["client_endpoint"], app_auth["access_token"]

    def call(name, **params):
        return http.post(base + name, json={"auth": token, **params}).json()

    assert call("imconnector.register", ID="cabinet_chat", NAME="Cabinet")["result"] is True
    call("imconnector.activate", CONNECTOR="cabinet_chat", LINE=3, ACTIVE=1)
    call("event.bind", event="OnImConnectorMessageAdd", handler="https://cabinet.example/ol")
    sent = call(
        "imconnector.send.messages",
        CONNECTOR="cabinet_chat",
        LINE=3,
        MESSAGES=[
            {
                "user": {"id": "client-42", "name": "Jan"},
                "message": {"id": "m-1", "text": "Dzień dobry"},
                "chat": {"id": "client-42"},
            }
        ],
    )
    session = sent["result"]["DATA"]["RESULT"][0]["session"]
    assert session["CHAT_ID"]
    emulator.operator_reply("cabinet_chat", "3", "client-42", "Witam", user_id=2)
    (request,) = received
    form = dict(parse_qsl(request.content.decode()))
    assert form["event"] == "ONIMCONNECTORMESSAGEADD"
    assert form["data[MESSAGES][0][chat][id]"] == "client-42"
    assert form["data[MESSAGES][0][im][chat_id]"] == session["CHAT_ID"]
    assert form["data[MESSAGES][0][message][text]"] == "Witam"


# 24, 25. non-JSON answers -------------------------------------------------------------------


def test_24_portal_moved_is_a_302(http, emulator, hook):
    emulator.inject("moved", 1, location="https://nowa.bitrix24.pl")
    response = http.post(hook + "user.current")
    assert response.status_code == 302
    assert response.headers["location"].startswith("https://nowa.bitrix24.pl/rest/1/")
    assert http.post(hook + "user.current").status_code == 200


def test_25_html_error_page(http, emulator, hook):
    emulator.inject("html_error", 1)
    response = http.post(hook + "user.current")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
