"""The audit log page (/staff/audit): administrators only, filters, pages, chain check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from registry import audit, db
from registry.models import Account, AuditEvent, Role
from tests.helpers import StaffActions, csrf_token, english_client, triggers_bypassed

PAGE = "/staff/audit"


@dataclass
class Seeded:
    """Two reviewers' emails and the ids of the events seeded for them."""

    alice: str
    bob: str
    ids: dict[str, int]


def _append(dbs: Session, at: datetime, actor: str, action: str, ref: str | None = None) -> int:
    """Chain an event dated ``at`` onto the log, exactly as record() hashes it.

    record() always stamps "now"; the date filters need events on other days.
    """
    last = dbs.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    position, prev = (last.id + 1, last.hash) if last else (1, audit.GENESIS)
    fields = {"id": position, "at": at, "actor": actor, "action": action}
    fields |= {"report_ref": ref, "detail": None}
    actor_id = int(actor.split(":")[1]) if actor.startswith("account:") else None
    row = {**fields, "actor_id": actor_id, "prev_hash": prev}
    dbs.execute(insert(AuditEvent), [{**row, "hash": audit.event_hash(**fields, prev_hash=prev)}])
    return position


@contextmanager
def opened(app: Flask) -> Iterator[Session]:
    """A session on the test database, for a block between requests.

    Never held across a request: the test client would reuse this app
    context, and with it ``g`` (Flask-Login caches the user there).
    """
    with app.app_context():
        session = db.session()
        yield session
        session.rollback()


@pytest.fixture
def admin(app: Flask, staff: StaffActions) -> FlaskClient:
    """A logged-in administrator."""
    client = english_client(app)
    staff.login(client, staff.create("admin@example.org", role=Role.ADMIN))
    return client


def _day(day: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def seeded(app: Flask, admin: FlaskClient) -> Seeded:
    """Five events by two reviewers, the submitter and the system, on known days."""
    with opened(app) as dbs:
        emails = ("alice@example.org", "bob@example.org")
        people = [Account(email=email, role="reviewer") for email in emails]
        dbs.add_all(people)
        dbs.flush()
        alice, bob = (audit.account_actor(p.id) for p in people)
        ids = {
            "opened": _append(dbs, _day(10), alice, "case.opened", "R1"),
            "noted": _append(dbs, _day(15), bob, "case.noted", "R2"),
            "withdrawn": _append(dbs, _day(20, 0), audit.SUBMITTER, "report.withdrawn", "R1"),
            "system": _append(dbs, _day(25), audit.SYSTEM, "registry.initialised"),
            "late": _append(dbs, _day(31, 23, 59, 59), alice, "case.noted", "R2"),
        }
        dbs.commit()
    return Seeded("alice@example.org", "bob@example.org", ids)


def listed(html: str) -> list[int]:
    """Event ids in the table, in page order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [int(n) for n in re.findall(r"<tr>\s*<td>(\d+)</td>", body)]


def last_event(app: Flask) -> tuple[int, str, str, str | None]:
    """The newest event of the log: id, actor, action, detail."""
    with opened(app) as dbs:
        event = dbs.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        return event.id, event.actor, event.action, event.detail


def account_id(app: Flask, email: str) -> int:
    """The id of the account with ``email``."""
    with opened(app) as dbs:
        return dbs.scalars(select(Account.id).where(Account.email == email)).one()


def tamper(app: Flask, statement: str, **params: object) -> None:
    """Change the log behind the triggers' back, as the database owner can."""
    with opened(app) as dbs:
        with triggers_bypassed(dbs):
            dbs.execute(text(statement), params)
        dbs.commit()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("actor=alice@example.org", ["late", "opened"]),
        ("actor=+Alice@Example.ORG+", ["late", "opened"]),  # typed loosely
        ("actor=submitter", ["withdrawn"]),
        ("actor=system", ["system"]),
        ("action=case.noted", ["late", "noted"]),
        ("case=R1", ["withdrawn", "opened"]),
        ("from=2026-01-15&to=2026-01-20", ["withdrawn", "noted"]),  # both days whole
        ("from=2026-01-25&to=2026-01-31", ["late", "system"]),
        ("to=2026-01-10", ["opened"]),
        ("actor=alice@example.org&action=case.noted", ["late"]),
        ("actor=alice@example.org&case=R1&to=2026-01-31", ["opened"]),
        ("action=case.noted&case=R1", []),
    ],
)
def test_each_filter_narrows_and_they_combine(
    admin: FlaskClient, seeded: Seeded, query: str, expected: list[str]
) -> None:
    response = admin.get(f"{PAGE}?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert listed(html) == [seeded.ids[name] for name in expected]
    if not expected:
        assert "No events match." in html


def test_unfiltered_log_is_newest_first_with_readable_columns(
    app: Flask, admin: FlaskClient, seeded: Seeded
) -> None:
    with opened(app) as dbs:
        present = set(dbs.scalars(select(AuditEvent.action)))
    html = admin.get(PAGE).get_data(as_text=True)
    ids = listed(html)
    assert ids == sorted(ids, reverse=True)
    assert set(seeded.ids.values()) <= set(ids)
    row = html.split(f"<td>{seeded.ids['opened']}</td>", 1)[1].split("</tr>", 1)[0]
    # UTC time, the account's email, a label for a known action, the case id.
    assert "2026-01-10 10:00:00" in row
    assert "alice@example.org" in row
    assert "Case opened" in row
    assert "<code>R1</code>" in row
    system = html.split(f"<td>{seeded.ids['system']}</td>", 1)[1].split("</tr>", 1)[0]
    assert "System" in system
    assert "registry.initialised" in system  # no label: the code itself
    # The action filter offers the actions in the log, each once, and no others.
    options = re.findall(r'<option value="([a-z.-]+)"', html)
    assert sorted(options) == sorted(present)
    assert "case.mapped" not in options


def test_an_account_deleted_later_is_still_named_by_its_actor(
    app: Flask, admin: FlaskClient
) -> None:
    with opened(app) as dbs:
        gone = Account(email="gone@example.org", role="reviewer")
        dbs.add(gone)
        dbs.flush()
        audit.record(dbs, actor=audit.account_actor(gone.id), action="case.opened", report_ref="R9")
        dbs.delete(gone)
        dbs.commit()
    html = admin.get(f"{PAGE}?case=R9").get_data(as_text=True)
    assert f"Deleted account (account:{gone.id})" in html


def test_pages_of_a_hundred_keep_the_filters(
    app: Flask, admin: FlaskClient, seeded: Seeded
) -> None:
    actor = audit.account_actor(account_id(app, seeded.bob))
    with opened(app) as dbs:
        for _ in range(249):
            audit.record(dbs, actor=actor, action="case.opened", report_ref="R3")
        dbs.commit()
        query = select(AuditEvent.id).where(AuditEvent.action == "case.opened")
        wanted = sorted(dbs.scalars(query), reverse=True)
    assert len(wanted) == 250
    pages = []
    for number in (1, 2, 3):
        html = admin.get(f"{PAGE}?action=case.opened&page={number}").get_data(as_text=True)
        pages.append(listed(html))
        next_link = f'href="/staff/audit?page={number + 1}&amp;action=case.opened"'
        assert (next_link in html) == (number < 3)
        previous_link = f'href="/staff/audit?page={number - 1}&amp;action=case.opened"'
        assert (previous_link in html) == (number > 1)
    assert [len(p) for p in pages] == [100, 100, 50]
    assert pages[0] + pages[1] + pages[2] == wanted


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-02-30", "Enter the first day as YYYY-MM-DD"),
        ("from=yesterday", "Enter the first day as YYYY-MM-DD"),
        ("to=20260131", "Enter the last day as YYYY-MM-DD"),
        ("from=2026-01-20&to=2026-01-10", "The first day is after the last day."),
        ("actor=nobody@example.org", "No staff account has this email address."),
        ("actor=Ivan", "Enter a staff member’s email address"),
        ("action=case.invented", "Please choose an action from the list."),
        ("case=R1%20narrative", "A case id is up to 32 letters and digits."),
    ],
)
def test_bad_filters_are_explained_and_nothing_is_listed(
    app: Flask, admin: FlaskClient, seeded: Seeded, query: str, message: str
) -> None:
    before = last_event(app)
    response = admin.get(f"{PAGE}?{query}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert message in html
    assert listed(html) == []
    assert last_event(app) == before  # nothing was read, so nothing recorded


def test_reading_the_log_is_recorded_with_its_filters(
    app: Flask, admin: FlaskClient, seeded: Seeded
) -> None:
    admin.get(f"{PAGE}?actor=bob@example.org&action=case.noted&from=2026-01-01&page=2")
    _id, actor, action, detail = last_event(app)
    admin_id, bob_id = account_id(app, "admin@example.org"), account_id(app, seeded.bob)
    assert (actor, action) == (audit.account_actor(admin_id), "audit.viewed")
    # Codes only: the account id stands for the email typed into the filter.
    assert detail == f"actor=account:{bob_id},action=case.noted,from=2026-01-01,page=2"
    admin.get(PAGE)
    assert last_event(app)[2:] == ("audit.viewed", None)
    with opened(app) as dbs:
        assert audit.verify(dbs).ok


def _verify(client: FlaskClient, anchor: str = "") -> tuple[int, str]:
    # The token from the queue: a view of the log page would append an event first.
    token = csrf_token(client.get("/review/").get_data(as_text=True))
    response = client.post(f"{PAGE}/verify", data={"csrf_token": token, "anchor": anchor})
    return response.status_code, response.get_data(as_text=True)


def test_chain_check_runs_on_request_and_names_tampering(
    app: Flask, admin: FlaskClient, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        # A page view must not walk the chain: it takes ~1.5 s per 100,000 events.
        patched.setattr(audit, "verify", lambda *_a, **_k: pytest.fail("verified on GET"))
        page = admin.get(PAGE).get_data(as_text=True)
    assert "Chain intact" not in page
    assert "Check the chain" in page
    status, html = _verify(admin)
    count = last_event(app)[0] - 1  # every event before the check's own
    assert status == 200
    assert f"Chain intact: {count} events." in html
    head = re.search(r'<code class="head">(\d+:[0-9a-f]{64})</code>', html)
    assert head
    assert head.group(1).startswith(f"{count}:")
    assert last_event(app)[2:] == ("audit.verified", f"ok:{count}")
    assert listed(html)  # the log is listed under the result

    tamper(app, "UPDATE audit_events SET report_ref = 'R7' WHERE id = :id", id=seeded.ids["noted"])
    status, html = _verify(admin)
    assert status == 200
    assert f"BROKEN at event #{seeded.ids['noted']}: an event was edited." in html
    assert "Chain intact" not in html
    assert last_event(app)[3] == f"broken:{seeded.ids['noted']}:edited"


def test_a_kept_head_finds_a_cut_off_end(app: Flask, admin: FlaskClient, seeded: Seeded) -> None:
    _status, html = _verify(admin)
    match = re.search(r'<code class="head">(\d+:[0-9a-f]{64})</code>', html)
    assert match
    head = match.group(1)
    status, html = _verify(admin, head)
    assert (status, "Chain intact" in html) == (200, True)
    cut = int(head.split(":")[0])
    tamper(app, "DELETE FROM audit_events WHERE id >= :id", id=cut)
    _status, html = _verify(admin, head)
    assert f"BROKEN at event #{cut}: events were deleted." in html
    # Without the head a cut end is invisible; this check's own event then
    # takes position #cut again, which the head shows as a rewrite.
    assert "Chain intact" in _verify(admin)[1]
    _status, html = _verify(admin, head)
    assert f"BROKEN at event #{cut}: the log was rewritten." in html
    status, html = _verify(admin, "12:not-a-hash")
    assert status == 422
    assert "A kept head is a number, a colon and 64 hexadecimal characters." in html


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.COORDINATOR])
def test_only_administrators_see_the_log(
    app: Flask, staff: StaffActions, admin: FlaskClient, role: Role
) -> None:
    client = english_client(app)
    staff.login(client, staff.create(f"{role.value}@example.org", role=role))
    queue = client.get("/review/").get_data(as_text=True)
    assert 'href="/staff/audit"' not in queue
    assert client.get(PAGE).status_code == 404
    token = csrf_token(queue)
    assert client.post(f"{PAGE}/verify", data={"csrf_token": token}).status_code == 404
    assert 'href="/staff/audit"' in admin.get("/review/").get_data(as_text=True)
