"""The export path for volume (ksef-api.md §7.3) against the KSeF emulator in-process: start an
export with a wrapped AES key, read its status, download and decrypt its part, unpack it; and
the receiving pass taking that path for a large backlog."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cabinet_ksef.api import TokenCredentials
from cabinet_ksef.client import KsefClient, unpack_export
from cabinet_ksef.connections import Connections
from cabinet_ksef.demo import purchase_xml
from cabinet_ksef.errors import KsefUnavailable
from cabinet_ksef.receiving import EXPORT_IMPORTS, PAGE_SIZE, Receiver
from cabinet_ksef.sending import KsefSender
from cabinet_ksef.settings import KsefSettings
from ksef_emulator import Emulator, EmulatorConfig
from ksef_emulator.clock import VirtualClock
from ksef_emulator.transport import emulator_transport
from plugin_fakes import FakePort

BUYER = "5265877635"
SELLER = "5260001246"
START = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def emulator() -> Emulator:
    clock = VirtualClock(START)
    emulator = Emulator(EmulatorConfig(base_url="http://ksef.invalid", seed="export"), clock=clock)
    emulator.add_subject(BUYER)
    emulator.add_subject(SELLER)
    return emulator


def _put(
    emulator: Emulator, count: int, *, every: float = 1.0, series: str = "Z"
) -> dict[str, bytes]:
    """``count`` purchase invoices of BUYER appearing ``every`` seconds apart."""
    clock = emulator.clock
    assert isinstance(clock, VirtualClock)
    put = {}
    for n in range(count):
        xml = purchase_xml(SELLER, BUYER, f"{series}/{n}", START.date())
        put[emulator.put_invoice(xml)] = xml
        clock.advance(every)
    return put


@pytest.fixture
def client(emulator: Emulator) -> Iterator[KsefClient]:
    with KsefClient(
        "http://ksef.invalid/v2",
        transport=emulator_transport(emulator),
        clock=lambda: dt.datetime.fromtimestamp(emulator.clock.now(), tz=dt.UTC),
    ) as client:
        yield client


def _now(emulator: Emulator) -> dt.datetime:
    return dt.datetime.fromtimestamp(emulator.clock.now(), tz=dt.UTC)


def test_an_export_brings_every_invoice_of_the_window_decrypted_exactly(
    emulator: Emulator, client: KsefClient
) -> None:
    put = _put(emulator, 12)
    tokens = client.authenticate(TokenCredentials(BUYER, emulator.add_token(BUYER)))

    export = client.start_export(
        tokens, subject="Subject2", date_from=START - dt.timedelta(hours=1), date_to=_now(emulator)
    )
    status = client.export_status(tokens, export)

    assert status.code == 200 and status.package is not None
    package = status.package
    assert package.invoice_count == 12 and not package.is_truncated
    assert len(package.parts) == 1 and package.parts[0].url.startswith("http://ksef.invalid/")
    contents = client.download_export(export, package)
    assert [m.ksef_number for m in contents.metadata] == list(put)
    # Byte for byte what the seller sent: the cabinet imports exactly KSeF's file.
    assert contents.xml == put
    assert all(m.buyer_nip == BUYER and m.seller_nip == SELLER for m in contents.metadata)
    assert package.permanent_storage_hwm_date is not None


def test_a_metadata_only_export_carries_no_files(emulator: Emulator, client: KsefClient) -> None:
    _put(emulator, 3)
    tokens = client.authenticate(TokenCredentials(BUYER, emulator.add_token(BUYER)))
    export = client.start_export(
        tokens,
        subject="Subject2",
        date_from=START - dt.timedelta(hours=1),
        date_to=_now(emulator),
        only_metadata=True,
    )
    package = client.export_status(tokens, export.reference_number).package
    assert package is not None
    contents = client.download_export(export, package)
    assert len(contents.metadata) == 3 and contents.xml == {}


def test_a_part_that_does_not_match_its_hash_is_refused(emulator: Emulator) -> None:
    _put(emulator, 2)
    inner = emulator_transport(emulator)

    def tampering(request: httpx.Request) -> httpx.Response:
        response = inner.handle_request(request)
        if request.url.path.startswith("/storage/exports/"):
            body = bytearray(response.read())
            body[-1] ^= 0x01
            return httpx.Response(200, content=bytes(body))
        return response

    with KsefClient(
        "http://ksef.invalid/v2",
        transport=httpx.MockTransport(tampering),
        clock=lambda: _now(emulator),
    ) as client:
        tokens = client.authenticate(TokenCredentials(BUYER, emulator.add_token(BUYER)))
        export = client.start_export(
            tokens, subject="Subject2", date_from=START, date_to=_now(emulator)
        )
        package = client.export_status(tokens, export).package
        assert package is not None
        with pytest.raises(KsefUnavailable, match="encryptedPartHash"):
            client.download_export_part(export, package.parts[0])


def test_a_package_that_is_not_a_zip_of_invoices_is_unavailable_not_a_crash() -> None:
    with pytest.raises(KsefUnavailable):
        unpack_export(b"not a zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("_metadata.json", json.dumps({"invoices": [{"ksefNumber": 1}]}))
    with pytest.raises(KsefUnavailable):
        unpack_export(buffer.getvalue())


def _receiver(emulator: Emulator) -> tuple[Receiver, FakePort]:
    port = FakePort()
    port.add_client(1, nip=BUYER)
    port.clock = _now(emulator)
    transport = emulator_transport(emulator)
    settings = KsefSettings.from_config(
        {"base_url": "http://ksef.invalid/v2", "backfill_days": "30"}, secret_key="s"
    )

    def factory(base_url: str) -> KsefClient:
        return KsefClient(base_url, transport=transport, clock=lambda: _now(emulator))

    sender = KsefSender(port, settings, Connections(factory, port, lambda: _now(emulator)))
    sender.vault.keep(
        1, TokenCredentials(BUYER, emulator.add_token(BUYER)), now=port.clock, valid_until=None
    )
    return Receiver(sender, clock=lambda: _now(emulator)), port


def test_a_large_backlog_is_received_by_export_in_passes_and_each_invoice_once(
    emulator: Emulator,
) -> None:
    put = _put(emulator, EXPORT_IMPORTS + PAGE_SIZE)
    receiver, port = _receiver(emulator)

    first = receiver.receive(1)
    # One metadata page said "more than a page": one export instead of 750 downloads.
    assert first.imported == EXPORT_IMPORTS and not first.complete and not first.error
    assert receiver.due(1, _now(emulator))  # the rest of the package is due at once
    second = receiver.receive(1)
    assert second.imported == PAGE_SIZE and second.complete

    assert {number for (_client, number) in port.purchases} == set(put)
    calls = emulator.limiter._hits
    counted = {group: len(hits) for (group, _ctx, _ip), hits in calls.items()}
    assert counted.get("invoiceDownload", 0) == 0
    assert counted["invoiceExport"] == 1 and counted["invoiceMetadata"] == 1
    # Afterwards the pass is incremental again: nothing new, nothing imported, no export.
    emulator.clock.sleep(3600)  # type: ignore[attr-defined]
    assert not receiver.due(1, _now(emulator)) or receiver.receive(1).imported == 0
    more = _put(emulator, 2, series="N")
    emulator.clock.sleep(3600)  # type: ignore[attr-defined]
    third = receiver.receive(1)
    assert third.imported == 2 and third.complete
    assert set(more) <= {number for (_client, number) in port.purchases}
    assert receiver.state(1).imported_total == len(put) + 2


def test_a_small_window_stays_on_metadata_and_downloads(emulator: Emulator) -> None:
    _put(emulator, 5)
    receiver, _port = _receiver(emulator)
    result = receiver.receive(1)
    assert result.imported == 5 and result.complete
    counted = {group for (group, _c, _i) in emulator.limiter._hits}
    assert "invoiceExport" not in counted and "invoiceDownload" in counted


def _encrypted_package(tmp_path: Path, invoices: int, size: int) -> tuple[Path, Path, bytes, bytes]:
    """A package of ``invoices`` files of ``size`` random bytes, zipped and AES-CBC encrypted,
    both on disk (written in chunks: the test's own memory stays out of the measure)."""
    import os

    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key, iv = os.urandom(32), os.urandom(16)
    plain = tmp_path / f"package-{invoices}.zip"
    with zipfile.ZipFile(plain, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("_metadata.json", json.dumps({"invoices": []}))
        for number in range(invoices):
            archive.writestr(f"{number}.xml", os.urandom(size))
    encrypted = tmp_path / f"package-{invoices}.aes"
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    padder = padding.PKCS7(128).padder()
    with plain.open("rb") as source, encrypted.open("wb") as sink:
        while chunk := source.read(1 << 20):
            sink.write(encryptor.update(padder.update(chunk)))
        sink.write(encryptor.update(padder.finalize()) + encryptor.finalize())
    return plain, encrypted, key, iv


def _digest(path: Path) -> str:
    import base64
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def _streamed_peak(tmp_path: Path, invoices: int, size: int) -> int:
    """The peak of memory Python allocated while one package was downloaded to a file."""
    import tracemalloc

    from cabinet_ksef.api import Export, ExportPackage, ExportPart

    plain, encrypted, key, iv = _encrypted_package(tmp_path, invoices, size)

    def serve(request: httpx.Request) -> httpx.Response:
        def chunks() -> Iterator[bytes]:
            with encrypted.open("rb") as source:
                while chunk := source.read(256 * 1024):
                    yield chunk

        return httpx.Response(200, content=chunks())

    part = ExportPart(
        ordinal_number=1,
        part_name="part-1.zip.aes",
        url="https://storage.invalid/part-1",
        part_size=plain.stat().st_size,
        part_hash=_digest(plain),
        encrypted_part_size=encrypted.stat().st_size,
        encrypted_part_hash=_digest(encrypted),
    )
    package = ExportPackage(
        invoice_count=invoices, size=part.part_size, parts=(part,), is_truncated=False
    )
    out = tmp_path / f"out-{invoices}.zip"
    transport = httpx.MockTransport(serve)
    with (
        KsefClient("https://ksef.invalid/v2", transport=transport) as client,
        out.open("wb") as sink,
    ):
        tracemalloc.start()
        try:
            client.download_export_to(Export("ref", key, iv), package, sink)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    print(f"export of {invoices} invoices ({part.part_size} B): download peak {peak} B")
    assert _digest(out) == part.part_hash  # decrypted exactly
    return peak


def test_an_export_is_streamed_to_a_file_with_memory_flat_as_it_grows(tmp_path: Path) -> None:
    """A 4 MB and a 32 MB package: the download's peak stays under a couple of MB and does
    not grow with the package (the bytes go to the file as they are decrypted)."""
    small = _streamed_peak(tmp_path, invoices=200, size=20_000)
    large = _streamed_peak(tmp_path, invoices=1_600, size=20_000)
    assert large < 2 * 1024 * 1024, large
    assert large < small * 1.5 + 512 * 1024, (small, large)
