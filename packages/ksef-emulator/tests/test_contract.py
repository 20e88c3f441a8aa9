"""Every contract case of ksef-api.md §12, against the ASGI app with client-side crypto done
here (conftest.Ksef). Test names carry the case number."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from datetime import date, timedelta

import httpx
from conftest import BUYER, SELLER, Ksef, aes_encrypt, bearer, error_codes, invoice_xml, sha
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from ksef_emulator import Emulator, is_ksef_number
from ksef_emulator.schemas import errors_of, upo_schema

CHALLENGE = re.compile(r"^\d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2}$")


def test_01_challenge_shape_and_expiry(ksef: Ksef, http: httpx.Client) -> None:
    challenge = ksef.challenge()
    assert CHALLENGE.match(challenge["challenge"])
    assert {"timestamp", "timestampMs", "clientIp"} <= challenge.keys()
    assert isinstance(challenge["timestampMs"], int)
    ksef.clock.advance(601)
    token = ksef.emulator.add_token(SELLER)
    answer = http.post(
        "/v2/auth/ksef-token",
        json={
            "challenge": challenge["challenge"],
            "contextIdentifier": {"type": "Nip", "value": SELLER},
            "encryptedToken": ksef.encrypted_token(token, challenge["timestampMs"]),
        },
    )
    assert answer.status_code == 400
    assert error_codes(answer) == [21111]


def test_02_public_keys_identifiers_and_unknown_key(ksef: Ksef, http: httpx.Client) -> None:
    keys = ksef.keys()
    assert set(keys) == {"KsefTokenEncryption", "SymmetricKeyEncryption"}
    for entry in keys.values():
        der = base64.b64decode(entry["certificate"])
        certificate = x509.load_der_x509_certificate(der)
        spki = certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert entry["certificateId"] == sha(der) and len(entry["certificateId"]) == 44
        assert entry["publicKeyId"] == sha(spki) and len(entry["publicKeyId"]) == 44
    challenge = ksef.challenge()
    answer = http.post(
        "/v2/auth/ksef-token",
        json={
            "challenge": challenge["challenge"],
            "contextIdentifier": {"type": "Nip", "value": SELLER},
            "encryptedToken": ksef.encrypted_token("x", challenge["timestampMs"]),
            "publicKeyId": keys["SymmetricKeyEncryption"]["publicKeyId"],  # the wrong key
        },
    )
    assert error_codes(answer) == [21470]
    access = ksef.access()
    answer = http.post(
        "/v2/sessions/online",
        headers=bearer(access),
        json={
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "encryption": {
                "encryptedSymmetricKey": base64.b64encode(b"k" * 256).decode(),
                "initializationVector": base64.b64encode(b"i" * 16).decode(),
                "publicKeyId": keys["KsefTokenEncryption"]["publicKeyId"],
            },
        },
    )
    assert error_codes(answer) == [21470]


def test_03_token_auth_accepts_then_fails_at_status(ksef: Ksef) -> None:
    token = ksef.emulator.add_token(SELLER)
    good = ksef.start_token_auth(token, SELLER)
    assert "-AU-" in good["referenceNumber"]
    assert good["authenticationToken"]["token"] and good["authenticationToken"]["validUntil"]
    assert ksef.auth_status(good)["status"]["code"] == 200

    wrong_time = ksef.start_token_auth(token, SELLER, timestamp_ms=1)
    status = ksef.auth_status(wrong_time)["status"]
    assert status["code"] == 450 and status["details"] == ["Nieprawidłowy czas tokena"]

    garbage = ksef.start_token_auth(
        token, SELLER, encrypted=base64.b64encode(os.urandom(256)).decode()
    )
    assert ksef.auth_status(garbage)["status"]["code"] == 450

    ksef.emulator.revoke_token(token)
    revoked = ksef.start_token_auth(token, SELLER)
    status = ksef.auth_status(revoked)["status"]
    assert status["code"] == 450 and status["details"] == ["Token unieważniony"]


def test_04_auth_status_needs_bearer_permissions_block_and_retention(
    ksef: Ksef, http: httpx.Client, emulator: Emulator
) -> None:
    emulator.config.auth_seconds = 5
    started = ksef.start_token_auth(emulator.add_token(SELLER), SELLER)
    no_bearer = http.get(f"/v2/auth/{started['referenceNumber']}")
    assert no_bearer.status_code == 401
    assert ksef.auth_status(started)["status"]["code"] == 100
    ksef.clock.advance(5)
    assert ksef.auth_status(started)["status"]["code"] == 200

    emulator.config.auth_seconds = 0
    no_rights = emulator.add_token(SELLER, permissions=())
    assert ksef.auth_status(ksef.start_token_auth(no_rights, SELLER))["status"]["code"] == 415

    http.post(
        "/v2/testdata/context/block", json={"contextIdentifier": {"type": "Nip", "value": SELLER}}
    )
    blocked = ksef.start_token_auth(emulator.add_token(SELLER), SELLER)
    assert ksef.auth_status(blocked)["status"]["code"] == 480

    ksef.clock.advance(7 * 86400 + 1)
    answer = http.get(
        f"/v2/auth/{blocked['referenceNumber']}",
        headers=bearer(blocked["authenticationToken"]["token"]),
    )
    # The operation's own token (45 minutes) died long before the operation's 7 days...
    assert answer.status_code == 401
    # ...so the 410 shows with a token that outlives them.
    emulator.config.authentication_token_seconds = 30 * 86400
    old = ksef.start_token_auth(emulator.add_token(BUYER), BUYER)
    ksef.clock.advance(7 * 86400 + 1)
    gone = http.get(
        f"/v2/auth/{old['referenceNumber']}", headers=bearer(old["authenticationToken"]["token"])
    )
    assert gone.status_code == 410
    assert gone.headers["content-type"].startswith("application/problem+json")


def test_05_redeem_once_and_not_before_success(ksef: Ksef, emulator: Emulator) -> None:
    started = ksef.start_token_auth(emulator.add_token(SELLER), SELLER)
    first = ksef.redeem(started)
    assert first.status_code == 200
    assert {"accessToken", "refreshToken"} <= first.json().keys()
    second = ksef.redeem(started)
    assert error_codes(second) == [21301]
    assert "zostały już pobrane" in second.text

    failed = ksef.start_token_auth(emulator.add_token(SELLER), SELLER, timestamp_ms=7)
    assert error_codes(ksef.redeem(failed)) == [21301]


def test_06_refresh_repeatable_until_logout(ksef: Ksef, http: httpx.Client) -> None:
    tokens = ksef.login()
    refresh = bearer(tokens["refreshToken"]["token"])
    for _ in range(2):
        answer = http.post("/v2/auth/token/refresh", headers=refresh)
        assert answer.status_code == 200 and list(answer.json()) == ["accessToken"]
        ksef.clock.advance(1)
    access = tokens["accessToken"]["token"]
    assert http.delete("/v2/auth/sessions/current", headers=bearer(access)).status_code == 204
    assert error_codes(http.post("/v2/auth/token/refresh", headers=refresh)) == [21301]
    # the access token already issued still works until it expires
    assert http.get("/v2/tokens", headers=bearer(access)).status_code == 200


def test_07_unauthorized_and_missing_permission(
    ksef: Ksef, http: httpx.Client, emulator: Emulator
) -> None:
    for headers in ({}, bearer("nonsense")):
        answer = http.post("/v2/sessions/online", headers=headers, json={})
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert {"title", "status", "detail", "timestamp"} <= answer.json().keys()
    read_only = ksef.login(SELLER, emulator.add_token(SELLER, permissions=["InvoiceRead"]))
    answer = http.post(
        "/v2/sessions/online", headers=bearer(read_only["accessToken"]["token"]), json={}
    )
    assert answer.status_code == 403
    body = answer.json()
    assert body["reasonCode"] == "missing-permissions"
    assert "InvoiceWrite" in body["security"]["requiredAnyOfPermissions"]
    ksef.clock.advance(901)  # access tokens live 15 minutes
    expired = http.post(
        "/v2/sessions/online", headers=bearer(read_only["accessToken"]["token"]), json={}
    )
    assert expired.status_code == 401


def test_08_open_session_iv_and_undecryptable_key(ksef: Ksef, http: httpx.Client) -> None:
    access = ksef.access()
    session = ksef.open_session(access)
    assert "-SO-" in session.reference
    status = ksef.session_status(access, session)
    assert status["status"]["code"] == 100
    answer = http.post(
        "/v2/sessions/online",
        headers=bearer(access),
        json={
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "encryption": {
                "encryptedSymmetricKey": base64.b64encode(b"k" * 256).decode(),
                "initializationVector": base64.b64encode(b"short").decode(),
            },
        },
    )
    assert error_codes(answer) == [21405] and "16 bajtów" in answer.text
    broken = ksef.open_session(access, wrapped=base64.b64encode(os.urandom(256)).decode())
    assert ksef.session_status(access, broken)["status"]["code"] == 415
    answer = ksef.send(access, broken, invoice_xml())
    assert error_codes(answer) == [21180]


def test_09_envelope_checks_are_synchronous(ksef: Ksef) -> None:
    access = ksef.access()
    session = ksef.open_session(access)
    xml = invoice_xml()
    assert error_codes(ksef.send(access, session, xml, encryptedInvoiceSize=1)) == [21402]
    assert error_codes(ksef.send(access, session, xml, encryptedInvoiceHash=sha(b"x"))) == [21403]
    good = ksef.send(access, session, xml)
    assert good.status_code == 202 and "-EE-" in good.json()["referenceNumber"]
    # An IV prefixed to the ciphertext decrypts to garbage: the plaintext check fails later.
    prefixed = session.iv + aes_encrypt(session.key, session.iv, invoice_xml(number="P/1"))
    answer = ksef.send(access, session, invoice_xml(number="P/1"), ciphertext=prefixed)
    assert answer.status_code == 202
    status = ksef.invoice_status(access, session, answer.json()["referenceNumber"])
    assert status["status"]["code"] in (430, 435)


def test_10_plaintext_mismatch_and_undecryptable(ksef: Ksef) -> None:
    access = ksef.access()
    session = ksef.open_session(access)
    xml = invoice_xml()
    wrong_size = ksef.send(access, session, xml, invoiceSize=len(xml) + 1)
    assert wrong_size.status_code == 202
    status = ksef.invoice_status(access, session, wrong_size.json()["referenceNumber"])
    assert status["status"]["code"] == 430
    assert status["status"]["description"] == "Błąd weryfikacji pliku faktury"
    wrong_hash = ksef.send(access, session, xml, invoiceHash=sha(b"other"))
    assert (
        ksef.invoice_status(access, session, wrong_hash.json()["referenceNumber"])["status"]["code"]
        == 430
    )
    garbage = os.urandom(48)
    undecryptable = ksef.send(access, session, xml, ciphertext=garbage)
    assert (
        ksef.invoice_status(access, session, undecryptable.json()["referenceNumber"])["status"][
            "code"
        ]
        == 435
    )


def test_11_schema_and_encoding_violations_are_450(ksef: Ksef) -> None:
    access = ksef.access()
    session = ksef.open_session(access)
    xml = invoice_xml()
    cases = {
        "xsd": xml.replace(b"<P_2>", b"<P_2a>x</P_2a><P_2>"),
        "bom": b"\xef\xbb\xbf" + xml,
        "prolog": xml.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-2"'),
        "pi": xml.replace(b"<Faktura", b"<?style x?><Faktura", 1),
    }
    for name, bad in cases.items():
        reference = ksef.sent(access, session, bad)
        status = ksef.invoice_status(access, session, reference)["status"]
        assert status["code"] == 450, name
        assert status["details"], name


def test_12_valid_invoice_processing_then_accepted(ksef: Ksef, emulator: Emulator) -> None:
    emulator.config.processing_seconds = 3
    emulator.config.storage_seconds = 60
    access = ksef.access()
    session = ksef.open_session(access)
    reference = ksef.sent(access, session, invoice_xml())
    assert ksef.invoice_status(access, session, reference)["status"]["code"] == 150
    ksef.clock.advance(3)
    status = ksef.invoice_status(access, session, reference)
    assert status["status"]["code"] == 200
    assert is_ksef_number(status["ksefNumber"]) and status["ksefNumber"].startswith(SELLER)
    assert len(status["ksefNumber"]) == 35
    assert status["acquisitionDate"] and status["invoicingDate"] and status["upoDownloadUrl"]
    assert status["permanentStorageDate"] is None
    ksef.clock.advance(60)
    assert ksef.invoice_status(access, session, reference)["permanentStorageDate"]


def test_13_duplicate_is_440_even_in_another_session(ksef: Ksef) -> None:
    access = ksef.access()
    first_session = ksef.open_session(access)
    first = ksef.sent(access, first_session, invoice_xml())
    number = ksef.invoice_status(access, first_session, first)["ksefNumber"]
    other = ksef.open_session(access)
    again = ksef.sent(access, other, invoice_xml())
    status = ksef.invoice_status(access, other, again)["status"]
    assert status["code"] == 440
    assert status["extensions"] == {
        "originalKsefNumber": number,
        "originalSessionReferenceNumber": first_session.reference,
    }


def test_14_offline_marking_and_future_issue_date(ksef: Ksef) -> None:
    access = ksef.access()
    session = ksef.open_session(access)
    yesterday = ksef.sent(access, session, invoice_xml(number="Y/1", issued=date(2026, 12, 6)))
    status = ksef.invoice_status(access, session, yesterday)
    assert status["status"]["code"] == 200 and status["invoicingMode"] == "Offline"
    today = ksef.sent(access, session, invoice_xml(number="T/1"))
    assert ksef.invoice_status(access, session, today)["invoicingMode"] == "Online"
    future = ksef.sent(access, session, invoice_xml(number="F/1", issued=date(2026, 12, 8)))
    assert ksef.invoice_status(access, session, future)["status"]["code"] == 450


def test_15_close_and_session_statuses(ksef: Ksef, emulator: Emulator) -> None:
    emulator.config.processing_seconds = 2
    access = ksef.access()
    session = ksef.open_session(access)
    ksef.sent(access, session, invoice_xml())
    assert ksef.close(access, session).status_code == 204
    assert ksef.session_status(access, session)["status"]["code"] == 170
    ksef.clock.advance(2)
    done = ksef.session_status(access, session)
    assert done["status"]["code"] == 200
    assert done["upo"]["pages"][0]["downloadUrl"]
    assert done["successfulInvoiceCount"] == 1 and done["failedInvoiceCount"] == 0
    assert error_codes(ksef.close(access, session)) == [21180]
    assert error_codes(ksef.send(access, session, invoice_xml(number="late"))) == [21180]

    empty = ksef.open_session(access)
    ksef.close(access, empty)
    ksef.clock.advance(2)
    assert ksef.session_status(access, empty)["status"]["code"] == 440

    bad = ksef.open_session(access)
    ksef.sent(access, bad, b"<not-an-invoice/>")
    ksef.clock.advance(2)
    assert ksef.session_status(access, bad)["status"]["code"] == 100  # open: stays 100
    ksef.close(access, bad)
    ksef.clock.advance(2)
    assert ksef.session_status(access, bad)["status"]["code"] == 445


def test_16_upo_by_reference_ksef_number_session_and_presigned(
    ksef: Ksef, http: httpx.Client
) -> None:
    access = ksef.access()
    session = ksef.open_session(access)
    reference = ksef.sent(access, session, invoice_xml())
    status = ksef.invoice_status(access, session, reference)
    ksef.close(access, session)
    page = ksef.session_status(access, session)["upo"]["pages"][0]
    base = f"/v2/sessions/{session.reference}"
    answers = [
        http.get(f"{base}/invoices/{reference}/upo", headers=bearer(access)),
        http.get(f"{base}/invoices/ksef/{status['ksefNumber']}/upo", headers=bearer(access)),
        http.get(f"{base}/upo/{page['referenceNumber']}", headers=bearer(access)),
        http.get(status["upoDownloadUrl"]),  # pre-signed: no Authorization
        http.get(page["downloadUrl"]),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/xml")
        assert answer.headers["x-ms-meta-hash"] == sha(answer.content)
        assert errors_of(upo_schema(), answer.content) == []
        assert status["ksefNumber"].encode() in answer.content
    unknown = http.get(
        f"{base}/invoices/20261207-EE-0000000000-0000000000-00/upo", headers=bearer(access)
    )
    assert error_codes(unknown) == [21178]
    tampered = http.get(status["upoDownloadUrl"].replace("sig=", "sig=0"))
    assert tampered.status_code == 403


def test_17_metadata_subjects_paging_and_validation(ksef: Ksef, emulator: Emulator) -> None:
    seller_access = ksef.access(SELLER)
    session = ksef.open_session(seller_access)
    for n in range(12):
        ksef.sent(seller_access, session, invoice_xml(number=f"Q/{n}"))
        ksef.clock.advance(0.2)  # within 10 a second
    ksef.clock.advance(1)
    buyer_access = ksef.access(BUYER)
    window = {"dateType": "PermanentStorage", "from": "2026-12-01T00:00:00+01:00"}
    as_buyer = ksef.query(
        buyer_access, {"subjectType": "Subject2", "dateRange": window}, pageSize=10, pageOffset=0
    )
    body = as_buyer.json()
    assert as_buyer.status_code == 200
    assert len(body["invoices"]) == 10 and body["hasMore"] and not body["isTruncated"]
    assert body["permanentStorageHwmDate"]
    assert {i["buyer"]["identifier"]["value"] for i in body["invoices"]} == {BUYER}
    rest = ksef.query(
        buyer_access, {"subjectType": "Subject2", "dateRange": window}, pageSize=10, pageOffset=1
    ).json()
    assert len(rest["invoices"]) == 2 and not rest["hasMore"]
    as_seller = ksef.query(
        seller_access, {"subjectType": "Subject1", "dateRange": window}, pageSize=250
    ).json()
    assert len(as_seller["invoices"]) == 12
    # the seller is nobody's buyer
    assert (
        ksef.query(
            seller_access, {"subjectType": "Subject2", "dateRange": window}, pageSize=10
        ).json()["invoices"]
        == []
    )
    issue = {"dateType": "Issue", "from": "2026-12-01T00:00:00+01:00"}
    assert (
        ksef.query(
            buyer_access, {"subjectType": "Subject2", "dateRange": issue}, pageSize=10
        ).json()["permanentStorageHwmDate"]
        is None
    )
    assert error_codes(
        ksef.query(buyer_access, {"subjectType": "Subject2", "dateRange": window}, pageSize=9)
    ) == [21405]
    future = {
        "dateType": "PermanentStorage",
        "from": "2026-12-24T00:00:00+01:00",
        "restrictToPermanentStorageHwmDate": True,
    }
    assert error_codes(
        ksef.query(buyer_access, {"subjectType": "Subject2", "dateRange": future}, pageSize=10)
    ) == [21183]
    too_long = {"dateType": "Issue", "from": "2026-01-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"}
    assert error_codes(
        ksef.query(buyer_access, {"subjectType": "Subject2", "dateRange": too_long}, pageSize=10)
    ) == [21405]


def test_17_metadata_truncated_past_ten_thousand(
    ksef: Ksef, emulator: Emulator, monkeypatch: object
) -> None:
    import ksef_emulator.core as core

    setattr(core, "QUERY_RESULT_CAP", 11)  # noqa: B010  (the real cap needs 10 000 invoices)
    try:
        for n in range(12):
            emulator.put_invoice(invoice_xml(number=f"T/{n}"))
        access = ksef.access(BUYER)
        window = {"dateType": "PermanentStorage", "from": "2026-12-01T00:00:00+01:00"}
        first = ksef.query(
            access, {"subjectType": "Subject2", "dateRange": window}, pageSize=10
        ).json()
        assert first["hasMore"] and not first["isTruncated"]
        last = ksef.query(
            access, {"subjectType": "Subject2", "dateRange": window}, pageSize=10, pageOffset=1
        ).json()
        assert len(last["invoices"]) == 1 and not last["hasMore"] and last["isTruncated"]
    finally:
        setattr(core, "QUERY_RESULT_CAP", 10_000)  # noqa: B010


def test_18_download_exact_bytes_and_errors(
    ksef: Ksef, http: httpx.Client, emulator: Emulator
) -> None:
    emulator.config.storage_seconds = 30
    access = ksef.access()
    session = ksef.open_session(access)
    xml = invoice_xml()
    number = ksef.invoice_status(access, session, ksef.sent(access, session, xml))["ksefNumber"]
    not_yet = http.get(f"/v2/invoices/ksef/{number}", headers=bearer(access))
    assert error_codes(not_yet) == [21165]
    ksef.clock.advance(30)
    answer = http.get(f"/v2/invoices/ksef/{number}", headers=bearer(access))
    assert answer.status_code == 200 and answer.content == xml
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.headers["x-ms-meta-hash"] == sha(xml)
    buyer = http.get(f"/v2/invoices/ksef/{number}", headers=bearer(ksef.access(BUYER)))
    assert buyer.content == xml
    unknown = http.get(
        f"/v2/invoices/ksef/{SELLER}-20261207-000000000000-00", headers=bearer(access)
    )
    assert error_codes(unknown) == [21164]


def test_19_metadata_rate_limit_per_context(ksef: Ksef, http: httpx.Client) -> None:
    buyer = ksef.access(BUYER)
    seller = ksef.access(SELLER)
    window = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Issue", "from": "2026-12-01T00:00:00+01:00"},
    }
    for n in range(20):
        assert ksef.query(buyer, window, pageSize=10).status_code == 200, n
        ksef.clock.advance(4)  # under 16 a minute: only the hourly limit bites
    legacy = http.post(
        "/v2/invoices/query/metadata", params={"pageSize": 10}, json=window, headers=bearer(buyer)
    )
    assert legacy.status_code == 429
    assert int(legacy.headers["Retry-After"]) > 0
    assert legacy.json()["status"]["code"] == 429
    problem = ksef.query(buyer, window, pageSize=10)
    assert problem.status_code == 429
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert problem.json()["status"] == 429
    # another context (another client of the firm) has its own budget, as has another endpoint
    assert ksef.query(seller, window, pageSize=10).status_code == 200
    assert (
        http.get(
            "/v2/sessions/20261207-SO-0000000000-0000000000-00", headers=bearer(buyer)
        ).status_code
        == 400
    )
    # a new login in the same context does not reset the budget; waiting Retry-After does
    assert ksef.query(ksef.access(BUYER), window, pageSize=10).status_code == 429
    ksef.clock.advance(int(legacy.headers["Retry-After"]))
    assert ksef.query(ksef.access(BUYER), window, pageSize=10).status_code == 200


def test_20_error_envelopes(ksef: Ksef, http: httpx.Client) -> None:
    access = ksef.access()
    legacy = http.get("/v2/sessions/20261207-SO-0000000000-0000000000-00", headers=bearer(access))
    detail = legacy.json()["exception"]["exceptionDetailList"][0]
    assert legacy.status_code == 400
    assert {"exceptionCode", "exceptionDescription", "details"} <= detail.keys()
    assert detail["exceptionCode"] == 21173
    problem = http.get(
        "/v2/sessions/20261207-SO-0000000000-0000000000-00",
        headers={**bearer(access), "X-Error-Format": "problem-details"},
    )
    assert problem.headers["content-type"].startswith("application/problem+json")
    body = problem.json()
    assert body["title"] == "Bad Request" and body["status"] == 400
    assert body["errors"][0]["code"] == 21173
    assert http.get("/v2/tokens").headers["content-type"].startswith("application/problem+json")


def test_ksef_number_checksum_matches_the_documented_example() -> None:
    from ksef_emulator.identifiers import crc8, ksef_number

    assert crc8(b"5265877635-20250826-0100001AF629") == 0xAF
    assert ksef_number("5265877635", date(2025, 8, 26), "0100001AF629").endswith("-AF")
    assert not is_ksef_number("5265877635-20250826-0100001AF629-00")
    assert hashlib.sha256(b"").digest()  # keeps hashlib used for sha() parity
    assert timedelta(0) == timedelta(0)


def test_phase2_technical_correction_of_a_rejected_offline_invoice(ksef: Ksef) -> None:
    access = ksef.access()
    session = ksef.open_session(access)
    broken = invoice_xml(number="OFF/1").replace(b"<P_2>", b"<P_2a>x</P_2a><P_2>")
    rejected = ksef.sent(access, session, broken)
    assert ksef.invoice_status(access, session, rejected)["status"]["code"] == 450
    fixed = invoice_xml(number="OFF/1")
    online = ksef.send(access, session, fixed, hashOfCorrectedInvoice=sha(broken))
    assert error_codes(online) == [21405]  # only with offlineMode
    correction = ksef.send(
        access, session, fixed, offlineMode=True, hashOfCorrectedInvoice=sha(broken)
    )
    assert correction.status_code == 202
    status = ksef.invoice_status(access, session, correction.json()["referenceNumber"])
    assert status["status"]["code"] == 200 and status["invoicingMode"] == "Offline"
    again = ksef.send(access, session, fixed, offlineMode=True, hashOfCorrectedInvoice=sha(broken))
    assert error_codes(again) == [21166]
    accepted = ksef.send(
        access,
        session,
        invoice_xml(number="OFF/2"),
        offlineMode=True,
        hashOfCorrectedInvoice=sha(fixed),
    )
    assert error_codes(accepted) == [21167]
