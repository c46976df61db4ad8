"""What the case page says about a case's retention (plain facts, no key needed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Report
from registry.retention.rules import Rules


@dataclass(frozen=True)
class RetentionState:
    """A case's retention: deleted, held, scheduled or kept while open."""

    # The day the sealed content was deleted (then nothing else applies).
    purged_on: date | None
    # The first day the content may be deleted; None while the case is open.
    deletion_day: date | None
    # Months after closing that apply to this case (its disposition's).
    months: int
    # An active hold: its last day and reason (None when there is none).
    held_until: date | None = None
    reason: str | None = None


def state_of(report: Report, rules: Rules, today: date) -> RetentionState:
    """The retention of ``report`` as of ``today``.

    The hold comes through ``report.hold``: loaded with the report where the
    case page opens it (registry.records.access.open_report), else one query.
    """
    hold = report.hold
    active = hold is not None and hold.until >= today
    return RetentionState(
        purged_on=report.purged_on,
        deletion_day=rules.deletion_day(report),
        months=rules.months_for(report),
        held_until=hold.until if hold is not None and active else None,
        reason=hold.reason if hold is not None and active else None,
    )


def purged_report(db: Session, public_id: str) -> Report | None:
    """The report ``public_id`` if retention deleted its sealed content, else None."""
    return db.scalar(
        select(Report).where(Report.public_id == public_id, Report.purged_on.is_not(None))
    )
