"""Reading cases: the case page from sealed fields (the queue is registry.review.queue).

Opening a case needs the reviewer's private key and a key wrap addressed to
that reviewer.  Without the wrap the data key cannot be unwrapped, so the
refusal is cryptographic, not only a check in a view (promise 6).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import audit
from registry.attachments.service import AttachmentView, list_for_staff
from registry.crypto import CannotOpen, open_field, unwrap_data_key
from registry.intake.service import CONTACT, NARRATIVE, SEALED_ANSWERS
from registry.integrity import Damage, record_damage
from registry.messages import MessageView, read_as_staff
from registry.models import CaseMapping, KeyWrap, Report, SealedField
from registry.review.notes import NoteView, read_notes


class NoAccess(Exception):
    """The reviewer holds no key for this report (or it does not exist)."""


def find_report(db: Session, public_id: str) -> Report:
    """The report with ``public_id``, else :class:`NoAccess`."""
    report = db.scalars(select(Report).where(Report.public_id == public_id)).first()
    if report is None:
        raise NoAccess()
    return report


def data_key_for(db: Session, report: Report, account_id: int, private_key: bytes) -> bytes:
    """Unwrap the report's data key with the reviewer's private key."""
    wrap = db.scalars(
        select(KeyWrap).where(KeyWrap.report_id == report.id, KeyWrap.account_id == account_id)
    ).first()
    if wrap is None:
        raise NoAccess()
    try:
        return unwrap_data_key(wrap.wrapped, private_key, report_id=report.public_id)
    except CannotOpen:
        raise NoAccess() from None


@dataclass(frozen=True)
class MappingView:
    """A proposal a case supports, with its opened rationale."""

    proposal_code: str
    strength: str
    # None: the sealed rationale failed its integrity check.
    rationale: str | None


@dataclass(frozen=True)
class CaseView:
    """Everything the case page shows, decrypted for this request only."""

    report: Report
    # None: the narrative failed its integrity check.
    narrative: str | None
    violations: list[str]
    mappings: list[MappingView]
    messages: list[MessageView]
    # Opened answers to the sealed questions, by field name (None: damaged).
    answers: dict[str, str | None]
    attachments: list[AttachmentView]
    notes: list[NoteView]
    # Kinds of the parts that failed their integrity check (see review.integrity).
    damaged: tuple[str, ...] = ()


def rationale_field(proposal_code: str) -> str:
    """Sealed-field name binding a rationale to its proposal."""
    return f"rationale:{proposal_code}"


def open_case(db: Session, public_id: str, account_id: int, private_key: bytes) -> CaseView:
    """Open every sealed part of a case the reviewer holds a key for.

    A part that fails its integrity check is shown as damaged (``None``)
    and audited; every other part still opens (promise 10).
    """
    report = find_report(db, public_id)
    dek = data_key_for(db, report, account_id, private_key)
    # Every opening of sealed content is an event (promise 7); the caller commits.
    audit.record(
        db, actor=audit.account_actor(account_id), action="case.opened", report_ref=public_id
    )
    damage = Damage()
    texts = _open_texts(db, report, dek, damage)
    narrative = texts.pop(NARRATIVE, None)
    if narrative is None and NARRATIVE not in damage.parts:
        narrative = ""
    mappings = [
        MappingView(
            proposal_code=m.proposal_code,
            strength=m.strength,
            rationale=damage.text(
                "rationale",
                partial(
                    open_field,
                    dek,
                    m.sealed_rationale,
                    report_id=public_id,
                    field=rationale_field(m.proposal_code),
                ),
            ),
        )
        for m in db.scalars(
            select(CaseMapping)
            .where(CaseMapping.report_id == report.id)
            .order_by(CaseMapping.proposal_code)
        )
    ]
    view = CaseView(
        report=report,
        narrative=narrative,
        violations=[v.code for v in report.violations],
        mappings=mappings,
        messages=read_as_staff(db, report, dek, damage),
        answers=texts,
        attachments=list_for_staff(db, report, dek),
        notes=read_notes(db, report, dek, damage),
    )
    record_damage(db, public_id, account_id, damage)
    return replace(view, damaged=tuple(damage.parts))


def _open_texts(
    db: Session, report: Report, dek: bytes, damage: Damage
) -> dict[str, str | None]:
    """The narrative and every sealed answer, by field name, in one query."""
    names = (NARRATIVE, *SEALED_ANSWERS, CONTACT)
    rows = db.scalars(
        select(SealedField).where(SealedField.report_id == report.id, SealedField.name.in_(names))
    )
    return {
        row.name: damage.text(
            row.name if row.name == NARRATIVE else "answer",
            partial(open_field, dek, row.ciphertext, report_id=report.public_id, field=row.name),
        )
        for row in rows
    }
