"""The client end to end against the KSeF emulator (``ksef-emulator``, built separately from the
OpenAPI document: the two share no code), served by uvicorn on a loopback port."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import uvicorn
from cabinet_ksef.api import CertificateCredentials, TokenCredentials
from cabinet_ksef.client import KsefClient
from cabinet_ksef.errors import KsefAuthError, KsefError
from client_support import FA3_EXAMPLE, key_pem, pem, signer_certificate
from ksef_emulator.app import create_app
from ksef_emulator.core import Emulator, EmulatorConfig

SELLER = "9999999999"  # Podmiot1 of FA_3_Przyklad_01
BUYER = "1111111111"  # its Podmiot2
FIRM = "5265877635"  # the accounting firm, acting for its clients with its own certificate
PORT = 18151


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    if not _free(PORT):
        pytest.fail(f"port {PORT} is taken")
    base = f"http://127.0.0.1:{PORT}"
    emulator = Emulator(EmulatorConfig(base_url=base))
    server = uvicorn.Server(
        uvicorn.Config(create_app(emulator), host="127.0.0.1", port=PORT, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the emulator did not start"
        time.sleep(0.05)
    yield emulator
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def client(emulator: Emulator) -> Iterator[KsefClient]:
    with KsefClient(f"http://127.0.0.1:{PORT}/v2", timeout=20) as client:
        yield client


def _invoice(number: str) -> bytes:
    return FA3_EXAMPLE.read_bytes().replace(b"FV2026/02/150", number.encode())


def test_a_seller_sends_an_invoice_with_a_ksef_token_and_gets_its_number_and_upo(
    emulator: Emulator, client: KsefClient
) -> None:
    credentials = TokenCredentials(context_nip=SELLER, token=emulator.add_token(SELLER))
    tokens = client.authenticate(credentials)
    session = client.open_online_session(tokens)
    xml = _invoice("E2E/TOKEN/1")

    sent = client.send_invoice(tokens, session, xml)
    status = client.invoice_status(tokens, session.reference_number, sent.invoice_reference)
    for _ in range(50):
        if not status.pending:
            break
        time.sleep(0.1)
        status = client.invoice_status(tokens, session.reference_number, sent.invoice_reference)

    assert status.accepted, status
    assert status.ksef_number and status.ksef_number.startswith(f"{SELLER}-")
    assert status.invoice_number == "E2E/TOKEN/1"
    upo = client.invoice_upo(tokens, session.reference_number, sent.invoice_reference)
    assert status.ksef_number.encode() in upo

    # After a crash the worker finds the invoice again by its hash.
    found = client.find_session_invoice(tokens, session.reference_number, sent.invoice_hash)
    assert found is not None and found.invoice_reference == sent.invoice_reference

    # The same invoice again is a duplicate, named after the original's KSeF number.
    again = client.send_invoice(tokens, session, xml)
    duplicate = client.invoice_status(tokens, session.reference_number, again.invoice_reference)
    assert duplicate.rejected and duplicate.code == 440
    assert duplicate.original_ksef_number == status.ksef_number

    client.close_session(tokens, session)
    closed = client.session_status(tokens, session.reference_number)
    assert closed.code == 200 and closed.successful_invoice_count == 1
    session_upo = client.session_upo(tokens, session.reference_number, closed.upo_references[0])
    assert status.ksef_number.encode() in session_upo
    with pytest.raises(KsefError) as raised:
        client.send_invoice(tokens, session, _invoice("E2E/TOKEN/2"))
    assert raised.value.code == 21180
    assert client.download_invoice(tokens, status.ksef_number) == xml

    refreshed = client.refresh(tokens)
    assert refreshed.access_token
    client.logout(refreshed)


def test_an_invalid_invoice_is_taken_and_then_rejected_with_the_validator_text(
    emulator: Emulator, client: KsefClient
) -> None:
    tokens = client.authenticate(TokenCredentials(SELLER, emulator.add_token(SELLER)))
    session = client.open_online_session(tokens)
    broken = (
        _invoice("E2E/BAD/1").replace(b"<P_2>", b"<P_2_wrong>").replace(b"</P_2>", b"</P_2_wrong>")
    )
    sent = client.send_invoice(tokens, session, broken)
    status = client.invoice_status(tokens, session.reference_number, sent.invoice_reference)
    assert status.rejected and status.code == 450
    assert status.details


def test_the_firm_signs_in_with_its_certificate_for_a_client_that_granted_it_access(
    emulator: Emulator, client: KsefClient
) -> None:
    emulator.add_subject(SELLER)
    emulator.grant(SELLER, FIRM, ("InvoiceRead", "InvoiceWrite"))
    for kind in ("rsa", "ec"):
        certificate, key = signer_certificate(kind, nip=FIRM)
        credentials = CertificateCredentials(
            context_nip=SELLER, certificate_pem=pem(certificate), private_key_pem=key_pem(key)
        )
        tokens = client.authenticate(credentials)
        session = client.open_online_session(tokens)
        sent = client.send_invoice(tokens, session, _invoice(f"E2E/XADES/{kind}"))
        status = client.invoice_status(tokens, session.reference_number, sent.invoice_reference)
        assert status.accepted, status


def test_a_certificate_without_permissions_in_the_context_is_refused_at_the_status(
    emulator: Emulator, client: KsefClient
) -> None:
    certificate, key = signer_certificate("rsa", nip="7010002137")
    credentials = CertificateCredentials(
        context_nip=BUYER, certificate_pem=pem(certificate), private_key_pem=key_pem(key)
    )
    with pytest.raises(KsefAuthError) as raised:
        client.authenticate(credentials)
    assert raised.value.code == 415


def test_the_buyer_finds_and_downloads_a_purchase_invoice(
    emulator: Emulator, client: KsefClient
) -> None:
    xml = _invoice("E2E/PURCHASE/1")
    ksef_number = emulator.put_invoice(xml)
    tokens = client.authenticate(TokenCredentials(BUYER, emulator.add_token(BUYER)))
    now = dt.datetime.now(dt.UTC)

    page = client.query_metadata(
        tokens,
        subject="Subject2",
        date_from=now - dt.timedelta(days=1),
        date_to=now + dt.timedelta(minutes=5),
        date_type="Invoicing",
        page_size=10,
    )

    found = [i for i in page.invoices if i.ksef_number == ksef_number]
    assert found, page
    invoice = found[0]
    assert invoice.seller_nip == SELLER and invoice.buyer_nip == BUYER
    assert invoice.invoice_number == "E2E/PURCHASE/1"
    # Exact decimals from the invoice's P_13_x / P_14_x / P_15 (the MF example itself is a
    # grosz off: 1667.61 + 383.38 != 2051, and KSeF does not check arithmetic).
    assert (invoice.net, invoice.vat, invoice.gross) == (
        Decimal("1667.61"),
        Decimal("383.38"),
        Decimal("2051"),
    )
    assert client.download_invoice(tokens, ksef_number) == xml
