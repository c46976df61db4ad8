"""Reading cases: the case page from sealed fields (the queue is registry.review.queue).

Opening a case needs the reviewer's private key and a key wrap addressed to
that reviewer.  Without the wrap the data key cannot be unwrapped, so the
refusal is cryptographic, not only a check in a view (promise 6).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from registry import audit
from registry.attachments.service import AttachmentView, list_for_staff
from registry.crypto import CannotOpen, open_field
from registry.models import CaseMapping, Report, SealedField
from registry.records.access import NoAccess, open_report
from registry.records.authorship import SubmitterKey, key_from_record
from registry.records.integrity import Damage, record_damage
from registry.records.messages import MessageView, read_as_staff
from registry.records.texts import texts_of
from registry.records.vocabulary import (
    ANSWERS,
    CONTACT,
    INBOX_KEY,
    NARRATIVE,
    TEXT_FIELDS,
    rationale_field,
)
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
    # False when the case is known to have no link (records.access.Present).
    linked: bool = True


# Built once (registry.records.access says why).
_TEXTS_AND_INBOX = select(SealedField).where(
    SealedField.report_id == bindparam("report_id"),
    SealedField.name.in_((*TEXT_FIELDS, INBOX_KEY)),
)
_MAPPINGS = (
    select(CaseMapping)
    .where(CaseMapping.report_id == bindparam("report_id"))
    .order_by(CaseMapping.proposal_code)
)


def open_case(db: Session, public_id: str, account_id: int, private_key: bytes) -> CaseView:
    """Open every sealed part of a case the reviewer holds a key for.

    A part that fails its integrity check is shown as damaged (``None``)
    and audited; every other part still opens (promise 10).

    Every opening is an event (promise 7), appended here in the caller's
    transaction; the caller commits before anything opened leaves the
    server, so a page is shown only if its event is stored.  WHY the event
    comes last, after the parts are opened: appending takes the chain
    lock (registry.audit) until that commit, and every case opening and
    change waits for it.  Opening first holds the lock for the append and
    the commit only, not for a dozen queries and the decryption besides.
    """
    return record_opening(db, read_case(db, public_id, account_id, private_key), account_id)


def read_case(db: Session, public_id: str, account_id: int, private_key: bytes) -> CaseView:
    """:func:`open_case` without its event: :func:`record_opening` must follow.

    For a caller with more to read in the same transaction (the case page):
    it reads that between the two, so the chain lock is still taken last
    and the page's reads and its event share one transaction.  Nothing
    read here may leave the server before :func:`record_opening` and the
    commit.
    """
    report, dek, present = open_report(db, public_id, account_id, private_key)
    damage = Damage()
    # The texts' rows and the inbox key's row in one query.  Held until the
    # case is read: the messages and files look the inbox key up by primary
    # key, which the session answers from its identity map without another
    # query, but that map keeps only the rows something still refers to.
    fields = list(db.scalars(_TEXTS_AND_INBOX, {"report_id": report.id}))
    texts, signer = _open_texts(report, fields, dek, damage)
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
        for m in (db.scalars(_MAPPINGS, {"report_id": report.id}) if present.mappings else ())
    ]
    view = CaseView(
        report=report,
        narrative=narrative,
        violations=[v.code for v in report.violations],
        mappings=mappings,
        messages=read_as_staff(
            db, report, dek, damage, signer=signer, any_messages=present.messages
        ),
        answers=texts,
        attachments=(
            list_for_staff(db, report, dek, damage, signer=signer) if present.attachments else []
        ),
        notes=read_notes(db, report, dek, damage) if present.notes else [],
        linked=present.links,
    )
    return replace(view, damaged=tuple(damage.parts))


def record_opening(db: Session, case: CaseView, account_id: int) -> CaseView:
    """Append the event of opening ``case`` (read by :func:`read_case`), and of its damage.

    The caller commits.  Raises :class:`NoAccess` when the report was
    withdrawn while it was read (its parts then failed rightly).
    """
    report, public_id = case.report, case.report.public_id
    damage = Damage()
    for part in case.damaged:
        damage.note(part)
    if damage.parts:
        # A part that did not open is audited as damage: somebody changed
        # the database.  Unless the submitter withdrew the report while it
        # was read, which removes its parts rightly.  Under the chain lock,
        # a withdrawal has either committed (the report is gone: answer as
        # if it was gone before, with no event) or waits for this
        # transaction (it appends its own event first, registry.followup).
        audit.lock_chain(db)
        if db.scalar(select(Report.id).where(Report.id == report.id)) is None:
            raise NoAccess()
    audit.record(
        db, actor=audit.account_actor(account_id), action="case.opened", report_ref=public_id
    )
    record_damage(db, public_id, account_id, damage)
    return case


def _open_texts(
    report: Report, fields: list[SealedField], dek: bytes, damage: Damage
) -> tuple[dict[str, str | None], SubmitterKey]:
    """The narrative, every sealed answer and the contact, by text name.

    ``fields`` are the report's sealed rows of :data:`TEXT_FIELDS` (others
    are left alone).  Reads both layouts: the one ``answers`` record of new
    reports and the row per text of older ones (registry.records.texts).
    The submitter's verify key comes from the same opened record, for every
    message and file of the case, so the record is opened once per page.
    """
    rows = [(f.name, f.ciphertext) for f in fields if f.name in TEXT_FIELDS]
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
