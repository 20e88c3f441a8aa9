"""An independent KSeF client library from PyPI, ``ksef-client`` (smekcio/ksef-client-python,
MIT), runs unmodified against the served emulator; only its base URL differs. It authenticates
with a KSeF token, opens an online session, sends an FA(3) invoice, polls its status, fetches
the UPO, closes the session and reads the session UPO.

Its XAdES path (the ``xml`` extra: lxml and xmlsec, libxmlsec1's binding) signs an
``AuthTokenRequest`` with a self-signed certificate carrying the NIP, as MF's TEST accepts; the
emulator verifies that signature, made by a different XML-signature implementation than the
signxml the emulator itself uses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from conftest import BUYER, SELLER, invoice_xml
from ksef_emulator import Emulator, EmulatorConfig
from ksef_emulator.schemas import errors_of, upo_schema
from ksef_emulator.server import Served, serve_in_thread

ksef_client = pytest.importorskip("ksef_client")
from ksef_client import models as m  # noqa: E402
from ksef_client.client import KsefClient  # noqa: E402
from ksef_client.config import KsefClientOptions  # noqa: E402
from ksef_client.services.workflows import AuthCoordinator, OnlineSessionWorkflow  # noqa: E402

PORT = 18117


@pytest.fixture
def served() -> Iterator[tuple[Emulator, Served]]:
    emulator = Emulator(EmulatorConfig(base_url=f"http://127.0.0.1:{PORT}", processing_seconds=0.3))
    emulator.add_subject(SELLER)
    emulator.add_subject(BUYER)
    with serve_in_thread(emulator, port=PORT) as server:
        yield emulator, server


def test_ksef_client_token_auth_send_status_and_upo(served: tuple[Emulator, Served]) -> None:
    emulator, server = served
    token = emulator.add_token(SELLER)
    with KsefClient(KsefClientOptions(base_url=server.url)) as client:
        token_cert = client.security.get_public_key_certificate("KsefTokenEncryption")
        auth = AuthCoordinator(client.auth).authenticate_with_ksef_token(
            token=token,
            public_certificate=token_cert.certificate,
            public_key_id=token_cert.public_key_id,
            context_identifier_type="Nip",
            context_identifier_value=SELLER,
            poll_interval_seconds=0.1,
        )
        access = auth.access_token
        assert access and auth.refresh_token

        symmetric = client.security.get_public_key_certificate("SymmetricKeyEncryption")
        session = OnlineSessionWorkflow(client.sessions).open_session(
            form_code=m.FormCode(system_code="FA (3)", schema_version="1-0E", value="FA"),
            public_certificate=symmetric.certificate,
            public_key_id=symmetric.public_key_id,
            access_token=access,
        )
        xml = invoice_xml(number="KC/1/2026")
        sent = session.send_invoice(xml)
        status = client.sessions.get_session_invoice_status(
            session.reference_number, sent.reference_number, access_token=access
        )
        deadline = time.monotonic() + 10
        while status.status.code in (100, 150) and time.monotonic() < deadline:
            time.sleep(0.1)
            status = client.sessions.get_session_invoice_status(
                session.reference_number, sent.reference_number, access_token=access
            )
        assert status.status.code == 200, status.status
        assert status.ksef_number and status.ksef_number.startswith(SELLER)

        upo = client.sessions.get_session_invoice_upo_by_ref(
            session.reference_number, sent.reference_number, access_token=access
        )
        assert errors_of(upo_schema(), upo) == []
        assert status.ksef_number.encode() in upo

        client.sessions.close_online_session(session.reference_number, access)
        deadline = time.monotonic() + 10
        session_status = session.get_status()
        while session_status.status.code == 170 and time.monotonic() < deadline:
            time.sleep(0.1)
            session_status = session.get_status()
        assert session_status.status.code == 200
        assert session_status.upo is not None
        page = session_status.upo.pages[0]
        session_upo = client.sessions.get_session_upo(
            session.reference_number, page.reference_number, access_token=access
        )
        assert errors_of(upo_schema(), session_upo) == []

        # What the seller sent is the buyer's purchase invoice, found with a Subject2 query.
    assert emulator.state.by_ksef_number[status.ksef_number].facts.buyer_value == BUYER  # type: ignore[union-attr]


def test_ksef_client_xades_auth_with_a_self_signed_certificate(
    served: tuple[Emulator, Served],
) -> None:
    pytest.importorskip("xmlsec")
    from ksef_client.services.xades import XadesKeyPair
    from test_xades import certificate

    emulator, server = served
    cert_pem, key_pem = certificate(serial_number=f"TINPL-{SELLER}", start=None)
    key_pair = XadesKeyPair(certificate_pem=cert_pem.decode(), private_key_pem=key_pem.decode())
    with KsefClient(KsefClientOptions(base_url=server.url)) as client:
        auth = AuthCoordinator(client.auth).authenticate_with_xades_key_pair(
            key_pair=key_pair,
            context_identifier_type="Nip",
            context_identifier_value=SELLER,
            subject_identifier_type="certificateSubject",
            poll_interval_seconds=0.1,
        )
        assert auth.access_token
        # and a firm's seal in its client's context, once the client granted it
        seal_pem, seal_key = certificate(organization_id=f"VATPL-{BUYER}", start=None)
        seal = XadesKeyPair(certificate_pem=seal_pem.decode(), private_key_pem=seal_key.decode())
        with pytest.raises(RuntimeError, match="415"):
            AuthCoordinator(client.auth).authenticate_with_xades_key_pair(
                key_pair=seal,
                context_identifier_type="Nip",
                context_identifier_value=SELLER,
                subject_identifier_type="certificateSubject",
                poll_interval_seconds=0.1,
            )
        emulator.grant(SELLER, BUYER)
        granted = AuthCoordinator(client.auth).authenticate_with_xades_key_pair(
            key_pair=seal,
            context_identifier_type="Nip",
            context_identifier_value=SELLER,
            subject_identifier_type="certificateSubject",
            poll_interval_seconds=0.1,
        )
        assert granted.access_token


def test_ksef_client_reads_the_announced_failure_from_latarnia(
    served: tuple[Emulator, Served],
) -> None:
    emulator, server = served
    options = KsefClientOptions(base_url=server.url, base_lighthouse_url=server.url)
    with KsefClient(options) as client:
        assert client.lighthouse.get_status().status.value == "AVAILABLE"
        emulator.announce("TOTAL_FAILURE", title="Awaria całkowita KSeF")
        status = client.lighthouse.get_status()
        assert status.status.value == "TOTAL_FAILURE"
        assert status.messages and status.messages[0].category.value == "TOTAL_FAILURE"
        assert status.messages[0].type.value == "FAILURE_START"
        emulator.announce("AVAILABLE", title="Koniec awarii")
        assert client.lighthouse.get_status().status.value == "AVAILABLE"
        assert [m.type.value for m in client.lighthouse.get_messages()] == [
            "FAILURE_START",
            "FAILURE_END",
        ]
