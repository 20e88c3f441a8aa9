from __future__ import annotations

import httpx
import pytest
from bitrix_portal import TIME, WEBHOOK
from cabinet_bitrix.client import (
    NO_RETRY,
    OPERATION_LIMIT_RETRY_SECONDS,
    QUERY_LIMIT_RETRY_SECONDS,
    BitrixClient,
    BitrixError,
)


class FakeTime:
    """A clock that only moves when the client sleeps, so limit waits cost no real time."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def answer(response: httpx.Response) -> BitrixClient:
    # One try: these tests are about how each answer is read, not about retrying it.
    fake = FakeTime()
    return BitrixClient(
        WEBHOOK,
        transport=httpx.MockTransport(lambda request: response),
        retry=NO_RETRY,
        clock=fake.clock,
        sleep=fake.sleep,
    )


def test_posts_json_to_the_method_under_the_webhook_and_returns_the_result():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": {"item": {"id": 7}}, "time": TIME})

    with BitrixClient(WEBHOOK.rstrip("/"), transport=httpx.MockTransport(handler)) as bitrix:
        assert bitrix.call("crm.item.get", {"entityTypeId": 7, "id": 7}) == {"item": {"id": 7}}
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == WEBHOOK + "crm.item.get.json"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.content == b'{"entityTypeId":7,"id":7}'


def test_list_envelope_keeps_total_next_and_time():
    body = {"result": {"items": [{"id": 1}]}, "total": 51, "next": 50, "time": TIME}
    response = answer(httpx.Response(200, json=body)).call_full("crm.item.list")
    assert response.result == {"items": [{"id": 1}]}
    assert (response.total, response.next) == (51, 50)
    assert response.time["operating"] == TIME["operating"]


def test_last_page_has_no_next():
    body = {"result": {"items": []}, "total": 50, "time": TIME}
    assert answer(httpx.Response(200, json=body)).call_full("crm.item.list").next is None


def test_query_limit_is_transient_and_waits_for_the_bucket():
    client = answer(
        httpx.Response(
            503, json={"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        )
    )
    with pytest.raises(BitrixError) as caught:
        client.call("crm.item.list")
    error = caught.value
    assert (error.code, error.description, error.status) == (
        "QUERY_LIMIT_EXCEEDED",
        "Too many requests",
        503,
    )
    assert error.transient
    assert error.retry_after == QUERY_LIMIT_RETRY_SECONDS


def test_retry_after_header_wins():
    response = httpx.Response(
        503,
        headers={"Retry-After": "7"},
        json={"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
    )
    with pytest.raises(BitrixError) as caught:
        answer(response).call("crm.item.add")
    assert caught.value.retry_after == 7.0


def test_operation_time_limit_waits_for_a_basket_to_expire():
    body = {
        "error": "OPERATION_TIME_LIMIT",
        "error_description": "Method is blocked due to operation time limit.",
    }
    with pytest.raises(BitrixError) as caught:
        answer(httpx.Response(429, json=body)).call("crm.item.list")
    assert caught.value.transient
    assert caught.value.retry_after == OPERATION_LIMIT_RETRY_SECONDS


@pytest.mark.parametrize(
    ("status", "code", "description"),
    [
        (400, "NOT_FOUND", "Item not found"),
        (400, "ACCESS_DENIED", "Access denied"),
        (401, "NO_AUTH_FOUND", "Wrong authorization data"),
        (403, "insufficient_scope", "The request requires higher privileges"),
        (404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
        (200, "ERROR_ARGUMENT", "Argument 'PLACEMENT' is null or empty"),
    ],
)
def test_api_errors_are_permanent_even_with_http_200(status, code, description):
    body = {"error": code, "error_description": description}
    with pytest.raises(BitrixError) as caught:
        answer(httpx.Response(status, json=body)).call("crm.item.get")
    assert caught.value.code == code
    assert caught.value.description == description
    assert not caught.value.transient
    assert caught.value.retry_after is None


def test_server_errors_and_html_pages_are_transient():
    body = {"error": "INTERNAL_SERVER_ERROR", "error_description": ""}
    with pytest.raises(BitrixError) as caught:
        answer(httpx.Response(500, json=body)).call("crm.item.add")
    assert caught.value.transient

    html = httpx.Response(
        502, text="<html>Bad gateway</html>", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(BitrixError) as caught:
        answer(html).call("crm.item.add")
    assert caught.value.code == "UNEXPECTED_ANSWER"
    assert caught.value.transient


def test_non_envelope_success_is_an_error():
    with pytest.raises(BitrixError) as caught:
        answer(httpx.Response(200, json={"unexpected": True})).call("crm.item.add")
    assert caught.value.code == "UNEXPECTED_ANSWER"
    assert not caught.value.transient


def test_portal_move_is_reported_not_followed():
    moved = httpx.Response(302, headers={"Location": "https://nowa.bitrix24.pl/rest/1/x/"})
    with pytest.raises(BitrixError) as caught:
        answer(moved).call("crm.item.add")
    assert caught.value.code == "PORTAL_MOVED"
    assert "nowa.bitrix24.pl" in caught.value.description


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (httpx.ReadTimeout("read timed out"), "TIMEOUT"),
        (httpx.ConnectError("connection refused"), "NETWORK"),
    ],
)
def test_timeouts_and_network_errors_are_transient(exception, code):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    with pytest.raises(BitrixError) as caught:
        BitrixClient(WEBHOOK, transport=httpx.MockTransport(handler), retry=NO_RETRY).call(
            "crm.item.add"
        )
    assert caught.value.code == code
    assert caught.value.transient


def test_webhook_url_must_be_http():
    with pytest.raises(ValueError, match="https://"):
        BitrixClient("kancelaria.bitrix24.pl/rest/1/x/")
