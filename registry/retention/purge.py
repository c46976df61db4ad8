"""The retention job: delete the sealed content of every closed case that is due.

One case per transaction (:func:`purge_case`): its sealed fields, key wraps,
messages, notes, files, links, public summary, held access and hold go
together with the ``case.purged`` audit event, or nothing goes.  A run
killed at any point therefore leaves every case either whole or purged, and
the next run carries on with the cases still due.  The files' blobs are
deleted after the commit (a committed row must never lose its blob first);
a run killed between the two leaves orphan blobs, ciphertext whose key went
with the deleted rows, which :func:`sweep_orphan_blobs` deletes later.

What stays with ``REGISTRY_RETENTION_KEEP=codes``: the plain row with what
published statistics count (status, disposition, region, place, unit,
incident month, violation codes, the proposals the case supports with their
strength), the days it was received, closed and purged, and its public id,
which the audit log names.  With ``nothing`` the row goes too, and the case
leaves the next published snapshot like a withdrawn one.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, delete, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from config import Config
from registry import audit
from registry.attachments.storage import BlobStore
from registry.models import (
    Attachment,
    CaseMapping,
    CaseSummary,
    HeldAccess,
    KeyWrap,
    Message,
    Note,
    Report,
    ReportFlag,
    ReportLink,
    ReportViolation,
    RetentionHold,
    SealedField,
    SnapshotSummary,
    Status,
)
from registry.retention.rules import KEEP_CODES, Rules, add_months

PURGED = "case.purged"
# Rows of a case that hold sealed content or say who worked on it: all go.
# (TABLES_TOUCHED below lists every table a purge may delete from.)
_CASE_ROWS = (
    SealedField,
    KeyWrap,
    Message,
    Note,
    Attachment,
    HeldAccess,
    RetentionHold,
    CaseSummary,
    SnapshotSummary,
    ReportFlag,
)
# Every table a purge deletes rows from (registry maintain vacuums them).
TABLES_TOUCHED = frozenset(
    model.__tablename__ for model in (*_CASE_ROWS, ReportLink, CaseMapping, ReportViolation, Report)
)
# Orphans a sweep deletes without asking whether the database is the right one.
_ORPHANS_TRUSTED = 20
# A blob name list is compared with the attachments table in pieces of this many.
_CHUNK = 500


@dataclass
class RetentionResult:
    """What one run did: the public ids purged, those that failed, blobs deleted."""

    purged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    blobs_deleted: int = 0

    def summary(self) -> str:
        """One line for the maintenance summary (counts only)."""
        return (
            f"retention: {len(self.purged)} purged, {len(self.failed)} failed, "
            f"{self.blobs_deleted} blobs deleted"
        )


def purge_due(db: Session, cfg: Config, store: BlobStore, *, today: date) -> RetentionResult:
    """Purge every closed case whose deletion day is ``today`` or earlier and that is not held.

    Each case is its own transaction, committed before its blobs are
    deleted.  A case that fails (the database refused) is rolled back,
    listed in ``failed`` and tried again by the next run; the others go on.
    """
    rules = Rules.from_config(cfg)
    result = RetentionResult()
    for report_id, public_id in _candidates(db, rules, today):
        try:
            blobs = purge_case(db, report_id, rules, today=today)
            db.commit()
        except SQLAlchemyError:
            db.rollback()
            result.failed.append(public_id)
            continue
        if blobs is None:
            continue  # no longer due: reopened, held or purged by another run meanwhile
        result.purged.append(public_id)
        result.blobs_deleted += _delete_blobs(store, blobs)
    try:
        late = purge_stragglers(db, rules)
        db.commit()
    except SQLAlchemyError:
        db.rollback()
        result.failed.append("late rows")
        late = []
    result.blobs_deleted += _delete_blobs(store, late)
    if result.purged or late:
        _push_out_of_wal(db)
    return result


def purge_case(db: Session, report_id: int, rules: Rules, *, today: date) -> list[str] | None:
    """Delete one case's sealed content in the caller's transaction; its blob names, or None.

    None (and nothing changed) when the case is not due after all.  The
    caller commits, then deletes the blobs.
    """
    # WHY decide under the audit chain lock: every triage change (reopening
    # the case) and every hold appends to the chain, so they either committed
    # before this read or wait until this transaction ends; so does a second
    # run of this job.  No case is purged on a decision another change has
    # made stale.
    audit.lock_chain(db)
    report = db.get(Report, report_id, populate_existing=True)
    if report is None or not is_due(db, report, rules, today):
        return None
    public_id = report.public_id
    blobs = list(db.scalars(select(Attachment.blob).where(Attachment.report_id == report_id)))
    for model in _CASE_ROWS:
        db.execute(delete(model).where(model.report_id == report_id))
    # Links say two cases belong together: casework, not statistics.
    db.execute(
        delete(ReportLink).where(
            or_(ReportLink.report_id == report_id, ReportLink.other_id == report_id)
        )
    )
    if rules.keep == KEEP_CODES:
        _keep_codes(db, report, today)
    else:
        db.execute(delete(CaseMapping).where(CaseMapping.report_id == report_id))
        db.execute(delete(ReportViolation).where(ReportViolation.report_id == report_id))
        db.expunge(report)
        db.execute(delete(Report).where(Report.id == report_id))
    # Case id and day only (day_only): the run's time of day says nothing
    # more, and the detail says what was kept ("codes" or "nothing").
    audit.record(
        db,
        actor=audit.SYSTEM,
        action=PURGED,
        report_ref=public_id,
        detail=rules.keep,
        day_only=True,
    )
    return blobs


def purge_stragglers(db: Session, rules: Rules) -> list[str]:
    """Delete sealed rows that reached a purged case after its purge; the blobs to delete.

    A writer that checked the case (its key wrap, the follow-up session)
    before a purge committed may still add its row just after (a note, a
    reply, a grant's wrap, a submitter's message).  Such rows are found and
    deleted by the next run, in one transaction, so nothing sealed outlives
    the purge by more than one maintenance interval.  The caller commits.
    """
    if rules.keep != KEEP_CODES:
        return []  # the row itself went: a late child row could not be stored
    audit.lock_chain(db)
    late = or_(
        *(
            select(model.report_id).where(model.report_id == Report.id).exists()
            for model in _CASE_ROWS
        ),
        select(CaseMapping.report_id)
        .where(CaseMapping.report_id == Report.id, CaseMapping.sealed_rationale != b"")
        .exists(),
    )
    found = list(
        db.execute(select(Report.id, Report.public_id).where(Report.purged_on.is_not(None), late))
    )
    blobs: list[str] = []
    for report_id, public_id in found:
        blobs += db.scalars(select(Attachment.blob).where(Attachment.report_id == report_id))
        for model in _CASE_ROWS:
            db.execute(delete(model).where(model.report_id == report_id))
        db.execute(
            update(CaseMapping)
            .where(CaseMapping.report_id == report_id)
            .values(sealed_rationale=b"", created_by=None)
        )
        audit.record(
            db,
            actor=audit.SYSTEM,
            action=PURGED,
            report_ref=public_id,
            detail="late",
            day_only=True,
        )
    return blobs


def is_due(db: Session, report: Report, rules: Rules, today: date) -> bool:
    """Whether ``report``'s sealed content is due for deletion on ``today``."""
    day = rules.deletion_day(report)
    if report.purged_on is not None or day is None or day > today:
        return False
    until = db.scalar(select(RetentionHold.until).where(RetentionHold.report_id == report.id))
    # A hold keeps the case through its last day.
    return until is None or until < today


def _keep_codes(db: Session, report: Report, today: date) -> None:
    """Clear what the plain row says about the person and the work; keep the statistics' codes."""
    # The rationale is sealed (NOT NULL): emptied; the proposal code and
    # strength stay, published figures count them.  Who mapped it goes.
    db.execute(
        update(CaseMapping)
        .where(CaseMapping.report_id == report.id)
        .values(sealed_rationale=b"", created_by=None)
    )
    # WHY fresh random bytes for the lookup id: it is NOT NULL and unique,
    # and it is what the receipt finds.  Random bytes of the same length
    # match no receipt's derivation, so /followup answers a purged case's
    # receipt exactly as an unknown one, and nothing proves the case existed.
    report.lookup_id = secrets.token_bytes(len(report.lookup_id))
    # WHY empty public keys: the submitter's key is derived from the receipt,
    # so keeping it would let a receipt holder confirm the row was theirs;
    # and with the inbox key empty nothing can be sealed to the case again
    # (sealing to an empty key fails).  The cost of the receipt goes too, so
    # the follow-up page stops deriving under a cost only purged rows used.
    report.submitter_public_key = b""
    report.inbox_public_key = b""
    report.receipt_params = None
    # The submitter's wishes were about content that is gone; the flags
    # (child, journalist…) and the reporter's role describe people, and no
    # published figure counts them.
    report.consent_contact = "none"
    report.consent_publish = False
    report.consent_refer = False
    report.reporter_role = None
    report.urgent = False
    report.assignee_id = None
    # The day a report arrived (and the day it was closed) could be joined
    # with other records; published figures count by month at the finest.
    report.received_on = report.received_on.replace(day=1)
    if report.closed_on is not None:
        report.closed_on = report.closed_on.replace(day=1)
    report.purged_on = today


def _candidates(db: Session, rules: Rules, today: date) -> list[tuple[int, str]]:
    """Closed, unpurged, unheld cases whose deletion day is ``today`` or earlier.

    Each period (the default and every disposition's) bounds the day of
    closing in the query, so the cases not yet due are never read one by
    one; each case found is judged again, under the lock, by
    :func:`purge_case`.
    """
    periods = [
        and_(Report.disposition == code, Report.closed_on <= _closed_by(today, months))
        for code, months in rules.by_disposition.items()
    ]
    others = or_(
        Report.disposition.is_(None), Report.disposition.not_in(list(rules.by_disposition))
    )
    periods.append(and_(others, Report.closed_on <= _closed_by(today, rules.closed_months)))
    held = select(RetentionHold.report_id).where(
        RetentionHold.report_id == Report.id, RetentionHold.until >= today
    )
    rows = db.execute(
        select(Report.id, Report.public_id, Report.disposition, Report.closed_on)
        .where(
            Report.status == Status.CLOSED.value,
            Report.purged_on.is_(None),
            or_(*periods),
            ~held.exists(),
        )
        .order_by(Report.public_id)
    ).all()
    db.rollback()  # no transaction held open between the cases
    return [
        (row.id, row.public_id)
        for row in rows
        if add_months(
            row.closed_on, rules.by_disposition.get(row.disposition or "", rules.closed_months)
        )
        <= today
    ]


def _closed_by(today: date, months: int) -> date:
    """The last day of closing that can be due ``today`` after ``months`` (a bound, not exact).

    add_months is monotonic, and clamping to a month's end moves a day by
    at most 3: a case due today was closed on this day or before.
    """
    return add_months(today, -months) + timedelta(days=3)


def _delete_blobs(store: BlobStore, names: Iterable[str]) -> int:
    """Delete kept blobs (after the commit); how many were there.

    Through the store, which checks each name (a name read from a changed
    database must not reach a path outside the blob folder).
    """
    names = [name for name in names if (store.kept / name).exists()]
    store.discard(names)
    return len(names)


def _push_out_of_wal(db: Session) -> None:
    """On SQLite, empty the write-ahead log, which still holds the deleted pages.

    ``secure_delete`` zeroes freed pages in the database file, but their
    old contents stay in the WAL until a checkpoint.  PostgreSQL needs
    VACUUM (the maintenance job's).
    """
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.commit()


class SweepRefused(RuntimeError):
    """Too many blobs are named by no row: the database is probably not this storage's."""


def sweep_orphan_blobs(db: Session, store: BlobStore, *, older_than_days: int = 1) -> int:
    """Delete kept blobs no attachment row names; return how many.

    Orphans are left by a run killed between a purge's commit and its blob
    deletion (or by a withdrawal killed the same way).  WHY the age and the
    lock: a submission moves its blobs into place just *before* it commits,
    so a blob without a committed row may be a live one.  Such a blob was
    changed (moved, its time set) moments ago, so its status-change time
    (ctime) is recent, and its request still holds the blob's lock.  Only a
    blob unchanged for ``older_than_days`` days, its file time older too, and
    locked by nobody is deleted.
    """
    names = sorted(store.kept_names())
    named: set[str] = set()
    for start in range(0, len(names), _CHUNK):
        chunk = names[start : start + _CHUNK]
        named.update(db.scalars(select(Attachment.blob).where(Attachment.blob.in_(chunk))))
    db.rollback()
    unnamed = [name for name in names if name not in named]
    # WHY refuse rather than sweep: orphans are the rare leftovers of a
    # killed run.  When most blobs are unnamed the database is more likely
    # the wrong one (a stale copy, a wrong setting) than the files wrong,
    # and sweeping would delete every case's files.
    if len(unnamed) > max(_ORPHANS_TRUSTED, len(names) // 2):
        raise SweepRefused(f"{len(unnamed)} of {len(names)} blobs are named by no attachment")
    cutoff = time.time() - older_than_days * 86400
    return sum(_sweep_old(store, name, cutoff) for name in unnamed)


def _sweep_old(store: BlobStore, name: str, cutoff: float) -> bool:
    path = store.kept / name
    try:
        # O_NOFOLLOW, O_NONBLOCK: a planted link or FIFO is never followed.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        stat = os.fstat(fd)
        if max(stat.st_mtime, stat.st_ctime) >= cutoff:
            return False
        path.unlink()
        return True
    except OSError:
        return False  # locked by a live request, or gone already
    finally:
        os.close(fd)
