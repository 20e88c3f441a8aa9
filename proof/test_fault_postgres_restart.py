"""PostgreSQL restarted while the cabinet writes: nothing half-saved, numbering stays gapless,
the outage is a clear "try again" (503) rather than a server error, and the cabinet recovers by
itself once the database is back.

The test starts its own PostgreSQL cluster (``initdb`` as the ``postgres`` system user, on a free
port) so that stopping it disturbs nobody else's tests on this machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from cabinet_core import Cabinet, Settings
from cabinet_core.entities import Actor, Client, Document, DocumentLine, Party, Role
from cabinet_core.errors import CabinetError, Unavailable
from cabinet_core.storage import schema as t
from cabinet_web.app import create_app
from starlette.testclient import TestClient

SYSTEM = Actor.system()
BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Cluster:
    """A throwaway PostgreSQL cluster owned by the ``postgres`` system user."""

    def __init__(self, root: Path) -> None:
        assert BIN is not None
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def init(self) -> None:
        self._as_postgres(
            str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if BIN is None or shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL's server binaries and root to run them as postgres")
    # Not under pytest's tmp_path: its parents are root's alone, and postgres must reach it.
    root = Path(tempfile.mkdtemp(prefix="cabinet-pg-restart-"))
    shutil.chown(root, "postgres")
    cluster = Cluster(root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()  # already stopped when a test failed mid-outage
        shutil.rmtree(root, ignore_errors=True)


def _invoice(client_id: int, n: int) -> Document:
    return Document(
        client_id=client_id,
        doc_type="vat_invoice",
        issue_date=date.today(),
        buyer=Party(name="Odbiorca Sp. z o.o.", nip="7740001454"),
        lines=(DocumentLine(name=f"Usługa {n}", unit_price=Decimal("100.00")),),
    )


def test_a_restart_during_writes_loses_nothing_and_heals(cluster: Cluster, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=cluster.url, secret_key="restart-" + "s" * 40
    )
    with Cabinet(settings) as cabinet:
        cabinet.migrate()
        client = cabinet.clients.create(SYSTEM, Client(name="Firma sp. z o.o."))
        assert client.id is not None
        user = cabinet.users.create(
            SYSTEM,
            email="c@restart.pl",
            name="C",
            role=Role.CLIENT,
            client_id=client.id,
            password="restart-password-9",
        )
        _, token = cabinet.tokens.create(Actor.of(user), name="probe")
        api = {"Authorization": f"Bearer {token}"}

        created: list[int] = []
        issued: list[int] = []
        refusals: list[BaseException] = []
        stop = threading.Event()

        def write() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    doc = cabinet.documents.create(SYSTEM, _invoice(client.id or 0, n))
                    assert doc.id is not None
                    created.append(doc.id)
                    cabinet.documents.transition(SYSTEM, doc.id, "issue")
                    issued.append(doc.id)
                except CabinetError as exc:
                    if not isinstance(exc, Unavailable):
                        raise
                    refusals.append(exc)
                    time.sleep(0.05)
                except BaseException as exc:  # anything else is a defect: record and stop
                    refusals.append(exc)
                    raise

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        with TestClient(create_app(cabinet)) as web:
            while len(issued) < 15:
                time.sleep(0.05)
            cluster.stop()
            down = web.get("/api/v1/documents", headers=api)
            time.sleep(1.0)
            cluster.start()
            before = len(issued)
            deadline = time.monotonic() + 60
            while len(issued) < before + 15 and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            writer.join(timeout=30)
            up = web.get("/api/v1/documents", headers=api)

        unexpected = [exc for exc in refusals if not isinstance(exc, Unavailable)]
        assert not unexpected, unexpected
        assert refusals, "the writer never met the outage"
        # The outage is a "try again shortly" for programs, not a server error …
        assert down.status_code == 503, down.text
        assert down.headers["content-type"].startswith("application/problem+json")
        assert "Retry-After" in down.headers
        # … and the cabinet heals by itself: no restart of the cabinet was needed.
        assert len(issued) >= before + 15, "writes did not resume after the restart"
        assert up.status_code == 200

        engine = cabinet.store.engine
        with engine.connect() as connection:
            documents = connection.execute(
                sa.select(t.documents.c.id, t.documents.c.number, t.documents.c.status)
            ).all()
            lines = dict(
                connection.execute(
                    sa.select(t.document_lines.c.document_id, sa.func.count()).group_by(
                        t.document_lines.c.document_id
                    )
                ).all()
            )
            created_messages = dict(
                connection.execute(
                    sa.select(t.outbox.c.entity_id, sa.func.count())
                    .where(t.outbox.c.topic == "document.created")
                    .group_by(t.outbox.c.entity_id)
                ).all()
            )
    # Nothing half-saved: every document has its line and exactly one "created" message, and
    # every document the writer was told exists does.
    ids = {row.id for row in documents}
    assert set(created) <= ids
    assert all(lines.get(row.id) == 1 for row in documents)
    assert all(created_messages.get(row.id) == 1 for row in documents)
    # Numbering stays gapless: the issued numbers of the month are 1..n without a hole.
    numbers = sorted(int(row.number.split("/")[1]) for row in documents if row.number)
    assert numbers == list(range(1, len(numbers) + 1))
    assert set(issued) <= {row.id for row in documents if row.number}
