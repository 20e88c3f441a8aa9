"""Receiving: metadata queries (Subject1/Subject2, paging, Decimal amounts) and downloads."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from cabinet_ksef.errors import KsefError, KsefUnavailable
from client_support import FA3_EXAMPLE, client_for, token_credentials
from ksef_fake import NOW, FakeKsef, sha256_b64


def _metadata(n: int, subject: str) -> dict[str, object]:
    return {
        "_subject": subject,
        "ksefNumber": f"1111111111-20261201-{n:012X}-00",
        "invoiceNumber": f"FV/{n}/2026",
        "issueDate": "2026-12-01",
        "invoicingDate": "2026-12-01T10:00:00+00:00",
        "acquisitionDate": "2026-12-01T10:00:01.1234567+00:00",
        "permanentStorageDate": "2026-12-01T10:00:05+00:00",
        "seller": {"nip": "1111111111", "name": "Dostawca"},
        "buyer": {"identifier": {"type": "Nip", "value": "5265877635"}, "name": "Klient"},
        "netAmount": 1000.10,
        "grossAmount": 1230.12,
        "vatAmount": 230.02,
        "currency": "PLN",
        "invoicingMode": "Online",
        "invoiceType": "Vat",
        "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
        "isSelfInvoicing": False,
        "hasAttachment": False,
        "invoiceHash": sha256_b64(str(n).encode()),
    }


def test_purchases_are_queried_as_subject2_page_by_page_with_exact_amounts() -> None:
    fake = FakeKsef()
    fake.metadata = [_metadata(n, "Subject2") for n in range(12)] + [_metadata(99, "Subject1")]
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))
    since = NOW - dt.timedelta(days=30)

    first = client.query_metadata(
        tokens, subject="Subject2", date_from=since, date_to=NOW, page_size=10
    )
    second = client.query_metadata(
        tokens, subject="Subject2", date_from=since, date_to=NOW, page_size=10, page_offset=1
    )

    assert first.has_more and not first.is_truncated and len(first.invoices) == 10
    assert not second.has_more and len(second.invoices) == 2
    invoice = first.invoices[0]
    assert invoice.net == Decimal("1000.1")
    assert invoice.vat == Decimal("230.02") and invoice.gross == Decimal("1230.12")
    assert invoice.issue_date == dt.date(2026, 12, 1)
    assert invoice.seller_nip == "1111111111" and invoice.buyer_nip == "5265877635"
    assert invoice.acquisition_date == dt.datetime(2026, 12, 1, 10, 0, 1, 123456, tzinfo=dt.UTC)
    assert first.permanent_storage_hwm_date == NOW

    queries = [r for r in fake.requests if r.url.path.endswith("/invoices/query/metadata")]
    body = json.loads(queries[0].content)
    assert body == {
        "subjectType": "Subject2",
        "dateRange": {
            "dateType": "PermanentStorage",
            "from": since.isoformat(),
            "to": NOW.isoformat(),
        },
    }
    assert queries[1].url.params["pageOffset"] == "1"
    assert queries[0].url.params["sortOrder"] == "Asc"


def test_own_sales_are_subject1() -> None:
    fake = FakeKsef()
    fake.metadata = [_metadata(1, "Subject2"), _metadata(7, "Subject1")]
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))
    page = client.query_metadata(
        tokens, subject="Subject1", date_from=NOW - dt.timedelta(days=1), date_to=NOW
    )
    assert [i.invoice_number for i in page.invoices] == ["FV/7/2026"]


def test_a_query_needs_dates_with_a_time_zone() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))
    with pytest.raises(ValueError, match="time zone"):
        client.query_metadata(
            tokens, subject="Subject2", date_from=dt.datetime(2026, 12, 1), date_to=NOW
        )


def test_an_invoice_downloads_byte_for_byte_and_an_unknown_one_is_21164() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))
    xml = FA3_EXAMPLE.read_bytes()
    fake.stored["9999999999-20261207-0100001AF629-00"] = xml

    assert client.download_invoice(tokens, "9999999999-20261207-0100001AF629-00") == xml
    with pytest.raises(KsefError) as raised:
        client.download_invoice(tokens, "9999999999-20261207-000000000000-00")
    assert raised.value.code == 21164


def test_a_download_that_does_not_match_its_hash_header_is_not_accepted() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))
    import httpx

    fake.interceptors.append(
        lambda request: (
            httpx.Response(
                200, content=b"<Faktura/>", headers={"x-ms-meta-hash": sha256_b64(b"other")}
            )
            if "/invoices/ksef/" in request.url.path
            else None
        )
    )
    with pytest.raises(KsefUnavailable, match="x-ms-meta-hash"):
        client.download_invoice(tokens, "9999999999-20261207-0100001AF629-00")
