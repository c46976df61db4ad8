"""The queue's bitmap index of facet counts: equal to SQL, fresh as configured (both databases)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from registry import db
from registry.db import make_engine
from registry.models import Account, CaseMapping, Report, ReportViolation, Role, Status
from registry.review import facets, refreshing
from registry.review.facets import FACETS, FacetCounts, FacetIndex, build, key
from registry.review.queue import NONE, QueueFilters, conditions
from registry.review.refreshing import STALE_FACTOR
from tests.review.queue_data import plain_report, sealed_report

PROPOSALS = ("torture-investigation", "custody-safeguards", "visible-identification")
REGIONS = ("minsk-city", "brest", "gomel")
PLACES = (None, "street", "vehicle")
UNITS = (None, "omon", "kgb")
LANGUAGES = ("be", "ru", "en")
VIOLATIONS = ("torture", "threats", "life", "coercion")
FIRST_DAY = date(2025, 1, 1)
DAYS = 20

# The reference: one GROUP BY per facet over the reports matching every
# other filter (the facet's own filter replaced by "any"), as the queue
# counted before the index.
_OWN: dict[str, dict[str, Any]] = {
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
_COLUMNS: dict[str, Any] = {
    "status": Report.status,
    "urgent": Report.urgent,
    "region": Report.region,
    "place": Report.place,
    "unit": Report.unit,
    "language": Report.language,
    "assignee": Report.assignee_id,
}
_LINKED: dict[str, Any] = {
    "violation": (ReportViolation.code, ReportViolation.report_id),
    "proposal": (CaseMapping.proposal_code, CaseMapping.report_id),
}


def sql_counts(session: Session, filters: QueueFilters) -> FacetCounts:
    """Facet counts and total computed by SQL, to compare the index with."""
    counts: dict[str, dict[str, int]] = {}
    for facet in FACETS:
        where = conditions(replace(filters, **_OWN[facet]))
        if facet in _LINKED:
            code, report_id = _LINKED[facet]
            query = select(code, func.count()).group_by(code)
            query = query.where(report_id.in_(select(Report.id).where(*where)))
        else:
            column = _COLUMNS[facet]
            query = select(column, func.count()).where(*where).group_by(column)
        counts[facet] = {key(value): count for value, count in session.execute(query)}
    total = session.scalar(select(func.count()).select_from(Report).where(*conditions(filters)))
    return FacetCounts(counts, total or 0)


def _accounts(session: Session, count: int) -> list[int]:
    accounts = [
        Account(email=f"f{i}@example.org", role=Role.REVIEWER.value, active=True)
        for i in range(count)
    ]
    session.add_all(accounts)
    session.flush()
    return [account.id for account in accounts]


def _random_reports(session: Session, rng: random.Random, count: int, staff: list[int]) -> None:
    for _ in range(count):
        plain_report(
            session,
            status=rng.choice(list(Status)).value,
            urgent=rng.random() < 0.2,
            region=rng.choice(REGIONS),
            place=rng.choice(PLACES),
            unit=rng.choice(UNITS),
            language=rng.choice(LANGUAGES),
            assignee_id=rng.choice([None, *staff]),
            # Several reports a day, so day boundaries fall inside runs.
            received_on=FIRST_DAY + timedelta(days=rng.randrange(DAYS)),
            violations=rng.sample(VIOLATIONS, rng.randint(0, 3)),
            proposals=rng.sample(PROPOSALS, rng.choice((0, 0, 1, 2))),
        )
    session.commit()


def _random_filters(rng: random.Random, staff: list[int]) -> QueueFilters:
    def maybe(*values: Any) -> Any:
        return rng.choice(values) if rng.random() < 0.3 else None

    def day() -> date | None:
        # Days before, inside and after the reports' range.
        if rng.random() < 0.5:
            return None
        return FIRST_DAY + timedelta(days=rng.randrange(-3, DAYS + 3))

    who = rng.choice([None, None, "nobody", *staff])
    return QueueFilters(
        status=maybe(*(s.value for s in Status)),
        urgent=rng.random() < 0.15,
        region=maybe(*REGIONS, "vitebsk"),  # a region no report has
        violation=maybe(*VIOLATIONS, "sexual-violence"),
        place=maybe(NONE, "street", "vehicle"),
        unit=maybe(NONE, "omon", "kgb"),
        proposal=maybe(*PROPOSALS),
        language=maybe(*LANGUAGES),
        assignee=who if isinstance(who, int) else None,
        unassigned=who == "nobody",
        received_from=day(),
        received_to=day(),
    )


@pytest.mark.parametrize("chunk", [5_000, 7])
def test_counts_equal_sql_for_random_filters(
    app: Flask, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # A tiny chunk makes the scan read the reports in many pieces.
    monkeypatch.setattr(facets, "_CHUNK", chunk)
    rng = random.Random(20251125 + chunk)
    with app.app_context():
        session = db.session()
        staff = _accounts(session, 3)
        _random_reports(session, rng, 150, staff)
        snapshot = build(db.engine(), 0.0)
        assert snapshot.size == 150
        everything = QueueFilters()
        assert snapshot.counts(everything) == sql_counts(session, everything)
        for _ in range(60):
            filters = _random_filters(rng, staff)
            assert snapshot.counts(filters) == sql_counts(session, filters), filters


def test_date_ranges_at_the_edges(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        for day in (1, 2, 2, 2, 5, 9):
            plain_report(session, received_on=date(2025, 3, day))
        session.commit()
        snapshot = build(db.engine(), 0.0)

        def march(day: int | None) -> date | None:
            return None if day is None else date(2025, 3, 1) + timedelta(days=day - 1)

        def total(first: int | None, last: int | None) -> int:
            filters = QueueFilters(received_from=march(first), received_to=march(last))
            return snapshot.counts(filters).total

        assert total(None, None) == 6
        assert total(2, 2) == 3  # one whole day
        assert total(3, 4) == 0  # between days
        assert total(1, 1) == total(9, 9) == 1  # the first and the last
        assert total(2, None) == 5
        assert total(None, 4) == 4
        assert total(10, None) == total(None, 0) == 0  # outside the range
        assert total(5, 2) == 0  # an empty range, as in SQL


def test_more_than_256_values_in_a_column(app: Flask) -> None:
    # Codes of a column take two bytes past 256 distinct values (here assignees).
    with app.app_context():
        session = db.session()
        staff = _accounts(session, 300)
        for index, account_id in enumerate(staff):
            for _ in range(1 + index % 3):
                plain_report(session, assignee_id=account_id)
        plain_report(session)
        session.commit()
        snapshot = build(db.engine(), 0.0)
        counts = snapshot.counts(QueueFilters())
        assert counts == sql_counts(session, QueueFilters())
        assert len(counts.counts["assignee"]) == 301
        assert counts.of("assignee", str(staff[257])) == 1 + 257 % 3
        mine = QueueFilters(assignee=staff[299])
        assert snapshot.counts(mine) == sql_counts(session, mine)


def test_an_empty_registry(app: Flask) -> None:
    with app.app_context():
        counts = build(db.engine(), 0.0).counts(QueueFilters(status="new"))
        assert counts.total == 0
        assert counts.counts == {facet: {} for facet in FACETS}


def test_only_plain_codes_enter_the_index(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        sealed_report(
            session, "SECRET-NARRATIVE Officer Ivanov", [], answers={"witnesses": "Petrov"}
        )
        session.commit()
        snapshot = build(db.engine(), 0.0)
        report = session.scalars(select(Report)).one()
        plain = {
            report.status,
            report.region,
            report.language,
            "0",  # not urgent
            NONE,  # no place, unit or assignee
            *(violation.code for violation in report.violations),
        }
        held = {value for values in snapshot.bits.values() for value in values}
        assert held == plain


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def one_new_report(app: Flask) -> Iterator[tuple[Session, Engine, int]]:
    with app.app_context():
        session = db.session()
        report_id = plain_report(session, status="new").id
        session.commit()
        yield session, db.engine(), report_id


def _set_status(session: Session, report_id: int, status: str) -> None:
    session.execute(update(Report).where(Report.id == report_id).values(status=status))
    session.commit()


def _new(index: FacetIndex, engine: Engine) -> int:
    return index.snapshot(engine).counts(QueueFilters()).of("status", "new")


def test_a_snapshot_is_kept_for_its_lifetime_then_rebuilt(
    one_new_report: tuple[Session, Engine, int],
) -> None:
    session, engine, report_id = one_new_report
    clock = Clock()
    index = FacetIndex(30, clock=clock)
    assert _new(index, engine) == 1
    _set_status(session, report_id, "closed")
    clock.now += 29
    assert _new(index, engine) == 1  # still fresh: the counts lag
    clock.now += 2
    # Stale: this page gets the old counts once, while a new snapshot is
    # built in the background; a later page gets the new counts.
    assert _new(index, engine) == 1
    deadline = time.monotonic() + 10
    while _new(index, engine) != 0:
        assert time.monotonic() < deadline, "the background rebuild never arrived"
        time.sleep(0.01)
    # Long unused: the page waits for a new snapshot instead.
    _set_status(session, report_id, "new")
    clock.now += 30 * STALE_FACTOR
    assert _new(index, engine) == 1


def test_zero_seconds_counts_live(one_new_report: tuple[Session, Engine, int]) -> None:
    session, engine, report_id = one_new_report
    index = FacetIndex(0)
    assert _new(index, engine) == 1
    _set_status(session, report_id, "in-review")
    assert _new(index, engine) == 0
    _set_status(session, report_id, "new")
    assert _new(index, engine) == 1


def test_a_failed_background_build_keeps_the_old_snapshot(
    one_new_report: tuple[Session, Engine, int],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    _session, engine, _report_id = one_new_report
    clock = Clock()
    index = FacetIndex(30, clock=clock)
    assert _new(index, engine) == 1
    clock.now += 31
    broken = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no tables: builds fail

    def logged() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == refreshing.__name__]

    try:
        with caplog.at_level(logging.ERROR, logger=refreshing.__name__):
            assert _new(index, broken) == 1  # the old snapshot, while it fails in the background
            deadline = time.monotonic() + 10
            while not logged():
                assert time.monotonic() < deadline, "the failure was never logged"
                time.sleep(0.01)
    finally:
        broken.dispose()
    # Only the kind of error is logged, never the database's text (it may quote SQL).
    assert logged() == ["queue facet snapshot failed: OperationalError"]
    # The old snapshot still answers; a later page builds a new one.
    assert _new(index, engine) == 1
    clock.now += 30 * STALE_FACTOR
    assert index.snapshot(engine).built_at == clock.now
