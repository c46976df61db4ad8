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
from registry.crypto import CannotOpen, open_field
from registry.models import CaseMapping, Report, SealedField
from registry.records.access import data_key_for, find_report
from registry.records.authorship import SubmitterKey, key_from_record
from registry.records.integrity import Damage, record_damage
from registry.records.messages import MessageView, read_as_staff
from registry.records.texts import texts_of
from registry.records.vocabulary import ANSWERS, CONTACT, NARRATIVE, TEXT_FIELDS, rationale_field
from registry.review.notes import NoteView, read_notes


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
    texts, signer = _open_texts(db, report, dek, damage)
    narrative = texts.pop(NARRATIVE)
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
        messages=read_as_staff(db, report, dek, damage, signer=signer),
        answers=texts,
        attachments=list_for_staff(db, report, dek, damage, signer=signer),
        notes=read_notes(db, report, dek, damage),
    )
    record_damage(db, public_id, account_id, damage)
    return replace(view, damaged=tuple(damage.parts))


def _open_texts(
    db: Session, report: Report, dek: bytes, damage: Damage
) -> tuple[dict[str, str | None], SubmitterKey]:
    """The narrative, every sealed answer and the contact, by text name, in one query.

    Reads both layouts: the one ``answers`` record of new reports and the
    row per text of older ones (registry.records.texts).  The submitter's
    verify key comes from the same opened record, for every message and
    file of the case, so the record is opened once per page.
    """
    rows = db.execute(
        select(SealedField.name, SealedField.ciphertext).where(
            SealedField.report_id == report.id, SealedField.name.in_(TEXT_FIELDS)
        )
    )
    texts: dict[str, str | None] = {}
    record: bytes | None = None
    has_record = False
    for name, ciphertext in rows:
        try:
            plaintext = open_field(dek, ciphertext, report_id=report.public_id, field=name)
            if name == ANSWERS:
                has_record, record = True, plaintext
            texts.update(texts_of(name, plaintext))
        except CannotOpen:
            if name != ANSWERS:
                damage.note(name if name == NARRATIVE else "answer")
                texts[name] = None
                continue
            # WHY the narrative and the answers both: the record holds them
            # all, and which answers it held is exactly what it hides.  The
            # contact's existence is plain (the consent), so it shows as
            # damaged too rather than silently missing.
            has_record, record = True, None
            damage.note(NARRATIVE)
            damage.note("answer")
            texts[NARRATIVE] = None
            if report.consent_contact == "contact":
                texts[CONTACT] = None
    if NARRATIVE not in texts:
        # Every report is stored with a narrative: without its row (or the
        # record) somebody removed it, which is damage, not an empty account.
        damage.note(NARRATIVE)
        texts[NARRATIVE] = None
    signer = key_from_record(
        record, has_record=has_record, narrative_opened=texts[NARRATIVE] is not None
    )
    return texts, signer
