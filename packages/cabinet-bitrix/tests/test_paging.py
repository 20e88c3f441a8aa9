"""Reading 120 items back from the emulator both ways: start/next pages, and the id window
with start=-1 (no counting)."""

from __future__ import annotations

import pytest
from bitrix24_emulator import Emulator, EmulatorConfig, VirtualClock
from cabinet_bitrix.paging import pages, pull_by_id, rows_of
from emulated import emulated_client


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    emulator = Emulator(EmulatorConfig(deliver_events_inline=False), clock=clock)
    for n in range(120):
        emulator.act(
            "crm.item.add",
            {"entityTypeId": 1038, "fields": {"title": f"Dokument {n}", "opportunity": n}},
        )
    return emulator


@pytest.fixture
def client(emulator, clock):
    return emulated_client(emulator, clock)


def test_start_next_paging_reads_all_120_in_three_pages(client, emulator):
    rows = list(pages(client, "crm.item.list", {"entityTypeId": 1038, "order": {"id": "ASC"}}))
    assert len(rows) == 120
    assert len({row["id"] for row in rows}) == 120
    assert [row["title"] for row in rows[:2]] == ["Dokument 0", "Dokument 1"]
    assert len(emulator.requests) == 3


def test_id_window_reads_all_120_without_counting(client, emulator):
    seen = []
    send = client._send

    def spy(method, params):
        seen.append(params)
        return send(method, params)

    client._send = spy
    rows = list(pull_by_id(client, "crm.item.list", {"entityTypeId": 1038, "select": ["title"]}))
    assert len(rows) == 120
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids) and len(set(ids)) == 120
    assert [row["title"] for row in rows[-1:]] == ["Dokument 119"]
    # Three windows: after 0, after the 50th id, after the 100th; never a count.
    assert [p["filter"][">id"] for p in seen] == [0, ids[49], ids[99]]
    assert all(p["start"] == -1 and p["order"] == {"id": "ASC"} for p in seen)
    assert seen[0]["select"] == ["title", "id"]


def test_id_window_keeps_the_callers_filter_and_resumes_after_an_id(client):
    rows = list(
        pull_by_id(
            client,
            "crm.item.list",
            {"entityTypeId": 1038, "filter": {">=opportunity": 60}},
            after=0,
        )
    )
    assert len(rows) == 60
    resumed = list(pull_by_id(client, "crm.item.list", {"entityTypeId": 1038}, after=rows[9]["id"]))
    # Items 0..59 have lower ids than the ones with opportunity >= 60: resuming after the
    # tenth of those yields the other fifty.
    assert [r["id"] for r in resumed] == [r["id"] for r in rows[10:]]


def test_id_window_on_an_exact_multiple_of_50_ends_with_an_empty_page(emulator, clock):
    for n in range(30):
        emulator.act("crm.item.add", {"entityTypeId": 1038, "fields": {"title": f"x{n}"}})
    client = emulated_client(emulator, clock)
    assert len(list(pull_by_id(client, "crm.item.list", {"entityTypeId": 1038}))) == 150
    assert len(emulator.requests) == 4  # 50, 50, 50, then an empty window


def test_rows_of_finds_the_rows_in_each_answer_shape():
    assert rows_of([{"ID": "1"}]) == [{"ID": "1"}]
    assert rows_of({"items": [{"id": 1}]}) == [{"id": 1}]
    assert rows_of({"productRows": [{"id": 2}]}) == [{"id": 2}]
    assert rows_of({"types": [], "other": []}, "types") == []
    assert rows_of({"a": [1], "b": [2]}) == []
    assert rows_of(None) == []
