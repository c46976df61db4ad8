"""Links between reports: the same incident, perpetrator, or a duplicate."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, RowId, UTCDateTime, utcnow


class LinkKind(StrEnum):
    """Why two reports belong together."""

    SAME_INCIDENT = "same-incident"
    SAME_PERPETRATOR = "same-perpetrator"
    DUPLICATE = "duplicate"


class ReportLink(Base):
    """An undirected link; stored once with the smaller report id first.

    Plain, like the other triage columns: it says two cases are related,
    never why in words (that belongs in a sealed note).
    """

    __tablename__ = "report_links"
    __table_args__ = (
        UniqueConstraint("report_id", "other_id", "kind"),
        CheckConstraint("report_id < other_id", name="ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(RowId, ForeignKey("reports.id", ondelete="CASCADE"))
    other_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
