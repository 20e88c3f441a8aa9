"""Sending invoices through an online session, proved by decrypting what the client sent."""

from __future__ import annotations

import base64
import json

import pytest
from cabinet_ksef.api import AccessTokens, OnlineSession
from cabinet_ksef.client import KsefClient
from cabinet_ksef.errors import KsefError
from client_support import FA3_EXAMPLE, client_for, token_credentials
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from ksef_fake import FakeKsef, sha256_b64


@pytest.fixture
def fake() -> FakeKsef:
    return FakeKsef()


@pytest.fixture
def client(fake: FakeKsef) -> KsefClient:
    return client_for(fake)


@pytest.fixture
def tokens(fake: FakeKsef, client: KsefClient) -> AccessTokens:
    return client.authenticate(token_credentials(fake))


@pytest.fixture
def session(client: KsefClient, tokens: AccessTokens) -> OnlineSession:
    return client.open_online_session(tokens)


def _sent_bodies(fake: FakeKsef, suffix: str) -> list[dict[str, object]]:
    return [
        json.loads(r.content)
        for r in fake.requests
        if r.method == "POST" and r.url.path.endswith(suffix)
    ]


def test_the_session_key_is_wrapped_for_mf_and_the_form_is_fa3(
    fake: FakeKsef, session: OnlineSession
) -> None:
    (body,) = _sent_bodies(fake, "/sessions/online")
    assert body["formCode"] == {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
    encryption = body["encryption"]
    assert isinstance(encryption, dict)
    wrapped = base64.b64decode(encryption["encryptedSymmetricKey"])
    unwrapped = fake.symmetric_key.decrypt(
        wrapped,
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    assert unwrapped == session.symmetric_key and len(unwrapped) == 32
    assert base64.b64decode(encryption["initializationVector"]) == session.iv
    assert len(session.iv) == 16


def test_an_invoice_is_sent_encrypted_without_an_iv_prefix_and_accepted(
    fake: FakeKsef, client: KsefClient, tokens: AccessTokens, session: OnlineSession
) -> None:
    xml = FA3_EXAMPLE.read_bytes()

    sent = client.send_invoice(tokens, session, xml)

    # The fake decrypted the bare ciphertext with the session key and IV and got the exact bytes.
    assert fake.plaintexts == [xml]
    (body,) = _sent_bodies(fake, "/invoices")
    assert body["invoiceHash"] == sha256_b64(xml) == sent.invoice_hash
    assert body["invoiceSize"] == len(xml)
    assert body["encryptedInvoiceSize"] == 16 * (len(xml) // 16 + 1)
    assert body["offlineMode"] is False
    assert "hashOfCorrectedInvoice" not in body

    status = client.invoice_status(tokens, session.reference_number, sent.invoice_reference)
    assert status.accepted and not status.pending and not status.rejected
    assert status.ksef_number and status.ksef_number.startswith("9999999999-")
    assert status.invoice_number == "FV2026/02/150"
    assert status.acquisition_date is not None
    assert status.invoicing_mode == "Online"

    upo = client.invoice_upo(tokens, session.reference_number, sent.invoice_reference)
    assert status.ksef_number.encode() in upo


def test_an_offline_invoice_and_a_technical_correction_say_so(
    fake: FakeKsef, client: KsefClient, tokens: AccessTokens, session: OnlineSession
) -> None:
    xml = FA3_EXAMPLE.read_bytes()
    client.send_invoice(tokens, session, xml, offline=True, hash_of_corrected=sha256_b64(b"old"))
    (body,) = _sent_bodies(fake, "/invoices")
    assert body["offlineMode"] is True
    assert body["hashOfCorrectedInvoice"] == sha256_b64(b"old")


def test_an_invoice_ksef_rejects_is_taken_first_and_rejected_at_its_status(
    client: KsefClient, tokens: AccessTokens, session: OnlineSession
) -> None:
    sent = client.send_invoice(tokens, session, b"<Faktura><niedomkniete></Faktura>")
    status = client.invoice_status(tokens, session.reference_number, sent.invoice_reference)
    assert status.rejected and status.code == 450
    assert status.ksef_number is None
    assert status.details  # the validator's text, to show the user


def test_a_closed_session_refuses_more_invoices_synchronously_and_has_its_upo(
    client: KsefClient, tokens: AccessTokens, session: OnlineSession
) -> None:
    sent = client.send_invoice(tokens, session, FA3_EXAMPLE.read_bytes())
    accepted = client.invoice_status(tokens, session.reference_number, sent.invoice_reference)
    client.close_session(tokens, session)
    with pytest.raises(KsefError) as raised:
        client.send_invoice(tokens, session, FA3_EXAMPLE.read_bytes())
    assert raised.value.status == 400 and raised.value.code == 21180
    status = client.session_status(tokens, session.reference_number)
    assert status.code == 200 and status.upo_references
    assert (status.invoice_count, status.successful_invoice_count) == (1, 1)
    upo = client.session_upo(tokens, session.reference_number, status.upo_references[0])
    assert session.reference_number.encode() in upo
    assert accepted.ksef_number and accepted.ksef_number.encode() in upo


def test_an_invoice_sent_before_a_crash_is_found_by_its_hash(
    client: KsefClient, tokens: AccessTokens, session: OnlineSession
) -> None:
    # Five invoices, the fake lists two per page: the listing follows the continuation token.
    base = FA3_EXAMPLE.read_bytes()
    sent = [
        client.send_invoice(tokens, session, base.replace(b"FV2026/02/150", f"FV/{n}".encode()))
        for n in range(5)
    ]

    listed = client.session_invoices(tokens, session.reference_number)
    assert [i.invoice_reference for i in listed] == [s.invoice_reference for s in sent]
    assert [i.ordinal_number for i in listed] == [1, 2, 3, 4, 5]

    found = client.find_session_invoice(tokens, session.reference_number, sent[3].invoice_hash)
    assert found is not None
    assert found.invoice_reference == sent[3].invoice_reference
    assert found.status.accepted and found.status.invoice_number == "FV/3"
    assert client.find_session_invoice(tokens, session.reference_number, sha256_b64(b"x")) is None
