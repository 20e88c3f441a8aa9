"""The emulator answers as the official pages say (bitrix24/b24restdocs), by default: the
documented examples are the expected values."""

from __future__ import annotations

import httpx
import pytest
from bitrix24_emulator import Emulator, VirtualClock


@pytest.fixture
def emulator():
    return Emulator(clock=VirtualClock())


@pytest.fixture
def call(emulator):
    with httpx.Client(transport=emulator.transport()) as http:

        def call(method, params=None, *, status=200):
            response = http.post(emulator.webhook_url + method, json=params or {})
            assert response.status_code == status, response.text
            return response.json()

        yield call


def _deal(call):
    return call("crm.deal.add", {"fields": {"TITLE": "Umowa"}})["result"]


# Product rows: crm-item-productrow-add.md and -update.md answers ---------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (  # crm-item-productrow-add.md
            {"price": 80000, "quantity": 2, "discountTypeId": 2, "discountRate": 20},
            {
                "taxRate": 20,
                "price": 80000,
                "priceAccount": 80000,
                "priceExclusive": 66666.67,
                "priceNetto": 83333.34,
                "priceBrutto": 100000.01,
                "discountSum": 16666.67,
            },
        ),
        (  # crm-item-productrow-update.md
            {"price": 90000, "quantity": 3, "discountTypeId": 2, "discountRate": 10},
            {
                "taxRate": 10,
                "price": 90000,
                "priceAccount": 90000,
                "priceExclusive": 81818.18,
                "priceNetto": 90909.09,
                "priceBrutto": 100000,
                "discountSum": 9090.91,
            },
        ),
    ],
)
@pytest.mark.parametrize("tax_included", ["Y", "N"])
def test_product_row_prices_are_the_documented_ones(call, given, expected, tax_included):
    # price includes the tax whatever taxIncluded says: the flag only tells how it was entered.
    deal = _deal(call)
    fields = {
        "ownerType": "D",
        "ownerId": deal,
        "productName": "iphone 14",
        "taxRate": expected["taxRate"],
        "taxIncluded": tax_included,
        **given,
    }
    row = call("crm.item.productrow.add", {"fields": fields})["result"]["productRow"]
    assert {name: row[name] for name in expected} == expected
    assert row["taxIncluded"] == tax_included


def test_rows_without_tax_keep_one_price(call):
    deal = _deal(call)
    rows = call(
        "crm.item.productrow.set",
        {"ownerType": "D", "ownerId": deal, "productRows": [{"productName": "x", "price": 15900}]},
    )["result"]["productRows"]
    assert {rows[0][k] for k in ("price", "priceExclusive", "priceNetto", "priceBrutto")} == {15900}
    assert (rows[0]["taxRate"], rows[0]["taxIncluded"], rows[0]["taxName"]) == (None, "N", "No VAT")


# Legacy quote, deal and lead methods ------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "stage_key", "first_stage", "owner"),
    [
        ("quote", "STATUS_ID", "DRAFT", "Q"),
        ("deal", "STAGE_ID", "NEW", "D"),
        ("lead", "STATUS_ID", "NEW", "L"),
    ],
)
def test_legacy_methods_round_trip(call, entity, stage_key, first_stage, owner):
    new_id = call(f"crm.{entity}.add", {"fields": {"TITLE": "Pierwsza", "OPPORTUNITY": 100}})
    assert isinstance(new_id["result"], int)
    record = call(f"crm.{entity}.get", {"id": new_id["result"]})["result"]
    assert record["ID"] == str(new_id["result"]) and record[stage_key] == first_stage
    assert record["TITLE"] == "Pierwsza" and record["OPPORTUNITY"] == "100.00"
    assert (
        call(f"crm.{entity}.update", {"id": record["ID"], "fields": {"TITLE": "Druga"}})["result"]
        is True
    )
    listed = call(f"crm.{entity}.list", {"filter": {"TITLE": "Druga"}, "select": ["TITLE"]})
    assert listed["result"] == [{"ID": record["ID"], "TITLE": "Druga"}] and listed["total"] == 1
    described = call(f"crm.{entity}.fields")["result"]
    assert described["ID"]["type"] == "integer" and described["ID"]["isReadOnly"] is True
    assert described[stage_key]["type"] == "crm_status"
    assert (
        call(
            f"crm.{entity}.productrows.set",
            {
                "id": record["ID"],
                "rows": [{"PRODUCT_NAME": "Usługa", "PRICE": 123, "TAX_RATE": 23, "QUANTITY": 2}],
            },
        )["result"]
        is True
    )
    rows = call(f"crm.{entity}.productrows.get", {"id": record["ID"]})["result"]
    assert [(r["OWNER_TYPE"], r["PRICE"], r["PRICE_EXCLUSIVE"]) for r in rows] == [
        (owner, 123, 100)
    ]
    assert call(f"crm.{entity}.delete", {"id": record["ID"]})["result"] is True
    assert call(f"crm.{entity}.get", {"id": record["ID"]}, status=400)["error"] == "NOT_FOUND"


def test_legacy_userfield_add_prefixes_the_code_and_refuses_bad_names(call):
    made = call(
        "crm.quote.userfield.add",
        {"fields": {"FIELD_NAME": "cabinet_id", "USER_TYPE_ID": "string", "XML_ID": "origin"}},
    )
    assert isinstance(made["result"], int)
    listed = call("crm.quote.userfield.list", {"filter": {"XML_ID": "origin"}})["result"]
    assert [(f["FIELD_NAME"], f["ENTITY_ID"]) for f in listed] == [
        ("UF_CRM_CABINET_ID", "CRM_QUOTE")
    ]
    bad = call(
        "crm.deal.userfield.add",
        {"fields": {"FIELD_NAME": "NIE-WOLNO", "USER_TYPE_ID": "string"}},
        status=400,
    )
    assert bad["error"] == "ERROR_CORE"
    missing = call("crm.lead.userfield.add", {"fields": {"USER_TYPE_ID": "string"}}, status=400)
    assert missing == {"error": "", "error_description": "The 'FIELD_NAME' field is not found."}


# crm.item.fields ---------------------------------------------------------------------------


def test_item_fields_carry_the_documented_types(call):
    fields = call("crm.item.fields", {"entityTypeId": 1038})["result"]["fields"]
    assert fields["createdTime"]["type"] == "datetime" and fields["createdTime"]["isReadOnly"]
    assert fields["assignedById"]["type"] == "user"
    assert fields["opened"] == {
        "type": "boolean",
        "isRequired": True,
        "isReadOnly": False,
        "isImmutable": False,
        "isMultiple": False,
        "isDynamic": False,
        "title": "Publicly available",
        "upperName": "OPENED",
    }
    assert fields["stageId"]["statusType"] == "DYNAMIC_1038_STAGE_37"
    assert fields["companyId"]["settings"] == {"parentEntityTypeId": 4}
    assert fields["contactIds"]["isMultiple"] is True
    assert fields["begindate"]["type"] == "date"
    assert fields["currencyId"]["type"] == "crm_currency"


# userfieldconfig.add ------------------------------------------------------------------------


def _uf(call, entity, name, status=200, **extra):
    field = {"entityId": entity, "fieldName": name, "userTypeId": "string", **extra}
    return call("userfieldconfig.add", {"moduleId": "crm", "field": field}, status=status)


def test_userfieldconfig_add_enforces_the_entity_prefix(call):
    assert _uf(call, "CRM_QUOTE", "UF_CRM_QUOTE_CABINET_ID")["result"]["field"]["id"]
    assert _uf(call, "CRM_37", "UF_CRM_37_CABINET_ID")["result"]["field"]["entityId"] == "CRM_37"
    for entity, name in (
        ("CRM_QUOTE", "UF_CRM_CABINET_ID"),  # no UF_CRM_QUOTE_ prefix
        ("CRM_37", "UF_CRM_1038_X"),  # the entityTypeId instead of the type's id
        ("CRM_QUOTE", "UF_CRM_QUOTE_lower"),
        ("CRM_QUOTE", "UF_CRM_QUOTE_" + "X" * 40),  # over 50 characters
    ):
        refused = _uf(call, entity, name, status=400)
        assert refused == {"error": "", "error_description": "You cannot create custom fields"}


def test_userfieldconfig_add_duplicate_answers_an_empty_code(call):
    _uf(call, "CRM_QUOTE", "UF_CRM_QUOTE_CABINET_ID", xmlId="cabinet")
    again = _uf(call, "CRM_QUOTE", "UF_CRM_QUOTE_CABINET_ID", status=400)
    assert again["error"] == "" and "already exists" in again["error_description"]
    missing = call(
        "userfieldconfig.add",
        {"moduleId": "crm", "field": {"entityId": "CRM_QUOTE", "fieldName": "UF_CRM_QUOTE_Y"}},
        status=400,
    )
    assert missing["error_description"] == "The 'USER_TYPE_ID' field is not found."
    found = call(
        "userfieldconfig.list",
        {"moduleId": "crm", "filter": {"entityId": "CRM_QUOTE", "xmlId": "cabinet"}},
    )
    assert [f["fieldName"] for f in found["result"]["fields"]] == ["UF_CRM_QUOTE_CABINET_ID"]


# Feed ---------------------------------------------------------------------------------------


def test_important_post_fills_uf_blog_post_imprtnt(call):
    important = call(
        "log.blogpost.add",
        {
            "POST_MESSAGE": "Zmiana",
            "DEST": ["SG12"],
            "IMPORTANT": "Y",
            "IMPORTANT_DATE_END": "2026-12-31T00:00:00+01:00",
        },
    )["result"]
    plain = call("log.blogpost.add", {"POST_MESSAGE": "Zwykły", "DEST": ["SG12"]})["result"]
    posts = {int(p["ID"]): p for p in call("log.blogpost.get", {"LOG_RIGHTS": ["SG12"]})["result"]}
    flag = posts[important]["UF_BLOG_POST_IMPRTNT"]
    assert (flag["FIELD_NAME"], flag["USER_TYPE_ID"], flag["VALUE"]) == (
        "UF_BLOG_POST_IMPRTNT",
        "integer",
        "1",
    )
    assert posts[important]["UF_IMPRTANT_DATE_END"]["VALUE"].startswith("2026-12-31")
    assert posts[plain]["UF_BLOG_POST_IMPRTNT"]["VALUE"] is None


def test_feed_pages_are_50_outside_cursor_mode_whatever_limit_says(call, emulator):
    for n in range(60):  # staff posting in the portal: no request limits
        emulator.act("log.blogpost.add", {"POST_MESSAGE": f"post {n}", "DEST": ["SG12"]})
    first = call("log.blogpost.get", {"LOG_RIGHTS": ["SG12"], "LIMIT": 200})
    assert (len(first["result"]), first["total"], first["next"]) == (50, 60, 50)
    second = call("log.blogpost.get", {"LOG_RIGHTS": ["SG12"], "start": 50})
    assert len(second["result"]) == 10 and "next" not in second
    cursor = call("log.blogpost.get", {"LOG_RIGHTS": ["SG12"], "LAST_ID": 300, "LIMIT": 200})
    assert len(cursor["result"]) == 60


# Chat -------------------------------------------------------------------------------------


def test_dialog_messages_answer_the_chat_id_and_documented_shape(call):
    chat = call("im.chat.add", {"TITLE": "Klient", "USERS": [2]})["result"]
    call("im.message.add", {"DIALOG_ID": f"chat{chat}", "MESSAGE": "Dzień dobry"})
    got = call("im.dialog.messages.get", {"DIALOG_ID": f"chat{chat}"})["result"]
    assert got["chat_id"] == chat and set(got) == {"chat_id", "messages", "users", "files"}
    newest = got["messages"][0]
    assert set(newest) == {
        "id",
        "chat_id",
        "author_id",
        "date",
        "text",
        "unread",
        "uuid",
        "replaces",
        "params",
        "disappearing_date",
    }
    assert (newest["chat_id"], newest["text"], newest["author_id"]) == (chat, "Dzień dobry", 1)
    assert [u["id"] for u in got["users"]] == [1]
    private = call("im.dialog.messages.get", {"DIALOG_ID": "2"})["result"]
    assert private["chat_id"] > 0 and private["chat_id"] != chat
    empty = call("im.dialog.messages.get", {}, status=400)
    assert empty["error"] == "DIALOG_ID_EMPTY"
    bad = call("im.dialog.messages.get", {"DIALOG_ID": f"chat{chat}", "FIRST_ID": "x"}, status=400)
    assert bad["error"] == "FIRST_ID_STRING"


# Tokens -------------------------------------------------------------------------------------


def test_token_answers_carry_no_application_token(emulator):
    installed = emulator.install_app()
    assert installed["application_token"] == emulator.app.application_token
    with httpx.Client(transport=emulator.transport()) as http:
        refreshed = http.get(
            emulator.config.portal_url + "/oauth/token/",
            params={
                "grant_type": "refresh_token",
                "client_id": emulator.app.client_id,
                "client_secret": emulator.app.client_secret,
                "refresh_token": installed["refresh_token"],
            },
        ).json()
    assert "access_token" in refreshed and "application_token" not in refreshed
