"""The demo's worker thread: "send by e-mail" in ``cabinet demo`` really writes the mail into the
demo's mail folder; the demo seed has what the guide walks through."""

from __future__ import annotations

import email
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import cabinet_pdf.plugin
import pytest
from argon2 import PasswordHasher
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_core.storage import DocumentQuery
from cabinet_core.worker import Worker
from cabinet_web.demo import seed
from web_support import make_settings

SYSTEM = Actor.system()


@pytest.fixture
def cabinet(tmp_path: Path) -> Iterator[Cabinet]:
    """The demo's kind of cabinet: SQLite, mail into a folder, offline rates, PDFs."""
    settings = make_settings(tmp_path, mailer="folder", rate_provider="offline")
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_pdf.plugin]) as cab:
        cab.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        cab.migrate()
        yield cab


def _wait_for_mail(folder: Path, to: str, timeout: float = 20.0) -> list[Path]:
    """The .eml files to ``to`` once one is there (the worker runs in its own thread; the demo's
    submitted cost invoices also e-mail the accountant a notification)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*.eml")) if folder.exists() else []
        found = [
            path
            for path in found
            if email.message_from_bytes(path.read_bytes(), policy=default)["To"] == to
        ]
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no mail in {folder} after {timeout} s")


def test_the_demo_seed_has_every_state_the_guide_shows(cabinet: Cabinet, tmp_path: Path) -> None:
    seed(cabinet, tmp_path)
    kowalski = next(c for c in cabinet.clients.list(SYSTEM) if c.nip == "5250000110")
    assert kowalski.id is not None
    assert {a.currency for a in kowalski.bank_accounts} == {"PLN", "EUR"}
    counterparties = cabinet.counterparties.list(SYSTEM, kowalski.id).items
    assert all(cp.email.endswith(".example.com") for cp in counterparties)
    documents = cabinet.documents.list(SYSTEM, DocumentQuery(client_ids=(kowalski.id,))).items
    kinds = {(d.doc_type, d.status, d.currency) for d in documents}
    assert {
        ("cost_invoice", "submitted", "EUR"),
        ("cost_invoice", "submitted", "PLN"),
        ("proforma", "issued", "PLN"),
        ("vat_invoice", "issued", "PLN"),
        ("vat_invoice", "draft", "EUR"),
    } == kinds
    eur_cost = next(d for d in documents if d.doc_type == "cost_invoice" and d.currency == "EUR")
    assert eur_cost.totals is not None and eur_cost.totals.vat_pln is not None


def test_the_worker_writes_a_sent_invoice_into_the_mail_folder(
    cabinet: Cabinet, tmp_path: Path
) -> None:
    seed(cabinet, tmp_path)
    issued = next(
        d
        for d in cabinet.documents.list(SYSTEM, DocumentQuery()).items
        if d.doc_type == "vat_invoice" and d.status == "issued"
    )
    assert issued.id is not None and issued.buyer is not None
    cabinet.invoicing.send(SYSTEM, issued.id)
    folder = cabinet.settings.mail_dir
    assert not list(folder.glob("*.eml")) if folder.exists() else True  # only queued so far
    with Worker(cabinet).in_thread(idle_sleep=0.02) as runner:
        [path] = _wait_for_mail(folder, issued.buyer.email)
    assert not runner.is_alive()  # stopped on leaving the block
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == issued.buyer.email
    attachments = [part.get_content_type() for part in message.iter_attachments()]
    assert "application/pdf" in attachments
