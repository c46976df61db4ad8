"""Links from cases to the reform proposals they support."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, RowId, UTCDateTime, utcnow


class Strength(StrEnum):
    """How strongly a case supports a proposal."""

    ILLUSTRATES = "illustrates"
    STRONG = "strong"


class CaseMapping(Base):
    """A case mapped to a proposal.  The rationale is sealed under the DEK."""

    __tablename__ = "case_mappings"
    # A proposal's cases as (code, report id) alone: the queue lists the
    # reports of a proposal few cases support from it, without reading the
    # rows and their sealed rationales (registry.review.queue, 0011).
    __table_args__ = (Index("ix_case_mappings_proposal_code", "proposal_code", "report_id"),)

    report_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    proposal_code: Mapped[str] = mapped_column(
        ForeignKey("reform_proposals.code"), primary_key=True
    )
    strength: Mapped[str] = mapped_column(String(16))
    sealed_rationale: Mapped[bytes]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
