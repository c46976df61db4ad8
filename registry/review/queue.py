"""The reviewer queue: filters, facet counts and sorting, over plain columns only.

Everything here reads the coarse, plain columns of DESIGN §4 (status,
urgency, region, codes, day received, language, proposals, assignee) and
nothing sealed, so no key is needed and nothing is audited.  Searching the
sealed narratives is :mod:`registry.review.search`.

Facet counts follow the usual faceted-search rule: the count next to a
value is the number of reports matching every *other* active filter with
that value, so choosing it would show that many (its own filter is left
out, or every other value of the facet would count 0).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, load_only

from registry.models import CaseMapping, Report, ReportViolation, Status

PAGE_SIZE = 50
# The filter value (and facet key) for "no code given" (place, unit) and
# "assigned to nobody"; no vocabulary has a term with this code.
NONE = "none"
FACETS = (
    "status",
    "urgent",
    "region",
    "violation",
    "place",
    "unit",
    "proposal",
    "language",
    "assignee",
)


class Sort(StrEnum):
    """Orders the queue can be read in; every one ends with the id, so pages are stable."""

    NEWEST = "newest"
    OLDEST = "oldest"
    MONTH = "month"
    STATUS = "status"
    URGENT = "urgent"


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


def _code(column: InstrumentedAttribute[str | None], value: str) -> ColumnElement[bool]:
    return column.is_(None) if value == NONE else column == value


def conditions(filters: QueueFilters, *, without: str | None = None) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``filters`` on ``Report``; ``without`` leaves one facet's out."""
    found: list[ColumnElement[bool]] = []

    def active(facet: str, value: object) -> bool:
        return facet != without and value not in (None, False)

    if active("status", filters.status):
        found.append(Report.status == filters.status)
    if active("urgent", filters.urgent):
        found.append(Report.urgent.is_(True))
    if active("region", filters.region):
        found.append(Report.region == filters.region)
    if filters.place is not None and active("place", filters.place):
        found.append(_code(Report.place, filters.place))
    if filters.unit is not None and active("unit", filters.unit):
        found.append(_code(Report.unit, filters.unit))
    if active("language", filters.language):
        found.append(Report.language == filters.language)
    if active("assignee", filters.assignee):
        found.append(Report.assignee_id == filters.assignee)
    if active("assignee", filters.unassigned):
        found.append(Report.assignee_id.is_(None))
    # Codes on other tables are id lists, not EXISTS: for a rare code the
    # database then reads those few reports instead of testing every one.
    if active("violation", filters.violation):
        found.append(
            Report.id.in_(
                select(ReportViolation.report_id).where(ReportViolation.code == filters.violation)
            )
        )
    if active("proposal", filters.proposal):
        found.append(
            Report.id.in_(
                select(CaseMapping.report_id).where(CaseMapping.proposal_code == filters.proposal)
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
}


def queue_query(filters: QueueFilters, sort: Sort = Sort.NEWEST) -> Select[int]:
    """Ids of the filtered queue in ``sort`` order, for the view to page through."""
    return select(Report.id).where(*conditions(filters)).order_by(*ORDERS[sort])


def reports_by_ids(db: Session, ids: Sequence[int]) -> list[Report]:
    """The reports with ``ids``, in that order, with only the columns the queue shows."""
    if not ids:
        return []
    rows = db.scalars(
        select(Report)
        .where(Report.id.in_(ids))
        .options(
            load_only(
                Report.public_id,
                Report.status,
                Report.urgent,
                Report.region,
                Report.incident_month,
                Report.received_on,
                Report.assignee_id,
            )
        )
    )
    by_id = {report.id: report for report in rows}
    return [by_id[report_id] for report_id in ids if report_id in by_id]


def queue_page(db: Session, filters: QueueFilters, sort: Sort, page: int) -> list[Report]:
    """One page of the queue (``page`` from 1)."""
    offset = max(page - 1, 0) * PAGE_SIZE
    # Ids first, then their rows: the ordering reads narrow index entries
    # instead of the wide report rows (which carry two public keys each).
    ids = list(db.scalars(queue_query(filters, sort).limit(PAGE_SIZE).offset(offset)))
    return reports_by_ids(db, ids)


@dataclass(frozen=True)
class FacetCounts:
    """Per facet, reports matching the other filters by value; and the filtered total."""

    counts: dict[str, dict[str, int]]
    total: int

    def of(self, facet: str, value: str) -> int:
        """The count shown next to ``value`` of ``facet`` (0 when absent)."""
        return self.counts.get(facet, {}).get(value, 0)


class CountCache:
    """Facet counts computed in the last ``seconds``, kept by one worker.

    Counting every facet of 100,000 reports costs tens to hundreds of
    milliseconds (bench/README.md), more than a whole queue page may, while
    reviewers reload the same few views all day.  The counts may therefore
    lag by up to ``seconds``; the rows of the page and the search never do.
    Only counts of plain codes are kept, keyed by plain filter values: no
    search text and nothing sealed.
    """

    def __init__(
        self, seconds: float, size: int = 512, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds, self.size, self.clock = seconds, size, clock
        self._entries: OrderedDict[Hashable, tuple[float, dict[str, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], dict[str, int]]) -> dict[str, int]:
        """The cached value of ``key`` if fresh, else ``compute()`` (and keep it)."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < self.seconds:
                self._entries.move_to_end(key)
                return entry[1]
        value = compute()
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value


# What each facet's own filter is, to leave it out of that facet's counts.
_OWN_FIELDS: dict[str, dict[str, Any]] = {
    "status": {"status": None},
    "urgent": {"urgent": False},
    "region": {"region": None},
    "violation": {"violation": None},
    "place": {"place": None},
    "unit": {"unit": None},
    "proposal": {"proposal": None},
    "language": {"language": None},
    "assignee": {"assignee": None, "unassigned": False},
}
_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "status": Report.status,
    "urgent": Report.urgent,
    "region": Report.region,
    "place": Report.place,
    "unit": Report.unit,
    "language": Report.language,
    "assignee": Report.assignee_id,
}
_LINKED: dict[str, tuple[InstrumentedAttribute[str], InstrumentedAttribute[int]]] = {
    "violation": (ReportViolation.code, ReportViolation.report_id),
    "proposal": (CaseMapping.proposal_code, CaseMapping.report_id),
}


def _key(value: object) -> str:
    """The facet key of a column value: the filter value that selects it."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def facet_query(facet: str, filters: QueueFilters) -> Select[Any, int]:
    """``value, count`` of ``facet`` over the reports matching every other filter."""
    where = conditions(filters, without=facet)
    if facet in _LINKED:
        # One row per report and code (the primary key), so rows count reports.
        code, report_id = _LINKED[facet]
        query = select(code, func.count()).group_by(code)
        if where:
            query = query.where(report_id.in_(select(Report.id).where(*where)))
        return query
    column = _COLUMNS[facet]
    return select(column, func.count()).where(*where).group_by(column)


def facet_counts(
    db: Session, filters: QueueFilters, cache: CountCache | None = None
) -> FacetCounts:
    """Counts for every facet (one GROUP BY each), and the filtered total."""
    counts: dict[str, dict[str, int]] = {}
    for facet in FACETS:

        def compute(facet: str = facet) -> dict[str, int]:
            rows = db.execute(facet_query(facet, filters))
            return {_key(value): count for value, count in rows}

        if cache is None:
            counts[facet] = compute()
        else:
            # The counts of a facet do not depend on its own filter: key them
            # without it, so switching between its values reuses them.
            counts[facet] = cache.get((facet, replace(filters, **_OWN_FIELDS[facet])), compute)
    # Every report has exactly one status, so the status facet (which leaves
    # only the status filter out) also gives the filtered total.
    by_status = counts["status"]
    total = by_status.get(filters.status, 0) if filters.status else sum(by_status.values())
    return FacetCounts(counts, total)
