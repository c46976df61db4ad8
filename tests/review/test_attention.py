"""Issue 13, item 10: "a submitter waits for an answer" and "news since my last visit".

Each is a marker on the queue's rows, a filter, a sort and a count in the
queue's shortcuts (the staff home).  Messages and audit events are written
straight to the database: the queue reads only their plain columns.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from html import unescape

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import audit, db
from registry.models import Direction, Message, Report
from registry.records.ids import new_public_id
from tests.helpers import Staff, StaffActions
from tests.review.queue_data import plain_report

TODAY = date.today()


def _add(app: Flask, received: date) -> str:
    with app.app_context():
        session = db.session()
        public_id = plain_report(session, received_on=received).public_id
        session.commit()
        return public_id


def _message(app: Flask, public_id: str, direction: Direction, day: date = TODAY) -> None:
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report).where(Report.public_id == public_id)).one()
        seq = len(list(session.scalars(select(Message.id).where(Message.report_id == report.id))))
        session.add(
            Message(
                public_id=new_public_id(),
                report_id=report.id,
                seq=seq + 1,
                direction=direction.value,
                created_on=day,
                staff_copy=os.urandom(64),
                submitter_copy=os.urandom(64),
            )
        )
        session.commit()


def _event(app: Flask, who: Staff, action: str, public_id: str) -> None:
    with app.app_context():
        session = db.session()
        audit.record(
            session, actor=audit.account_actor(who.account_id), action=action, report_ref=public_id
        )
        session.commit()


def _page(app: Flask, client: FlaskClient, query: str = "") -> str:
    # A fresh snapshot, as a new worker would build: counts may lag by
    # queue_counts_seconds otherwise.
    app.extensions.pop("registry.team-stats", None)
    response = client.get(f"/review/{query}")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


ROW = r'<a href="/review/case/([A-Z0-9]+)"><code>[A-Z0-9]+</code></a>(.*?)</td>'


def _rows(page: str) -> list[tuple[str, str]]:
    """(public id, the rest of its first cell) per row of the table, in order."""
    return re.findall(
        r'<a href="/review/case/([A-Z0-9]+)"><code>[A-Z0-9]+</code></a>(.*?)</td>', page
    )


def _marked(page: str, tag: str) -> set[str]:
    return {public_id for public_id, cell in _rows(page) if tag in cell}


WAITS = "Submitter waiting for an answer"
NEWS = "News since you last opened it"


def test_a_submitter_waiting_is_marked_filtered_sorted_and_counted(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    staff.login(client, staff.create("queue@example.org"))
    old = _add(app, date(2024, 1, 1))  # oldest: last in the default order
    answered = _add(app, date(2025, 1, 1))
    quiet = _add(app, date(2025, 6, 1))
    _message(app, old, Direction.TO_STAFF)
    _message(app, answered, Direction.TO_STAFF)
    _message(app, answered, Direction.TO_SUBMITTER)

    page = _page(app, client)
    assert _marked(page, WAITS) == {old}
    assert f"{WAITS} (1)" in page  # the shortcut on the staff home
    assert [pid for pid, _cell in _rows(_page(app, client, "?waiting=1"))] == [old]
    assert "Cases: 1." in _page(app, client, "?waiting=1")
    order = [pid for pid, _cell in _rows(_page(app, client, "?sort=waiting"))]
    assert order == [old, quiet, answered]

    # An answer ends the wait: no marker, the filter lists nothing.
    _message(app, old, Direction.TO_SUBMITTER)
    page = _page(app, client)
    assert _marked(page, WAITS) == set()
    assert f"{WAITS} (0)" in page
    assert _rows(_page(app, client, "?waiting=1")) == []


def test_the_waiting_filter_tests_each_case_afresh(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    """A case answered after the snapshot was built drops out of the rows at once."""
    staff.login(client, staff.create("queue@example.org"))
    case = _add(app, date(2025, 1, 1))
    _message(app, case, Direction.TO_STAFF)
    assert [pid for pid, _cell in _rows(_page(app, client, "?waiting=1"))] == [case]
    _message(app, case, Direction.TO_SUBMITTER)
    response = client.get("/review/?waiting=1")  # the same (now stale) snapshot
    assert _rows(unescape(response.get_data(as_text=True))) == []


def test_news_since_my_last_visit(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    me = staff.create("me@example.org")
    colleague = staff.create("colleague@example.org")
    staff.login(client, me)
    changed = _add(app, date(2025, 1, 1))
    wrote = _add(app, date(2025, 2, 1))
    read_only = _add(app, date(2025, 3, 1))
    never = _add(app, date(2025, 4, 1))
    for public_id in (changed, wrote, read_only):
        _event(app, me, "case.opened", public_id)
    assert _marked(_page(app, client), NEWS) == set()

    _event(app, colleague, "case.status", changed)  # a colleague changed it
    _event(app, colleague, "case.opened", read_only)  # a colleague only read it
    _message(app, wrote, Direction.TO_STAFF, TODAY + timedelta(days=1))  # dated after my visit
    _event(app, me, "case.noted", never)  # my own change is no news to me

    page = _page(app, client)
    assert _marked(page, NEWS) == {changed, wrote}
    assert "News since I last opened them (2)" in page
    assert {pid for pid, _cell in _rows(_page(app, client, "?new=1"))} == {changed, wrote}
    assert "Cases: 2." in _page(app, client, "?new=1")
    order = [pid for pid, _cell in _rows(_page(app, client, "?sort=fresh"))]
    assert order == [wrote, changed, never, read_only]

    # Opening a case again makes its news seen; a colleague sees their own.
    _event(app, me, "case.opened", changed)
    assert _marked(_page(app, client), NEWS) == {wrote}


def test_a_message_of_the_day_of_my_visit_counts_as_seen_but_still_waits(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    """Messages carry a day only (promise 3): the waiting marker stays exact."""
    me = staff.create("me@example.org")
    staff.login(client, me)
    case = _add(app, date(2025, 1, 1))
    _event(app, me, "case.opened", case)
    _message(app, case, Direction.TO_STAFF, TODAY)
    page = _page(app, client)
    assert _marked(page, NEWS) == set()
    assert _marked(page, WAITS) == {case}


def test_news_are_only_ever_the_viewers_own(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    """No address asks for another reviewer's visits: new=1 means mine."""
    me = staff.create("me@example.org")
    colleague = staff.create("colleague@example.org")
    staff.login(client, me)
    case = _add(app, date(2025, 1, 1))
    _event(app, colleague, "case.opened", case)
    _event(app, me, "case.status", case)  # news for the colleague, not for me
    page = _page(app, client, f"?new=1&fresh_for={colleague.account_id}")
    assert _rows(page) == []
    assert "Cases: 0." in page
