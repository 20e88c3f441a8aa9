"""Batch packing against the emulator: 50 commands in one request with ``$result``
references, per-command errors, halt, and the command encoding."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix.batching import (
    BATCH_LIMIT,
    Command,
    _as_dict,
    chunks,
    command_string,
    pack,
    ref,
    run_batch,
)
from cabinet_bitrix.client import BitrixError
from emulated import emulated_client


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    return Emulator(clock=clock)


@pytest.fixture
def client(emulator, clock):
    return emulated_client(emulator, clock)


def item_with_rows(n: int) -> list[Command]:
    return [
        Command(f"add{n}", "crm.item.add", {"entityTypeId": 1038, "fields": {"title": f"#{n}"}}),
        Command(
            f"rows{n}",
            "crm.item.productrow.set",
            {
                "ownerType": "T40e",
                "ownerId": ref(f"add{n}", "item", "id"),
                "productRows": [
                    {"productName": f"Usługa {n}", "price": Decimal("99.90"), "quantity": 2}
                ],
            },
        ),
    ]


def test_fifty_commands_with_references_go_in_one_request(client, emulator):
    commands = [c for n in range(25) for c in item_with_rows(n)]
    assert len(commands) == BATCH_LIMIT
    results = run_batch(client, commands)
    assert emulator.requests == [("batch", "1")]
    assert all(r.ok for r in results.values())
    items = emulator.portal.items[1038]
    assert len(items) == 25
    for n in range(25):
        item_id = results[f"add{n}"].unwrap()["item"]["id"]
        assert items[item_id]["title"] == f"#{n}"
        (row,) = results[f"rows{n}"].unwrap()["productRows"]
        assert row["ownerId"] == item_id
        assert (row["productName"], row["price"], row["quantity"]) == (f"Usługa {n}", 99.9, 2)
        assert emulator.portal.rows[("T40e", item_id)][0]["productName"] == f"Usługa {n}"
        # Each command's own time entry, with its method's operating sum, is reported.
        assert "operating" in results[f"add{n}"].time


def test_more_than_fifty_commands_are_refused_before_sending(client, emulator):
    commands = [Command(f"p{n}", "profile") for n in range(51)]
    with pytest.raises(ValueError, match="at most 50"):
        run_batch(client, commands)
    assert emulator.requests == []


def test_a_failing_command_is_reported_on_its_own_without_halt(client):
    results = run_batch(
        client,
        [
            Command("ok", "crm.item.add", {"entityTypeId": 1038, "fields": {"title": "A"}}),
            Command("bad", "crm.item.get", {"entityTypeId": 1038, "id": 999}),
            Command("after", "crm.item.list", {"entityTypeId": 1038}),
        ],
    )
    assert results["ok"].ok and results["after"].ok
    assert results["after"].total == 1
    assert not results["bad"].ok
    with pytest.raises(BitrixError) as caught:
        results["bad"].unwrap()
    assert caught.value.code == "NOT_FOUND"
    assert "batch command bad" in str(caught.value)
    assert not caught.value.transient


def test_halt_stops_at_the_first_error(client, emulator):
    results = run_batch(
        client,
        [
            Command("bad", "crm.item.get", {"entityTypeId": 1038, "id": 999}),
            Command("never", "crm.item.add", {"entityTypeId": 1038, "fields": {"title": "B"}}),
        ],
        halt=True,
    )
    assert results["bad"].error is not None
    assert not results["never"].ran
    with pytest.raises(BitrixError, match="did not run"):
        results["never"].unwrap()
    assert emulator.portal.items[1038] == {}


def test_list_commands_report_total_and_next(client, emulator):
    for n in range(51):
        emulator.act("crm.item.add", {"entityTypeId": 1038, "fields": {"title": f"{n}"}})
    results = run_batch(client, [Command("page", "crm.item.list", {"entityTypeId": 1038})])
    assert (results["page"].total, results["page"].next) == (51, 50)
    assert len(results["page"].result["items"]) == 50


def test_command_strings_are_php_bracket_queries():
    text = command_string(
        "crm.item.add",
        {
            "entityTypeId": 7,
            "fields": {"title": "Faktura & co", "opened": True, "opportunity": Decimal("1E+3")},
            "rows": [],
            "ownerId": ref("add", "item", "id"),
        },
    )
    method, query = text.split("?", 1)
    assert method == "crm.item.add"
    assert parse_qsl(query, keep_blank_values=True) == [
        ("entityTypeId", "7"),
        ("fields[title]", "Faktura & co"),
        ("fields[opened]", "Y"),
        ("fields[opportunity]", "1000"),
        ("rows", ""),
        ("ownerId", "$result[add][item][id]"),
    ]
    assert "$result[add][item][id]" in query  # the reference stays readable
    assert command_string("profile", {}) == "profile"


def test_command_names_must_not_be_numeric_or_carry_syntax():
    for name in ("0", "", "a[b]", "x&y"):
        with pytest.raises(ValueError):
            Command(name, "profile")


def test_php_lists_and_empty_sections_read_as_dicts():
    assert _as_dict([]) == {}
    assert _as_dict(["a", "b"]) == {"0": "a", "1": "b"}
    assert _as_dict({"x": 1}) == {"x": 1}


def test_packing_keeps_groups_whole():
    groups = [item_with_rows(n) for n in range(30)]
    batches = list(pack(groups))
    assert [len(b) for b in batches] == [50, 10]
    assert [c.name for b in batches for c in b] == [c.name for g in groups for c in g]
    odd = [
        [Command(f"a{n}", "profile"), Command(f"b{n}", "profile"), Command(f"c{n}", "profile")]
        for n in range(17)
    ]
    assert [len(b) for b in pack(odd)] == [48, 3]
    with pytest.raises(ValueError, match="does not fit"):
        list(pack([[Command(f"x{n}", "profile") for n in range(51)]]))
    assert [len(c) for c in chunks([Command(f"y{n}", "profile") for n in range(120)])] == [
        50,
        50,
        20,
    ]
