"""Cases that need a reviewer's attention: a submitter waits, or there is news.

Two questions the queue answers as a marker, a filter, a sort and a count
(issue 13, item 10), as SQL conditions on ``Report`` usable anywhere the
queue's conditions are (registry.review.queue):

- *waiting*: the case's latest message is the submitter's, so nobody has
  answered it yet.  The same rule as the statistics page's "cases waiting
  on the submitter" (registry.review.stats), read here from the plain
  ``direction`` and ``seq`` of the case's newest message only.
- *fresh* for a reviewer: since that reviewer last opened the case, another
  staff member changed it (an audit event other than reading), or the
  submitter wrote a message dated after the day of that last opening.

WHY the audit log holds "last visit" and no table does: every opening is
already a ``case.opened`` event with its reviewer and time (promise 7), so
reading it adds no record of who looked at what; a table of last visits
would be a second such record, kept in the clear, and outside the chain.
The events are read by the indexed ``actor_id`` (the reviewer's own
openings) and ``report_ref`` (events of one case), never by a scan.

WHY a submitter's message counts by its day only: its time is kept as a
day (promise 3), so a message of the day of the last opening may have come
before or after it.  It counts as seen; if nobody has answered it, the case
is still *waiting*, which is exact, so no unanswered message hides.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from registry.models import AuditEvent, Direction, Message, Report

OPENED = "case.opened"
# Events that read a case without changing it: a colleague reading a case
# is no news (and a damaged part is audited again at every opening).
READS = ("case.opened", "case.file-opened", "case.file-previewed", "case.part-damaged")


class utc_day(FunctionElement[Any]):  # noqa: N801 (an SQL function, named like one)
    """The UTC calendar day of a timestamp column, as SQL (``Date``)."""

    type = Date()
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as UTC text "YYYY-MM-DD HH:MM:SS…", which date() cuts to the
    # day, in the same text form as a Date column.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # AT TIME ZONE: the day in UTC, whatever the session's time zone.
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


def _latest_direction() -> ColumnElement[Any]:
    """The direction of the case's newest message ('' when it has none).

    One probe of the (report_id, seq) unique index per case, newest first.
    """
    newest = (
        select(Message.direction)
        .where(Message.report_id == Report.id)
        .order_by(Message.seq.desc())
        .limit(1)
        .correlate(Report)
        .scalar_subquery()
    )
    # '' rather than NULL, so that NOT of the condition holds for a case
    # without messages (the second block of the "waiting first" order).
    return func.coalesce(newest, "")


def waiting(among: Collection[int] | None = None) -> ColumnElement[bool]:
    """Cases whose latest message is the submitter's.

    ``among``: report ids known to be candidates (the statistics snapshot's
    waiting cases); only those are tested, each afresh, so the condition
    costs a few probes instead of one per case.  A case whose submitter
    wrote after the snapshot was taken joins at its next refresh, as every
    count on the page does.  ``None`` tests every case.
    """
    latest = _latest_direction() == Direction.TO_STAFF.value
    if among is None:
        return latest
    return Report.id.in_(sorted(among)) & latest


# Built once: constructing aliases costs more than running the query.
_LATER = aliased(AuditEvent, name="later")
_CASE = aliased(Report, name="seen_case")


# WHY kept: building this expression cost a queue page ~3 ms of CPU; it
# holds an account id and SQL, nothing read from the database.
@lru_cache(maxsize=256)
def fresh(viewer: int | BindParameter[int]) -> ColumnElement[bool]:
    """Cases with news since ``viewer`` (an account id) last opened them (module docstring)."""
    seen = (
        select(
            AuditEvent.report_ref.label("ref"),
            func.max(AuditEvent.id).label("seen_id"),
            func.max(AuditEvent.at).label("seen_at"),
        )
        .where(
            AuditEvent.actor_id == viewer,
            AuditEvent.action == OPENED,
            AuditEvent.report_ref.is_not(None),
        )
        .group_by(AuditEvent.report_ref)
        .subquery("seen")
    )
    later, case = _LATER, _CASE
    changed = exists().where(
        later.report_ref == seen.c.ref,
        later.id > seen.c.seen_id,
        later.actor_id.is_not(None),
        later.actor_id != viewer,
        later.action.not_in(READS),
    )
    wrote = exists().where(
        case.public_id == seen.c.ref,
        Message.report_id == case.id,
        Message.direction == Direction.TO_STAFF.value,
        Message.created_on > utc_day(seen.c.seen_at),
    )
    # WHY the reports are looked up inside ``wrote``, by the case's public
    # id, and not joined to ``seen``: joined, PostgreSQL hashed every report
    # (an index scan of all 100,000 on each queue page) to meet a few hundred
    # openings; here each opening is one probe of a unique index.  With
    # 1,000 openings per reviewer: 23.7 ms, now 5.6 ms (bench.fresh_news).
    news = select(seen.c.ref).where(or_(changed, wrote))
    return Report.public_id.in_(news)


# Built once (registry.records.access says why): every queue page asks it,
# and building it afresh cost SQLAlchemy a cache key of the whole
# statement each time, more than running it.
_FRESH_IDS = select(Report.id).where(fresh(bindparam("viewer", type_=Integer)))


def fresh_ids(db: Session, viewer: int) -> frozenset[int]:
    """The ids of every case with news for ``viewer``: one query, driven by their openings.

    Few by nature (cases the viewer opened and someone touched since), so
    the queue keeps them for the request: its marks, count, filter and
    order then need no further query of the audit log.
    """
    return frozenset(db.scalars(_FRESH_IDS, {"viewer": viewer}))


def among(report_ids: Collection[int]) -> ColumnElement[bool]:
    """Cases with these ids (the viewer's :func:`fresh_ids`), as a condition."""
    return Report.id.in_(sorted(report_ids))


def waiting_column() -> ColumnElement[bool]:
    """Whether the row's case waits for an answer, tested afresh, as a column of the row.

    For the queue's page query: the 50 rows' marks come with the rows, one
    index probe each, instead of a statement of their own.
    """
    return (_latest_direction() == Direction.TO_STAFF.value).label("waiting")


def waiting_marks(db: Session, report_ids: Sequence[int]) -> frozenset[int]:
    """Which of these cases wait for an answer, tested afresh (one query)."""
    if not report_ids:
        return frozenset()
    return frozenset(db.scalars(select(Report.id).where(Report.id.in_(report_ids), waiting())))
