"""Cases made of plain rows only, for tests of the evidence figures and snapshots.

Figures and snapshots read plain columns alone, so these reports carry no
sealed field: fake lookup ids and public keys, a fake sealed rationale on
each mapping (never read).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy.orm import Session

from registry.models import CaseMapping, CaseSummary, Report, ReportViolation
from registry.records.ids import new_public_id

FAKE_KEY = bytes(1216)


def add_case(
    db: Session,
    *,
    status: str = "verified",
    disposition: str | None = None,
    region: str = "minsk-city",
    place: str | None = "street",
    unit: str | None = "omon",
    month: str | None = "2021-08",
    violations: Iterable[str] = ("torture",),
    proposals: Mapping[str, str] | None = None,
    consent_publish: bool = False,
) -> Report:
    """A report with these plain columns, codes and mappings (proposal code -> strength)."""
    report = Report(
        public_id=new_public_id(),
        status=status,
        disposition=disposition,
        region=region,
        place=place,
        unit=unit,
        incident_month=month,
        received_on=date(2024, 1, 1),
        language="en",
        lookup_id=os.urandom(32),
        submitter_public_key=FAKE_KEY,
        inbox_public_key=FAKE_KEY,
        consent_publish=consent_publish,
    )
    db.add(report)
    db.flush()
    for code in violations:
        db.add(ReportViolation(report_id=report.id, code=code))
    for code, strength in (proposals or {}).items():
        db.add(
            CaseMapping(
                report_id=report.id,
                proposal_code=code,
                strength=strength,
                sealed_rationale=b"opaque",
            )
        )
    db.flush()
    return report


def add_summary(db: Session, report: Report, text: str, *, approved: bool = True) -> CaseSummary:
    """A summary of ``report`` (approved on the same day unless told otherwise)."""
    summary = CaseSummary(
        report_id=report.id,
        text=text,
        written_on=date(2026, 1, 2),
        approved_on=date(2026, 1, 3) if approved else None,
    )
    db.add(summary)
    db.flush()
    return summary
