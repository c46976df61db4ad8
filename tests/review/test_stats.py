"""Team statistics (/review/stats): exact figures on a known registry, filters, access, publish.

Both databases (the ``app`` fixture is parametrised).  The registry below
is small enough to count by hand; every expected number is worked out in
the comments next to the rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import db
from registry.models import AuditEvent, Direction, EvidenceSnapshot, Message, Role
from registry.records.ids import new_public_id
from registry.review import stats
from registry.review.facets import build
from registry.review.queue import NONE, QueueFilters
from registry.review.refreshing import STALE_FACTOR
from registry.review.stats import StatsIndex, TeamStats, team_stats
from registry.web.security import CSP
from tests.helpers import StaffActions, csrf_token, english_client
from tests.review.queue_data import plain_report

P1, P2 = "torture-investigation", "custody-safeguards"
# A Monday: the last of the twelve weeks starts today.
TODAY = date(2025, 3, 31)
TO_STAFF, TO_SUBMITTER = Direction.TO_STAFF.value, Direction.TO_SUBMITTER.value

# name: (report columns, [(direction, day)] in conversation order)
REGISTRY: dict[str, tuple[dict[str, object], list[tuple[str, date]]]] = {
    # age 0; never written to
    "r1": (
        dict(
            status="new",
            region="minsk-city",
            received_on=date(2025, 3, 31),
            violations=["torture"],
            place="street",
            unit="omon",
            proposals=[P1],
        ),
        [],
    ),
    # age 11; replied after 1 day; the submitter wrote last: waiting
    "r2": (
        dict(
            status="in-review",
            region="brest",
            received_on=date(2025, 3, 20),
            violations=["threats", "coercion"],
        ),
        [(TO_SUBMITTER, date(2025, 3, 21)), (TO_STAFF, date(2025, 3, 25))],
    ),
    # age 80; first reply after 10 days; staff wrote last
    "r3": (
        dict(
            status="verified",
            region="gomel",
            received_on=date(2025, 1, 10),
            violations=["torture"],
            unit="omon",
            proposals=[P1, P2],
        ),
        [
            (TO_STAFF, date(2025, 1, 12)),
            (TO_SUBMITTER, date(2025, 1, 20)),
            (TO_SUBMITTER, date(2025, 1, 25)),
        ],
    ),
    # closed (not open); replied the same day
    "r4": (
        dict(
            status="closed",
            disposition="substantiated",
            region="minsk-city",
            received_on=date(2024, 2, 1),
            violations=["torture"],
        ),
        [(TO_SUBMITTER, date(2024, 2, 1))],
    ),
    # age 395; the submitter wrote, nobody replied: waiting, not replied
    "r5": (
        dict(
            status="needs-info",
            region="minsk-city",
            received_on=date(2024, 3, 1),
            violations=["threats"],
            place="street",
            urgent=True,
        ),
        [(TO_STAFF, date(2024, 3, 5))],
    ),
}


def _seed(session: Session) -> None:
    for columns, conversation in REGISTRY.values():
        report = plain_report(session, **columns)
        for seq, (direction, day) in enumerate(conversation, start=1):
            session.add(
                Message(
                    public_id=new_public_id(),
                    report_id=report.id,
                    seq=seq,
                    direction=direction,
                    created_on=day,
                    staff_copy=b"sealed",
                    submitter_copy=b"sealed",
                )
            )
    session.commit()


@dataclass
class Figures:
    session: Session

    def __call__(self, **filters: object) -> TeamStats:
        snapshot = stats.build(db.engine(), 0.0)
        return team_stats(snapshot, QueueFilters(**filters), TODAY)  # type: ignore[arg-type]


@pytest.fixture
def figures(app: Flask) -> Iterator[Figures]:
    with app.app_context():
        session = db.session()
        _seed(session)
        yield Figures(session)


def test_every_figure_of_the_whole_registry(figures: Figures) -> None:
    found = figures()
    assert (found.total, found.open, found.waiting) == (5, 4, 2)
    assert found.statuses == [
        ("new", 1),
        ("in-review", 1),
        ("needs-info", 1),
        ("verified", 1),
        ("closed", 1),
    ]
    # r1 0 days, r2 11, r3 80, r5 395 (r4 is closed).
    assert found.ages == [("0-7", 1), ("8-30", 1), ("31-90", 1), ("91-365", 0), ("366+", 1)]
    # First replies: r4 0 days, r2 1, r3 10.
    assert found.replies.replied == 3
    assert found.replies.median_days == 1.0
    assert found.replies.buckets == [("0", 1), ("1-2", 1), ("3-7", 0), ("8-30", 1), ("31+", 0)]
    # Twelve weeks from Monday 2025-01-13: r2 (Thursday 03-20) and r1 (03-31).
    assert len(found.weeks) == 12
    assert found.weeks[0] == (date(2025, 1, 13), 0)
    assert {monday: n for monday, n in found.weeks if n} == {
        date(2025, 3, 17): 1,
        date(2025, 3, 31): 1,
    }
    # Twelve months 2024-04 … 2025-03: r1, r2 in March, r3 in January.
    assert [month for month, _n in found.months][:2] == ["2024-04", "2024-05"]
    assert {month: n for month, n in found.months if n} == {"2025-01": 1, "2025-03": 2}
    assert found.breakdowns == {
        "region": {"minsk-city": 3, "brest": 1, "gomel": 1},
        "violation": {"torture": 3, "threats": 2, "coercion": 1},
        "place": {"street": 2, NONE: 3},
        "unit": {"omon": 2, NONE: 3},
        "proposal": {P1: 2, P2: 1},
    }


def test_a_region_filter_applies_to_every_figure(figures: Figures) -> None:
    found = figures(region="minsk-city")  # r1, r4, r5
    assert (found.total, found.open, found.waiting) == (3, 2, 1)
    assert (found.replies.replied, found.replies.median_days) == (1, 0.0)
    assert found.ages == [("0-7", 1), ("8-30", 0), ("31-90", 0), ("91-365", 0), ("366+", 1)]
    assert {month: n for month, n in found.months if n} == {"2025-03": 1}
    assert found.breakdowns["region"] == {"minsk-city": 3}
    assert found.breakdowns["violation"] == {"torture": 2, "threats": 1}


def test_a_violation_filter_reaches_the_messages(figures: Figures) -> None:
    found = figures(violation="threats")  # r2, r5: both waiting, r2 replied after 1 day
    assert (found.total, found.waiting) == (2, 2)
    assert (found.replies.replied, found.replies.median_days) == (1, 1.0)


def test_a_proposal_filter(figures: Figures) -> None:
    found = figures(proposal=P2)  # r3 alone
    assert (found.total, found.waiting, found.replies.median_days) == (1, 0, 10.0)
    assert found.breakdowns["proposal"] == {P1: 1, P2: 1}


def test_a_date_range_and_the_median_of_two(figures: Figures) -> None:
    found = figures(received_from=date(2025, 1, 1))  # r1, r2, r3
    assert found.total == 3
    assert found.replies.median_days == 5.5  # (1 + 10) / 2
    # The weeks end with the last day asked for, not today.
    ended = figures(received_to=date(2025, 1, 31))  # r3, r4, r5
    assert ended.total == 3
    assert ended.weeks[-1] == (date(2025, 1, 27), 0)
    assert ended.months[-1] == ("2025-01", 1)


def test_status_urgent_and_no_match(figures: Figures) -> None:
    closed = figures(status="closed")
    assert (closed.total, closed.open, closed.waiting) == (1, 0, 0)
    assert all(n == 0 for _code, n in closed.ages)
    urgent = figures(urgent=True, place="street")  # r5
    assert (urgent.total, urgent.waiting, urgent.replies.replied) == (1, 1, 0)
    assert urgent.replies.median_days is None
    nothing = figures(region="vitebsk")
    assert (nothing.total, nothing.waiting, nothing.replies.replied) == (0, 0, 0)
    assert all(not counts for counts in nothing.breakdowns.values())


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "new"},
        {"region": "minsk-city", "violation": "torture"},
        {"place": NONE},
        {"unit": "omon", "proposal": P1},
        {"language": "ru", "unassigned": True},
        {"received_from": date(2024, 6, 1), "received_to": date(2025, 3, 25)},
    ],
)
def test_the_total_is_the_queues(figures: Figures, filters: dict[str, object]) -> None:
    """The page's cases are the queue's rows under the same filters."""
    snapshot = build(db.engine(), 0.0)
    queue_total = snapshot.counts(QueueFilters(**filters)).total  # type: ignore[arg-type]
    assert figures(**filters).total == queue_total


def test_the_index_keeps_a_snapshot_for_its_seconds(figures: Figures) -> None:
    now = [100.0]
    index = StatsIndex(30.0, clock=lambda: now[0])
    first = index.snapshot(db.engine())
    assert index.snapshot(db.engine()) is first
    live = StatsIndex(0.0)
    assert live.snapshot(db.engine()) is not live.snapshot(db.engine())
    # Much older than its seconds: replaced before the page.
    now[0] += 30.0 * STALE_FACTOR + 1
    assert index.snapshot(db.engine()) is not first


def test_a_message_to_a_report_after_the_build_waits_for_the_next(figures: Figures) -> None:
    """Figures lag by up to the index's seconds, like the queue's counts."""
    before = figures()
    report_id = figures.session.scalars(select(Message.report_id).limit(1)).one()
    figures.session.add(
        Message(
            public_id=new_public_id(),
            report_id=report_id,
            seq=9,
            direction=TO_STAFF,
            created_on=TODAY,
            staff_copy=b"sealed",
            submitter_copy=b"sealed",
        )
    )
    figures.session.commit()
    after = figures()
    assert after.waiting in (before.waiting, before.waiting + 1)
    assert after.waiting >= 2


# --- the page --------------------------------------------------------------


def _logged_in(app: Flask, staff: StaffActions, role: Role) -> FlaskClient:
    client = english_client(app)
    staff.login(client, staff.create(f"{role.value}@example.org", role))
    return client


def _cell(html: str, table: str, label: str) -> str:
    """The count next to ``label`` in table ``table`` of the page."""
    body = html.split(f'id="t-{table}"', 1)[1].split("</table>", 1)[0]
    match = re.search(rf'<th scope="row">{re.escape(label)}</th><td>([^<]*)</td>', body)
    assert match, f"no row {label!r} in {table}"
    return match.group(1)


@pytest.fixture
def seeded(app: Flask) -> Flask:
    with app.app_context():
        _seed(db.session())
    return app


def test_anonymous_visitors_go_to_the_login(client: FlaskClient) -> None:
    response = client.get("/review/stats")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/login")
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    response = client.post("/review/stats/publish", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/login")


@pytest.mark.parametrize("role", list(Role))
def test_every_staff_role_sees_the_figures(seeded: Flask, staff: StaffActions, role: Role) -> None:
    client = _logged_in(seeded, staff, role)
    # The weeks and months end with the last day asked for (the page's
    # "today" is the real one).
    response = client.get("/review/stats?region=minsk-city&to=2025-03-31")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<dd id="total">3</dd>' in html
    assert '<dd id="waiting">1</dd>' in html
    assert '<dd id="median">0</dd>' in html
    assert _cell(html, "statuses", "Closed") == "1"
    assert _cell(html, "violation", "Torture and ill-treatment") == "2"
    assert _cell(html, "months", "March 2025") == "1"
    # The publish button is for coordinators only.
    assert ("Publish a snapshot</button>" in html) == (role == Role.COORDINATOR)


def test_the_page_with_its_charts_keeps_the_sites_csp(seeded: Flask, staff: StaffActions) -> None:
    """Charts are inline SVG that needs nothing the site's policy forbids."""
    client = _logged_in(seeded, staff, Role.REVIEWER)
    response = client.get("/review/stats")
    assert response.headers["Content-Security-Policy"] == CSP
    assert "script-src 'none'" in CSP
    assert "style-src 'self'" in CSP
    html = response.get_data(as_text=True)
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL)
    # Every table with a row has its chart: weeks, months, statuses, ages,
    # replies and the five breakdowns.
    assert len(charts) == 10
    for chart in charts:
        assert "<script" not in chart
        assert "<style" not in chart
        assert " style=" not in chart  # inline style attributes need 'unsafe-inline'
        assert "href" not in chart
        assert "url(" not in chart
        assert "<title id=" in chart
        assert "<desc id=" in chart
    # And nothing else on the page needs a looser policy either.
    assert "<script" not in html
    assert "<style" not in html
    assert " style=" not in html


@pytest.mark.parametrize(("lang", "word"), [("be", "Статыстыка"), ("ru", "Статистика")])
def test_the_page_in_belarusian_and_russian(
    seeded: Flask, staff: StaffActions, lang: str, word: str
) -> None:
    client = _logged_in(seeded, staff, Role.REVIEWER)
    html = client.get("/review/stats", headers={"Accept-Language": lang}).get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{word}</h1>" in html


def test_ignored_filters_are_named(seeded: Flask, staff: StaffActions) -> None:
    client = _logged_in(seeded, staff, Role.REVIEWER)
    html = client.get("/review/stats?region=atlantis").get_data(as_text=True)
    assert "this filter was ignored" in html
    assert '<dd id="total">5</dd>' in html


def test_a_coordinator_publishes_a_snapshot(seeded: Flask, staff: StaffActions) -> None:
    client = _logged_in(seeded, staff, Role.COORDINATOR)
    page = client.get("/review/stats").get_data(as_text=True)
    assert "No snapshot has been published yet." in page
    response = client.post("/review/stats/publish", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/review/stats")
    after = client.get("/review/stats").get_data(as_text=True)
    assert "Snapshot 1 is published." in after
    assert "Latest snapshot: number 1" in after
    with seeded.app_context():
        session = db.session()
        published = session.scalars(select(EvidenceSnapshot)).all()
        assert [s.number for s in published] == [1]
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "evidence.published")
        ).all()
        assert len(events) == 1
        assert events[0].actor_id is not None


def test_publishing_needs_the_csrf_token(seeded: Flask, staff: StaffActions) -> None:
    client = _logged_in(seeded, staff, Role.COORDINATOR)
    assert client.post("/review/stats/publish", data={}).status_code == 400
    with seeded.app_context():
        assert db.session().scalars(select(EvidenceSnapshot)).all() == []


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.ADMIN])
def test_only_coordinators_publish(seeded: Flask, staff: StaffActions, role: Role) -> None:
    client = _logged_in(seeded, staff, role)
    page = client.get("/review/stats").get_data(as_text=True)
    response = client.post("/review/stats/publish", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 403
    with seeded.app_context():
        assert db.session().scalars(select(EvidenceSnapshot)).all() == []


def test_publishing_waits_while_few_cases_changed(seeded: Flask, staff: StaffActions) -> None:
    # The number of verified cases is published exactly; a second snapshot
    # one case apart would say "one case was verified since".
    def verified(count: int) -> None:
        with seeded.app_context():
            session = db.session()
            for _ in range(count):
                plain_report(session, status="verified")
            session.commit()

    verified(6)
    client = _logged_in(seeded, staff, Role.COORDINATOR)
    page = client.get("/review/stats").get_data(as_text=True)
    first = client.post("/review/stats/publish", data={"csrf_token": csrf_token(page)})
    assert first.status_code == 303
    verified(1)
    page = client.get("/review/stats").get_data(as_text=True)
    response = client.post("/review/stats/publish", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    after = client.get("/review/stats").get_data(as_text=True)
    assert (
        "Not published: since snapshot 1 the number of verified cases has changed by fewer than 5."
        in after
    )
    assert "Latest snapshot: number 1" in after
    with seeded.app_context():
        assert [s.number for s in db.session().scalars(select(EvidenceSnapshot))] == [1]
