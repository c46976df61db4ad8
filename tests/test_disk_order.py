"""The SQLite file does not order what submitters create (promise 12).

A table whose primary key is not one INTEGER column gets a hidden rowid on
SQLite that counts up, and its rows are stored in rowid order: a seized file
would list the reports in filing order, and put a report's rows between the
rows of staff actions (a coded violation) whose times the audit log keeps to
the second.  Here reports are filed between staff actions, and the database
file itself is read: every table a submitter's action wrote to must have no
counting rowid (WITHOUT ROWID, or a rowid that is the random id), and the
order its rows are stored in must be the (random) key order.

PostgreSQL has no rowids; its ``xmin`` and heap order still follow the
order of writes (README.md, "What the disk keeps after a deletion").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import db
from registry.models import Base, Report, Role
from tests.helpers import StaffActions, english_client, post_form, submit_report
from tests.sqlite_file import RawFile

# Reports filed in a row.  Random keys store them in filing order with a
# chance of 1/10! (3e-7): the only way the order assertions fail by chance.
ROUNDS = 10
# Tables each filed report writes to (the order tests read them all), and
# what the follow-up message adds; the test fails if the story stops
# exercising one of them.
EXPECTED = {"reports", "key_wraps", "sealed_fields", "report_violations", "report_flags"}
EXPECTED_LATER = {"messages"}
# Violation codes the submitter ticks, and the one a reviewer adds (sorting
# after them, so a report's own rows never decide the framing test below).
SUBMITTED = ("coercion", "threats")
CODED = "torture"


@dataclass
class Filing:
    """Reports filed one after another, each followed by a staff action."""

    path: str
    report_ids: list[int] = field(default_factory=list)
    # Tables whose row count grew through a submitter's action.
    written: set[str] = field(default_factory=set)


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        session = db.session()
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def _grown(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {name for name, count in after.items() if count > before[name]}


def _post(client: FlaskClient, path: str, page: str, data: dict[str, object]) -> None:
    response = post_form(client, path, data, form_page=page)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


@pytest.fixture
def filing(sqlite_app: Flask) -> Filing:
    """Reports filed between staff actions on SQLite (PostgreSQL's xmin: README.md)."""
    app, staff = sqlite_app, StaffActions(sqlite_app)
    with app.app_context():
        path = db.engine().url.database
    assert path
    coordinator = staff.create("coordinator@example.org", Role.COORDINATOR)
    reviewer = english_client(app)
    staff.login(reviewer, coordinator)
    story = Filing(path)
    for round_ in range(ROUNDS):
        before = _counts(app)
        known = _report_ids(app)
        submitter = english_client(app)
        receipt = submit_report(
            submitter, narrative=f"Report {round_}", violations=list(SUBMITTED), flags=["child"]
        )
        after = _counts(app)
        story.written |= _grown(before, after)
        (report_id,) = _report_ids(app) - known
        story.report_ids.append(report_id)
        # Staff: a reviewer codes one more violation (audited to the second).
        with app.app_context():
            public_id = db.session().get_one(Report, report_id).public_id
        case = f"/review/case/{public_id}"
        codes = {"violations": [*SUBMITTED, CODED], "region": "minsk-city", "incident_month": ""}
        _post(reviewer, f"{case}/codes", f"{case}/codes", codes)
        # Submitter: comes back with the receipt and writes a message.
        _post(submitter, "/followup/", "/followup/", {"receipt": receipt})
        before = _counts(app)
        _post(submitter, "/followup/message", "/followup/case", {"text": f"More {round_}"})
        story.written |= _grown(before, _counts(app))
    return story


def _report_ids(app: Flask) -> set[int]:
    with app.app_context():
        return set(db.session().scalars(select(Report.id)))


@pytest.fixture
def raw(filing: Filing) -> Iterator[RawFile]:
    """The database as a seizer reads it: its pages, with the WAL folded in."""
    pages = RawFile.open(filing.path)
    yield pages
    pages.conn.close()


def test_no_counting_rowid_in_what_submitters_write(filing: Filing, raw: RawFile) -> None:
    assert filing.written >= EXPECTED | EXPECTED_LATER
    sql = raw.conn.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
    assert not sql.fetchall()  # no AUTOINCREMENT counter anywhere
    for table in filing.written:
        if not raw.has_rowid(table):
            with pytest.raises(sqlite3.OperationalError, match="no such column: rowid"):
                raw.conn.execute(f"SELECT rowid FROM {table}")  # noqa: S608
            continue
        # A rowid table: its rowid must be its random id (INTEGER PRIMARY KEY).
        assert raw.key(table) == ["id"], f"{table} keeps a counting rowid"
        rows = raw.conn.execute(f"SELECT rowid, id FROM {table}").fetchall()  # noqa: S608
        assert all(rowid == row_id > 2**32 for rowid, row_id in rows), table


def _report_of(table: str, rowid: int | None, values: list[object]) -> object:
    if table == "reports":
        return rowid
    # key_wraps: (id, report_id, …), the id stored as NULL (it is the rowid).
    return values[1] if table == "key_wraps" else values[0]


def test_rows_are_stored_in_random_key_order(filing: Filing, raw: RawFile) -> None:
    filed = filing.report_ids
    assert len(filed) == ROUNDS
    assert filed != sorted(filed)  # random ids; a chance of 1/10! to fail
    for table in EXPECTED:
        records = raw.records(table)
        assert len(records) == raw.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        if raw.has_rowid(table):
            stored = [(rowid,) for rowid, _values in records]
        else:
            stored = [tuple(values[: len(raw.key(table))]) for _rowid, values in records]
        # Deterministic: the b-tree holds the rows in primary-key order ...
        assert stored == sorted(stored), f"{table} is stored in the order rows were written"
        # ... and that order is not the order the reports came in.
        reports = [_report_of(table, rowid, values) for rowid, values in records]
        assert list(dict.fromkeys(reports)) != filed, table


def test_a_report_is_not_framed_by_staff_actions(filing: Filing, raw: RawFile) -> None:
    """The review's attack: a report's rows between two coded violations (audited times)."""
    stored = [tuple(values[:2]) for _rowid, values in raw.records("report_violations")]
    position = {row: n for n, row in enumerate(stored)}
    filed = filing.report_ids
    # Report i was filed after the reviewer coded report i - 1 and before
    # they coded report i.
    framed = [
        position[(filed[i - 1], CODED)]
        < position[(filed[i], SUBMITTED[0])]
        < position[(filed[i], CODED)]
        for i in range(1, ROUNDS)
    ]
    # A counting rowid frames every one; key order only if the ids rise.
    assert not all(framed)
