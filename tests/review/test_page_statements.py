"""What the case page and the queue page ask the database, statement by statement.

Every statement is a round trip on PostgreSQL, and the page budgets (p95
≤ 30 ms, bench/README.md) are spent largely on them.  These tests pin the
count and, for the case page, the order that keeps the audit chain's lock
short: the parts are read first, the event is appended last.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from registry import db
from registry.followup.service import withdraw
from registry.models import AuditEvent, LinkKind, Report
from registry.records.access import Present, open_report
from registry.records.messages import post_reply
from registry.reforms.service import map_case
from registry.review import service
from registry.review.links import link
from registry.review.queue import QueueFilters, Sort, queue_page
from registry.review.service import CaseView
from registry.review.triage import add_note
from tests.helpers import Staff, StaffActions, listening, private_key_of, submit_and_locate
from tests.review.queue_data import plain_report

COMMIT = "COMMIT"
TODAY = date(2026, 12, 4)
# What opening a case asks: the report with its key wrap, its codes and
# which of its lists have rows (1), its sealed rows (1), then the audit
# append (3: the chain lock, the last event, the insert).  Each list that
# has rows (mappings, messages, files, notes) adds its one statement.
OPEN_CASE_STATEMENTS = 5


@contextmanager
def recorded(engine: Engine) -> Iterator[list[str]]:
    """Every statement sent through ``engine`` meanwhile (whitespace folded), and COMMITs."""
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(" ".join(sql.split()))

    def commit(_conn: Any) -> None:
        seen.append(COMMIT)

    with listening(engine, before_cursor_execute=statement, commit=commit):
        yield seen


def _engine(app: Flask) -> Engine:
    with app.app_context():
        return db.engine()


def _tables(sql: str) -> set[str]:
    return set(re.findall(r"(?:FROM|JOIN|INTO|UPDATE) (\w+)", sql))


def _is_chain_lock(sql: str) -> bool:
    return sql.startswith("SELECT pg_advisory_xact_lock") or sql == "BEGIN IMMEDIATE"


def _open_case(
    app: Flask, client: FlaskClient, staff: StaffActions, *, fill: bool = False
) -> tuple[str, list[str]]:
    """Open a new case's page twice; the statements of the second time.

    The first warms what each worker keeps anyway (the vocabularies).
    ``fill``: the case has a mapping, a reply, a note and a link first.
    """
    reviewer = staff.create("counted@example.org")
    public_id = submit_and_locate(app, app.test_client(), narrative="Counted, not read.")
    if fill:
        _fill_every_list(app, reviewer, public_id)
    staff.login(client, reviewer)
    assert client.get(f"/review/case/{public_id}").status_code == 200
    with recorded(_engine(app)) as seen:
        page = client.get(f"/review/case/{public_id}")
    assert page.status_code == 200
    assert "Counted, not read." in page.get_data(as_text=True)
    return public_id, seen


def _fill_every_list(app: Flask, reviewer: Staff, public_id: str) -> str:
    """A mapping, a reply, a note and a link: each list of the case page has a row.

    Returns the linked case's id.
    """
    key = private_key_of(app, reviewer)
    other_id = submit_and_locate(app, app.test_client(), narrative="The linked case.")
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report).where(Report.public_id == public_id)).one()
        _report, dek, _present = open_report(session, public_id, reviewer.account_id, key)
        map_case(
            session,
            report,
            account_id=reviewer.account_id,
            private_key=key,
            proposal_code="torture-investigation",
            strength="strong",
            rationale="Mapped.",
        )
        post_reply(session, report, "A reply.", dek=dek, author_id=reviewer.account_id, today=TODAY)
        add_note(session, report, account_id=reviewer.account_id, private_key=key, text="A note.")
        link(
            session,
            report,
            account_id=reviewer.account_id,
            private_key=key,
            other_public_id=other_id,
            kind=LinkKind.SAME_INCIDENT.value,
        )
        session.commit()
    return other_id


def _opening(app: Flask, reviewer: Staff, public_id: str) -> tuple[CaseView, list[str]]:
    key = private_key_of(app, reviewer)
    with app.app_context(), recorded(db.engine()) as seen:
        case = service.open_case(db.session(), public_id, reviewer.account_id, key)
        db.session().commit()
    return case, [sql for sql in seen if sql != COMMIT]


def test_opening_a_case_reads_each_part_once(app: Flask, staff: StaffActions) -> None:
    reviewer = staff.create("service@example.org")
    public_id = submit_and_locate(app, app.test_client(), narrative="Counted, not read.")
    case, statements = _opening(app, reviewer, public_id)
    assert case.narrative == "Counted, not read."
    # A new case has no mapping, message, file or note: no statement asks for them.
    assert len(statements) == OPEN_CASE_STATEMENTS, "\n".join(statements)
    lists = {"case_mappings", "messages", "attachments", "notes", "report_links"}
    assert not any(_tables(sql) & lists for sql in statements[1:]), statements
    assert not case.linked
    # The report, its key wrap and its codes together, not one by one.
    (report,) = [sql for sql in statements if "FROM reports" in sql]
    assert {"key_wraps", "report_violations", "report_flags"} <= _tables(report)
    # The texts and the inbox key (for the messages and files) in one.
    assert sum("sealed_fields" in _tables(sql) for sql in statements) == 1


def test_a_case_with_rows_in_its_lists_reads_each_list_once(
    app: Flask, staff: StaffActions
) -> None:
    reviewer = staff.create("lists@example.org")
    public_id = submit_and_locate(app, app.test_client(), narrative="With every list.")
    other_id = _fill_every_list(app, reviewer, public_id)
    case, statements = _opening(app, reviewer, public_id)
    assert [m.rationale for m in case.mappings] == ["Mapped."]
    assert [m.text for m in case.messages] == ["A reply."]
    assert [n.text for n in case.notes] == ["A note."]
    assert case.linked
    assert not case.damaged
    assert len(statements) == OPEN_CASE_STATEMENTS + 3, "\n".join(statements)
    for table in ("case_mappings", "messages", "notes"):
        asking = [sql for sql in statements[1:] if table in _tables(sql)]
        assert len(asking) == 1, (table, asking)
    # No file was added: their list is still not asked for.
    assert not any("attachments" in _tables(sql) for sql in statements[1:])
    # A link is stored once, the smaller row id first: each side knows it
    # has one, whichever column holds it.
    other, other_statements = _opening(app, reviewer, other_id)
    assert other.linked
    assert (other.mappings, other.messages, other.notes) == ([], [], [])
    assert len(other_statements) == OPEN_CASE_STATEMENTS, "\n".join(other_statements)


def test_the_case_page_reads_each_part_once(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    _public_id, seen = _open_case(app, client, staff)
    statements = [sql for sql in seen if sql != COMMIT]
    assert sum("sealed_fields" in _tables(sql) for sql in statements) == 1
    # The proposals at most once (kept per worker for a few minutes), for
    # the mapping form and the page both.
    assert sum("reform_proposals" in _tables(sql) for sql in statements) <= 1
    # The codes came with the report, nothing loads them later.
    codes = {"report_violations", "report_flags"}
    assert not any(_tables(sql) and _tables(sql) <= codes for sql in statements)
    # Who is asking: the staff session and its account together.
    (session,) = [sql for sql in statements if "staff_sessions" in _tables(sql)]
    assert "accounts" in _tables(session)
    # A case without links does not ask for them: whether it has any came
    # with the report (records.access.Present), nor which of no linked
    # cases the reviewer holds a key of.
    (report_row,) = [sql for sql in statements if "FROM reports" in sql]
    assert not any("report_links" in _tables(sql) for sql in statements if sql != report_row)
    assert not any(_tables(sql) == {"key_wraps"} for sql in statements)
    # The retention hold and the public summary come with the report.
    (report,) = [sql for sql in statements if "FROM reports" in sql]
    assert {"retention_holds", "case_summaries"} <= _tables(report)
    assert not any(
        _tables(sql) & {"retention_holds", "case_summaries"} - _tables(report)
        for sql in statements
        if sql != report
    )


def test_opening_a_case_holds_the_chain_lock_only_to_append(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    """Every part is read before the chain is locked; the lock ends at the commit.

    Each case opening is audited in the transaction the page commits before
    it is shown (promise 7); what may happen under the lock, which every
    other opening and change waits for, is the append alone.
    """
    public_id, seen = _open_case(app, client, staff, fill=True)
    (lock,) = [i for i, sql in enumerate(seen) if _is_chain_lock(sql)]
    commit = seen.index(COMMIT, lock)
    under_lock = seen[lock + 1 : commit]
    assert under_lock, "nothing appended"
    assert all(_tables(sql) == {"audit_events"} for sql in under_lock), under_lock
    assert any(sql.startswith("INSERT INTO audit_events") for sql in under_lock)
    # Every sealed part was read before the lock was taken, and so were the
    # key holders and the links: the page is one transaction, which its
    # commit ends (on PostgreSQL a second one cost three more round trips).
    before_lock = {table for sql in seen[:lock] for table in _tables(sql)}
    assert {"sealed_fields", "case_mappings", "messages", "notes"} <= before_lock
    assert "report_links" in before_lock
    holders = [sql for sql in seen[:lock] if "accounts.role IN" in sql]
    assert len(holders) == 1, "the key holders are listed before the lock"
    assert seen[commit + 1 :] == [], seen[commit + 1 :]
    with app.app_context():
        opened = db.session().scalars(
            select(AuditEvent).where(
                AuditEvent.action == "case.opened", AuditEvent.report_ref == public_id
            )
        )
        assert len(list(opened)) == 2  # one event for each of the two openings


def test_a_case_withdrawn_while_it_is_read_is_not_reported_damaged(
    app: Flask, client: FlaskClient, staff: StaffActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its parts vanish between the key and the texts: a 404, not tampering in the log."""
    reviewer = staff.create("racing@example.org")
    public_id = submit_and_locate(app, app.test_client(), narrative="Withdrawn meanwhile.")
    staff.login(client, reviewer)

    def withdrawn_meanwhile(dbs: Session, *args: Any) -> tuple[Report, bytes, Present]:
        found = open_report(dbs, *args)
        with Session(dbs.get_bind()) as submitter:
            withdraw(submitter, submitter.get_one(Report, found[0].id))
            submitter.commit()
        return found

    monkeypatch.setattr(service, "open_report", withdrawn_meanwhile)
    page = client.get(f"/review/case/{public_id}")
    assert page.status_code == 404
    with app.app_context():
        actions = list(
            db.session().scalars(
                select(AuditEvent.action).where(AuditEvent.report_ref == public_id)
            )
        )
    assert "report.withdrawn" in actions
    assert "case.part-damaged" not in actions
    assert "case.opened" not in actions


def test_a_queue_page_is_one_statement(app: Flask) -> None:
    """The page's ids and their shown columns in one query, in every order."""
    with app.app_context():
        session = db.session()
        for index in range(60):
            plain_report(
                session, incident_month=f"2021-{index % 12 + 1:02d}" if index % 3 else None
            )
        session.commit()
        for sort in Sort:
            for filters in (QueueFilters(), QueueFilters(violation="torture", region="minsk-city")):
                with recorded(db.engine()) as seen:
                    rows = queue_page(session, filters, sort, 2)
                assert len(rows) == 10, (sort, filters)
                assert len(seen) == 1, (sort, filters, seen)


def test_the_queue_page_asks_four_statements(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    """Who is asking (1), the staff for the assignee filter (1), the viewer's
    cases with news (1), the page's rows with their waiting marks (1); the
    counts come from the worker's snapshot, the vocabularies and proposal
    titles from what the worker keeps."""
    reviewer = staff.create("queue-counted@example.org")
    for _ in range(3):
        submit_and_locate(app, app.test_client())
    staff.login(client, reviewer)
    assert client.get("/review/").status_code == 200  # warms the worker's snapshot
    with recorded(_engine(app)) as seen:
        page = client.get("/review/")
    assert page.status_code == 200
    statements = [sql for sql in seen if sql != COMMIT]
    assert len(statements) <= 4, "\n".join(statements)


def test_only_the_case_page_reads_a_case_without_recording_it() -> None:
    """``read_case`` opens a case with no event: only ``open_case`` and the case
    page's reader (review.case_page) may call it; both append the event, and
    their callers commit before showing anything."""
    root = Path(__file__).resolve().parents[2] / "registry"
    callers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "read_case(" in path.read_text(encoding="utf-8")
    )
    assert callers == ["review/case_page.py", "review/service.py"]
