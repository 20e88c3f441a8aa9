"""Exchange rates for foreign-currency documents (art. 31a ustawy o VAT).

Amounts in a foreign currency are converted at the NBP average rate (table A ``mid``) of the last
business day *before* the tax point. A provider answers :meth:`RateProvider.rate_for` with an
:class:`~cabinet_core.entities.ExchangeRate` carrying the rate, the table's date and number; the
document stores it, so a saved document never changes when rates are fetched again.

Providers come from the ``register_rate_providers`` hook: :class:`NbpRateProvider` asks the NBP
Web API over httpx; :class:`OfflineRateProvider` answers from fixed rates for the demo and tests.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from cabinet_core.entities import ExchangeRate
from cabinet_core.errors import N_, CabinetError

__all__ = [
    "NbpRateProvider",
    "OfflineRateProvider",
    "RateProvider",
    "RateUnavailable",
    "easter_sunday",
    "is_business_day",
    "last_business_day_before",
    "polish_holidays",
]


class RateUnavailable(CabinetError):
    """No exchange rate could be found for the currency and tax point (try again later)."""

    status = 503
    title = N_("The exchange rate is not available")


@runtime_checkable
class RateProvider(Protocol):
    """Where a cabinet gets the art. 31a rate for a currency and a tax point."""

    name: str

    def rate_for(self, currency: str, tax_point: date) -> ExchangeRate:
        """The table A mid rate of the last business day before ``tax_point``.

        Raises :class:`RateUnavailable` when there is none, :class:`ValueError` for PLN.
        """
        ...


def easter_sunday(year: int) -> date:
    """Easter Sunday of ``year`` in the Gregorian calendar (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def polish_holidays(year: int) -> set[date]:
    """Polish public holidays (dni ustawowo wolne od pracy) in ``year``.

    Fixed days, the Easter-based ones (Easter Sunday and Monday, Pentecost Sunday, Corpus
    Christi), Christmas Eve (Wigilia) from 2025 and the one-off 12 November 2018.
    """
    return set(_holidays(year))


@functools.lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1),
        date(year, 1, 6),
        easter,
        easter + timedelta(days=1),
        date(year, 5, 1),
        date(year, 5, 3),
        easter + timedelta(days=49),
        easter + timedelta(days=60),
        date(year, 8, 15),
        date(year, 11, 1),
        date(year, 11, 11),
        date(year, 12, 25),
        date(year, 12, 26),
    }
    if year >= 2025:
        days.add(date(year, 12, 24))
    if year == 2018:
        days.add(date(2018, 11, 12))
    return frozenset(days)


def is_business_day(day: date) -> bool:
    """Whether NBP publishes table A on ``day``: Monday to Friday and not a public holiday."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def last_business_day_before(tax_point: date) -> date:
    """The last business day strictly before ``tax_point`` (the art. 31a rate date)."""
    day = tax_point - timedelta(days=1)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def _warsaw_today() -> date:
    """Today in Warsaw, where NBP publishes (the server's own date may be a day off)."""
    try:
        return datetime.now(ZoneInfo("Europe/Warsaw")).date()
    except ZoneInfoNotFoundError:  # pragma: no cover - systems without a tz database
        return date.today()


def _check_currency(currency: str) -> str:
    code = currency.upper()
    if code == "PLN":
        raise ValueError("PLN needs no exchange rate")
    return code


def _unavailable(currency: str, tax_point: date, reason: str) -> RateUnavailable:
    return RateUnavailable(
        N_("No exchange rate is available for this currency and date."),
        currency=currency,
        tax_point=tax_point.isoformat(),
        reason=reason,
    )


class OfflineRateProvider:
    """Fixed rates on the NBP calendar, for the demo and tests; never for real invoices.

    The effective date is the real last business day before the tax point (weekends and Polish
    holidays skipped), and the table number is made up from that day's ordinal among the year's
    business days, in NBP's format (``123/A/NBP/2026``), so documents look like real ones. The
    rate itself is the same every day. ``source`` is ``"offline"`` so nobody mistakes it.
    """

    name = "offline"

    #: Illustrative rates (those of the VAT test vectors), used when none are given.
    DEFAULT_RATES: Mapping[str, Decimal] = {
        "EUR": Decimal("4.2512"),
        "USD": Decimal("3.7123"),
        "GBP": Decimal("4.8765"),
        "CHF": Decimal("4.5432"),
    }

    def __init__(self, rates: Mapping[str, Decimal] | None = None) -> None:
        source = self.DEFAULT_RATES if rates is None else rates
        for code, rate in source.items():
            if not isinstance(rate, Decimal) or not rate > 0:
                raise TypeError(f"the offline rate for {code} must be a positive Decimal")
        self.rates = {code.upper(): rate for code, rate in source.items()}

    def rate_for(self, currency: str, tax_point: date) -> ExchangeRate:
        """The configured rate, dated on the last business day before ``tax_point``."""
        code = _check_currency(currency)
        if code not in self.rates:
            raise _unavailable(code, tax_point, "no offline rate for this currency")
        effective = last_business_day_before(tax_point)
        ordinal = sum(
            1
            for offset in range((effective - date(effective.year, 1, 1)).days + 1)
            if is_business_day(date(effective.year, 1, 1) + timedelta(days=offset))
        )
        return ExchangeRate(
            currency=code,
            rate=self.rates[code],
            effective_date=effective,
            table_no=f"{ordinal:03d}/A/NBP/{effective.year}",
            source="offline",
        )


class NbpRateProvider:
    """Table A mid rates from the NBP Web API (https://api.nbp.pl), as art. 31a asks.

    One request covers the ten days before the tax point, so Easter and Christmas gaps need no
    second call; the last published table in that window wins. If NBP answers 404 ("Brak danych")
    the window is widened once to a month. Answers are cached per (currency, tax point); a rate
    once published never changes. ``today`` is injectable so tests need no clock.
    """

    name = "nbp"
    WINDOW_DAYS = 10
    WIDE_WINDOW_DAYS = 31

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        base_url: str = "https://api.nbp.pl/api/",
        timeout: float = 10.0,
        today: Callable[[], date] | None = None,
    ) -> None:
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._timeout = timeout
        self._today = today or _warsaw_today
        self._cache: dict[tuple[str, date], ExchangeRate] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> NbpRateProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rate_for(self, currency: str, tax_point: date) -> ExchangeRate:
        """The NBP table A mid of the last business day before ``tax_point``."""
        code = _check_currency(currency)
        with self._lock:
            cached = self._cache.get((code, tax_point))
        if cached is not None:
            return cached
        expected = last_business_day_before(tax_point)
        if expected > self._today():
            raise _unavailable(code, tax_point, "the NBP table is not published yet")
        rate = self._fetch(code, tax_point, self.WINDOW_DAYS)
        if rate is None:
            rate = self._fetch(code, tax_point, self.WIDE_WINDOW_DAYS)
        if rate is None:
            raise _unavailable(code, tax_point, "NBP has no table A in the month before")
        if rate.effective_date < expected and expected == self._today():
            # Today's table is published around midday; an older one would be the wrong rate.
            raise _unavailable(code, tax_point, "the NBP table is not published yet")
        with self._lock:
            self._cache[(code, tax_point)] = rate
        return rate

    def _fetch(self, code: str, tax_point: date, days: int) -> ExchangeRate | None:
        """One range query; ``None`` when NBP has no table in the window (404)."""
        start = tax_point - timedelta(days=days)
        # NBP refuses ranges that end in the future; a weekend tax point may be days ahead.
        end = min(tax_point - timedelta(days=1), self._today())
        url = (
            f"{self._base_url}exchangerates/rates/a/{code.lower()}/"
            f"{start.isoformat()}/{end.isoformat()}/"
        )
        try:
            response = self._client.get(
                url,
                params={"format": "json"},
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise _unavailable(code, tax_point, f"NBP could not be reached: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _unavailable(
                code, tax_point, f"NBP answered {response.status_code}: {response.text[:200]}"
            )
        return self._parse(code, tax_point, response.content)

    def _parse(self, code: str, tax_point: date, body: bytes) -> ExchangeRate:
        try:
            data: Any = json.loads(body, parse_float=Decimal)
            if data["code"].upper() != code:
                raise ValueError(f"asked for {code}, NBP answered {data['code']}")
            entries = [
                entry
                for entry in data["rates"]
                if date.fromisoformat(entry["effectiveDate"]) < tax_point
            ]
            last = max(entries, key=lambda entry: entry["effectiveDate"])
            mid = last["mid"]
            if isinstance(mid, bool) or not isinstance(mid, Decimal | int):
                raise ValueError(f"mid is not a number: {mid!r}")
            return ExchangeRate(
                currency=code,
                rate=Decimal(mid),
                effective_date=date.fromisoformat(last["effectiveDate"]),
                table_no=str(last["no"]),
                source="NBP",
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise _unavailable(code, tax_point, f"NBP sent an unexpected answer: {exc}") from exc
