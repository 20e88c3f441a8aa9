"""What the emulator offers beyond the §12 contract: KSeF tokens over ``/tokens``, the seeding
and control APIs, fault injection, purchase invoices appearing for the buyer, exports, session
invoice lists, the served emulator refusing connections, and the command line."""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from datetime import date

import httpx
import pytest
from conftest import (
    BUYER,
    OAEP_SHA256,
    SELLER,
    Ksef,
    aes_decrypt,
    bearer,
    error_codes,
    invoice_xml,
    sha,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from ksef_emulator import Emulator, EmulatorConfig, VirtualClock, create_app
from ksef_emulator.cli import banner, build, main, parse_args
from ksef_emulator.identifiers import KSEF_NUMBER, crc8, is_ksef_number, ksef_number
from ksef_emulator.server import serve_in_thread
from starlette.testclient import TestClient
from test_xades import certificate, xades_login

WINDOW = {
    "subjectType": "Subject2",
    "dateRange": {"dateType": "PermanentStorage", "from": "2026-12-01T00:00:00+01:00"},
}


def test_owner_creates_lists_and_revokes_a_ksef_token(ksef: Ksef, http: httpx.Client) -> None:
    started, _ = xades_login(ksef, http, SELLER, certificate(serial_number=f"TINPL-{SELLER}"))
    owner = ksef.redeem(started).json()["accessToken"]["token"]
    answer = http.post(
        "/v2/tokens",
        headers=bearer(owner),
        json={"permissions": ["InvoiceRead", "InvoiceWrite"], "description": "Token dla cabinet"},
    )
    assert answer.status_code == 202
    created = answer.json()
    assert created["token"].startswith(f"{created['referenceNumber']}|nip-{SELLER}|")
    assert "-EC-" in created["referenceNumber"]
    listed = http.get("/v2/tokens", headers=bearer(owner)).json()["tokens"]
    assert [t["referenceNumber"] for t in listed] == [created["referenceNumber"]]
    tokens = ksef.login(SELLER, created["token"])
    ksef.open_session(tokens["accessToken"]["token"])
    too_much = http.post(
        "/v2/tokens",
        headers=bearer(tokens["accessToken"]["token"]),
        json={"permissions": ["InvoiceRead"], "description": "x" * 5},
    )
    assert too_much.status_code == 403  # a token holder has no CredentialsManage
    assert (
        http.delete(f"/v2/tokens/{created['referenceNumber']}", headers=bearer(owner)).status_code
        == 204
    )
    revoked = ksef.start_token_auth(created["token"], SELLER)
    assert ksef.auth_status(revoked)["status"]["code"] == 450


def test_a_token_works_only_in_its_own_context(ksef: Ksef, emulator: Emulator) -> None:
    token = emulator.add_token(SELLER)
    elsewhere = ksef.start_token_auth(token, BUYER)
    status = ksef.auth_status(elsewhere)["status"]
    assert status["code"] == 450 and BUYER in status["details"][0]


def test_a_sellers_invoice_appears_in_the_buyers_subject2_query(
    ksef: Ksef, http: httpx.Client, emulator: Emulator
) -> None:
    number = emulator.put_invoice(invoice_xml(number="ZAKUP/1"))
    answer = http.post("/_emulator/invoices", content=invoice_xml(number="ZAKUP/2"))
    assert answer.status_code == 201
    found = ksef.query(ksef.access(BUYER), WINDOW, pageSize=10).json()["invoices"]
    assert {i["ksefNumber"] for i in found} == {number, answer.json()["ksefNumber"]}
    first = next(i for i in found if i["ksefNumber"] == number)
    assert first["seller"]["nip"] == SELLER and first["invoiceNumber"] == "ZAKUP/1"
    assert first["invoiceType"] == "Vat" and first["currency"] == "PLN"
    assert first["grossAmount"] == 2051.0 and first["vatAmount"] == 383.38
    refused = http.post("/_emulator/invoices", content=b"<Faktura/>")
    assert error_codes(refused) == [21405]


def test_fault_down_and_its_end(ksef: Ksef, http: httpx.Client, emulator: Emulator) -> None:
    assert http.post("/_emulator/faults", json={"down": True}).status_code == 200
    answer = http.post("/v2/auth/challenge")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "60"
    assert answer.headers["content-type"].startswith("application/problem+json")
    http.delete("/_emulator/faults")
    assert http.post("/v2/auth/challenge").status_code == 200


def test_fault_slow_spends_virtual_time(
    ksef: Ksef, http: httpx.Client, clock: VirtualClock
) -> None:
    http.post("/_emulator/faults", json={"slowSeconds": 40})
    before = clock.now()
    assert http.post("/v2/auth/challenge").status_code == 200
    assert clock.now() - before == 40


def test_fault_reject_every_invoice(ksef: Ksef, emulator: Emulator) -> None:
    access = ksef.access()
    session = ksef.open_session(access)
    emulator.set_faults(reject_invoices="Awaria testowa")
    status = ksef.invoice_status(access, session, ksef.sent(access, session, invoice_xml()))
    assert status["status"]["code"] == 450 and status["status"]["details"] == ["Awaria testowa"]
    emulator.set_faults(reject_invoices=None)
    status = ksef.invoice_status(access, session, ksef.sent(access, session, invoice_xml()))
    assert status["status"]["code"] == 200


def test_fault_expire_tokens(ksef: Ksef, http: httpx.Client) -> None:
    tokens = ksef.login()
    access = bearer(tokens["accessToken"]["token"])
    assert http.get("/v2/tokens", headers=access).status_code == 200
    assert http.post("/_emulator/expire-tokens", json={}).json()["expired"] >= 1
    assert http.get("/v2/tokens", headers=access).status_code == 401
    refreshed = http.post("/v2/auth/token/refresh", headers=bearer(tokens["refreshToken"]["token"]))
    assert refreshed.status_code == 200  # the refresh token survives unless asked
    http.post("/_emulator/expire-tokens", json={"refresh": True})
    assert (
        http.post(
            "/v2/auth/token/refresh", headers=bearer(tokens["refreshToken"]["token"])
        ).status_code
        == 401
    )


def test_announced_failure_on_latarnia(http: httpx.Client) -> None:
    assert http.get("/status").json() == {"status": "AVAILABLE", "messages": []}
    http.post("/_emulator/announce", json={"status": "FAILURE", "title": "Awaria KSeF"})
    status = http.get("/status").json()
    assert status["status"] == "FAILURE"
    assert status["messages"][0]["type"] == "FAILURE_START"
    http.post("/_emulator/announce", json={"status": "AVAILABLE", "title": "Koniec awarii"})
    assert http.get("/status").json()["status"] == "AVAILABLE"
    assert [m["type"] for m in http.get("/messages").json()] == ["FAILURE_START", "FAILURE_END"]


def test_rate_limits_can_be_changed_and_reset(ksef: Ksef, http: httpx.Client) -> None:
    access = ksef.access(BUYER)
    assert http.get("/v2/rate-limits").json()["invoiceMetadata"]["perHour"] == 20
    http.post(
        "/v2/testdata/rate-limits",
        json={"rateLimits": {"invoiceMetadata": {"perSecond": 1, "perMinute": 1, "perHour": 1}}},
    )
    assert ksef.query(access, WINDOW, pageSize=10).status_code == 200
    refused = ksef.query(access, WINDOW, pageSize=10)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    http.delete("/v2/testdata/rate-limits")
    assert ksef.query(access, WINDOW, pageSize=10).status_code == 200


def test_session_invoice_list_pages_and_failed(ksef: Ksef, http: httpx.Client) -> None:
    access = ksef.access()
    session = ksef.open_session(access)
    for n in range(11):
        ksef.sent(access, session, invoice_xml(number=f"L/{n}"))
        ksef.clock.advance(0.2)
    ksef.sent(access, session, b"broken")
    url = f"/v2/sessions/{session.reference}/invoices"
    first = http.get(url, params={"pageSize": 10}, headers=bearer(access)).json()
    assert len(first["invoices"]) == 10 and first["continuationToken"]
    rest = http.get(
        url,
        params={"pageSize": 10},
        headers={**bearer(access), "x-continuation-token": first["continuationToken"]},
    ).json()
    assert len(rest["invoices"]) == 2 and rest["continuationToken"] is None
    failed = http.get(f"{url}/failed", params={"pageSize": 10}, headers=bearer(access)).json()
    assert [i["status"]["code"] for i in failed["invoices"]] == [450]


def test_export_package_decrypts_to_the_invoices(
    ksef: Ksef, http: httpx.Client, emulator: Emulator
) -> None:
    xml = invoice_xml(number="EXP/1")
    number = emulator.put_invoice(xml)
    access = ksef.access(BUYER)
    key, iv = os.urandom(32), os.urandom(16)
    wrapped = ksef.public_key("SymmetricKeyEncryption").encrypt(key, OAEP_SHA256)
    answer = http.post(
        "/v2/invoices/exports",
        headers=bearer(access),
        json={
            "encryption": {
                "encryptedSymmetricKey": base64.b64encode(wrapped).decode(),
                "initializationVector": base64.b64encode(iv).decode(),
            },
            "filters": WINDOW,
        },
    )
    assert answer.status_code == 201 and "-EH-" in answer.json()["referenceNumber"]
    status = http.get(
        f"/v2/invoices/exports/{answer.json()['referenceNumber']}", headers=bearer(access)
    ).json()
    assert status["status"]["code"] == 200
    part = status["package"]["parts"][0]
    encrypted = http.get(part["url"]).content  # pre-signed, no bearer
    assert sha(encrypted) == part["encryptedPartHash"]
    archive = zipfile.ZipFile(io.BytesIO(aes_decrypt(key, iv, encrypted)))
    assert archive.read(f"{number}.xml") == xml
    metadata = json.loads(archive.read("_metadata.json"))
    assert [i["ksefNumber"] for i in metadata["invoices"]] == [number]


def test_seeded_keys_are_the_same_on_every_start() -> None:
    first = Emulator(EmulatorConfig(seed="fixed"))
    second = Emulator(EmulatorConfig(seed="fixed"))
    assert first.public_key_certificates().body == second.public_key_certificates().body


def test_served_emulator_refuses_connections_then_accepts_again() -> None:
    port = 18118
    emulator = Emulator(EmulatorConfig(base_url=f"http://127.0.0.1:{port}"))
    with serve_in_thread(emulator, port=port) as served:
        assert httpx.post(f"{served.url}/v2/auth/challenge").status_code == 200
        served.refuse()
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"{served.url}/v2/auth/challenge")
        served.accept()
        assert httpx.get(f"{served.url}/v2/security/public-key-certificates").status_code == 200


def test_cli_options_and_banner() -> None:
    options = parse_args(
        ["--port", "18119", "--subject", SELLER, "--reject-invoices", "--processing-seconds", "0"]
    )
    emulator, tokens = build(options)
    assert emulator.config.base_url == "http://127.0.0.1:18119"
    assert emulator.faults.reject_invoices
    text = banner(emulator, tokens)
    assert "http://127.0.0.1:18119/v2" in text
    assert SELLER in text and tokens[SELLER] in text
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    scripted, _ = build(parse_args(["--virtual-clock", "--subject", SELLER]))
    with TestClient(create_app(scripted)) as http:
        before = http.post("/_emulator/clock", json={}).json()["now"]
        after = http.post("/_emulator/clock", json={"advanceSeconds": 3600}).json()["now"]
        assert after > before
        assert http.post("/_emulator/clock", json={"advanceSeconds": -1}).status_code == 400
    with pytest.raises(SystemExit):
        parse_args(["--port", "0"])
    wildcard = parse_args(["--host", "0.0.0.0", "--port", "18121"])
    assert wildcard.config.base_url == "http://127.0.0.1:18121"
    public = parse_args(["--public-url", "http://ksef.local:9000/"])
    assert public.config.base_url == "http://ksef.local:9000"


@settings(max_examples=200, deadline=None)
@given(
    nip=st.from_regex(r"[1-9][1-9][1-9][0-9]{7}", fullmatch=True),
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2099, 12, 31)),
)
def test_every_ksef_number_matches_the_official_pattern_and_checksum(nip: str, day: date) -> None:
    number = ksef_number(nip, day)
    assert len(number) == 35 and KSEF_NUMBER.match(number)
    assert is_ksef_number(number)
    assert crc8(number[:32].encode()) == int(number[-2:], 16)
    broken = number[:-2] + f"{(int(number[-2:], 16) + 1) % 256:02X}"
    assert not is_ksef_number(broken)


def test_the_app_is_asgi_for_any_httpx_client() -> None:
    import asyncio

    async def run() -> int:
        transport = httpx.ASGITransport(app=create_app(Emulator()))
        async with httpx.AsyncClient(transport=transport, base_url="http://ksef") as client:
            return (await client.post("/v2/auth/challenge")).status_code

    assert asyncio.run(run()) == 200


def test_in_process_transport_for_a_sync_httpx_client(emulator: Emulator) -> None:
    from ksef_emulator import emulator_transport

    with httpx.Client(transport=emulator_transport(emulator), base_url="http://ksef") as http:
        ksef = Ksef(http, emulator, emulator.clock)  # type: ignore[arg-type]
        access = ksef.access()
        session = ksef.open_session(access)
        status = ksef.invoice_status(access, session, ksef.sent(access, session, invoice_xml()))
        assert status["status"]["code"] == 200
        upo = http.get(status["upoDownloadUrl"].replace("http://ksef.test", "http://ksef"))
        assert upo.status_code == 200 and upo.headers["x-ms-meta-hash"] == sha(upo.content)
        assert http.get("/v2/nothing").status_code == 404
        assert http.put("/v2/auth/challenge").status_code == 405


def test_authorization_policy_limits_the_tokens_to_its_addresses(emulator: Emulator) -> None:
    from ksef_emulator import emulator_transport

    def login(ip: str, policy: dict[str, list[str]]) -> tuple[httpx.Client, str]:
        http = httpx.Client(transport=emulator_transport(emulator, ip), base_url="http://ksef")
        ksef = Ksef(http, emulator, emulator.clock)  # type: ignore[arg-type]
        challenge = ksef.challenge()
        started = http.post(
            "/v2/auth/ksef-token",
            json={
                "challenge": challenge["challenge"],
                "contextIdentifier": {"type": "Nip", "value": SELLER},
                "encryptedToken": ksef.encrypted_token(
                    emulator.add_token(SELLER), challenge["timestampMs"]
                ),
                "authorizationPolicy": {"allowedIps": policy},
            },
        ).json()
        return http, ksef.redeem(started).json()["accessToken"]["token"]

    policy = {
        "ip4Addresses": ["192.0.2.7"],
        "ip4Ranges": ["198.51.100.1-198.51.100.9"],
        "ip4Masks": ["10.1.0.0/16"],
    }
    for ip in ("192.0.2.7", "198.51.100.5", "10.1.2.3"):
        http, access = login(ip, policy)
        assert http.get("/v2/tokens", headers=bearer(access)).status_code == 200, ip
    http, access = login("203.0.113.1", policy)
    refused = http.get("/v2/tokens", headers=bearer(access))
    assert refused.status_code == 403
    assert refused.json()["reasonCode"] == "ip-not-allowed"
    assert http.delete("/v2/auth/sessions/current", headers=bearer(access)).status_code == 403
    bad = httpx.Client(transport=emulator_transport(emulator), base_url="http://ksef")
    ksef = Ksef(bad, emulator, emulator.clock)  # type: ignore[arg-type]
    challenge = ksef.challenge()
    answer = bad.post(
        "/v2/auth/ksef-token",
        json={
            "challenge": challenge["challenge"],
            "contextIdentifier": {"type": "Nip", "value": SELLER},
            "encryptedToken": ksef.encrypted_token("t", challenge["timestampMs"]),
            "authorizationPolicy": {"allowedIps": {"ip4Masks": ["10.0.0.0/33"]}},
        },
    )
    assert error_codes(answer) == [21405]
