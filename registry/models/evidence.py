"""Published evidence: snapshots of protected figures and public case summaries.

Everything here is plain by design: it is written to be published.  A
snapshot's figures come from plain columns of verified cases, already
protected (small cells suppressed) when stored; a summary is a reviewer's
text written for publication, never the submitter's own words.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, RowId, random_row_id


class EvidenceSnapshot(Base):
    """One published snapshot: its protected figures, frozen.

    Immutable once inserted (no code path updates a row): the public pages
    and downloads answer from ``payload`` alone, and ``digest`` is their
    ETag, so a published figure never changes under a reader.  Public pages
    never show live counts: a watcher could tie a change to a known arrest.
    """

    __tablename__ = "evidence_snapshots"

    # Random like every other row id (see random_row_id); ``number`` is the
    # public order.
    id: Mapped[int] = mapped_column(RowId, primary_key=True, default=random_row_id)
    # 1, 2, 3…: the public name of the snapshot, in its download URLs.
    number: Mapped[int] = mapped_column(unique=True)
    # Day only: a time would date the publication finer than needed.
    published_on: Mapped[date]
    # The suppression threshold the figures were protected with.
    k: Mapped[int]
    # The payload as JSON ("sviedka-evidence-v1", registry/evidence/snapshots.py).
    payload: Mapped[str] = mapped_column(Text)
    # sha256 hex of ``payload``: the ETag of every page and download built from it.
    digest: Mapped[str] = mapped_column(String(64))
    published_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))


@event.listens_for(EvidenceSnapshot, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: EvidenceSnapshot) -> None:
    """Refuse to change a published snapshot through the ORM.

    WHY: its figures were protected against the snapshot before it and read
    by the public under its digest; a changed payload would publish a
    difference nobody audited.  (Its summaries are deleted row by row, in
    ``snapshot_summaries``, which this does not touch.)
    """
    raise ValueError(f"snapshot {target.number} is published and cannot change")


class CaseSummary(Base):
    """A case's public summary, written by one key holder and approved by another.

    Only for cases whose submitter consented to publication
    (``reports.consent_publish``); deleted at once when the report is
    withdrawn (cascade) or the consent is taken back.  Plain: the text is
    written for publication, with no exact date, no place finer than the
    region and no names (registry/evidence/summaries.py checks).
    """

    __tablename__ = "case_summaries"

    # Random: the order summaries were written in says nothing (see random_row_id).
    id: Mapped[int] = mapped_column(RowId, primary_key=True, default=random_row_id)
    report_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), unique=True
    )
    # At most 1,500 characters (checked by the summaries service).
    text: Mapped[str] = mapped_column(Text)
    written_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    # Day only, like every other staff date kept with a case.
    written_on: Mapped[date]
    # Four eyes: a second key holder, never the writer, approves.
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    approved_on: Mapped[date | None]


class SnapshotSummary(Base):
    """An approved summary as published in one snapshot.

    Copied at publication; the only change a published snapshot ever sees
    is the deletion of these rows when the case is withdrawn (cascade) or
    its publication consent is taken back.  ``report_id`` is an internal
    link for that deletion only and is never shown.
    """

    __tablename__ = "snapshot_summaries"
    __table_args__ = (UniqueConstraint("snapshot_id", "report_id"),)

    # Random: ids must not order the published summaries by case or by time.
    id: Mapped[int] = mapped_column(RowId, primary_key=True, default=random_row_id)
    snapshot_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("evidence_snapshots.id", ondelete="CASCADE")
    )
    report_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    # A "regions" vocabulary code, or None when the case has none.
    region: Mapped[str | None] = mapped_column(String(32))
    # Year only ("2021"), or "unknown": a month would narrow the case down.
    period: Mapped[str] = mapped_column(String(7))
    # JSON list of the proposal codes the case supports.
    proposals: Mapped[str] = mapped_column(Text)
