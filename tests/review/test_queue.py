"""The queue's filters, facet counts and orders, on the service (both databases)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import db
from registry.models import Account, Report, Role, Status
from registry.review import queue
from registry.review.facets import FacetCounts, build
from registry.review.queue import PAGE_SIZE, QueueFilters, Sort, conditions, queue_page
from tests.review.queue_data import plain_report

P1, P2 = "torture-investigation", "custody-safeguards"


@dataclass
class World:
    """Five reports with distinct plain columns, and two staff accounts."""

    session: Session
    ids: dict[str, int]
    a: int
    b: int

    def names(self, filters: QueueFilters, sort: Sort = Sort.NEWEST) -> list[str]:
        """The queue's first page, as report names, in order."""
        by_id = {report_id: name for name, report_id in self.ids.items()}
        return [by_id[r.id] for r in queue_page(self.session, filters, sort, 1)]

    def counts(self, filters: QueueFilters) -> FacetCounts:
        """The facet counts under ``filters``, from a new snapshot of the index."""
        return build(db.engine(), 0.0).counts(filters)


def _account(session: Session, email: str) -> int:
    account = Account(email=email, role=Role.REVIEWER.value, active=True)
    session.add(account)
    session.flush()
    return account.id


@pytest.fixture
def world(app: Flask) -> Iterator[World]:
    with app.app_context():
        session = db.session()
        a, b = _account(session, "a@example.org"), _account(session, "b@example.org")
        rows = {
            "r1": dict(
                status="new",
                urgent=True,
                region="minsk-city",
                violations=["torture"],
                place="street",
                unit="omon",
                language="be",
                assignee_id=a,
                received_on=date(2025, 1, 10),
                incident_month="2020-08",
                proposals=[P1],
            ),
            "r2": dict(
                status="in-review",
                region="brest",
                violations=["threats", "coercion"],
                language="ru",
                received_on=date(2025, 2, 10),
                incident_month="2021-03",
            ),
            "r3": dict(
                status="verified",
                region="gomel",
                violations=["torture", "detention-conditions"],
                place="temporary-detention",
                unit="gubopik",
                language="en",
                assignee_id=b,
                received_on=date(2025, 3, 10),
                proposals=[P2],
            ),
            "r4": dict(
                status="new",
                region="minsk-city",
                violations=["life"],
                place="vehicle",
                unit="omon",
                received_on=date(2025, 3, 10),
                incident_month="2020-12",
            ),
            "r5": dict(
                status="closed",
                region="brest",
                violations=["torture"],
                place="street",
                unit="kgb",
                language="be",
                assignee_id=a,
                received_on=date(2024, 12, 31),
                incident_month="2020-08",
                proposals=[P1, P2],
            ),
        }
        # Ids in the order listed (real ones are random), so the expected
        # orders below can name the tie-break between r3 and r4.
        ids = {
            name: plain_report(session, id=position, **columns).id
            for position, (name, columns) in enumerate(rows.items(), start=1)
        }
        session.commit()
        yield World(session, ids, a, b)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (dict(status="new"), {"r1", "r4"}),
        (dict(urgent=True), {"r1"}),
        (dict(region="brest"), {"r2", "r5"}),
        (dict(violation="torture"), {"r1", "r3", "r5"}),
        (dict(violation="sexual-violence"), set()),
        (dict(place="street"), {"r1", "r5"}),
        (dict(place="none"), {"r2"}),
        (dict(unit="omon"), {"r1", "r4"}),
        (dict(unit="none"), {"r2"}),
        (dict(proposal=P1), {"r1", "r5"}),
        (dict(proposal=P2), {"r3", "r5"}),
        (dict(language="be"), {"r1", "r5"}),
        (dict(language="en"), {"r3"}),
        (dict(unassigned=True), {"r2", "r4"}),
        (dict(received_from=date(2025, 3, 1)), {"r3", "r4"}),
        (dict(received_to=date(2025, 1, 10)), {"r1", "r5"}),
        (dict(received_from=date(2025, 1, 10), received_to=date(2025, 2, 10)), {"r1", "r2"}),
    ],
)
def test_each_filter_narrows(world: World, filters: dict[str, object], expected: set[str]) -> None:
    assert set(world.names(QueueFilters(**filters))) == expected  # type: ignore[arg-type]
    assert set(world.names(QueueFilters())) == set(world.ids)


def test_assignee_filter(world: World) -> None:
    assert set(world.names(QueueFilters(assignee=world.a))) == {"r1", "r5"}
    assert set(world.names(QueueFilters(assignee=world.b))) == {"r3"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (dict(status="new", region="minsk-city", violation="torture"), {"r1"}),
        (dict(region="brest", violation="torture", language="be"), {"r5"}),
        (dict(violation="torture", proposal=P2), {"r3", "r5"}),
        (dict(place="street", unit="kgb", proposal=P1), {"r5"}),
        (dict(unassigned=True, status="new"), {"r4"}),
        (dict(urgent=True, region="brest"), set()),
        (dict(violation="torture", received_from=date(2025, 1, 1)), {"r1", "r3"}),
    ],
)
def test_filters_combine(world: World, filters: dict[str, object], expected: set[str]) -> None:
    assert set(world.names(QueueFilters(**filters))) == expected  # type: ignore[arg-type]


def test_facet_counts_leave_out_their_own_filter(world: World) -> None:
    counts = world.counts(QueueFilters(region="brest", status="closed"))
    # Own filter left out: every region among closed cases; every status in Brest.
    assert counts.counts["region"] == {"brest": 1}
    assert counts.counts["status"] == {"in-review": 1, "closed": 1}
    # Other facets: both filters apply (only r5).
    assert counts.counts["violation"] == {"torture": 1}
    assert counts.counts["proposal"] == {P1: 1, P2: 1}
    assert counts.counts["place"] == {"street": 1}
    assert counts.counts["assignee"] == {str(world.a): 1}
    assert counts.counts["language"] == {"be": 1}
    assert counts.total == 1


def test_facet_counts_without_filters(world: World) -> None:
    counts = world.counts(QueueFilters())
    assert counts.total == 5
    assert counts.counts["status"] == {"new": 2, "in-review": 1, "verified": 1, "closed": 1}
    assert counts.counts["urgent"] == {"1": 1, "0": 4}
    assert counts.counts["place"] == {
        "street": 2,
        "temporary-detention": 1,
        "vehicle": 1,
        "none": 1,
    }
    assert counts.counts["unit"]["none"] == 1
    assert counts.counts["assignee"] == {str(world.a): 2, str(world.b): 1, "none": 2}
    # A report counts once per code it carries.
    assert counts.counts["violation"]["torture"] == 3
    assert counts.of("violation", "sexual-violence") == 0


def test_multi_valued_facets_under_filters(world: World) -> None:
    counts = world.counts(QueueFilters(violation="torture", assignee=world.a))
    # Violation counts among a's cases (r1, r5); a's own filter left out of the assignee facet.
    assert counts.counts["violation"] == {"torture": 2}
    assert counts.counts["assignee"] == {str(world.a): 2, str(world.b): 1}
    assert counts.counts["proposal"] == {P1: 2, P2: 1}
    assert counts.total == 2


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # r3 and r4 arrived the same day: the later id first, then the same
        # tie broken the other way when oldest first.
        (Sort.NEWEST, ["r4", "r3", "r2", "r1", "r5"]),
        (Sort.OLDEST, ["r5", "r1", "r2", "r3", "r4"]),
        (Sort.MONTH, ["r2", "r4", "r5", "r1", "r3"]),  # no month (r3) last
        (Sort.STATUS, ["r4", "r1", "r2", "r3", "r5"]),  # workflow order, then newest
        (Sort.URGENT, ["r1", "r4", "r3", "r2", "r5"]),
    ],
)
def test_sort_orders(world: World, sort: Sort, expected: list[str]) -> None:
    assert world.names(QueueFilters(), sort) == expected


def test_pages_do_not_overlap(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        for day in range(1, 29):
            for _ in range(4):  # many reports on the same day: the id breaks the tie
                plain_report(session, received_on=date(2025, 2, day), region="brest")
        plain_report(session, region="gomel")
        session.commit()
        brest = QueueFilters(region="brest")
        pages = [queue_page(session, brest, Sort.NEWEST, page) for page in (1, 2, 3, 4)]
        assert [len(page) for page in pages] == [PAGE_SIZE, PAGE_SIZE, 112 - 2 * PAGE_SIZE, 0]
        seen = [report.id for page in pages for report in page]
        assert len(set(seen)) == 112
        days = [report.received_on for page in pages for report in page]
        assert days == sorted(days, reverse=True)
        assert build(db.engine(), 0.0).counts(brest).total == 112


def _mixed(session: Session, count: int, seed: int) -> None:
    """``count`` reports with every status, months given or not, and many on one day."""
    rng = random.Random(seed)
    for _ in range(count):
        plain_report(
            session,
            status=rng.choice(list(Status)).value,
            region=rng.choice(("brest", "gomel")),
            received_on=date(2025, 3, rng.randint(1, 6)),
            incident_month=rng.choice((None, "2020-08", "2021-01", "2024-12")),
            violations=rng.sample(("torture", "threats", "life"), rng.randint(1, 2)),
            proposals=rng.sample((P1, P2), rng.randint(0, 1)),
        )
    session.commit()


def _count(session: Session, filters: QueueFilters) -> int:
    return session.scalar(select(func.count()).select_from(Report).where(*conditions(filters))) or 0


@pytest.mark.parametrize("sort", [Sort.STATUS, Sort.MONTH])
def test_orders_read_in_blocks_equal_one_sort(
    app: Flask, monkeypatch: pytest.MonkeyPatch, sort: Sort
) -> None:
    with app.app_context():
        session = db.session()
        _mixed(session, 2 * PAGE_SIZE + 30, seed=5)
        for filters in (QueueFilters(), QueueFilters(region="brest"), QueueFilters(status="new")):

            def pages(filters: QueueFilters = filters) -> list[list[int]]:
                return [[r.id for r in queue_page(session, filters, sort, n)] for n in (1, 2, 3)]

            in_blocks = pages()
            monkeypatch.setattr(queue, "BLOCK_DEPTH", 0)  # every page one sort
            assert pages() == in_blocks, filters
            monkeypatch.undo()
            everyone = {r for page in in_blocks for r in page}
            assert sum(map(len, in_blocks)) == len(everyone) == _count(session, filters)


def test_frequent_codes_find_the_same_rows(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        _mixed(session, 2 * PAGE_SIZE + 30, seed=6)
        for filters in (
            QueueFilters(violation="torture"),
            QueueFilters(violation="life", status="new"),
            QueueFilters(proposal=P1, region="gomel"),
            QueueFilters(violation="threats", proposal=P2),
        ):
            for sort in Sort:
                for page in (1, 2):
                    listed = queue_page(session, filters, sort, page)
                    tested = queue_page(
                        session, filters, sort, page, frequent={"violation", "proposal"}
                    )
                    assert [r.id for r in tested] == [r.id for r in listed], (filters, sort)


def test_which_codes_count_as_frequent(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        for index in range(400):
            # torture on every report, threats on 1 in 20, life on one
            codes = [
                "torture",
                *(["threats"] if index % 20 == 0 else []),
                *(["life"] * (index == 0)),
            ]
            plain_report(session, violations=codes)
        session.commit()
        snapshot = build(db.engine(), 0.0)

        def frequent(code: str, page: int) -> bool:
            hint = snapshot.frequent(QueueFilters(violation=code), page * PAGE_SIZE)
            return "violation" in hint

        assert frequent("torture", 1)
        # Deep in the queue, testing reaches as many reports as listing them all.
        assert not frequent("torture", 8)
        assert not frequent("life", 1)
        assert not frequent("threats", 1)  # 20 of 400: listing them is cheaper
        assert not snapshot.frequent(QueueFilters(), PAGE_SIZE)
