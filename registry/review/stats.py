"""Live team statistics for /review/stats, from plain columns only.

The team's own overview: intake per week and month, the backlog by status,
the age of open cases, time to first reply, cases waiting on a submitter's
message, and breakdowns by region, violation, place, unit and proposal,
each under the queue's filters.  Staff only; never published (the public
sees published snapshots alone, registry.evidence.snapshots).

WHY plain columns only: these figures need no key and open nothing, so the
page is not audited and a reviewer sees counts of cases they cannot open,
exactly as the queue's facet counts show them.  Nothing sealed is read: the
reply figures come from the messages' plain ``direction``, ``seq`` and
``created_on`` (a day), never from their sealed copies.

Why a bitmap snapshot and not a ``GROUP BY`` per figure: at 100,000
reports one ``GROUP BY`` per facet costs 65-300 ms (bench/README.md), and
the message figures read every message row, which is wide (two sealed
copies): 0.2-2 s a page (bench/team_stats.py).  So, like the queue's
counts (:mod:`registry.review.facets`, whose bitsets this reuses), a
:class:`StatsSnapshot` reads the plain columns once, in one consistent
state of the database, into bitsets over the reports in the order
received: the queue's facet bitsets, plus one for the cases waiting on the
submitter and one per number of days their first reply took.  Every figure
under any filters is then a few hundred ANDs and popcounts.
:class:`StatsIndex` keeps one per worker and replaces it when older than
``queue_counts_seconds``, so the figures may lag by about that much (the
page says so).  Like the facet index, it holds plain codes only, nothing
the database does not already hold in the clear.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import Engine, select

from registry.models import Direction, Message, Status

# The queue's own scanning helpers: the same bitsets, built the same way
# (private to the review package's facet index; shared, not copied).
from registry.review.facets import (
    Snapshot,
    _one_state,
    _position_bits,
    _required,
    read_reports,
)
from registry.review.queue import QueueFilters
from registry.review.refreshing import RefreshingIndex

WEEKS = 12
MONTHS = 12
BREAKDOWNS = ("region", "violation", "place", "unit", "proposal")
OPEN_STATUSES = tuple(s.value for s in Status if s != Status.CLOSED)
# Age of an open case in days since it was received: (code, first, last).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-30", 8, 30),
    ("31-90", 31, 90),
    ("91-365", 91, 365),
    ("366+", 366, None),
)
# Days from receipt to the first reply: (code, first, last).
REPLY_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0),
    ("1-2", 1, 2),
    ("3-7", 3, 7),
    ("8-30", 8, 30),
    ("31+", 31, None),
)


@dataclass(frozen=True)
class Replies:
    """Time to first reply: cases answered at least once, by days taken."""

    replied: int
    median_days: float | None
    # (bucket code, cases) in REPLY_BUCKETS order.
    buckets: list[tuple[str, int]]


@dataclass(frozen=True)
class TeamStats:
    """Every figure of the statistics page, for one set of queue filters."""

    total: int
    open: int
    # (Monday of the week, reports received that week), oldest first.
    weeks: list[tuple[date, int]]
    # ("YYYY-MM", reports received that month), oldest first.
    months: list[tuple[str, int]]
    # Every status (workflow order) with its count.
    statuses: list[tuple[str, int]]
    # Open cases by age, in AGE_BUCKETS order.
    ages: list[tuple[str, int]]
    replies: Replies
    # Cases whose latest message is the submitter's (no reply after it yet).
    waiting: int
    # facet -> value key (queue filter value; NONE for "not given") -> count.
    breakdowns: dict[str, dict[str, int]]


def team_stats(stats: StatsSnapshot, filters: QueueFilters, today: date) -> TeamStats:
    """The statistics of the reports matching ``filters`` (as the queue filters them)."""
    snapshot = stats.reports
    matching = _matching(snapshot, filters)
    closed = snapshot.bits["status"].get(Status.CLOSED.value, 0)
    still_open = matching & ~closed
    end = min(today, filters.received_to) if filters.received_to else today
    return TeamStats(
        total=matching.bit_count(),
        open=still_open.bit_count(),
        weeks=_weeks(snapshot, matching, end),
        months=_months(snapshot, matching, end),
        statuses=[
            (status.value, (snapshot.bits["status"].get(status.value, 0) & matching).bit_count())
            for status in Status
        ],
        ages=_ages(snapshot, still_open, today),
        replies=_replies(stats, matching),
        waiting=(stats.waiting & matching).bit_count(),
        breakdowns={
            facet: {
                value: count
                for value, bits in snapshot.bits[facet].items()
                if (count := (bits & matching).bit_count())
            }
            for facet in BREAKDOWNS
        },
    )


def _matching(snapshot: Snapshot, filters: QueueFilters) -> int:
    """The bitset of the reports that match every filter (the queue's rows)."""
    mask = snapshot.received(filters.received_from, filters.received_to)
    for facet, value in _required(filters):
        # A value no report has (yet) matches nothing, as in SQL.
        mask &= snapshot.bits[facet].get(value, 0)
    return mask


def _received_between(snapshot: Snapshot, matching: int, first: date, last: date) -> int:
    return (snapshot.received(first, last) & matching).bit_count()


def _weeks(snapshot: Snapshot, matching: int, end: date) -> list[tuple[date, int]]:
    """Reports received in each of the WEEKS weeks (Monday to Sunday) up to ``end``'s week."""
    last_monday = end - timedelta(days=end.weekday())
    mondays = [last_monday - timedelta(weeks=back) for back in range(WEEKS - 1, -1, -1)]
    return [
        (monday, _received_between(snapshot, matching, monday, monday + timedelta(days=6)))
        for monday in mondays
    ]


def _month_start(year: int, month: int) -> date:
    """The first day of ``month`` of ``year``, where ``month`` may run below 1."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, 1)


def _months(snapshot: Snapshot, matching: int, end: date) -> list[tuple[str, int]]:
    """Reports received in each of the MONTHS calendar months up to ``end``'s month."""
    found = []
    for back in range(MONTHS - 1, -1, -1):
        first = _month_start(end.year, end.month - back)
        after = _month_start(first.year, first.month + 1)
        count = _received_between(snapshot, matching, first, after - timedelta(days=1))
        found.append((f"{first.year:04d}-{first.month:02d}", count))
    return found


def _ages(snapshot: Snapshot, still_open: int, today: date) -> list[tuple[str, int]]:
    """Open cases by days since receipt, in AGE_BUCKETS."""
    found = []
    for code, youngest, oldest in AGE_BUCKETS:
        first = None if oldest is None else today - timedelta(days=oldest)
        received = snapshot.received(first, today - timedelta(days=youngest))
        found.append((code, (received & still_open).bit_count()))
    return found


def _replies(stats: StatsSnapshot, matching: int) -> Replies:
    """Days from receipt to the first staff reply, over the matching cases answered."""
    by_days = [
        (days, count)
        for days, bits in sorted(stats.reply_days.items())
        if (count := (bits & matching).bit_count())
    ]
    replied = sum(n for _d, n in by_days)
    buckets = [
        (code, sum(n for d, n in by_days if low <= d and (high is None or d <= high)))
        for code, low, high in REPLY_BUCKETS
    ]
    return Replies(replied, _median(by_days, replied), buckets)


def _median(by_days: list[tuple[int, int]], total: int) -> float | None:
    """The median of a histogram of (value, how many), sorted by value."""
    if total == 0:
        return None
    wanted = [(total - 1) // 2, total // 2]  # the middle one, or the middle two
    found: list[int] = []
    seen = 0
    for value, count in by_days:
        while wanted and wanted[0] < seen + count:
            found.append(value)
            wanted.pop(0)
        seen += count
    return sum(found) / len(found)


# --- the snapshot and the per-worker index -----------------------------------


@dataclass(frozen=True)
class StatsSnapshot:
    """The plain figures of every report at one moment, as bitsets (module docstring)."""

    # The queue's facet bitsets, over positions in the order received.
    reports: Snapshot
    # Reports whose latest message is the submitter's.
    waiting: int
    # Days from receipt to the first reply -> reports answered after so many days.
    reply_days: Mapping[int, int]
    built_at: float
    # The ids of the waiting reports, for the queue's rows (few, by nature).
    waiting_ids: frozenset[int] = frozenset()


def _conversations(
    rows: Iterable[tuple[int, int, str, date]],
) -> tuple[dict[int, date], dict[int, tuple[int, str]]]:
    """Per report: the day of its first reply, and (seq, direction) of its latest message."""
    first_reply: dict[int, date] = {}
    latest: dict[int, tuple[int, str]] = {}
    to_submitter = Direction.TO_SUBMITTER.value
    for report_id, seq, direction, day in rows:
        if direction == to_submitter:
            known = first_reply.get(report_id)
            if known is None or day < known:
                first_reply[report_id] = day
        if seq > latest.get(report_id, (0, ""))[0]:
            latest[report_id] = (seq, direction)
    return first_reply, latest


def build(engine: Engine, built_at: float) -> StatsSnapshot:
    """Read the plain columns of every report and message into a new :class:`StatsSnapshot`.

    One read transaction (one state of the database) for reports, codes and
    messages, so every bitset speaks of the same reports at the same positions.
    """
    # The columns the figures need, never the sealed copies.
    messages = select(Message.report_id, Message.seq, Message.direction, Message.created_on)
    with engine.connect() as conn:
        _one_state(conn)
        reports, ids = read_reports(conn, built_at)
        first_reply, latest = _conversations(conn.execute(messages))
    received, starts = reports.days, reports.starts
    position = dict(zip(ids, range(len(ids)), strict=True))
    waiting = _position_bits(
        (
            position[report_id]
            for report_id, (_seq, direction) in latest.items()
            if direction == Direction.TO_STAFF.value and report_id in position
        ),
        len(ids),
    )
    by_days: dict[int, list[int]] = {}
    for report_id, day in first_reply.items():
        at = position.get(report_id)
        if at is not None:
            # Its receipt day: the day of the run of positions it is in.
            received_on = received[bisect_right(starts, at) - 1]
            # A reply dated before the receipt (an import oddity) counts as the same day.
            by_days.setdefault(max((day - received_on).days, 0), []).append(at)
    reply_days = {days: _position_bits(at, len(ids)) for days, at in by_days.items()}
    # The queue counts and filters on the same bitset (registry.review.attention):
    # a facet of its own, and the few report ids it holds for the rows query.
    reports = replace(reports, bits={**reports.bits, "waiting": {"1": waiting}})
    waiting_ids = frozenset(
        report_id
        for report_id, (_seq, direction) in latest.items()
        if direction == Direction.TO_STAFF.value and report_id in position
    )
    return StatsSnapshot(reports, waiting, reply_days, built_at, waiting_ids)


class StatsIndex(RefreshingIndex[StatsSnapshot]):
    """This worker's :class:`StatsSnapshot` (see :mod:`registry.review.refreshing`)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(seconds, build, "team statistics snapshot", clock)
