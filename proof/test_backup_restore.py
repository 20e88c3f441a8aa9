"""A backup made as docs/operations.md says restores into a fresh place with everything in it.

A cabinet with the demo's clients, users and documents, an issued invoice and a PDF attached to
a draft is backed up by ``deploy/backup.sh`` while it is open, restored by ``deploy/restore.sh``
into a new data directory (and, on PostgreSQL, a new empty database), brought current with
``cabinet migrate``, and opened again: the same documents with the same numbers and totals, the
attachment's bytes (checked against their digest), the issued invoice's PDF rendered with its
number, and the users able to sign in with their passwords. Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cabinet_core import Cabinet, Settings
from cabinet_core.entities import Actor, Document
from cabinet_core.printing import render
from cabinet_core.storage.queries import DocumentQuery
from cabinet_core.testing.databases import (
    in_ci,
    postgres_server,
    postgres_unreachable,
    throwaway_database,
)
from cabinet_web.demo import LOGINS_FILE, seed
from pypdf import PdfReader

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SYSTEM = Actor.system()
# The smallest PDF the attachment check accepts: a header and an end-of-file marker.
ATTACHED = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest) -> Iterator[tuple[str | None, str | None]]:
    """``(source URL, target URL)``: ``None`` is the SQLite file in the data directory."""
    if request.param == "sqlite":
        yield None, None
        return
    server = postgres_server()
    problem = postgres_unreachable(server)
    if problem is not None:
        if in_ci():
            pytest.fail(problem)
        pytest.skip(problem)
    with (
        throwaway_database(server, prefix="cabinet_backup") as source,
        throwaway_database(server, prefix="cabinet_restore") as target,
    ):
        yield source, target


def _environ(data_dir: Path, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABINET_")}
    env["CABINET_DATA_DIR"] = str(data_dir)
    if url is not None:
        env["CABINET_DATABASE_URL"] = url
    # backup.sh records `cabinet --version`; this workspace's cabinet is next to its Python.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHON"] = sys.executable
    return env


def _script(name: str, argument: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "deploy" / name), str(argument)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _documents(cabinet: Cabinet) -> list[Document]:
    return list(cabinet.documents.list(SYSTEM, DocumentQuery(limit=1000, order="id")).items)


def _summary(documents: list[Document]) -> list[tuple[object, ...]]:
    return [
        (d.id, d.doc_type, d.status, d.number, d.client_id, d.totals.gross if d.totals else None)
        for d in documents
    ]


def _issued_pdf_text(cabinet: Cabinet, document: Document) -> str:
    client = cabinet.clients.get(SYSTEM, document.client_id)
    rendered = render(cabinet, document, client)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered.content)).pages)


def test_backup_and_restore_into_a_fresh_place(
    tmp_path: Path, databases: tuple[str | None, str | None]
) -> None:
    source_url, target_url = databases
    source_dir, target_dir, backup = tmp_path / "source", tmp_path / "target", tmp_path / "backup"
    source_dir.mkdir()

    with Cabinet(Settings(data_dir=source_dir, database_url=source_url)) as cabinet:
        cabinet.migrate()
        seed(cabinet, source_dir)
        documents = _documents(cabinet)
        issued = next(d for d in documents if d.doc_type == "vat_invoice" and d.number)
        draft = next(d for d in documents if d.doc_type == "vat_invoice" and d.status == "draft")
        assert draft.id is not None
        attachment = cabinet.attachments.add(SYSTEM, draft.id, filename="umowa.pdf", data=ATTACHED)
        before = _summary(_documents(cabinet))
        assert issued.number is not None
        assert issued.number in _issued_pdf_text(cabinet, issued)

        # The cabinet stays open: the backup is taken while it runs.
        made = _script("backup.sh", backup, _environ(source_dir, source_url))
        assert made.returncode == 0, made.stderr
    expected = {"files.tar", "versions.txt"}
    expected.add("cabinet.pgdump" if source_url else "cabinet.sqlite3")
    assert {path.name for path in backup.iterdir()} == expected
    assert (backup / "versions.txt").read_text().startswith("cabinet-core ")

    target_env = _environ(target_dir, target_url)
    restored = _script("restore.sh", backup, target_env)
    assert restored.returncode == 0, restored.stderr
    assert "now run: cabinet migrate" in restored.stdout
    migrate = subprocess.run(
        [str(Path(sys.executable).with_name("cabinet")), "migrate"],
        env=target_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "database is up to date" in migrate.stdout

    with Cabinet(Settings(data_dir=target_dir, database_url=target_url)) as cabinet:
        assert _summary(_documents(cabinet)) == before
        assert attachment.id is not None
        stored, data = cabinet.attachments.open(SYSTEM, attachment.id)
        assert (stored.filename, data) == ("umowa.pdf", ATTACHED)
        text = _issued_pdf_text(cabinet, cabinet.documents.get(SYSTEM, issued.id or 0))
        assert issued.number in text
        logins = json.loads((source_dir / LOGINS_FILE).read_text(encoding="utf-8"))
        email, password = next(iter(logins.items()))
        assert cabinet.users.authenticate(email, password).email == email

    # Restoring again never overwrites what is there.
    again = _script("restore.sh", backup, target_env)
    assert again.returncode == 2
    assert "fresh place" in again.stderr
