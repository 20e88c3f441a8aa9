"""The cabinet's reader of Bitrix24's PHP-style form bodies, on the event bodies of
bitrix24.md §6.2 and §5, the edge cases PHP defines, and a round trip of any nesting."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from cabinet_bitrix.forms import MAX_DEPTH, MAX_FIELDS, FormError, parse_form
from hypothesis import given
from hypothesis import strategies as st

#: bitrix24.md §6.2, "Wire form": an SPA item updated, posted to an app's handler.
DYNAMIC_ITEM_UPDATE = (
    "event=ONCRMDYNAMICITEMUPDATE&event_handler_id=5"
    "&data%5BFIELDS%5D%5BID%5D=24&data%5BFIELDS%5D%5BENTITY_TYPE_ID%5D=1220&ts=1723538517"
    "&auth%5Baccess_token%5D=s6p6eclrvim6da22ft9ch94ekreb52lv&auth%5Bexpires_in%5D=3600"
    "&auth%5Bscope%5D=crm&auth%5Bdomain%5D=some-domain.bitrix24.com"
    "&auth%5Bserver_endpoint%5D=https%3A%2F%2Foauth.bitrix.info%2Frest%2F&auth%5Bstatus%5D=F"
    "&auth%5Bclient_endpoint%5D=https%3A%2F%2Fsome-domain.bitrix24.com%2Frest%2F"
    "&auth%5Bmember_id%5D=a223c6b3710f85df22e9377d6c4f7553"
    "&auth%5Brefresh_token%5D=4s386p3q0tr8dy89xvmt96234v3dljg8"
    "&auth%5Bapplication_token%5D=51856fefc120afa4b628cc82d3935cce"
)


def test_the_dynamic_item_event_of_the_reference():
    assert parse_form(DYNAMIC_ITEM_UPDATE) == {
        "event": "ONCRMDYNAMICITEMUPDATE",
        "event_handler_id": "5",
        "data": {"FIELDS": {"ID": "24", "ENTITY_TYPE_ID": "1220"}},
        "ts": "1723538517",
        "auth": {
            "access_token": "s6p6eclrvim6da22ft9ch94ekreb52lv",
            "expires_in": "3600",
            "scope": "crm",
            "domain": "some-domain.bitrix24.com",
            "server_endpoint": "https://oauth.bitrix.info/rest/",
            "status": "F",
            "client_endpoint": "https://some-domain.bitrix24.com/rest/",
            "member_id": "a223c6b3710f85df22e9377d6c4f7553",
            "refresh_token": "4s386p3q0tr8dy89xvmt96234v3dljg8",
            "application_token": "51856fefc120afa4b628cc82d3935cce",
        },
    }


def test_an_outgoing_webhook_event_with_brackets_left_unescaped():
    # The outgoing-webhook variant carries only five auth keys; a sender may leave [] as is.
    body = (
        "event=ONCRMQUOTEUPDATE&data[FIELDS][ID]=7&ts=1723538517"
        "&auth[domain]=kancelaria.bitrix24.pl"
        "&auth[client_endpoint]=https://kancelaria.bitrix24.pl/rest/"
        "&auth[server_endpoint]=https://oauth.bitrix.info/rest/"
        "&auth[member_id]=a223c6b3&auth[application_token]=5185"
    )
    form = parse_form(body)
    assert form["data"] == {"FIELDS": {"ID": "7"}}
    assert form["auth"]["application_token"] == "5185"
    assert sorted(form["auth"]) == [
        "application_token",
        "client_endpoint",
        "domain",
        "member_id",
        "server_endpoint",
    ]


def test_the_app_install_event():
    body = (
        "event=ONAPPINSTALL&data[VERSION]=1.0.0&data[ACTIVE]=Y&data[INSTALLED]=Y"
        "&data[LANGUAGE_ID]=pl&ts=1696527000&auth[domain]=kancelaria.bitrix24.pl"
        "&auth[access_token]=at&auth[refresh_token]=rt&auth[expires_in]=3600"
        "&auth[member_id]=m1&auth[application_token]=5185"
    )
    form = parse_form(body)
    assert form["data"] == {
        "VERSION": "1.0.0",
        "ACTIVE": "Y",
        "INSTALLED": "Y",
        "LANGUAGE_ID": "pl",
    }
    assert form["auth"]["refresh_token"] == "rt"


def test_an_open_lines_message_keeps_numbered_arrays_as_dicts():
    body = (
        "event=ONIMCONNECTORMESSAGEADD&data[CONNECTOR]=cabinet_chat&data[LINE]=3"
        "&data[MESSAGES][0][im][chat_id]=41&data[MESSAGES][0][im][message_id]=34001"
        "&data[MESSAGES][0][message][text]=Dzie%C5%84+dobry&data[MESSAGES][0][chat][id]=client-42"
        "&data[MESSAGES][1][im][message_id]=34002&auth[application_token]=5185"
    )
    messages = parse_form(body)["data"]["MESSAGES"]
    assert list(messages) == ["0", "1"]
    assert messages["0"] == {
        "im": {"chat_id": "41", "message_id": "34001"},
        "message": {"text": "Dzień dobry"},
        "chat": {"id": "client-42"},
    }


def test_empty_brackets_append_after_the_highest_number():
    form = parse_form("a[]=x&a[]=y&b[5]=p&b[]=q&c[x]=1&c[]=2&d[007]=z&d[]=w")
    assert form["a"] == {"0": "x", "1": "y"}
    assert form["b"] == {"5": "p", "6": "q"}
    assert form["c"] == {"x": "1", "0": "2"}
    # "007" is a string key to PHP, not the number 7.
    assert form["d"] == {"007": "z", "0": "w"}
    assert parse_form("a[][x]=1&a[][x]=2") == {"a": {"0": {"x": "1"}, "1": {"x": "2"}}}


def test_the_later_field_wins():
    assert parse_form("a=1&a[b]=2") == {"a": {"b": "2"}}
    assert parse_form("a[b]=2&a=1") == {"a": "1"}
    assert parse_form("a[b]=1&a[b]=2") == {"a": {"b": "2"}}


def test_keys_that_do_not_nest():
    assert parse_form("a[b=1") == {"a[b": "1"}
    assert parse_form("[b]=1") == {"[b]": "1"}
    # What follows the last closing bracket is ignored, as PHP does.
    assert parse_form("a[b]c=1") == {"a": {"b": "1"}}
    assert parse_form("a[b][c=1") == {"a": {"b": "1"}}


def test_values_are_decoded_and_blanks_kept():
    assert parse_form("t=Za%C5%BC%C3%B3%C5%82%C4%87+g%C4%99%C5%9Bl%C4%85&e=&f") == {
        "t": "Zażółć gęślą",
        "e": "",
        "f": "",
    }
    assert parse_form("") == {}


def test_too_deep_or_too_many_fields_is_a_form_error():
    deep = "a" + "[x]" * (MAX_DEPTH + 1) + "=1"
    with pytest.raises(FormError, match="nested deeper"):
        parse_form(deep)
    assert parse_form("a" + "[x]" * MAX_DEPTH + "=1")["a"]["x"]["x"]
    many = "&".join(f"f{n}=1" for n in range(MAX_FIELDS + 1))
    with pytest.raises(FormError, match="more than"):
        parse_form(many)
    assert len(parse_form("&".join(f"f{n}=1" for n in range(MAX_FIELDS)))) == MAX_FIELDS


def test_an_escape_that_is_not_utf8_is_refused():
    with pytest.raises(UnicodeDecodeError):
        parse_form("t=%FF%FE")


_names = st.text(
    st.characters(blacklist_characters="[]", blacklist_categories=("Cs",)), min_size=1, max_size=8
)
_forms = st.recursive(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    lambda inner: st.dictionaries(_names, inner, min_size=1, max_size=4),
    max_leaves=20,
)


def _bracket_pairs(value, prefix):
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _bracket_pairs(item, f"{prefix}[{name}]")
    else:
        yield prefix, value


@given(st.dictionaries(_names, _forms, max_size=4))
def test_any_nesting_survives_a_round_trip(nested):
    pairs = [pair for name, value in nested.items() for pair in _bracket_pairs(value, name)]
    assert parse_form(urlencode(pairs, quote_via=quote)) == nested
