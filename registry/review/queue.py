"""The reviewer queue: filters and sorting, over plain columns only.

Everything here reads the coarse, plain columns of docs/sealed-and-plain.md#reports (status,
urgency, region, codes, day received, language, proposals, assignee) and
nothing sealed, so no key is needed and nothing is audited.  The counts
beside each filter value come from :mod:`registry.review.facets`;
searching the sealed narratives is :mod:`registry.review.search`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, case, exists, func, literal, select, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session, load_only

from registry.models import CaseMapping, Report, ReportViolation, Status
from registry.review import attention

PAGE_SIZE = 50
# The filter value (and facet key) for "no code given" (place, unit) and
# "assigned to nobody"; no vocabulary has a term with this code.
NONE = "none"


class Sort(StrEnum):
    """Orders the queue can be read in; every one ends with the id, so pages are stable."""

    NEWEST = "newest"
    OLDEST = "oldest"
    MONTH = "month"
    STATUS = "status"
    URGENT = "urgent"
    # Issue 13: cases whose submitter waits for an answer, then the rest;
    # cases with news since the viewer last opened them, then the rest.
    WAITING = "waiting"
    FRESH = "fresh"


@dataclass(frozen=True)
class QueueFilters:
    """Filters on plain columns; ``None`` (or ``False``) means "any".

    ``place`` and ``unit`` may be :data:`NONE` (no code given); ``assignee``
    is an account id, and ``unassigned`` asks for cases assigned to nobody.
    """

    status: str | None = None
    urgent: bool = False
    region: str | None = None
    violation: str | None = None
    place: str | None = None
    unit: str | None = None
    proposal: str | None = None
    language: str | None = None
    assignee: int | None = None
    unassigned: bool = False
    received_from: date | None = None
    received_to: date | None = None
    # Cases whose latest message is the submitter's (nobody answered yet).
    waiting: bool = False
    # An account id: the cases with news since that account last opened
    # them (registry.review.attention).  Only ever the viewer's own id.
    fresh_for: int | None = None


def _code(column: InstrumentedAttribute[str | None], value: str) -> ColumnElement[bool]:
    return column.is_(None) if value == NONE else column == value


def _linked(
    facet: str,
    report_id: InstrumentedAttribute[int],
    code: InstrumentedAttribute[str],
    value: str,
    frequent: bool,
) -> ColumnElement[bool]:
    """Reports that carry the code ``value`` (``facet``: violation or proposal).

    How the database should find them depends on how many carry it, which
    SQLite's planner does not know: a rare code is best read as the list of
    its few reports; a frequent one (say torture, 45 %) by testing reports
    in the page's order until the page is full, as listing 45,000 ids for
    50 rows costs ~25 ms.

    PostgreSQL would plan both forms alike, as a probe per report in the
    page's order: for a proposal 1 % of reports carry, ~5,000 probes for
    page 1 (15-20 ms), every report of another filter's value when none
    carries it (35,000 for ``status=new``: 40-55 ms).  So the list is a
    MATERIALIZED common table expression there, which its planner reads
    first, as SQLite does with the plain list.
    """
    if frequent:
        return exists().where(report_id == Report.id, code == value)
    carriers = (
        select(report_id.label("report_id"))
        .where(code == value)
        .cte(f"{facet}_carriers")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return Report.id.in_(select(carriers.c.report_id))


def conditions(
    filters: QueueFilters,
    *,
    frequent: Collection[str] = (),
    waiting_among: Collection[int] | None = None,
    fresh_among: Collection[int] | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``filters`` on ``Report``.

    ``frequent`` names the code filters ("violation", "proposal") whose code
    many reports carry, to be tested report by report (see :func:`_linked`).
    ``waiting_among`` narrows the waiting filter to these report ids (see
    :func:`registry.review.attention.waiting`); ``fresh_among``, when
    given, are the news of ``filters.fresh_for`` already read
    (:func:`registry.review.attention.fresh_ids`).
    """
    found: list[ColumnElement[bool]] = []
    if filters.waiting:
        found.append(attention.waiting(waiting_among))
    if filters.fresh_for is not None:
        found.append(
            attention.fresh(filters.fresh_for)
            if fresh_among is None
            else attention.among(fresh_among)
        )
    if filters.status is not None:
        found.append(Report.status == filters.status)
    if filters.urgent:
        found.append(Report.urgent.is_(True))
    if filters.region is not None:
        found.append(Report.region == filters.region)
    if filters.place is not None:
        found.append(_code(Report.place, filters.place))
    if filters.unit is not None:
        found.append(_code(Report.unit, filters.unit))
    if filters.language is not None:
        found.append(Report.language == filters.language)
    if filters.assignee is not None:
        found.append(Report.assignee_id == filters.assignee)
    if filters.unassigned:
        found.append(Report.assignee_id.is_(None))
    if filters.violation is not None:
        found.append(
            _linked(
                "violation",
                ReportViolation.report_id,
                ReportViolation.code,
                filters.violation,
                "violation" in frequent,
            )
        )
    if filters.proposal is not None:
        found.append(
            _linked(
                "proposal",
                CaseMapping.report_id,
                CaseMapping.proposal_code,
                filters.proposal,
                "proposal" in frequent,
            )
        )
    # The date range is a filter without a facet: it always applies.
    if filters.received_from is not None:
        found.append(Report.received_on >= filters.received_from)
    if filters.received_to is not None:
        found.append(Report.received_on <= filters.received_to)
    return found


_STATUS_RANK = case({status.value: rank for rank, status in enumerate(Status)}, value=Report.status)
ORDERS: dict[Sort, tuple[ColumnElement[Any], ...]] = {
    Sort.NEWEST: (Report.received_on.desc(), Report.id.desc()),
    Sort.OLDEST: (Report.received_on.asc(), Report.id.asc()),
    # Reports without a month come last on both databases (their defaults differ).
    Sort.MONTH: (Report.incident_month.desc().nulls_last(), Report.id.desc()),
    # Workflow order (new … closed), not the alphabetical order of the codes.
    Sort.STATUS: (_STATUS_RANK, Report.received_on.desc(), Report.id.desc()),
    Sort.URGENT: (Report.urgent.desc(), Report.received_on.desc(), Report.id.desc()),
    # Waiting cases first, each case tested afresh: callers that know the
    # snapshot's waiting cases use order_by, which tests only those.
    Sort.WAITING: (
        case((attention.waiting(None), 0), else_=1),
        Report.received_on.desc(),
        Report.id.desc(),
    ),
    # Without a viewer nothing is new to anyone: newest first (order_by
    # puts the viewer's news first).
    Sort.FRESH: (Report.received_on.desc(), Report.id.desc()),
}


def _first(condition: ColumnElement[bool]) -> tuple[ColumnElement[Any], ...]:
    return (case((condition, 0), else_=1), Report.received_on.desc(), Report.id.desc())


def order_by(
    sort: Sort,
    *,
    waiting_among: Collection[int] | None = None,
    fresh_among: Collection[int] | None = None,
) -> tuple[ColumnElement[Any], ...]:
    """The ORDER BY of ``sort``; the FRESH order needs the viewer's news (``fresh_among``)."""
    if sort == Sort.WAITING and waiting_among is not None:
        return _first(attention.waiting(waiting_among))
    if sort == Sort.FRESH and fresh_among is not None:
        return _first(attention.among(fresh_among))
    return ORDERS[sort]


def _blocks(
    sort: Sort, waiting_among: Collection[int] | None, fresh_among: Collection[int] | None
) -> list[tuple[ColumnElement[bool], tuple[ColumnElement[Any], ...]]] | None:
    """The blocks a page of ``sort`` is merged from, or None to sort in one go."""
    newest = (Report.received_on.desc(), Report.id.desc())
    if sort == Sort.WAITING:
        # The snapshot's few candidates, tested afresh, then the others
        # in the index's order: neither block reads far.
        first = attention.waiting(waiting_among)
    elif sort == Sort.FRESH and fresh_among is not None:
        first = attention.among(fresh_among)
    else:
        return _BLOCKS.get(sort)
    return [(first, newest), (~first, newest)]


# Two orders begin with a key no index gives: the workflow rank of the
# status (a CASE), and, on PostgreSQL, the month with empty months last.
# Sorting every filtered report for one page costs 20-35 ms at 100,000, so
# near the top of the queue they are read in blocks (one status; months
# given, then not), each block in an index's order and only as far as the
# page reaches, and the blocks are merged in turn.
_BLOCKS: dict[Sort, list[tuple[ColumnElement[bool], tuple[ColumnElement[Any], ...]]]] = {
    Sort.STATUS: [
        (Report.status == status.value, (Report.received_on.desc(), Report.id.desc()))
        for status in Status
    ],
    Sort.MONTH: [
        (Report.incident_month.is_not(None), (Report.incident_month.desc(), Report.id.desc())),
        (Report.incident_month.is_(None), (Report.id.desc(),)),
    ],
}
# Deeper than this, reading so far into every block costs more than one sort.
BLOCK_DEPTH = 1_000


def page_query(
    filters: QueueFilters,
    sort: Sort,
    offset: int,
    *,
    frequent: Collection[str] = (),
    waiting_among: Collection[int] | None = None,
    fresh_among: Collection[int] | None = None,
) -> Select[int]:
    """Ids of one page of the filtered queue in ``sort`` order, from ``offset``.

    ``waiting_among`` and ``fresh_among`` are as for :func:`conditions`.
    """
    where = conditions(
        filters, frequent=frequent, waiting_among=waiting_among, fresh_among=fresh_among
    )
    reach = offset + PAGE_SIZE
    blocks = _blocks(sort, waiting_among, fresh_among)
    if blocks is None or reach > BLOCK_DEPTH:
        order = order_by(sort, waiting_among=waiting_among, fresh_among=fresh_among)
        return select(Report.id).where(*where).order_by(*order).limit(PAGE_SIZE).offset(offset)
    # Only the key the blocks are merged by, so that each block is read from
    # its index alone (SQLite would otherwise look up every row it reads).
    key = Report.incident_month if sort == Sort.MONTH else Report.received_on
    parts = [
        select(Report.id, key.label("within"), literal(rank).label("block"))
        .where(block, *where)
        .order_by(*order)
        .limit(reach)
        .subquery()
        .select()
        for rank, (block, order) in enumerate(blocks)
    ]
    merged = union_all(*parts).subquery()
    return (
        select(merged.c.id)
        .order_by(merged.c.block, merged.c.within.desc(), merged.c.id.desc())
        .limit(PAGE_SIZE)
        .offset(offset)
    )


# What the queue's table shows of each report.
SHOWN = (
    Report.public_id,
    Report.status,
    Report.urgent,
    Report.region,
    Report.incident_month,
    Report.received_on,
)


def reports_by_ids(db: Session, ids: Sequence[int]) -> list[Report]:
    """The reports with ``ids``, in that order, with only the columns the queue shows."""
    if not ids:
        return []
    rows = db.scalars(
        select(Report).where(Report.id.in_(ids)).options(load_only(*SHOWN, Report.assignee_id))
    )
    by_id = {report.id: report for report in rows}
    return [by_id[report_id] for report_id in ids if report_id in by_id]


def queue_page(
    db: Session,
    filters: QueueFilters,
    sort: Sort,
    page: int,
    *,
    frequent: Collection[str] = (),
    waiting_among: Collection[int] | None = None,
    fresh_among: Collection[int] | None = None,
) -> list[Row[*tuple[Any, ...]]]:
    """One page of the queue (``page`` from 1): the shown columns of each report, and its id.

    Each row also says whether its case ``waiting`` for an answer, tested
    afresh (:func:`registry.review.attention.waiting_column`).

    ``frequent``, ``waiting_among`` and ``fresh_among`` are as for :func:`conditions`.
    """
    offset = max(page - 1, 0) * PAGE_SIZE
    # The page's ids first, then their rows, in one statement: the ordering
    # reads narrow index entries, and the 50 rows come from ix_reports_by_id,
    # which holds every shown column (0011), never from the wide report rows
    # (two public keys each).  The ids' order is the page's order again:
    # every order ends with the id, and its keys are all shown columns.
    ids = page_query(
        filters,
        sort,
        offset,
        frequent=frequent,
        waiting_among=waiting_among,
        fresh_among=fresh_among,
    ).subquery()
    order = order_by(sort, waiting_among=waiting_among, fresh_among=fresh_among)
    # Plain rows, not ORM objects: the table only reads them, at half the cost.
    return list(
        db.execute(
            select(Report.id, *SHOWN, attention.waiting_column())
            .join(ids, ids.c.id == Report.id)
            .order_by(*order)
        )
    )


def count_matching(
    db: Session,
    filters: QueueFilters,
    *,
    waiting_among: Collection[int] | None = None,
    fresh_among: Collection[int] | None = None,
) -> int:
    """How many cases match ``filters`` (by SQL: for filters no snapshot can count)."""
    where = conditions(filters, waiting_among=waiting_among, fresh_among=fresh_among)
    return db.scalar(select(func.count()).select_from(Report).where(*where)) or 0
