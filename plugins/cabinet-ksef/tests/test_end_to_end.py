"""The plugin end to end: a cabinet with cabinet-ksef, its worker, and the KSeF emulator on a
real socket. Issue → accepted with KSeF number and UPO; rejected → back to be fixed with KSeF's
code; KSeF down → offline24 → sent once after recovery, even when the worker was killed between
sending and storing; a seller's invoice in KSeF → the buyer's cost invoice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xmlschema
from cabinet_core.entities import Actor
from cabinet_core.ksef.submission import KsefMode, KsefState
from cabinet_ksef.crypto import sha256_base64
from cabinet_ksef.demo import purchase_xml
from cabinet_ksef.receiving import Receiver
from emulated_ksef import SELLER_NIP, SUPPLIER_NIP, World, world_fixture  # noqa: F401

SYSTEM = Actor.system()
UPO_XSD = (
    Path(__file__).resolve().parents[3]
    / "packages/ksef-emulator/src/ksef_emulator/schemas/upo/upo-v4-3.xsd"
)


def test_an_issued_invoice_is_accepted_with_its_ksef_number_upo_and_qr_code(world: World) -> None:
    document = world.issue()
    assert document.id is not None
    assert world.submission(document.id).state is KsefState.QUEUED

    world.work_until(world.settled(document.id))

    accepted = world.submission(document.id)
    assert accepted.state is KsefState.ACCEPTED, accepted
    assert accepted.mode is KsefMode.ONLINE
    assert accepted.ksef_number and accepted.ksef_number.startswith(SELLER_NIP + "-")
    upo = world.cabinet.ksef_port().upo(document.id)
    assert upo is not None
    xmlschema.XMLSchema(str(UPO_XSD)).validate(upo)
    assert accepted.ksef_number.encode() in upo
    [code] = accepted.verification
    assert code.label == accepted.ksef_number
    issued = document.issue_date
    assert f"/invoice/{SELLER_NIP}/{issued:%d-%m-%Y}/" in code.url
    # What KSeF holds is exactly what the cabinet exported (KOD I's hash is of those bytes).
    sent = world.cabinet.ksef_port().fa3_xml(document.id)
    assert world.submission(document.id).invoice_hash == sha256_base64(sent)


def test_a_rejected_invoice_goes_back_to_be_fixed_with_ksefs_code(world: World) -> None:
    world.emulator.set_faults(reject_invoices=True)
    document = world.issue()
    assert document.id is not None
    world.work_until(world.settled(document.id))
    rejected = world.submission(document.id)
    assert rejected.state is KsefState.REJECTED
    assert rejected.error_code == 450
    assert rejected.error_description
    stored = world.cabinet.documents.get(SYSTEM, document.id)
    assert stored.status == "ksef_rejected"

    # Fixed and issued again: accepted this time, under the same number.
    world.emulator.set_faults(reject_invoices=None)
    again = world.cabinet.documents.transition(SYSTEM, document.id, "issue")
    assert again.number == document.number
    world.work_until(world.settled(document.id))
    assert world.submission(document.id).state is KsefState.ACCEPTED


def test_ksef_down_the_invoice_goes_offline_and_is_sent_once_after_recovery(world: World) -> None:
    world.cabinet.settings.plugins["ksef"]["offline_after"] = "1"
    world.served.refuse()  # connection refused: nothing answers at all
    document = world.issue()
    assert document.id is not None
    world.work_until(lambda: world.submission(document.id).state is KsefState.OFFLINE)
    offline = world.submission(document.id)
    assert offline.mode is KsefMode.OFFLINE
    assert [c.label for c in offline.verification] == ["OFFLINE"]

    # Still down: the recovery pass leaves it; back up: it is re-queued and sent once.
    assert world.sender.recovery_pass() == []
    world.served.accept()
    assert world.sender.recovery_pass() == [document.id]
    world.work_until(world.settled(document.id))
    accepted = world.submission(document.id)
    assert accepted.state is KsefState.ACCEPTED and accepted.mode is KsefMode.OFFLINE
    sent = [i for i in world.emulator.state.invoices.values() if i.session_reference]
    assert len(sent) == 1 and sent[0].offline_requested


def test_killed_between_send_and_store_the_invoice_reaches_ksef_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = world.issue()
    assert document.id is not None
    port = world.cabinet.ksef_port()
    real_mark_sent = port.mark_sent

    def killed(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt("the worker was killed")

    monkeypatch.setattr(port, "mark_sent", killed)
    with pytest.raises(KeyboardInterrupt):
        world.sender.step(document.id)
    monkeypatch.setattr(port, "mark_sent", real_mark_sent)
    assert world.submission(document.id).state is KsefState.QUEUED

    # A new process: nothing in memory, the message is taken again.
    world.sender.close()
    world.cabinet._instances.pop(("subscriber", "ksef"))  # built anew, as in a new process
    world.work_until(world.settled(document.id))
    assert world.submission(document.id).state is KsefState.ACCEPTED
    assert len([i for i in world.emulator.state.invoices.values() if i.session_reference]) == 1


def test_a_sellers_invoice_in_ksef_becomes_the_buyers_cost_invoice_once(world: World) -> None:
    world.emulator.add_subject(SUPPLIER_NIP)
    xml = purchase_xml(SUPPLIER_NIP, SELLER_NIP, "ZAK/2026/12/1", dt.date.today())
    number = world.emulator.put_invoice(xml)
    assert world.client.id is not None
    receiver = Receiver(world.sender)

    first = receiver.receive(world.client.id)
    assert (first.imported, first.error) == (1, "")
    port = world.cabinet.ksef_port()
    assert port.known_ksef_numbers(world.client.id, [number]) == {number}
    second = receiver.receive(world.client.id)
    assert second.imported == 0
    state = receiver.state(world.client.id)
    assert state.high_water is not None and state.imported_total == 1


def test_tokens_expired_by_ksef_are_replaced_without_losing_the_invoice(world: World) -> None:
    document = world.issue()
    assert document.id is not None
    world.work_until(lambda: world.submission(document.id).state is not KsefState.QUEUED)
    world.emulator.expire_tokens(refresh=True)
    world.work_until(world.settled(document.id))
    assert world.submission(document.id).state is KsefState.ACCEPTED


def test_a_certificate_client_offline_gets_both_codes_and_is_accepted_after_recovery(
    world: World,
) -> None:
    """XAdES authentication with the client's seal (organizationIdentifier VATPL-<NIP>), and
    KOD II signed with it while KSeF is down."""
    from cabinet_ksef.credentials import CredentialVault, certificate_credentials
    from cabinet_ksef.settings import KsefSettings
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Sprzedawca pieczęć"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sprzedawca sp. z o.o."),
            x509.NameAttribute(x509.ObjectIdentifier("2.5.4.97"), f"VATPL-{SELLER_NIP}"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    port = world.cabinet.ksef_port()
    assert world.client.id is not None
    credentials = certificate_credentials(
        SELLER_NIP,
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        now=port.now(),
    )
    CredentialVault(KsefSettings.of(world.cabinet).credentials_key, port).keep(
        world.client.id, credentials, now=port.now(), valid_until=None
    )
    world.cabinet.settings.plugins["ksef"]["offline_after"] = "1"
    world.emulator.set_faults(down=True)
    document = world.issue()
    assert document.id is not None
    world.work_until(lambda: world.submission(document.id).state is KsefState.OFFLINE)
    codes = {code.kind: code for code in world.submission(document.id).verification}
    assert set(codes) == {"invoice", "certificate"}
    assert codes["certificate"].label == "CERTYFIKAT"
    assert f"/certificate/Nip/{SELLER_NIP}/{SELLER_NIP}/" in codes["certificate"].url

    world.emulator.set_faults(down=False)
    assert world.sender.recovery_pass() == [document.id]
    world.work_until(world.settled(document.id))
    accepted = world.submission(document.id)
    assert accepted.state is KsefState.ACCEPTED, accepted
    assert {code.kind for code in accepted.verification} == {"invoice", "certificate"}


def test_a_rejected_offline_invoice_goes_again_as_its_technical_correction(world: World) -> None:
    """offline/korekta-techniczna.md: an offline invoice (already with the buyer, QR codes
    printed) that KSeF rejects for a technical reason is issued again and sent with
    ``offlineMode: true`` and ``hashOfCorrectedInvoice`` = the rejected file's hash."""
    from cabinet_core.ksef.submission import KsefOfflineMode

    world.cabinet.settings.plugins["ksef"]["offline_after"] = "1"
    world.emulator.set_faults(down=True)
    document = world.issue()
    assert document.id is not None
    world.work_until(lambda: world.submission(document.id).state is KsefState.OFFLINE)
    offline = world.submission(document.id)
    assert offline.offline_mode is KsefOfflineMode.OFFLINE24
    assert offline.send_by == KsefOfflineMode.OFFLINE24.send_by(document.issue_date, None)

    world.emulator.set_faults(down=False, reject_invoices=True)
    assert world.sender.recovery_pass() == [document.id]
    world.work_until(world.settled(document.id))
    rejected = world.submission(document.id)
    assert rejected.state is KsefState.REJECTED and rejected.mode is KsefMode.OFFLINE
    assert rejected.technical_correction_possible
    original = rejected.invoice_hash
    assert original is not None

    world.emulator.set_faults(reject_invoices=None)
    world.cabinet.documents.transition(SYSTEM, document.id, "issue")
    queued = world.submission(document.id)
    assert queued.state is KsefState.QUEUED and queued.mode is KsefMode.OFFLINE
    assert queued.corrected_hash == original
    assert queued.offline_mode is KsefOfflineMode.OFFLINE24 and queued.send_by == offline.send_by
    world.work_until(world.settled(document.id))
    accepted = world.submission(document.id)
    assert accepted.state is KsefState.ACCEPTED, accepted
    [correction] = [
        i for i in world.emulator.state.invoices.values() if i.hash_of_corrected == original
    ]
    assert correction.offline_requested and correction.code == 200
    assert correction.invoice_hash == accepted.invoice_hash
    history = [
        e.action
        for e in world.cabinet.audit.list(SYSTEM, entity="document")
        if e.entity_id == document.id
    ]
    assert "ksef.technical_correction" in history


def test_an_announced_failure_is_the_emergency_mode_with_its_deadline_after_the_end(
    world: World,
) -> None:
    """§11: a failure KSeF announces (tryb awaryjny) gives 7 business days after it ends; the
    deadline is unknown while it lasts and set when KSeF answers again."""
    from cabinet_core.ksef.submission import KsefOfflineMode

    world.emulator.set_faults(down=True)
    world.emulator.announce("FAILURE", title="Awaria KSeF")
    document = world.issue()
    assert document.id is not None
    world.work_until(lambda: world.submission(document.id).state is KsefState.OFFLINE)
    offline = world.submission(document.id)
    assert offline.offline_mode is KsefOfflineMode.EMERGENCY
    assert offline.send_by is None
    assert offline.attempts == 1  # the announcement confirmed the outage at once

    world.emulator.set_faults(down=False)
    world.emulator.announce("AVAILABLE", title="Koniec awarii")
    assert world.sender.recovery_pass() == [document.id]
    ended = world.cabinet.ksef_port().now().date()
    dated = world.submission(document.id)
    assert dated.send_by == KsefOfflineMode.EMERGENCY.send_by(document.issue_date, ended)
    world.work_until(world.settled(document.id))
    assert world.submission(document.id).state is KsefState.ACCEPTED
