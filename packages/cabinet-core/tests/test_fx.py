from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pluggy
import pytest
from cabinet_core import default_rate_providers, hookspecs
from cabinet_core.entities import ExchangeRate
from cabinet_core.fx import (
    NbpRateProvider,
    OfflineRateProvider,
    RateProvider,
    RateUnavailable,
    easter_sunday,
    is_business_day,
    last_business_day_before,
    polish_holidays,
)
from hypothesis import given, settings
from hypothesis import strategies as st

NOT_FOUND = "404 NotFound - Not Found - Brak danych"


class FakeNbp:
    """The NBP range endpoint over a table of published days, answering as api.nbp.pl does."""

    def __init__(self, published: dict[date, tuple[str, str]], currency: str = "EUR") -> None:
        self.published = published
        self.currency = currency
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        parts = request.url.path.strip("/").split("/")
        assert parts[:4] == ["api", "exchangerates", "rates", "a"]
        code, start, end = parts[4], date.fromisoformat(parts[5]), date.fromisoformat(parts[6])
        if code.upper() != self.currency:
            return httpx.Response(404, text=NOT_FOUND)
        days = sorted(day for day in self.published if start <= day <= end)
        if not days:
            return httpx.Response(404, text=NOT_FOUND, headers={"content-type": "text/plain"})
        rates = ",".join(
            f'{{"no":"{self.published[day][0]}","effectiveDate":"{day.isoformat()}",'
            f'"mid":{self.published[day][1]}}}'
            for day in days
        )
        body = f'{{"table":"A","currency":"euro","code":"{self.currency}","rates":[{rates}]}}'
        return httpx.Response(
            200, content=body.encode(), headers={"content-type": "application/json"}
        )


def provider(
    handler: Callable[[httpx.Request], httpx.Response], today: date = date(2026, 11, 27)
) -> NbpRateProvider:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return NbpRateProvider(client=client, today=lambda: today)


NOVEMBER = {
    date(2026, 11, 19): ("224/A/NBP/2026", "4.2301"),
    date(2026, 11, 20): ("225/A/NBP/2026", "4.2388"),
    date(2026, 11, 23): ("226/A/NBP/2026", "4.2450"),
    date(2026, 11, 24): ("227/A/NBP/2026", "4.2479"),
    date(2026, 11, 25): ("228/A/NBP/2026", "4.2512"),
    date(2026, 11, 26): ("229/A/NBP/2026", "4.2490"),
}


# -- calendar -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2000, date(2000, 4, 23)),
        (2019, date(2019, 4, 21)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
        (2285, date(2285, 3, 22)),
    ],
)
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_polish_holidays_2026() -> None:
    assert polish_holidays(2026) == {
        date(2026, 1, 1),
        date(2026, 1, 6),
        date(2026, 4, 5),
        date(2026, 4, 6),
        date(2026, 5, 1),
        date(2026, 5, 3),
        date(2026, 5, 24),
        date(2026, 6, 4),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2026, 12, 26),
    }


def test_wigilia_is_a_holiday_from_2025_only() -> None:
    assert date(2024, 12, 24) not in polish_holidays(2024)
    assert date(2025, 12, 24) in polish_holidays(2025)
    assert date(2018, 11, 12) in polish_holidays(2018)


def test_polish_holidays_returns_a_fresh_set() -> None:
    polish_holidays(2026).clear()
    assert date(2026, 1, 1) in polish_holidays(2026)


@pytest.mark.parametrize(
    ("tax_point", "expected"),
    [
        (date(2026, 11, 26), date(2026, 11, 25)),  # Thursday → Wednesday
        (date(2026, 11, 30), date(2026, 11, 27)),  # Monday → Friday
        (date(2026, 11, 29), date(2026, 11, 27)),  # Sunday → Friday
        (date(2026, 4, 7), date(2026, 4, 3)),  # after Easter Monday → Good Friday
        (date(2026, 12, 28), date(2026, 12, 23)),  # Wigilia and Christmas skipped
        (date(2026, 1, 7), date(2026, 1, 5)),  # Epiphany skipped
        (date(2026, 11, 12), date(2026, 11, 10)),  # Independence Day skipped
        (date(2026, 1, 2), date(2025, 12, 31)),  # across the year
    ],
)
def test_last_business_day_before(tax_point: date, expected: date) -> None:
    assert last_business_day_before(tax_point) == expected


@settings(deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_last_business_day_is_the_nearest_one_before(tax_point: date) -> None:
    found = last_business_day_before(tax_point)
    assert found < tax_point
    assert is_business_day(found)
    # The longest gap is Christmas with Wigilia: Tue 23 Dec → Mon 29 Dec is six days.
    assert (tax_point - found).days <= 6
    day = found + timedelta(days=1)
    while day < tax_point:
        assert not is_business_day(day)
        day += timedelta(days=1)


# -- offline provider ---------------------------------------------------------------------------


def test_offline_provider_follows_the_nbp_calendar() -> None:
    rate = OfflineRateProvider().rate_for("eur", date(2026, 11, 30))
    assert rate == ExchangeRate(
        currency="EUR",
        rate=Decimal("4.2512"),
        effective_date=date(2026, 11, 27),
        table_no=rate.table_no,
        source="offline",
    )
    assert rate.table_no.endswith("/A/NBP/2026")


def test_offline_table_numbers_count_business_days() -> None:
    offline = OfflineRateProvider({"USD": Decimal("3.7123")})
    assert offline.rate_for("USD", date(2026, 1, 5)).table_no == "001/A/NBP/2026"
    assert offline.rate_for("USD", date(2026, 1, 7)).table_no == "002/A/NBP/2026"
    assert offline.rate_for("USD", date(2026, 1, 8)).table_no == "003/A/NBP/2026"


def test_offline_provider_is_deterministic() -> None:
    first = OfflineRateProvider().rate_for("USD", date(2026, 4, 7))
    second = OfflineRateProvider().rate_for("USD", date(2026, 4, 7))
    assert first == second
    assert first.effective_date == date(2026, 4, 3)


@pytest.mark.parametrize("bad", [4.25, Decimal(0), Decimal("-1")])
def test_offline_rates_must_be_positive_decimals(bad: object) -> None:
    with pytest.raises(TypeError):
        OfflineRateProvider({"EUR": bad})  # type: ignore[dict-item]


def test_offline_provider_unknown_currency_and_pln() -> None:
    offline = OfflineRateProvider({"EUR": Decimal("4.3")})
    with pytest.raises(RateUnavailable) as caught:
        offline.rate_for("USD", date(2026, 11, 27))
    assert caught.value.status == 503
    assert caught.value.params["currency"] == "USD"
    with pytest.raises(ValueError, match="PLN"):
        offline.rate_for("PLN", date(2026, 11, 27))


def test_providers_satisfy_the_protocol() -> None:
    assert isinstance(OfflineRateProvider(), RateProvider)
    with NbpRateProvider() as nbp:
        assert isinstance(nbp, RateProvider)
        assert nbp.name == "nbp"


# -- NBP provider -------------------------------------------------------------------------------


def test_nbp_takes_the_last_table_before_the_tax_point() -> None:
    fake = FakeNbp(NOVEMBER)
    rate = provider(fake).rate_for("EUR", date(2026, 11, 26))
    assert rate == ExchangeRate(
        currency="EUR",
        rate=Decimal("4.2512"),
        effective_date=date(2026, 11, 25),
        table_no="228/A/NBP/2026",
        source="NBP",
    )
    assert str(rate.rate) == "4.2512"
    (request,) = fake.requests
    assert request.url.path == "/api/exchangerates/rates/a/eur/2026-11-16/2026-11-25/"
    assert request.url.params["format"] == "json"


def test_nbp_over_a_weekend() -> None:
    fake = FakeNbp({**NOVEMBER, date(2026, 11, 27): ("230/A/NBP/2026", "4.2555")})
    rate = provider(fake, today=date(2026, 12, 1)).rate_for("EUR", date(2026, 11, 30))
    assert rate.effective_date == date(2026, 11, 27)
    assert rate.table_no == "230/A/NBP/2026"
    assert rate.rate == Decimal("4.2555")


def test_nbp_never_asks_for_days_after_today() -> None:
    fake = FakeNbp({**NOVEMBER, date(2026, 11, 27): ("230/A/NBP/2026", "4.2555")})
    rate = provider(fake, today=date(2026, 11, 28)).rate_for("EUR", date(2026, 11, 30))
    assert rate.table_no == "230/A/NBP/2026"
    assert fake.requests[0].url.path.endswith("/2026-11-20/2026-11-28/")


def test_nbp_over_easter() -> None:
    easter_week = {
        date(2026, 3, 31): ("063/A/NBP/2026", "4.2800"),
        date(2026, 4, 1): ("064/A/NBP/2026", "4.2811"),
        date(2026, 4, 2): ("065/A/NBP/2026", "4.2822"),
        date(2026, 4, 3): ("066/A/NBP/2026", "4.2833"),
        date(2026, 4, 7): ("067/A/NBP/2026", "4.2844"),
    }
    nbp = provider(FakeNbp(easter_week))
    rate = nbp.rate_for("EUR", date(2026, 4, 7))
    assert (rate.effective_date, rate.table_no) == (date(2026, 4, 3), "066/A/NBP/2026")
    assert nbp.rate_for("EUR", date(2026, 4, 8)).table_no == "067/A/NBP/2026"


def test_nbp_404_widens_the_window_once() -> None:
    fake = FakeNbp({date(2026, 11, 3): ("212/A/NBP/2026", "4.3000")})
    rate = provider(fake).rate_for("EUR", date(2026, 11, 20))
    assert rate.table_no == "212/A/NBP/2026"
    first, second = fake.requests
    assert first.url.path.endswith("/2026-11-10/2026-11-19/")
    assert second.url.path.endswith("/2026-10-20/2026-11-19/")


def test_nbp_404_twice_is_rate_unavailable() -> None:
    fake = FakeNbp({})
    with pytest.raises(RateUnavailable) as caught:
        provider(fake).rate_for("EUR", date(2026, 11, 20))
    assert len(fake.requests) == 2
    assert caught.value.status == 503
    assert caught.value.params["tax_point"] == "2026-11-20"
    assert "Brak" not in caught.value.message


def test_nbp_network_error_is_rate_unavailable() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(RateUnavailable) as caught:
        provider(unreachable).rate_for("USD", date(2026, 11, 20))
    assert "could not be reached" in caught.value.params["reason"]


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(400, text="400 BadRequest - Błędny zakres dat / Invalid date range"),
        httpx.Response(500, text="oops"),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json={"table": "A", "code": "USD", "rates": []}),
        httpx.Response(200, json={"table": "A", "code": "EUR", "rates": [{"no": "x"}]}),
        httpx.Response(
            200,
            json={
                "table": "A",
                "code": "EUR",
                "rates": [{"no": "1/A", "effectiveDate": "2026-11-19", "mid": "4.2"}],
            },
        ),
    ],
)
def test_nbp_unexpected_answers_are_rate_unavailable(response: httpx.Response) -> None:
    with pytest.raises(RateUnavailable):
        provider(lambda request: response).rate_for("EUR", date(2026, 11, 20))


def test_nbp_ignores_tables_on_or_after_the_tax_point() -> None:
    def careless(request: httpx.Request) -> httpx.Response:
        rates = [
            {"no": "224/A/NBP/2026", "effectiveDate": "2026-11-19", "mid": 4.2301},
            {"no": "225/A/NBP/2026", "effectiveDate": "2026-11-20", "mid": 4.2388},
        ]
        body = json.dumps({"table": "A", "currency": "euro", "code": "EUR", "rates": rates})
        return httpx.Response(200, text=body)

    rate = provider(careless).rate_for("EUR", date(2026, 11, 20))
    assert rate.table_no == "224/A/NBP/2026"
    assert rate.rate == Decimal("4.2301")


def test_nbp_answers_are_cached_per_currency_and_tax_point() -> None:
    fake = FakeNbp(NOVEMBER)
    nbp = provider(fake)
    first = nbp.rate_for("EUR", date(2026, 11, 26))
    assert nbp.rate_for("eur", date(2026, 11, 26)) is first
    assert len(fake.requests) == 1
    nbp.rate_for("EUR", date(2026, 11, 24))
    assert len(fake.requests) == 2


def test_nbp_failures_are_not_cached() -> None:
    answers = iter([httpx.ConnectError("down"), None])
    fake = FakeNbp(NOVEMBER)

    def flaky(request: httpx.Request) -> httpx.Response:
        error = next(answers)
        if error is not None:
            raise error
        return fake(request)

    nbp = provider(flaky)
    with pytest.raises(RateUnavailable):
        nbp.rate_for("EUR", date(2026, 11, 26))
    assert nbp.rate_for("EUR", date(2026, 11, 26)).table_no == "228/A/NBP/2026"


def test_nbp_refuses_a_rate_that_is_not_published_yet() -> None:
    # Tax point tomorrow: the rate is today's table, which NBP publishes around midday.
    fake = FakeNbp(NOVEMBER)
    nbp = provider(fake, today=date(2026, 11, 27))
    with pytest.raises(RateUnavailable) as caught:
        nbp.rate_for("EUR", date(2026, 11, 28))
    assert "not published" in caught.value.params["reason"]
    with pytest.raises(RateUnavailable):
        nbp.rate_for("EUR", date(2026, 12, 15))
    assert len(fake.requests) == 1
    published = {**NOVEMBER, date(2026, 11, 27): ("230/A/NBP/2026", "4.2555")}
    later = provider(FakeNbp(published), today=date(2026, 11, 27))
    assert later.rate_for("EUR", date(2026, 11, 28)).table_no == "230/A/NBP/2026"


def test_nbp_pln_is_a_value_error() -> None:
    fake = FakeNbp(NOVEMBER)
    with pytest.raises(ValueError, match="PLN"):
        provider(fake).rate_for("PLN", date(2026, 11, 26))
    assert fake.requests == []


def test_nbp_base_url_is_configurable() -> None:
    fake = FakeNbp(NOVEMBER)
    client = httpx.Client(transport=httpx.MockTransport(fake))
    nbp = NbpRateProvider(
        client=client, base_url="https://mirror.example/api", today=lambda: date(2026, 11, 27)
    )
    nbp.rate_for("EUR", date(2026, 11, 26))
    assert fake.requests[0].url.host == "mirror.example"
    assert fake.requests[0].url.path.startswith("/api/exchangerates/")


# -- plugin -------------------------------------------------------------------------------------


def test_default_rate_providers_register_offline_and_nbp() -> None:
    pm = pluggy.PluginManager("cabinet")
    pm.add_hookspecs(hookspecs)
    pm.register(default_rate_providers)
    factories: dict[str, Callable[[object], RateProvider]] = {}
    pm.hook.register_rate_providers(register=factories.__setitem__)
    assert sorted(factories) == ["nbp", "offline"]
    offline = factories["offline"](None)
    assert isinstance(offline, OfflineRateProvider)
    nbp = factories["nbp"](None)
    assert isinstance(nbp, NbpRateProvider)
    nbp.close()
