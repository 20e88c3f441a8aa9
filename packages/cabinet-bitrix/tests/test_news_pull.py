"""News from the Bitrix24 feed, against the emulator: the group's posts become news items, edits
follow, deletions follow, other groups' posts and the cabinet's own news are left alone, and an
outage changes nothing."""

from __future__ import annotations

import httpx
import pytest
from bitrix24_emulator import Emulator, VirtualClock
from cabinet_bitrix.client import BitrixClient, BitrixError, RetryPolicy
from cabinet_bitrix.limiter import STANDARD, RequestBucket
from cabinet_bitrix.news import (
    news_group,
    news_item,
    plain_text,
    pull_news,
)
from cabinet_core.entities import Actor, NewsItem, Role
from emulated import emulated_client

GROUP = 12


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def emulator(clock):
    return Emulator(clock=clock)


@pytest.fixture
def bitrix(emulator, clock):
    with emulated_client(emulator, clock, retry=RetryPolicy(attempts=2)) as client:
        yield client


def post(emulator, title, text, dest=("SG12",)):
    return emulator.act(
        "log.blogpost.add",
        {"POST_TITLE": title, "POST_MESSAGE": text, "DEST": list(dest)},
    )


def titles(cabinet):
    return [n.title for n in cabinet.news.list(Actor.system()).items]


def test_the_groups_posts_become_news_and_follow_edits_and_deletions(cabinet, emulator, bitrix):
    first = post(emulator, "Termin JPK", "Prosimy o faktury do [b]10 grudnia[/b].")
    post(emulator, "Sprawy wewnętrzne", "Tylko dla zespołu", dest=("SG99",))
    second = post(emulator, "", "Zmiana godzin pracy biura[br]W piątek do 14:00")
    own = cabinet.news.publish(Actor.system(), NewsItem(title="Napisane w Panelu"))

    result = pull_news(cabinet.sync_port("bitrix24"), bitrix, group_id=GROUP)
    assert result.created == (f"b24:post:{first}", f"b24:post:{second}")
    assert sorted(titles(cabinet)) == sorted(
        ["Termin JPK", "Zmiana godzin pracy biura", "Napisane w Panelu"]
    )
    items = {n.external_id: n for n in cabinet.news.list(Actor.system()).items}
    assert items[f"b24:post:{first}"].body == "Prosimy o faktury do 10 grudnia."
    assert items[f"b24:post:{second}"].body == "Zmiana godzin pracy biura\nW piątek do 14:00"

    # Nothing changed in the feed: nothing is written.
    again = pull_news(cabinet.sync_port("bitrix24"), bitrix, group_id=GROUP)
    assert not again.changed and again.unchanged == 2

    emulator.act("log.blogpost.update", {"POST_ID": first, "POST_TITLE": "Termin JPK_V7M"})
    emulator.act("log.blogpost.delete", {"POST_ID": second})
    result = pull_news(cabinet.sync_port("bitrix24"), bitrix, group_id=GROUP)
    assert result.updated == (f"b24:post:{first}",)
    assert result.deleted == (f"b24:post:{second}",)
    assert sorted(titles(cabinet)) == ["Napisane w Panelu", "Termin JPK_V7M"]
    assert own.id in [n.id for n in cabinet.news.list(Actor.system()).items]


def test_a_long_feed_is_read_by_pages_of_50(cabinet, emulator, bitrix):
    for number in range(120):
        post(emulator, f"Post {number}", "tekst")
    # Outside cursor mode the portal pages by 50 whatever LIMIT says: 50 + 50 + 20.
    result = pull_news(cabinet.sync_port("bitrix24"), bitrix, group_id=GROUP)
    assert len(result.created) == 120 and result.complete
    assert cabinet.news.list(Actor.system(), limit=1).total == 120
    calls = [method for method, _ in emulator.requests if method == "log.blogpost.get"]
    assert len(calls) == 3


def test_a_listing_that_may_be_partial_deletes_nothing(cabinet, emulator, clock):
    posts = [post(emulator, f"Post {number}", "tekst") for number in range(60)]
    with emulated_client(emulator, clock) as client:
        port = cabinet.sync_port("bitrix24")
        assert len(pull_news(port, client, group_id=GROUP).created) == 60
    # A post deleted while the feed is being read shifts the offsets: the second page
    # starts one post later, and the post that moved across the page boundary (the tenth
    # oldest, posts[9]) is read by neither page.
    inner = emulator.transport()
    pages = []

    def handler(request: httpx.Request) -> httpx.Response:
        response = inner.handle_request(request)
        if "log.blogpost.get" in request.url.path:
            pages.append(request)
            if len(pages) == 1:
                emulator.act("log.blogpost.delete", {"POST_ID": posts[30]})
        return response

    shifted = BitrixClient(
        emulator.webhook_url,
        transport=httpx.MockTransport(handler),
        bucket=RequestBucket(STANDARD, clock=clock.now, sleep=clock.advance),
        clock=clock.now,
        sleep=clock.advance,
    )
    with shifted:
        partial = pull_news(port, shifted, group_id=GROUP)
    assert not partial.complete and partial.deleted == ()
    assert partial.unchanged == 50 + 9  # the first page whole, then the shifted 9
    # posts[9] was hidden by the shift, posts[30] really went: neither is deleted yet.
    ids = set(port.news_ids("b24:post:"))
    assert {f"b24:post:{posts[9]}", f"b24:post:{posts[30]}"} <= ids
    with emulated_client(emulator, clock) as client:
        whole = pull_news(port, client, group_id=GROUP)
    assert whole.complete and whole.deleted == (f"b24:post:{posts[30]}",)
    assert f"b24:post:{posts[9]}" in set(port.news_ids("b24:post:"))


def test_an_outage_deletes_nothing(cabinet, emulator, bitrix):
    post(emulator, "Zostaje", "tekst")
    pull_news(cabinet.sync_port("bitrix24"), bitrix, group_id=GROUP)
    emulator.inject("internal_error")
    with pytest.raises(BitrixError):
        pull_news(cabinet.sync_port("bitrix24"), bitrix, group_id=GROUP)
    emulator.clear_faults()
    assert titles(cabinet) == ["Zostaje"]


def test_no_group_configured_means_no_calls(cabinet, emulator, bitrix, monkeypatch):
    monkeypatch.delenv("CABINET_BITRIX_NEWS_GROUP", raising=False)
    assert not pull_news(cabinet.sync_port("bitrix24"), bitrix).changed
    assert emulator.requests == []


def test_group_setting_and_post_conversion():
    assert news_group("") is None
    assert news_group("12") == 12
    assert news_group(" SG12 ") == 12
    with pytest.raises(ValueError, match="CABINET_BITRIX_NEWS_GROUP"):
        news_group("news")
    assert plain_text("[disk file id=n5]Plik[/disk]") == "Plik"
    assert plain_text("[url=https://ksef.gov.pl]KSeF[/url] [i]już[/i]") == (
        "KSeF (https://ksef.gov.pl) już"
    )
    item = news_item(
        {
            "ID": "217",
            "TITLE": "",
            "DETAIL_TEXT": "x" * 300,
            "DATE_PUBLISH": "2026-03-17T15:29:15+01:00",
            "UF_BLOG_POST_IMPRTNT": {"FIELD_NAME": "UF_BLOG_POST_IMPRTNT", "VALUE": "1"},
        }
    )
    assert item.external_id == "b24:post:217" and item.important
    assert len(item.title) == 120 and item.title.endswith("…")
    assert item.published_at is not None and item.published_at.utcoffset() is not None


def test_a_post_deleted_in_the_cabinet_stays_deleted(cabinet, emulator, bitrix):
    kept = post(emulator, "Zostaje", "tekst")
    withdrawn = post(emulator, "Wycofana", "tekst")
    port = cabinet.sync_port("bitrix24")
    pull_news(port, bitrix, group_id=GROUP)
    items = {n.external_id: n for n in cabinet.news.list(Actor.system()).items}
    admin = Actor(user_id=None, role=Role.ADMIN)
    cabinet.news.delete(admin, items[f"b24:post:{withdrawn}"].id)

    # The post is still in the feed, and edited there: the cabinet's deletion holds.
    again = pull_news(port, bitrix, group_id=GROUP)
    assert again.created == () and titles(cabinet) == ["Zostaje"]
    emulator.act("log.blogpost.update", {"POST_ID": withdrawn, "POST_TITLE": "Wycofana (popr.)"})
    emulator.act("log.blogpost.update", {"POST_ID": kept, "POST_TITLE": "Zostaje (popr.)"})
    edited = pull_news(port, bitrix, group_id=GROUP)
    assert edited.created == () and edited.updated == (f"b24:post:{kept}",)
    assert titles(cabinet) == ["Zostaje (popr.)"]
    assert port.state("news_feed") == {
        "known": [f"b24:post:{kept}"],
        "deleted": [f"b24:post:{withdrawn}"],
    }
    # Once the post is gone from the feed as well, its tombstone is no longer kept.
    emulator.act("log.blogpost.delete", {"POST_ID": withdrawn})
    pull_news(port, bitrix, group_id=GROUP)
    assert port.state("news_feed")["deleted"] == []
