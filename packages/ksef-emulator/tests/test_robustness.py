"""Whatever a client sends, the emulator answers with KSeF's errors, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
from conftest import SELLER, START, Ksef, bearer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = {
    "challenge": JSON,
    "contextIdentifier": JSON | st.just({"type": "Nip", "value": SELLER}),
    "encryptedToken": JSON | st.just("AAAA"),
    "publicKeyId": JSON,
    "authorizationPolicy": JSON,
    "formCode": JSON | st.just({"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}),
    "encryption": JSON,
    "invoiceHash": JSON,
    "invoiceSize": JSON,
    "encryptedInvoiceHash": JSON,
    "encryptedInvoiceSize": JSON,
    "encryptedInvoiceContent": JSON | st.just("AAAAAAAAAAAAAAAAAAAAAA=="),
    "offlineMode": JSON,
    "hashOfCorrectedInvoice": JSON,
    "subjectType": JSON | st.sampled_from(["Subject1", "Subject2"]),
    "dateRange": JSON
    | st.fixed_dictionaries(
        {"dateType": st.sampled_from(["Issue", "PermanentStorage", "x"]), "from": JSON},
        optional={"to": JSON, "restrictToPermanentStorageHwmDate": JSON},
    ),
    "amount": JSON,
    "currencyCodes": JSON,
    "invoiceTypes": JSON,
    "buyerIdentifier": JSON,
    "filters": JSON,
    "permissions": JSON,
    "description": JSON,
    "rateLimits": JSON,
    "subjectNip": JSON,
    "authorizedIdentifier": JSON,
}
BODIES = st.fixed_dictionaries({}, optional=FIELDS) | JSON
ENDPOINTS = [
    ("POST", "/v2/auth/ksef-token"),
    ("POST", "/v2/sessions/online"),
    ("POST", "/v2/sessions/online/{session}/invoices"),
    ("POST", "/v2/invoices/query/metadata"),
    ("POST", "/v2/invoices/exports"),
    ("POST", "/v2/tokens"),
    ("POST", "/v2/testdata/permissions"),
    ("POST", "/v2/testdata/subject"),
    ("POST", "/v2/testdata/rate-limits"),
    ("POST", "/v2/auth/xades-signature"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=BODIES,
    raw=st.booleans(),
    query=st.dictionaries(
        st.sampled_from(["pageSize", "pageOffset", "sortOrder"]), st.text(max_size=4), max_size=2
    ),
)
def test_no_request_body_makes_a_500(
    ksef: Ksef,
    http: httpx.Client,
    endpoint: tuple[str, str],
    body: Any,
    raw: bool,
    query: dict[str, str],
) -> None:
    if not hasattr(ksef, "owner"):
        ksef.owner = ksef.access()  # type: ignore[attr-defined]
        ksef.session = ksef.open_session(ksef.owner)  # type: ignore[attr-defined]
    ksef.emulator.limiter.enabled = False
    method, path = endpoint
    path = path.format(session=ksef.session.reference)  # type: ignore[attr-defined]
    content = json.dumps(body).encode()
    if raw:
        content = content[: len(content) // 2]  # truncated JSON (or XML) too
    answer = http.request(
        method,
        path,
        params=query,
        content=content,
        headers={**bearer(ksef.owner), "Content-Type": "application/json"},
    )  # type: ignore[attr-defined]
    assert answer.status_code < 500, (path, body, answer.text)


SEND_FIELDS = [
    "invoiceHash",
    "invoiceSize",
    "encryptedInvoiceHash",
    "encryptedInvoiceSize",
    "encryptedInvoiceContent",
    "offlineMode",
    "hashOfCorrectedInvoice",
]
FILTER_FIELDS = [
    "ksefNumber",
    "invoiceNumber",
    "sellerNip",
    "buyerIdentifier",
    "amount",
    "currencyCodes",
    "invoicingMode",
    "isSelfInvoicing",
    "formType",
    "invoiceTypes",
    "hasAttachment",
]


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    send=st.dictionaries(st.sampled_from(SEND_FIELDS), JSON, max_size=2),
    filters=st.dictionaries(
        st.sampled_from(FILTER_FIELDS),
        JSON
        | st.fixed_dictionaries(
            {"type": st.sampled_from(["Brutto", "Nip"])},
            optional={"from": JSON, "to": JSON, "value": JSON},
        ),
        max_size=3,
    ),
    control=st.dictionaries(
        st.sampled_from(
            [
                "down",
                "slowSeconds",
                "rejectInvoices",
                "advanceSeconds",
                "nip",
                "permissions",
                "status",
                "title",
                "refresh",
                "set",
            ]
        ),
        JSON,
        max_size=2,
    ),
)
def test_a_valid_envelope_with_odd_fields_is_never_a_500(
    ksef: Ksef,
    http: httpx.Client,
    send: dict[str, Any],
    filters: dict[str, Any],
    control: dict[str, Any],
) -> None:
    from conftest import BUYER, invoice_xml

    if not hasattr(ksef, "owner"):
        ksef.emulator.limiter.enabled = False
        ksef.emulator.put_invoice(invoice_xml(number="R/1"))
    # the previous example may have moved the clock past the tokens' life
    ksef.clock.set(START)
    ksef.owner = ksef.access()  # type: ignore[attr-defined]
    ksef.buyer = ksef.access(BUYER)  # type: ignore[attr-defined]
    ksef.session = ksef.open_session(ksef.owner)  # type: ignore[attr-defined]
    answer = ksef.send(ksef.owner, ksef.session, invoice_xml(number="R/2"), **send)  # type: ignore[attr-defined]
    assert answer.status_code in (202, 400), answer.text
    body = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Issue", "from": "2026-12-01T00:00:00+01:00"},
        **filters,
    }
    assert ksef.query(ksef.buyer, body, pageSize=10).status_code in (200, 400)  # type: ignore[attr-defined]
    for path in (
        "/_emulator/faults",
        "/_emulator/clock",
        "/_emulator/tokens",
        "/_emulator/announce",
        "/_emulator/expire-tokens",
    ):
        assert http.post(path, json=control).status_code < 500, (path, control)
    http.delete("/_emulator/faults")


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    cuts=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.text(max_size=3)),
        min_size=1,
        max_size=3,
    )
)
def test_a_mangled_xades_request_is_never_a_500(
    ksef: Ksef, http: httpx.Client, cuts: list[tuple[int, int, str]]
) -> None:
    from test_xades import auth_request, certificate, signed

    ksef.emulator.limiter.enabled = False
    if not hasattr(ksef, "signed_request"):
        challenge = ksef.challenge()["challenge"]
        cert = certificate(serial_number=f"TINPL-{SELLER}")
        ksef.signed_request = signed(auth_request(challenge, SELLER), *cert)  # type: ignore[attr-defined]
    body: bytes = ksef.signed_request  # type: ignore[attr-defined]
    for at, length, insert in cuts:
        at %= len(body)
        body = body[:at] + insert.encode() + body[at + length :]
    answer = http.post(
        "/v2/auth/xades-signature", content=body, headers={"Content-Type": "application/xml"}
    )
    assert answer.status_code in (202, 400), answer.text
