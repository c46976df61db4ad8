"""Correcting a case's plain codes: violation types, place, unit, region, month.

The submitter chose these on the form; a reviewer who has read the account
corrects them, so that the queue filters and the statistics count the case
right.  They are plain columns (docs/sealed-and-plain.md#reports), checked against the same
vocabularies as the form, and the audit event may therefore list them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from registry import audit
from registry.models import Report, ReportViolation
from registry.records.access import data_key_for
from registry.records.vocabulary import MONTH_PATTERN
from registry.review.triage import TriageError
from registry.taxonomy.service import first_unknown

NONE = "none"  # how a cleared code is written in the audit detail (no code is "none")


@dataclass(frozen=True)
class Codes:
    """The codes a reviewer sets; ``None`` clears an optional one."""

    violations: tuple[str, ...]
    region: str
    place: str | None = None
    unit: str | None = None
    # "YYYY-MM", like the form's.
    incident_month: str | None = None


def check_codes(db: Session, codes: Codes) -> None:
    """Raise ``TriageError(field)`` for the first code outside its vocabulary."""
    unknown = first_unknown(
        db,
        (
            ("violations", codes.violations, "violation_types"),
            ("place", (codes.place,) if codes.place else (), "places"),
            ("unit", (codes.unit,) if codes.unit else (), "units"),
            # The region is required: an empty one is not a term either.
            ("region", (codes.region,), "regions"),
        ),
    )
    if unknown is not None:
        raise TriageError(unknown)
    if codes.incident_month is not None and not MONTH_PATTERN.fullmatch(codes.incident_month):
        raise TriageError("incident_month")


def recode(
    db: Session, report: Report, *, account_id: int, private_key: bytes, codes: Codes
) -> list[str]:
    """Set the case's codes; return what changed, as audit items.

    Nothing is changed unless every code is valid.  One ``case.coded`` event
    lists the changes (more than one if they do not fit in one detail).
    """
    # Access first, like every change: without the key nothing is judged.
    data_key_for(db, report, account_id, private_key)
    check_codes(db, codes)
    changes = _apply(report, codes)
    for detail in _details(changes):
        audit.record(
            db,
            actor=audit.account_actor(account_id),
            action="case.coded",
            report_ref=report.public_id,
            detail=detail,
        )
    return changes


def _apply(report: Report, codes: Codes) -> list[str]:
    have = {row.code for row in report.violations}
    want = set(codes.violations)
    changes = [f"violation+:{code}" for code in sorted(want - have)]
    changes += [f"violation-:{code}" for code in sorted(have - want)]
    # Only the difference is written: unchanged rows stay as they are.
    for row in [row for row in report.violations if row.code not in want]:
        report.violations.remove(row)
    report.violations.extend(ReportViolation(code=code) for code in sorted(want - have))
    for name, old, new in (
        ("place", report.place, codes.place),
        ("unit", report.unit, codes.unit),
        ("region", report.region, codes.region),
        ("month", report.incident_month, codes.incident_month),
    ):
        if old != new:
            changes.append(f"{name}:{new or NONE}")
    report.place, report.unit = codes.place, codes.unit
    report.region, report.incident_month = codes.region, codes.incident_month
    return changes


def _details(changes: list[str]) -> list[str]:
    """The changes joined with commas, in details of at most ``audit.DETAIL_MAX``."""
    details: list[str] = []
    for item in changes:
        if details and len(details[-1]) + 1 + len(item) <= audit.DETAIL_MAX:
            details[-1] += "," + item
        else:
            details.append(item)
    return details
