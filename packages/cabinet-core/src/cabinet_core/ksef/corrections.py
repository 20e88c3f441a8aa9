"""A correction names its original's KSeF number (FA(3) ``DaneFaKorygowanej``).

``NrKSeF=1`` with ``NrKSeFFaKorygowanej`` when the original has a KSeF number (typed into the
correction, or the original's accepted submission); ``NrKSeFN=1`` only when the original truly
never went to KSeF (no submission: issued before the client used KSeF). An original still on its
way (queued, sent, offline, rejected) has no number yet: the correction cannot be written.
"""

from __future__ import annotations

import attrs

from cabinet_core.entities import Document
from cabinet_core.errors import N_, FieldError
from cabinet_core.ksef.submission import KsefState, KsefSubmission

__all__ = ["CORRECTED_KSEF_NUMBER", "OriginalInKsef", "with_original_ksef_number"]

#: The correction's ``extra`` field the FA(3) writer reads the original's KSeF number from.
CORRECTED_KSEF_NUMBER = "corrected_ksef_number"


@attrs.frozen(kw_only=True)
class OriginalInKsef:
    """The corrected invoice (the correction's ``related_id``) and its KSeF submission."""

    document_id: int
    submission: KsefSubmission | None


def with_original_ksef_number(
    document: Document, original: OriginalInKsef
) -> tuple[Document, list[FieldError]]:
    """``document`` (a correction) with its original's KSeF number filled in, or the problem
    that keeps it from being written yet."""
    typed = str(document.extra.get(CORRECTED_KSEF_NUMBER) or "").strip()
    if typed:
        return document, []
    submission = original.submission
    if submission is None:
        # The original never went to KSeF: NrKSeFN=1 is the truth.
        return document, []
    if submission.state is KsefState.ACCEPTED and submission.ksef_number:
        extra = {**document.extra, CORRECTED_KSEF_NUMBER: submission.ksef_number}
        return attrs.evolve(document, extra=extra), []
    return document, [
        FieldError(
            field=f"extra.{CORRECTED_KSEF_NUMBER}",
            code="original_pending",
            message=N_(
                "The corrected invoice has no KSeF number yet: this correction can be sent "
                "once KSeF has accepted it."
            ),
        )
    ]
