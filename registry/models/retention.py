"""Retention holds and quiet notices: what issue 15 keeps in the database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.models.base import Base, RowId, UTCDateTime


class RetentionHold(Base):
    """A coordinator's hold: the case's sealed content is kept past its retention date.

    One per report.  ``until`` is the day the hold ends (after which the
    retention rules apply again); ``reason`` is a short operational note for
    other key holders ("evidence requested by a lawyer until the appeal"),
    plain like the partner list, which the form says must name nobody.
    """

    __tablename__ = "retention_holds"

    report_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(300))
    until: Mapped[date]
    set_on: Mapped[date]
    set_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))


class Notice(Base):
    """A person's quiet e-mail notice: whether there is activity not yet told.

    One row per account that opted in and had activity at least once.  It
    holds no count, no case and no time of an event: only that *something*
    happened since the last notice (``activity``), the earliest moment the
    next notice may go (``not_before``: the last send plus the quiet period,
    or the backoff after a failed delivery) and how many deliveries failed
    in a row.  Intake and triage only ever set ``activity``; sending is a
    separate job (registry.notices), so a dead mail server slows nothing.
    """

    __tablename__ = "notices"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    activity: Mapped[bool] = mapped_column(default=False)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(default=0)
