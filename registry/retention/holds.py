"""A coordinator's hold: a case's sealed content is kept past its deletion day.

Holding is triage: it needs the coordinator role and the case's key, like
granting access (registry.review.triage), so nobody who cannot open a case
decides how long it is kept.  Every hold and release is an audit event whose
detail is the hold's last day; the reason is never in the log (the log keeps
codes only, and a reason may say more than a code).
"""

from __future__ import annotations

import unicodedata
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import audit
from registry.models import Account, Report, RetentionHold, Role
from registry.records.access import NoAccess, data_key_for
from registry.retention.rules import add_months

HELD = "case.hold"
RELEASED = "case.hold-released"
REASON_MAX = 300
# A hold ends at most this many months ahead: a hold is a decision about
# one case to be looked at again, never a way to keep it for good.
LONGEST_MONTHS = 60


class HoldError(ValueError):
    """A hold that breaks a rule; ``field`` names the form field ("reason", "until")."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def current_hold(db: Session, report: Report) -> RetentionHold | None:
    """The case's hold, if it has one (expired or not)."""
    return db.scalar(select(RetentionHold).where(RetentionHold.report_id == report.id))


def hold(
    db: Session,
    report: Report,
    *,
    account_id: int,
    private_key: bytes,
    reason: str,
    until: date | None,
    today: date,
) -> RetentionHold:
    """Hold the case through ``until`` (coordinators with the case key only).

    Replaces an earlier hold of the case.  ``reason`` is 1 to 300
    characters without control characters; ``until`` lies after ``today``
    and at most five years ahead.
    """
    _check_coordinator(db, report, account_id, private_key)
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX or _has_control(reason):
        raise HoldError("reason")
    if until is None or not today < until <= add_months(today, LONGEST_MONTHS):
        raise HoldError("until")
    row = current_hold(db, report) or RetentionHold(report_id=report.id)
    row.reason, row.until, row.set_on, row.set_by = reason, until, today, account_id
    db.add(row)
    audit.record(
        db,
        actor=audit.account_actor(account_id),
        action=HELD,
        report_ref=report.public_id,
        detail=until.isoformat(),
    )
    return row


def release(
    db: Session, report: Report, *, account_id: int, private_key: bytes
) -> RetentionHold | None:
    """End the case's hold now (coordinators with the case key only); the released hold, or None."""
    _check_coordinator(db, report, account_id, private_key)
    row = current_hold(db, report)
    if row is None:
        return None
    db.delete(row)
    audit.record(
        db,
        actor=audit.account_actor(account_id),
        action=RELEASED,
        report_ref=report.public_id,
        detail=row.until.isoformat(),
    )
    return row


def _check_coordinator(db: Session, report: Report, account_id: int, private_key: bytes) -> None:
    # The role first, then the key (as registry.review.triage.grant): a
    # reviewer, or a coordinator without the case key, gets NoAccess, which
    # the views answer as they answer every case a person cannot change.
    account = db.get(Account, account_id)
    if account is None or account.role != Role.COORDINATOR.value:
        raise NoAccess()
    data_key_for(db, report, account_id, private_key)


def _has_control(text: str) -> bool:
    # Control and format characters (line breaks, bidi overrides, zero
    # widths) could disguise the reason on another person's page.
    return any(unicodedata.category(char).startswith("C") for char in text)
