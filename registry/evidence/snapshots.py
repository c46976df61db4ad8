"""Published snapshots: protected figures of verified cases, frozen when published.

Public pages and downloads answer from the latest snapshot only, never from
live counts: a watcher comparing live figures from hour to hour could tie a
change to an arrest they know of.  A snapshot is built from plain columns
(:mod:`registry.evidence.figures`), protected by the suppression engine
against every earlier snapshot too, stored once and never updated.

WHY no key is needed: nothing here, nor anything it imports, reads key
material or sealed fields (``tests/evidence/test_snapshots.py`` checks the
import graph and publishes from a bare database session).  Whoever may
press "publish" must not thereby gain, or need, access to any case.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import audit
from registry.evidence import figures
from registry.evidence.raw import ALL, RawPopulation
from registry.models import (
    CaseMapping,
    CaseSummary,
    EvidenceSnapshot,
    Report,
    SnapshotSummary,
)

FORMAT = "sviedka-evidence-v1"
MIN_K = 3
"""The smallest suppression threshold (the ``evidence_k`` setting refuses less)."""
ACTION = "evidence.published"


class TooFewNewCases(ValueError):
    """Publishing now would show the number of verified cases moved by 1 … k−1.

    ``since`` is the number of the earlier snapshot it is too close to.
    """

    def __init__(self, since: int) -> None:
        super().__init__(f"too few new verified cases since snapshot {since}")
        self.since = since


def publish(db: Session, *, account_id: int | None, k: int, today: date) -> EvidenceSnapshot:
    """Build, protect and store the next snapshot; record it in the audit log.

    ``account_id`` is the coordinator who published it (``None``: the
    system, e.g. a command).  Approved summaries of consenting verified
    cases are copied into the snapshot.  The caller commits.
    """
    if k < MIN_K:
        # A "fewer than 2" would be 0 or 1: one case, named by its cell.
        raise ValueError(f"k must be at least {MIN_K}")
    # The audit chain's lock, taken first, serialises publications: each is
    # protected against the one before it (differences below k stay
    # hidden), which two concurrent ones would both miss.  It also freezes
    # what the figures count while they are read in several statements:
    # every change to a status, code, mapping or a withdrawal is audited,
    # so it waits (the engine refuses figures that contradict each other).
    # The price: audited changes (on SQLite, every write) wait for the
    # build, a few seconds at 100,000 reports, once per publication.
    audit.lock_chain(db)
    earlier = _earlier(db)
    number = earlier[0][0] + 1 if earlier else 1
    # Imported here, not above: the engine brings numpy and scipy (about
    # 65 MB), which only a process that publishes needs, not every worker.
    from registry.evidence import suppression

    raw = figures.build(db, today=today)
    _refuse_small_total_change(raw, earlier, k)
    payload = {
        "format": FORMAT,
        "number": number,
        "published_on": today.isoformat(),
        "k": k,
        "populations": suppression.protect(raw, k, [populations for _n, populations in earlier]),
    }
    text = encode(payload)
    snapshot = EvidenceSnapshot(
        number=number,
        published_on=today,
        k=k,
        payload=text,
        digest=digest(text),
        published_by=account_id,
    )
    db.add(snapshot)
    db.flush()
    copied = _copy_summaries(db, snapshot)
    # Codes only (audit.record refuses more): which snapshot, its threshold,
    # its digest and how many summaries; never a case.
    audit.record(
        db,
        actor=audit.account_actor(account_id) if account_id is not None else audit.SYSTEM,
        action=ACTION,
        detail=f"number={number},k={k},summaries={copied},digest={snapshot.digest}",
    )
    return snapshot


def _earlier(db: Session) -> list[tuple[int, dict[str, Any]]]:
    """Every published snapshot's number and "populations", newest first.

    WHY all of them and not the latest alone: every snapshot stays
    downloadable, so a new count is set against each (suppression, rule 3).
    """
    rows = db.execute(
        select(EvidenceSnapshot.number, EvidenceSnapshot.payload).order_by(
            EvidenceSnapshot.number.desc()
        )
    )
    return [(number, json.loads(text)["populations"]) for number, text in rows]


def _refuse_small_total_change(
    raw: list[RawPopulation], earlier: list[tuple[int, dict[str, Any]]], k: int
) -> None:
    """Refuse to publish while the number of verified cases moved by 1 … k−1.

    WHY: that number is published exactly (every table adds up to it), so
    the suppression engine cannot hide it; a change of one or two since an
    earlier snapshot would say "a case was verified (or withdrawn) since",
    which a watcher can set against an arrest they know of.  Waiting until
    k or more cases have changed costs only time.
    """
    total = next(p.cases for p in raw if p.key == ALL)
    if total < k:
        return  # nothing about the cases is published at all
    for number, populations in earlier:
        old = populations.get(ALL, {}).get("cases")
        if isinstance(old, int) and 0 < abs(total - old) < k:
            raise TooFewNewCases(number)


def encode(payload: dict[str, Any]) -> str:
    """The stored form of a payload: compact JSON, keys in the payload's own order.

    The order of populations, tables and cells is the display order the
    engine gives; the same payload always gives the same text (and digest).
    """
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def digest(text: str) -> str:
    """sha256 hex of a stored payload: the ETag of everything built from it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def latest(db: Session) -> EvidenceSnapshot | None:
    """The latest published snapshot, or None before the first."""
    return db.scalars(
        select(EvidenceSnapshot).order_by(EvidenceSnapshot.number.desc()).limit(1)
    ).first()


def by_number(db: Session, number: int) -> EvidenceSnapshot | None:
    """Snapshot ``number``, or None when there is none."""
    return db.scalars(select(EvidenceSnapshot).where(EvidenceSnapshot.number == number)).first()


def payload_of(snapshot: EvidenceSnapshot) -> dict[str, Any]:
    """The snapshot's payload as published (see the spec's "sviedka-evidence-v1")."""
    payload: dict[str, Any] = json.loads(snapshot.payload)
    return payload


def _year(month: str | None) -> str:
    # The year alone: a month next to a summary's region would narrow the
    # case down far more than the figures do.
    return month[:4] if month else figures.UNKNOWN


def _copy_summaries(db: Session, snapshot: EvidenceSnapshot) -> int:
    """Copy approved summaries of consenting verified cases into ``snapshot``.

    Consent is read now, at publication: a summary approved while the
    submitter consented is not published once they have taken it back.
    """
    rows = db.execute(
        select(Report.id, CaseSummary.text, Report.region, Report.incident_month)
        .join(CaseSummary, CaseSummary.report_id == Report.id)
        .where(
            # Approved (the approver's account may be gone since: SET NULL).
            CaseSummary.approved_on.is_not(None),
            Report.consent_publish.is_(True),
            figures.verified(),
        )
    ).all()
    if not rows:
        return 0
    order = {code: n for n, code in enumerate(figures.cells(db, snapshot.published_on).proposal)}
    supported: dict[int, list[str]] = {}
    mappings = db.execute(
        select(CaseMapping.report_id, CaseMapping.proposal_code).where(
            CaseMapping.report_id.in_([row.id for row in rows])
        )
    )
    for report_id, code in mappings:
        supported.setdefault(report_id, []).append(code)
    for row in rows:
        codes = sorted(
            supported.get(row.id, []), key=lambda code: (order.get(code, len(order)), code)
        )
        db.add(
            SnapshotSummary(
                snapshot_id=snapshot.id,
                report_id=row.id,
                text=row.text,
                region=row.region,
                period=_year(row.incident_month),
                proposals=json.dumps(codes),
            )
        )
    db.flush()
    return len(rows)
