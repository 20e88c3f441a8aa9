"""A scripted Bitrix24 portal for ``httpx.MockTransport``.

It answers with the envelopes bitrix24.md documents (``result``/``time``/``total``,
``error``/``error_description``); ``fail_next`` queues error answers for the next calls. It is
not the faithful emulator (a later issue); it keeps just enough state for create and update.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

WEBHOOK = "https://kancelaria.bitrix24.pl/rest/1/s3cr3tc0de/"

TIME = {
    "start": 1764240000.1,
    "finish": 1764240000.3,
    "duration": 0.2,
    "processing": 0.18,
    "date_start": "2026-11-27T12:00:00+01:00",
    "date_finish": "2026-11-27T12:00:00+01:00",
    "operating_reset_at": 1764240600,
    "operating": 0.18,
}


class Portal:
    """Items per entity type, every request received, and queued failures."""

    def __init__(self) -> None:
        self.items: dict[int, dict[int, dict[str, Any]]] = {}
        self.rows: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[tuple[str | None, httpx.Response | Exception]] = []
        self.next_id = 100

    def fail_next(self, response: httpx.Response | Exception, method: str | None = None) -> None:
        """Answer the next call (of ``method``, if given) with ``response`` or raise it."""
        self.failures.append((method, response))

    @property
    def methods(self) -> list[str]:
        return [method for method, _ in self.requests]

    def ok(self, result: Any, **extra: Any) -> httpx.Response:
        return httpx.Response(200, json={"result": result, **extra, "time": TIME})

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url).startswith(WEBHOOK)
        method = str(request.url)[len(WEBHOOK) :].removesuffix(".json")
        params = json.loads(request.content or b"{}")
        self.requests.append((method, params))
        for n, (only, failure) in enumerate(self.failures):
            if only is None or only == method:
                del self.failures[n]
                if isinstance(failure, Exception):
                    raise failure
                return failure
        if method == "crm.item.list":
            items = self.items.get(params["entityTypeId"], {})
            (key, wanted), *_ = params["filter"].items()
            field = key.lstrip("=")
            found = [{"id": i} for i, item in sorted(items.items()) if item.get(field) == wanted]
            return self.ok({"items": found}, total=0)
        if method == "crm.item.add":
            self.next_id += 1
            item = {"id": self.next_id, **params["fields"], "entityTypeId": params["entityTypeId"]}
            self.items.setdefault(params["entityTypeId"], {})[self.next_id] = item
            return self.ok({"item": item})
        if method == "crm.item.update":
            items = self.items.get(params["entityTypeId"], {})
            if params["id"] not in items:
                return httpx.Response(
                    400, json={"error": "NOT_FOUND", "error_description": "Item not found"}
                )
            items[params["id"]].update(params["fields"])
            return self.ok({"item": items[params["id"]]})
        if method == "crm.item.productrow.set":
            key = (params["ownerType"], params["ownerId"])
            self.rows[key] = [
                {"id": n, "ownerId": key[1], "ownerType": key[0], **row}
                for n, row in enumerate(params["productRows"], start=1)
            ]
            return self.ok({"productRows": self.rows[key]})
        return httpx.Response(
            404, json={"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}
        )
