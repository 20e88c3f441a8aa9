"""The emulator in-process for a synchronous httpx client: ``httpx.Client(transport=
emulator_transport(emulator))`` answers every request through the very handling the served
app uses, with no socket, thread or event loop (a sync client under test, a worker, a
benchmark)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from starlette.convertors import Convertor
from starlette.routing import compile_path

from ksef_emulator.app import Call, Endpoint, endpoints, respond
from ksef_emulator.core import Emulator

__all__ = ["emulator_transport"]


def _compiled() -> list[tuple[re.Pattern[str], Endpoint, dict[str, Convertor[Any]]]]:
    table = []
    for endpoint in endpoints():
        regex, _, convertors = compile_path(endpoint.path)
        table.append((regex, endpoint, dict(convertors)))
    return table


def emulator_transport(emulator: Emulator, client_ip: str = "127.0.0.1") -> httpx.MockTransport:
    """An ``httpx.MockTransport`` serving ``emulator`` (requests appear to come from
    ``client_ip``, which the rate limits count by)."""
    table = _compiled()

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        allowed: list[str] = []
        for regex, endpoint, convertors in table:
            match = regex.match(path)
            if match is None:
                continue
            if endpoint.method != request.method:
                allowed.append(endpoint.method)
                continue
            call = Call(
                path=path,
                params={k: str(convertors[k].convert(v)) for k, v in match.groupdict().items()},
                query=dict(request.url.params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.read(),
                client_ip=client_ip,
            )
            answer = respond(emulator, endpoint.group, endpoint.handler, call)
            headers = [(k, v) for k, v in answer.headers.items() if k.lower() != "content-length"]
            return httpx.Response(answer.status_code, headers=headers, content=bytes(answer.body))
        if allowed:
            return httpx.Response(405, headers={"Allow": ", ".join(allowed)})
        return httpx.Response(404, text="Not Found")

    return httpx.MockTransport(handle)
