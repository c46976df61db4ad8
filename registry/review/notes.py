"""Reading the internal notes of a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from registry.crypto import open_field
from registry.models import Account, Note, Report
from registry.records.integrity import Damage
from registry.records.vocabulary import note_field


@dataclass(frozen=True)
class NoteView:
    """An opened note."""

    author: str
    created_at: datetime
    # None: the sealed note failed its integrity check.
    text: str | None


# Built once (registry.records.access says why).
_NOTES = (
    select(Note, Account.email)
    .outerjoin(Account, Account.id == Note.author_id)
    .where(Note.report_id == bindparam("report_id"))
    .order_by(Note.id)
)


def read_notes(db: Session, report: Report, dek: bytes, damage: Damage) -> list[NoteView]:
    """Every note of the case, opened with the report key (damaged ones as ``None``)."""
    rows = db.execute(_NOTES, {"report_id": report.id})
    return [
        NoteView(
            email or "—",
            note.created_at,
            damage.text(
                "note",
                partial(
                    open_field,
                    dek,
                    note.ciphertext,
                    report_id=report.public_id,
                    field=note_field(note.public_id),
                ),
            ),
        )
        for note, email in rows
    ]
