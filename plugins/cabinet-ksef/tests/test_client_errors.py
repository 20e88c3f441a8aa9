"""Errors: problem details, legacy envelopes, 429 with Retry-After, 5xx and network failures."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import httpx
import pytest
from cabinet_ksef.api import AccessTokens
from cabinet_ksef.client import KsefClient
from cabinet_ksef.errors import (
    KsefAuthError,
    KsefError,
    KsefRateLimited,
    KsefUnavailable,
    error_from_response,
    parse_retry_after,
)
from client_support import BASE, client_for, token_credentials
from hypothesis import example, given
from hypothesis import strategies as st
from ksef_fake import FakeKsef

_TOKENS = AccessTokens(
    access_token="a",
    access_valid_until=dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
    refresh_token="r",
    refresh_valid_until=dt.datetime(2026, 12, 14, tzinfo=dt.UTC),
)


def _on(path_suffix: str, response: httpx.Response) -> object:
    def intercept(request: httpx.Request) -> httpx.Response | None:
        return response if request.url.path.endswith(path_suffix) else None

    return intercept


def test_429_raises_at_once_with_retry_after_and_never_sleeps() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))
    fake.interceptors.append(
        _on(
            "/invoices/query/metadata",
            httpx.Response(
                429,
                headers={"Retry-After": "2680", "Content-Type": "application/problem+json"},
                json={
                    "title": "Too Many Requests",
                    "status": 429,
                    "instance": "/v2/invoices/query/metadata",
                    "detail": "Przekroczono limit 20 żądań na godzinę.",
                    "timestamp": "2026-12-07T10:00:00Z",
                    "traceId": "x",
                },
            ),
        )  # type: ignore[arg-type]
    )
    now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    with pytest.raises(KsefRateLimited) as raised:
        client.query_metadata(tokens, subject="Subject2", date_from=now, date_to=now)
    assert raised.value.status == 429
    assert raised.value.retry_after == 2680
    assert "Przekroczono limit" in raised.value.details[0]
    assert client.sleeps == [0.5]  # type: ignore[attr-defined]  # only the auth poll waited


def test_the_legacy_429_envelope_is_read_too() -> None:
    response = httpx.Response(
        429,
        headers={"Retry-After": "30"},
        json={
            "status": {
                "code": 429,
                "description": "Too Many Requests",
                "details": ["Spróbuj po 30 s."],
            }
        },
    )
    error = error_from_response(response)
    assert isinstance(error, KsefRateLimited)
    assert (error.code, error.retry_after, error.details) == (429, 30.0, ("Spróbuj po 30 s.",))


def test_a_bad_request_problem_carries_the_first_code_and_the_rest_in_details() -> None:
    response = httpx.Response(
        400,
        json={
            "title": "Bad Request",
            "status": 400,
            "instance": "/v2/sessions/online",
            "detail": "Żądanie jest nieprawidłowe.",
            "errors": [
                {
                    "code": 21405,
                    "description": "Błąd walidacji danych wejściowych.",
                    "details": ["IV"],
                },
                {"code": 21470, "description": "Klucz nieznany."},
            ],
            "timestamp": "2026-12-07T10:00:00Z",
            "traceId": "t",
        },
    )
    error = error_from_response(response)
    assert type(error) is KsefError
    assert error.code == 21405 and error.description == "Błąd walidacji danych wejściowych."
    assert error.details == ("IV", "21470: Klucz nieznany.")
    assert "21405" in str(error)


def test_the_legacy_exception_envelope_is_read() -> None:
    response = httpx.Response(
        500,
        json={
            "exception": {
                "exceptionDetailList": [
                    {
                        "exceptionCode": 500,
                        "exceptionDescription": "Wystąpił nieoczekiwany błąd.",
                        "details": [],
                    }
                ],
                "serviceCode": "00-x-00",
            }
        },
    )
    error = error_from_response(response)
    assert isinstance(error, KsefUnavailable)
    assert (error.code, error.description) == (500, "Wystąpił nieoczekiwany błąd.")


def test_401_and_403_are_auth_errors_with_the_reason() -> None:
    forbidden = httpx.Response(
        403,
        json={
            "title": "Forbidden",
            "status": 403,
            "detail": "Brak uprawnień.",
            "reasonCode": "missing-permissions",
            "timestamp": "2026-12-07T10:00:00Z",
        },
    )
    error = error_from_response(forbidden)
    assert isinstance(error, KsefAuthError)
    assert error.details == ("Brak uprawnień.", "reasonCode: missing-permissions")
    assert isinstance(error_from_response(httpx.Response(401, text="")), KsefAuthError)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_unavailable_with_retry_after_when_given(status: int) -> None:
    fake = FakeKsef()
    fake.interceptors.append(
        _on(
            "/auth/challenge",
            httpx.Response(status, headers={"Retry-After": "120"}, text="upstream"),
        )  # type: ignore[arg-type]
    )
    client = client_for(fake)
    with pytest.raises(KsefUnavailable) as raised:
        client.authenticate(token_credentials(fake))
    assert raised.value.status == status and raised.value.retry_after == 120


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
)
def test_network_failures_are_unavailable(failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    client = KsefClient(BASE, transport=httpx.MockTransport(handler))
    with pytest.raises(KsefUnavailable) as raised:
        client.public_keys()
    assert raised.value.status == 0


def test_an_unknown_session_is_a_synchronous_400() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))
    with pytest.raises(KsefError) as raised:
        client.session_status(tokens, "20261207-SO-0000000000-0000000000-00")
    assert (raised.value.status, raised.value.code) == (400, 21173)


def test_retry_after_as_an_http_date_and_nonsense() -> None:
    now = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    later = format_datetime(now + dt.timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=now) == 90
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0


_KEYS = st.sampled_from(
    [
        "errors",
        "exception",
        "exceptionDetailList",
        "exceptionCode",
        "exceptionDescription",
        "status",
        "code",
        "description",
        "details",
        "title",
        "detail",
        "reasonCode",
    ]
) | st.text(max_size=8)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=16,
)


@example(status=400, body={"errors": [{"details": 5}]}, retry_after=None)
@example(status=400, body={"exception": {"exceptionDetailList": 5}}, retry_after="1")
@example(status=429, body={"status": {"details": 1}}, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
@given(
    status=st.sampled_from([400, 401, 403, 404, 410, 429, 500, 502, 503]),
    body=_JSON,
    retry_after=st.none() | st.text(max_size=30),
)
def test_any_error_body_becomes_a_ksef_error_of_the_right_kind(
    status: int, body: object, retry_after: str | None
) -> None:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    try:
        response = httpx.Response(status, json=body, headers=headers)
    except (UnicodeEncodeError, ValueError):
        return  # a header httpx itself refuses to carry
    error = error_from_response(response)
    assert isinstance(error, KsefError) and error.status == status
    expected = {429: KsefRateLimited, 401: KsefAuthError, 403: KsefAuthError}.get(
        status, KsefUnavailable if status >= 500 else KsefError
    )
    assert type(error) is expected
    assert error.retry_after is None or error.retry_after >= 0
    assert isinstance(str(error), str)


def _answering(body: object, path_suffix: str) -> tuple[FakeKsef, KsefClient]:
    fake = FakeKsef()
    client = client_for(fake)
    fake.interceptors.append(
        _on(path_suffix, httpx.Response(200, json=body))  # type: ignore[arg-type]
    )
    return fake, client


@pytest.mark.parametrize(
    "body",
    [
        [{"certificate": "not base64!", "usage": ["KsefTokenEncryption"]}],
        [{"certificate": "AAAA", "certificateId": "x", "publicKeyId": "y", "validFrom": "x"}],
        {"unexpected": "shape"},
        "text",
    ],
)
def test_public_keys_ksef_cannot_have_sent_are_unavailable_not_a_crash(body: object) -> None:
    _, client = _answering(body, "/security/public-key-certificates")
    with pytest.raises(KsefUnavailable, match="cannot read"):
        client.public_keys()


@given(body=_JSON)
def test_any_invoice_status_answer_is_read_or_unavailable(body: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    client = KsefClient(BASE, transport=httpx.MockTransport(handler))
    try:
        status = client.invoice_status(_TOKENS, "S", "I")
    except KsefUnavailable as error:
        assert error.status == 200
    else:
        assert isinstance(status.code, int)


def test_a_metadata_amount_that_is_no_number_is_unavailable() -> None:
    fake = FakeKsef()
    client = client_for(fake)
    tokens = client.authenticate(token_credentials(fake))
    fake.interceptors.append(
        _on(
            "/invoices/query/metadata",
            httpx.Response(
                200,
                content=b'{"hasMore": false, "isTruncated": false, "invoices": [{"ksefNumber": "1",'
                b' "invoiceNumber": "1", "issueDate": "2026-12-01", "seller": {"nip": "1"},'
                b' "netAmount": "abc", "vatAmount": 1, "grossAmount": 1, "currency": "PLN",'
                b' "invoiceHash": "h", "permanentStorageDate": "2026-12-01T00:00:00Z"}]}',
            ),
        )  # type: ignore[arg-type]
    )
    now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    with pytest.raises(KsefUnavailable, match="cannot read"):
        client.query_metadata(tokens, subject="Subject2", date_from=now, date_to=now)
