"""Declared document-type behaviour: the built-ins' capabilities, and effects that run inside a
workflow move's transaction with the caller's context (``documents.transition(context=)``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest
from cabinet_core import Cabinet, Settings
from cabinet_core.default_document_types import BUILT_IN_TYPES
from cabinet_core.doctypes import BaseDocumentType, State, Transition, Workflow
from cabinet_core.doctypes.effects import EffectContext
from cabinet_core.entities import Actor, Client, Document, Role
from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.printing import view_of

SEEN: list[EffectContext] = []


def remember(ctx: EffectContext) -> Document | None:
    SEEN.append(ctx)
    ctx.record(
        ctx.tx,
        ctx.actor,
        action="memo.remembered",
        entity="document",
        entity_id=ctx.after.id,
        client_id=ctx.after.client_id,
        detail={"message": str(ctx.context.get("message", ""))},
    )
    return None


def refuse(ctx: EffectContext) -> Document | None:
    raise RuntimeError("the archive is closed")


class Memo(BaseDocumentType):
    """A plugin's type with its own effect on ``sign``."""

    key = "memo"
    label: ClassVar = {"pl": "Notatka", "en": "Memo"}
    series_pattern = "MEMO/{seq}/{YYYY}"
    workflow = Workflow(
        states=(
            State(key="draft", label={"pl": "Szkic", "en": "Draft"}, editable=True),
            State(key="signed", label={"pl": "Podpisana", "en": "Signed"}, final=True),
        ),
        transitions=(
            Transition(
                key="sign",
                source=("draft",),
                target="signed",
                roles=frozenset(Role),
                label={"pl": "Podpisz", "en": "Sign"},
                assigns_number=True,
            ),
        ),
    )
    effects: ClassVar = {"sign": (remember,)}


class BrokenMemo(Memo):
    key = "broken_memo"
    effects: ClassVar = {"sign": (remember, refuse)}


class MemoPlugin:
    @hookimpl
    def register_document_types(self, register: Register) -> None:
        register(Memo())
        register(BrokenMemo())


@pytest.fixture
def cabinet(tmp_path: Path):
    SEEN.clear()
    with Cabinet(
        Settings(data_dir=tmp_path), load_entrypoints=False, plugins=[MemoPlugin()]
    ) as cab:
        cab.migrate()
        yield cab


def _draft(cabinet: Cabinet, doc_type: str) -> Document:
    admin = Actor.system()
    client = cabinet.clients.create(admin, Client(name="Żabka Sp. z o.o.", nip="5260250274"))
    return cabinet.documents.create(
        admin, Document(client_id=client.id or 0, doc_type=doc_type, issue_date=date(2026, 11, 27))
    )


def _remembered(cabinet: Cabinet, document: Document) -> list[dict[str, str]]:
    with cabinet.store.transaction(readonly=True) as tx:
        entries = tx.list_audit(entity="document", entity_id=document.id)
    return [dict(e.detail) for e in entries if e.action == "memo.remembered"]


def test_the_built_ins_declare_their_capabilities():
    declared = {
        t.key: (t.ksef_kind, t.split_payment, t.client_is_buyer, t.offer_new)
        for t in (cls() for cls in BUILT_IN_TYPES)
    }
    assert declared == {
        "cost_invoice": (None, False, True, True),
        "proforma": (None, True, False, True),
        "vat_invoice": ("VAT", True, False, True),
        "correcting_invoice": ("KOR", True, False, True),
        "correction_request": (None, False, True, False),
        "contract": (None, False, False, False),
        "bill": (None, False, False, True),
        "cash_report": (None, False, False, False),
    }
    sendable = {t.key: t.sendable_states for t in (cls() for cls in BUILT_IN_TYPES)}
    assert sendable["vat_invoice"] == {"issued", "sent", "paid"}
    assert sendable["contract"] == frozenset()
    proforma = next(cls() for cls in BUILT_IN_TYPES if cls.key == "proforma")
    # A proforma queued on issue still reaches its buyer after it was converted or paid.
    assert proforma.deliverable_states == {"issued", "sent", "converted", "paid"}


def test_an_effect_runs_in_the_move_with_the_callers_context(cabinet):
    draft = _draft(cabinet, "memo")
    signed = cabinet.documents.transition(
        Actor.system(), draft.id or 0, "sign", context={"message": "podpisano"}
    )
    assert signed.number == "MEMO/1/2026"
    [ctx] = SEEN
    assert (ctx.before.status, ctx.after.status, ctx.transition.key) == ("draft", "signed", "sign")
    assert ctx.after.number == "MEMO/1/2026"
    assert ctx.context == {"message": "podpisano"}
    # Its audit entry was written with the move.
    assert _remembered(cabinet, draft) == [{"message": "podpisano"}]


def test_an_effect_that_fails_undoes_the_move(cabinet):
    draft = _draft(cabinet, "broken_memo")
    with pytest.raises(RuntimeError, match="archive is closed"):
        cabinet.documents.transition(Actor.system(), draft.id or 0, "sign")
    again = cabinet.documents.get(Actor.system(), draft.id or 0)
    assert (again.status, again.number) == ("draft", None)
    assert _remembered(cabinet, draft) == []


def test_a_plugin_type_prints_without_an_fa3_file(cabinet):
    draft = _draft(cabinet, "memo")
    client = cabinet.clients.get(Actor.system(), draft.client_id)
    view = view_of(cabinet, draft, client)
    assert (view.fa3, view.fa3_errors, view.draft) == (None, (), True)
    assert view.filename == f"memo-{draft.id}-draft.pdf"
    assert view.ksef_kind is None
