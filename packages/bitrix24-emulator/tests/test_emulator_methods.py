"""The emulator's methods beyond the §9 contract cases: legacy companies and contacts,
requisites, the catalogue, chat, users, directories, app options, event and placement
management, feed edits, the OAuth authorization code."""

from __future__ import annotations

import httpx
import pytest
from bitrix24_emulator import Emulator, VirtualClock


@pytest.fixture
def emulator():
    return Emulator(clock=VirtualClock())


@pytest.fixture
def call(emulator):
    client = httpx.Client(transport=emulator.transport())

    def call(method, params=None, *, base=None, status=200):
        response = client.post((base or emulator.webhook_url) + method, json=params or {})
        assert response.status_code == status, response.text
        return response.json()

    yield call
    client.close()


@pytest.fixture
def app_call(emulator, call):
    tokens = emulator.install_app()

    def app_call(method, params=None, status=200):
        return call(
            method,
            {"auth": tokens["access_token"], **(params or {})},
            base=tokens["client_endpoint"],
            status=status,
        )

    return app_call


def test_legacy_company_and_contact_methods(call):
    company_id = call(
        "crm.company.add",
        {
            "fields": {
                "TITLE": "Zażółć Sp. z o.o.",
                "ORIGIN_ID": "cabinet-client-1",
                "PHONE": [{"VALUE": "+48 600 000 000", "VALUE_TYPE": "WORK"}],
            }
        },
    )["result"]
    assert isinstance(company_id, int)
    company = call("crm.company.get", {"id": company_id})["result"]
    assert company["ID"] == str(company_id)
    assert company["TITLE"] == "Zażółć Sp. z o.o." and company["ORIGIN_ID"] == "cabinet-client-1"
    assert company["PHONE"][0]["VALUE"] == "+48 600 000 000"
    found = call(
        "crm.company.list", {"filter": {"ORIGIN_ID": "cabinet-client-1"}, "select": ["ID", "TITLE"]}
    )
    assert found["result"] == [{"ID": str(company_id), "TITLE": "Zażółć Sp. z o.o."}]
    assert found["total"] == 1
    assert call("crm.company.update", {"id": company_id, "fields": {"TITLE": "Nowa"}})["result"]
    contact_id = call(
        "crm.contact.add",
        {"fields": {"NAME": "Jan", "LAST_NAME": "Kowalski", "COMPANY_ID": company_id}},
    )["result"]
    contact = call("crm.item.get", {"entityTypeId": 3, "id": contact_id})["result"]["item"]
    assert (contact["name"], contact["lastName"], contact["companyId"]) == (
        "Jan",
        "Kowalski",
        company_id,
    )
    assert call("crm.contact.delete", {"id": contact_id})["result"] is True
    call("crm.contact.get", {"id": contact_id}, status=400)


def test_requisites_with_polish_identifiers(call):
    company_id = call("crm.company.add", {"fields": {"TITLE": "ACME"}})["result"]
    presets = call("crm.requisite.preset.list", {"filter": {"COUNTRY_ID": 110}})["result"]
    requisite_id = call(
        "crm.requisite.add",
        {
            "fields": {
                "ENTITY_TYPE_ID": 4,
                "ENTITY_ID": company_id,
                "PRESET_ID": presets[0]["ID"],
                "NAME": "Organizacja",
                "RQ_VAT_ID": "PL1234563218",
                "RQ_REGON": "123456785",
                "RQ_KRS": "0000123456",
            }
        },
    )["result"]
    found = call(
        "crm.requisite.list", {"filter": {"RQ_VAT_ID": "PL1234563218", "ENTITY_TYPE_ID": 4}}
    )["result"]
    assert [r["ID"] for r in found] == [str(requisite_id)]
    assert found[0]["ENTITY_ID"] == str(company_id) and found[0]["RQ_KRS"] == "0000123456"
    call("crm.requisite.update", {"id": requisite_id, "fields": {"RQ_REGON": "987654321"}})
    assert call("crm.requisite.get", {"id": requisite_id})["result"]["RQ_REGON"] == "987654321"
    orphan = call(
        "crm.requisite.add",
        {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": 999, "PRESET_ID": 1, "NAME": "x"}},
        status=400,
    )
    assert orphan["error"] == "OWNER_NOT_FOUND"


def test_catalogue_products_prices_and_rows_that_use_them(call):
    (catalog, _) = call("catalog.catalog.list")["result"]["catalogs"]
    product = call(
        "catalog.product.add",
        {
            "fields": {
                "iblockId": catalog["iblockId"],
                "name": "Obsługa kadrowa",
                "xmlId": "cabinet-p-1",
            }
        },
    )
    product_id = product["result"]["element"]["id"]
    call(
        "catalog.price.add",
        {"fields": {"productId": product_id, "catalogGroupId": 1, "price": 250, "currency": "PLN"}},
    )
    listed = call(
        "catalog.product.list",
        {
            "select": ["id", "iblockId", "name"],
            "filter": {"iblockId": catalog["iblockId"], "xmlId": "cabinet-p-1"},
        },
    )
    assert listed["result"]["products"] == [
        {"id": product_id, "iblockId": catalog["iblockId"], "name": "Obsługa kadrowa"}
    ]
    bad = call("catalog.product.list", {"select": ["name"], "filter": {"iblockId": 14}}, status=400)
    assert bad["error"]
    prices = call("catalog.price.list", {"filter": {"productId": product_id}})["result"]
    assert prices["prices"][0]["price"] == 250.0
    quote = call("crm.item.add", {"entityTypeId": 7, "fields": {}})["result"]["item"]
    rows = call(
        "crm.item.productrow.set",
        {
            "ownerType": "Q",
            "ownerId": quote["id"],
            "productRows": [{"productId": product_id, "price": 250}],
        },
    )
    assert rows["result"]["productRows"][0]["productName"] == "Obsługa kadrowa"


def test_chat_messages(call):
    message_id = call("im.message.add", {"DIALOG_ID": "2", "MESSAGE": "Dzień dobry"})["result"]
    got = call("im.dialog.messages.get", {"DIALOG_ID": "2"})["result"]["messages"]
    assert [m["id"] for m in got] == [message_id]
    assert call("im.message.add", {"DIALOG_ID": "2"}, status=400)["error"] == "MESSAGE_EMPTY"
    assert (
        call("im.message.add", {"DIALOG_ID": "99", "MESSAGE": "x"}, status=400)["error"]
        == "USER_NOT_FOUND"
    )


def test_users_types_categories_currencies_and_user_fields(call):
    users = call("user.get", {"FILTER": {"ACTIVE": True}})
    assert [u["ID"] for u in users["result"]] == ["1", "2"]
    types = call("crm.type.list")["result"]["types"]
    assert [(t["id"], t["entityTypeId"]) for t in types] == [(37, 1038)]
    categories = call("crm.category.list", {"entityTypeId": 1038})["result"]["categories"]
    assert categories[0]["isDefault"] == "Y"
    currencies = call("crm.currency.list")["result"]
    assert [c["CURRENCY"] for c in currencies if c["BASE"] == "Y"] == ["PLN"]
    call(
        "userfieldconfig.add",
        {
            "moduleId": "crm",
            "field": {
                "entityId": "CRM_QUOTE",
                "fieldName": "UF_CRM_QUOTE_CABINET_ID",
                "userTypeId": "string",
            },
        },
    )
    listed = call("userfieldconfig.list", {"filter": {"entityId": "CRM_QUOTE"}})
    assert [f["fieldName"] for f in listed["result"]["fields"]] == ["UF_CRM_QUOTE_CABINET_ID"]
    call(
        "userfieldconfig.add",
        {
            "moduleId": "crm",
            "field": {"entityId": "CRM_NOPE", "fieldName": "UF_CRM_X", "userTypeId": "string"},
        },
        status=400,
    )


def test_app_options_events_and_placements(app_call):
    assert app_call("app.option.set", {"options": {"line": 3}})["result"] is True
    assert app_call("app.option.get", {"option": "line"})["result"] == 3
    app_call("event.bind", {"event": "onCrmQuoteUpdate", "handler": "https://x/h"})
    again = app_call(
        "event.bind", {"event": "ONCRMQUOTEUPDATE", "handler": "https://x/h"}, status=400
    )
    assert again["error"] == "ERROR_EVENT_ALREADY_BINDED"
    unknown = app_call("event.bind", {"event": "ONNOTHING", "handler": "https://x"}, status=400)
    assert unknown["error"] == "ERROR_EVENT_NOT_FOUND"
    assert app_call("event.get")["result"] == [
        {"event": "ONCRMQUOTEUPDATE", "handler": "https://x/h", "auth_type": "0", "offline": 0}
    ]
    assert app_call("event.unbind", {"event": "ONCRMQUOTEUPDATE", "handler": "https://x/h"})[
        "result"
    ] == {"count": 1}
    app_call(
        "placement.bind",
        {"PLACEMENT": "CRM_QUOTE_DETAIL_TAB", "HANDLER": "https://x/p", "TITLE": "Gabinet"},
    )
    assert app_call("placement.get")["result"][0]["placement"] == "CRM_QUOTE_DETAIL_TAB"
    assert app_call("placement.unbind", {"PLACEMENT": "CRM_QUOTE_DETAIL_TAB"})["result"] == {
        "count": 1
    }
    info = app_call("app.info")["result"]
    assert info["INSTALLED"] is True


def test_feed_posts_are_edited_and_deleted(call):
    post_id = call(
        "log.blogpost.add", {"POST_TITLE": "Stary", "POST_MESSAGE": "x", "DEST": ["SG12"]}
    )["result"]
    call("log.blogpost.update", {"POST_ID": post_id, "POST_TITLE": "Nowy"})
    (post,) = call("log.blogpost.get", {"POST_ID": post_id})["result"]
    assert post["TITLE"] == "Nowy"
    assert call("log.blogpost.delete", {"POST_ID": post_id})["result"] is True
    assert call("log.blogpost.get", {"POST_ID": post_id})["result"] == []


def test_authorization_code_flow(emulator):
    with httpx.Client(transport=emulator.transport()) as http:
        base = emulator.config.portal_url
        code = http.get(
            base + "/oauth/authorize/", params={"client_id": emulator.app.client_id, "state": "xyz"}
        ).json()
        assert code["state"] == "xyz" and code["member_id"] == emulator.portal.member_id
        params = {
            "grant_type": "authorization_code",
            "client_id": emulator.app.client_id,
            "client_secret": emulator.app.client_secret,
            "code": code["code"],
        }
        tokens = http.get(base + "/oauth/token/", params=params)
        assert tokens.status_code == 200 and tokens.json()["user_id"] == 1
        reused = http.get(base + "/oauth/token/", params=params)
        assert reused.json()["error"] == "invalid_grant"
        wrong = http.get(base + "/oauth/token/", params={**params, "client_secret": "no"})
        assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")


def test_items_without_a_name_are_named_after_their_type(call):
    contact = call("crm.item.add", {"entityTypeId": 3, "fields": {}})["result"]["item"]
    assert contact["lastName"] == f"Contact #{contact['id']}"
    quote = call(
        "crm.item.add",
        {"entityTypeId": 7, "fields": {"quoteNumber": "OF/1/2026", "xmlId": "ignored"}},
    )
    assert quote["result"]["item"]["quoteNumber"] == "OF/1/2026"
    assert "xmlId" not in quote["result"]["item"]  # quotes have no external code


def test_id_in_update_fields_and_entity_type_in_filters_are_refused(call):
    quote = call("crm.item.add", {"entityTypeId": 7, "fields": {}})["result"]["item"]
    refused = call(
        "crm.item.update", {"entityTypeId": 7, "id": quote["id"], "fields": {"id": 5}}, status=400
    )
    assert "read-only" in refused["error_description"]
    call("crm.item.list", {"entityTypeId": 7, "filter": {"entityTypeId": 7}}, status=400)


def test_workgroups_and_their_members(call):
    (group,) = call("sonet_group.get", {"GROUP_ID": 12})["result"]
    assert group["NAME"] == "Aktualności dla klientów" and "_members" not in group
    members = call("sonet_group.user.get", {"ID": 12})
    assert members["result"][0] == {"USER_ID": "1", "ROLE": "A"} and "total" not in members
    assert call("sonet_group.user.get", {"ID": 99}, status=400)["error"]


def test_requisite_links_and_timeline_comments_on_a_quote(call):
    company_id = call("crm.company.add", {"fields": {"TITLE": "ACME"}})["result"]
    requisite_id = call(
        "crm.requisite.add",
        {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company_id, "PRESET_ID": 1, "NAME": "Org"}},
    )["result"]
    quote = call("crm.item.add", {"entityTypeId": 7, "fields": {"companyId": company_id}})
    quote_id = quote["result"]["item"]["id"]
    call(
        "crm.requisite.link.register",
        {"fields": {"ENTITY_TYPE_ID": 7, "ENTITY_ID": quote_id, "REQUISITE_ID": requisite_id}},
    )
    link = call("crm.requisite.link.get", {"entityTypeId": 7, "entityId": quote_id})["result"]
    assert link["REQUISITE_ID"] == str(requisite_id) and link["MC_REQUISITE_ID"] == "0"
    call(
        "crm.requisite.link.register",
        {"fields": {"ENTITY_TYPE_ID": 7, "ENTITY_ID": quote_id, "REQUISITE_ID": 999}},
        status=400,
    )
    comment = call(
        "crm.timeline.comment.add",
        {
            "fields": {
                "ENTITY_ID": quote_id,
                "ENTITY_TYPE": "quote",
                "COMMENT": "Korekta od klienta",
            }
        },
    )
    assert isinstance(comment["result"], int)
    call(
        "crm.timeline.comment.add",
        {"fields": {"ENTITY_ID": 999, "ENTITY_TYPE": "dynamic_1038", "COMMENT": "x"}},
        status=400,
    )
    # Files ride along as [name, base64] pairs (saved to Drive), listed by id and size.
    with_files = call(
        "crm.timeline.comment.add",
        {
            "fields": {
                "ENTITY_ID": quote_id,
                "ENTITY_TYPE": "quote",
                "COMMENT": "Faktura",
                "FILES": [["fv.pdf", "JVBERi0xLjc="], ["fv.xml", "PEZha3R1cmEvPg=="]],
            }
        },
    )["result"]
    listed = call(
        "crm.timeline.comment.list",
        {"filter": {"ENTITY_ID": quote_id, "ENTITY_TYPE": "quote"}},
    )["result"]
    (row,) = [r for r in listed if r["ID"] == str(with_files)]
    assert sorted((f["name"], f["size"]) for f in row["FILES"].values()) == [
        ("fv.pdf", 8),
        ("fv.xml", 10),
    ]
    call(
        "crm.timeline.comment.add",
        {
            "fields": {
                "ENTITY_ID": quote_id,
                "ENTITY_TYPE": "quote",
                "COMMENT": "x",
                "FILES": [["zly.pdf", "not base64!"]],
            }
        },
        status=400,
    )
