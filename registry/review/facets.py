"""The queue's facet counts, from a bitmap index that each worker keeps in memory.

Facet counts follow the usual faceted-search rule: the count next to a
value is the number of reports matching every *other* active filter with
that value, so choosing it would show that many (its own filter is left
out, or every other value of the facet would count 0).

Counting that with SQL costs one GROUP BY per facet over 100,000 reports,
16-300 ms per page (bench/README.md), more than the whole page may.  So a
:class:`Snapshot` reads the plain facet columns once and gives every report
a position 0..N-1, in the order received (then id).  For every value of
every facet it keeps a Python ``int`` used as a bitset: bit *i* is set when
the report at position *i* has that value (violation and proposal set one
bit per code the report carries).  A received-date range is then a run of
positions, one mask.  Counting any combination of filters is a few dozen
ANDs and popcounts of 100,000-bit integers, under a millisecond; a
snapshot of 100,000 reports holds about 1.2 MB of bitsets.

Only plain codes ever enter the index (docs/sealed-and-plain.md#reports: status, urgency, region,
place, unit, language, assignee, violation and proposal codes, day
received): nothing sealed and no search text, so keeping it in a worker's
memory reveals nothing the database does not already hold in the clear.

:class:`FacetIndex` keeps one snapshot per worker and replaces it when it
is older than ``queue_counts_seconds`` (in the background while the old one
still answers), so counts may lag by about that much; the rows of the page
and the search never do.
"""

from __future__ import annotations

import sys
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from typing import Any

from sqlalchemy import Connection, Engine, Select, String, cast, func, select
from sqlalchemy.sql.functions import aggregate_strings

from registry.models import CaseMapping, Report, ReportViolation
from registry.review.queue import NONE, QueueFilters
from registry.review.refreshing import RefreshingIndex

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
# Cases whose submitter waits for an answer ("1"): counted like a facet when
# the snapshot has its bitset, which only the statistics snapshot builds
# (registry.review.stats reads the messages); a filter on it in a snapshot
# without it matches nothing.
WAITING = "waiting"
# Facets with one value per report (a column of ``reports``) ...
_COLUMNS = {
    "status": Report.status,
    "urgent": Report.urgent,
    "region": Report.region,
    "place": Report.place,
    "unit": Report.unit,
    "language": Report.language,
    "assignee": Report.assignee_id,
}
# ... and with any number of codes per report (a table of their own).
_LINKED = {
    "violation": (ReportViolation.code, ReportViolation.report_id),
    "proposal": (CaseMapping.proposal_code, CaseMapping.report_id),
}
_CHUNK = 5_000
# Counts kept per snapshot (about 12 KB each) before starting afresh.
_KEEP_COUNTS = 128
_ONE = ord("1")
# A snapshot up to ``seconds`` old is used as it is; up to this many times
# ``seconds`` old it is used once more while a new one is built in the
# background; older than that (a worker that showed no queue for a while),
# the page waits for a new one.


@dataclass(frozen=True)
class FacetCounts:
    """Per facet, reports matching the other filters by value; and the filtered total."""

    counts: dict[str, dict[str, int]]
    total: int

    def of(self, facet: str, value: str) -> int:
        """The count shown next to ``value`` of ``facet`` (0 when absent)."""
        return self.counts.get(facet, {}).get(value, 0)


def key(value: object) -> str:
    """The facet key of a column value: the filter value that selects it."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _required(filters: QueueFilters) -> list[tuple[str, str]]:
    """The ``(facet, value)`` pairs a report must have to match ``filters``.

    The received-date range is not among them: it has no facet of its own.
    """
    f = filters
    pairs = [
        ("status", f.status),
        ("urgent", "1" if f.urgent else None),
        ("region", f.region),
        ("violation", f.violation),
        ("place", f.place),
        ("unit", f.unit),
        ("proposal", f.proposal),
        ("language", f.language),
        ("assignee", None if f.assignee is None else str(f.assignee)),
        ("assignee", NONE if f.unassigned else None),
        (WAITING, "1" if f.waiting else None),
    ]
    return [(facet, value) for facet, value in pairs if value is not None]


@dataclass(frozen=True)
class Snapshot:
    """The bitmap index of every report at one moment (see the module docstring)."""

    # facet -> value key -> bitset over positions.
    bits: Mapping[str, Mapping[str, int]]
    # Every day some report was received, ascending, and the position of
    # that day's first report; ``starts`` ends with ``size``.
    days: Sequence[date]
    starts: Sequence[int]
    size: int
    # The clock reading when it began to read the database.
    built_at: float
    # Counts already made from this snapshot, by filters: reviewers come
    # back to the same few views.  Plain counts only; shared, never changed.
    _made: dict[QueueFilters, FacetCounts] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def received(self, first: date | None, last: date | None) -> int:
        """The mask of reports received from ``first`` to ``last`` (both included)."""
        low = 0 if first is None else self.starts[bisect_left(self.days, first)]
        high = self.size if last is None else self.starts[bisect_right(self.days, last)]
        # Positions are in the order received, so the range is one run of bits.
        return (1 << high) - (1 << low) if high > low else 0

    def counts(self, filters: QueueFilters) -> FacetCounts:
        """Counts for every facet under ``filters``, and the filtered total."""
        made = self._made.get(filters)
        if made is None:
            if len(self._made) >= _KEEP_COUNTS:
                self._made.clear()
            made = self._made[filters] = self._count(filters)
        return made

    def _count(self, filters: QueueFilters) -> FacetCounts:
        base = self.received(filters.received_from, filters.received_to)
        # A value no report has (yet) matches nothing, as in SQL.
        wanted = [
            (facet, self.bits.get(facet, {}).get(value, 0)) for facet, value in _required(filters)
        ]
        everything = base
        for _facet, bits in wanted:
            everything &= bits
        counts: dict[str, dict[str, int]] = {}
        for facet in (*FACETS, *((WAITING,) if WAITING in self.bits else ())):
            mask = everything
            if any(own == facet for own, _bits in wanted):
                mask = base  # this facet's own filter left out
                for other, bits in wanted:
                    if other != facet:
                        mask &= bits
            counts[facet] = {
                value: count
                for value, bits in self.bits.get(facet, {}).items()
                if (count := (bits & mask).bit_count())
            }
        return FacetCounts(counts, everything.bit_count())

    def frequent(self, filters: QueueFilters, reach: int) -> frozenset[str]:
        """Code filters of ``filters`` to test report by report for a page ending at ``reach``.

        A hint for the rows query (:func:`registry.review.queue.conditions`):
        testing reports in the page's order reads about ``reach × size /
        carriers`` of them, listing the code's carriers reads ``carriers``
        ids at about half the cost each (SQLite; bench/README.md).  A stale
        snapshot only makes the hint a little less apt, never the rows wrong.
        """
        found = set()
        for facet, value in (("violation", filters.violation), ("proposal", filters.proposal)):
            if value is not None:
                carriers = self.bits[facet].get(value, 0).bit_count()
                if 2 * reach * self.size < carriers * carriers:
                    found.add(facet)
        return frozenset(found)

    def memory_bytes(self) -> int:
        """Bytes the snapshot holds: bitsets, value keys, days (for the benchmark)."""
        held: list[object] = [self.bits, self.days, self.starts, *self.days, *self.starts]
        for values in self.bits.values():
            held.extend((values, *values.keys(), *values.values()))
        return sum(map(sys.getsizeof, held))


class _Codes(dict[Any, int]):
    """Small numbers for the values of one column, given out as they are first seen."""

    def __missing__(self, value: Any) -> int:
        self[value] = code = len(self)
        return code


def _digits_where(codes: bytes, code: int) -> bytes:
    """``codes`` with each byte ``code`` replaced by ASCII "1" and any other by "0"."""
    table = bytearray(b"0" * 256)
    table[code] = _ONE
    return codes.translate(table)


def _column_bits(codes: array[int], names: _Codes) -> dict[str, int]:
    """The bitset of each value of a one-value-per-report column, from each position's code.

    Kept in C for all 100,000 positions: the codes become a string of binary
    digits ("1" where the position has the value) that ``int(…, 2)`` reads.
    """
    codes.reverse()  # int() reads the most significant digit (the last position) first
    raw = codes.tobytes()
    low, high = (raw[0::2], raw[1::2]) if sys.byteorder == "little" else (raw[1::2], raw[0::2])
    found: dict[str, int] = {}
    for value, code in names.items():
        bits = int(_digits_where(low, code & 0xFF), 2)
        if len(names) > 0x100:  # two-byte codes: the high byte must match too
            bits &= int(_digits_where(high, code >> 8), 2)
        found[key(value)] = bits
    return found


def _position_bits(positions: Iterable[int], size: int) -> int:
    """A bitset of ``size`` bits with those at ``positions`` set."""
    digits = bytearray(b"0") * size
    for position in positions:
        digits[position] = _ONE
    digits.reverse()
    return int(digits, 2) if size else 0


def _rows(conn: Connection, query: Select[*tuple[Any, ...]]) -> Iterator[Sequence[tuple[Any, ...]]]:
    """The rows of ``query`` as the driver's own tuples, a chunk at a time.

    SQLAlchemy's result rows cost about 1 µs each, as much as the rest of a
    build, so the scan reads the driver's cursor directly; on PostgreSQL a
    named (server-side) one, so the driver does not hold all rows at once.
    The values are then the driver's own: on SQLite a boolean is 0 or 1,
    which :func:`key` reads as PostgreSQL's ``False`` and ``True``.
    """
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name="queue_facets")  # type: ignore[union-attr]
    else:
        cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(query.compile(dialect=conn.dialect)))
        while chunk := cursor.fetchmany(_CHUNK):
            yield chunk
    finally:
        cursor.close()


def _one_state(conn: Connection) -> None:
    """Make the reads that follow on ``conn`` all see one state of the database."""
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ")
    elif conn.dialect.name == "sqlite":
        # The sqlite3 driver begins a transaction only before a write, so
        # each SELECT would see its own state; one read transaction sees one.
        conn.exec_driver_sql("BEGIN")


def _linked(conn: Connection, ids: array[int]) -> dict[str, dict[str, int]]:
    """Bitsets of the codes in ``_LINKED``; ``ids`` are the report ids by position."""
    position = dict(zip(ids, range(len(ids)), strict=True))
    found: dict[str, dict[str, int]] = {}
    for facet, (code, report_id) in _LINKED.items():
        # One row per code, listing its reports: far fewer rows to read
        # than one per report and code.
        rows = conn.execute(
            select(code, aggregate_strings(cast(report_id, String), ",")).group_by(code)
        )
        found[facet] = {
            key(value): _position_bits(
                map(position.__getitem__, map(int, listed.split(","))), len(ids)
            )
            for value, listed in rows
        }
    return found


def read_reports(conn: Connection, built_at: float) -> tuple[Snapshot, Sequence[int]]:
    """Every report's plain facet columns, read on ``conn`` (the caller's one read state).

    Also returns the report ids in the snapshot's position order, for a
    caller that adds bitsets of its own (registry.review.stats).
    """
    per_day = (
        select(Report.received_on, func.count())
        .group_by(Report.received_on)
        .order_by(Report.received_on)
    )
    scan = select(Report.id, *_COLUMNS.values()).order_by(Report.received_on, Report.id)
    ids = array("q")
    codes = {facet: array("H") for facet in _COLUMNS}
    names = {facet: _Codes() for facet in _COLUMNS}
    days = conn.execute(per_day).all()
    for chunk in _rows(conn, scan):
        columns = list(zip(*chunk, strict=True))
        ids.extend(columns[0])
        for facet, column in zip(_COLUMNS, columns[1:], strict=True):
            codes[facet].extend(map(names[facet].__getitem__, column))
    bits = {facet: _column_bits(codes[facet], names[facet]) for facet in _COLUMNS}
    bits.update(_linked(conn, ids))
    starts = list(accumulate((count for _day, count in days), initial=0))
    if starts[-1] != len(ids):  # cannot happen within one state of the database
        raise RuntimeError("the reports changed while they were read")
    return Snapshot(bits, [day for day, _count in days], starts, len(ids), built_at), ids


def build(engine: Engine, built_at: float) -> Snapshot:
    """Read the plain facet columns of every report into a new :class:`Snapshot`."""
    with engine.connect() as conn:
        _one_state(conn)
        return read_reports(conn, built_at)[0]


class FacetIndex(RefreshingIndex[Snapshot]):
    """This worker's facet :class:`Snapshot` (see :mod:`registry.review.refreshing`).

    A build reads every report (a few hundred ms at 100,000, bench/README.md).
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(seconds, build, "queue facet snapshot", clock)
