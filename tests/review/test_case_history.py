"""Issue 13, item 12: a case's audit events for those who can open it."""

from __future__ import annotations

from html import unescape

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.models import AuditEvent, Role
from tests.helpers import StaffActions, english_client, submit_and_locate


def test_key_holders_read_the_history_of_a_case(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    first = staff.create("first@example.org")
    second = staff.create("second@example.org")
    public_id = submit_and_locate(app, app.test_client())
    other_case = submit_and_locate(app, app.test_client())
    staff.login(client, first)
    case_page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    assert f'href="/review/case/{public_id}/history"' in case_page
    client.get(f"/review/case/{other_case}")  # not this case's history

    colleague = english_client(app)
    staff.login(colleague, second)
    response = colleague.get(f"/review/case/{public_id}/history")
    assert response.status_code == 200
    page = unescape(response.get_data(as_text=True))
    history = page.split('id="history"')[1].split("</ol>")[0]
    assert "first@example.org" in history  # who opened it
    assert "Case opened" in history
    assert history.count("<li>") == 1  # the other case's opening is not here
    with app.app_context():
        read = db.session().scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert read is not None
        assert (read.action, read.actor_id, read.detail) == (
            "audit.viewed",
            second.account_id,
            f"case={public_id}",
        )


def test_no_key_no_history_and_the_whole_log_stays_admin_only(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    staff.create("holder@example.org")
    public_id = submit_and_locate(app, app.test_client())
    late = staff.create("late@example.org", role=Role.COORDINATOR)  # no key of the case
    staff.login(client, late)
    assert client.get(f"/review/case/{public_id}/history").status_code == 404
    assert client.get("/review/case/NOSUCHCASE/history").status_code == 404
    assert client.get("/staff/audit").status_code in (403, 404)
