"""Triage, notes and cryptographic access grants on the case page."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.models import AuditEvent, KeyWrap, Note, Report, Role
from tests.helpers import StaffActions, english_client, post_form, submit_report


def _report(app: Flask) -> Report:
    with app.app_context():
        return db.session().scalars(select(Report)).one()


def _case(
    app: Flask, staff: StaffActions, email: str, role: Role = Role.REVIEWER
) -> tuple[FlaskClient, str]:
    person = staff.create(email, role=role)
    if not _exists(app):
        submit_report(english_client(app), narrative="triage me")
    client = english_client(app)
    staff.login(client, person)
    return client, _report(app).public_id


def _exists(app: Flask) -> bool:
    with app.app_context():
        return db.session().scalars(select(Report)).first() is not None


def _post(client: FlaskClient, public_id: str, action: str, data: dict[str, object]) -> str:
    response = post_form(
        client, f"/review/case/{public_id}/{action}", data, form_page=f"/review/case/{public_id}"
    )
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_closing_needs_a_disposition(app: Flask, staff: StaffActions) -> None:
    client, public_id = _case(app, staff, "t1@example.org")
    page = _post(client, public_id, "status", {"status": "closed"})
    assert "A closed case needs a disposition." in page
    assert _report(app).status == "new"
    _post(client, public_id, "status", {"status": "closed", "disposition": "substantiated"})
    report = _report(app)
    assert (report.status, report.disposition) == ("closed", "substantiated")
    _post(client, public_id, "status", {"status": "in-review", "disposition": "unfounded"})
    report = _report(app)
    assert (report.status, report.disposition) == ("in-review", None)


def test_urgency_and_assignment(app: Flask, staff: StaffActions) -> None:
    client, public_id = _case(app, staff, "t2@example.org")
    _post(client, public_id, "urgency", {"urgent": "1"})
    assert _report(app).urgent
    with app.app_context():
        me = db.session().scalars(select(KeyWrap.account_id).where(~KeyWrap.escrow)).first()
    _post(client, public_id, "assign", {"assignee": str(me)})
    assert _report(app).assignee_id == me
    outsider = staff.create("nokey@example.org")  # created later: no key
    page = _post(client, public_id, "assign", {"assignee": str(outsider.account_id)})
    assert "only be assigned to someone who can open it" in page
    assert _report(app).assignee_id == me


def test_notes_are_sealed(app: Flask, staff: StaffActions) -> None:
    client, public_id = _case(app, staff, "t3@example.org")
    page = _post(client, public_id, "notes", {"text": "Call the lawyer — note canary 5521"})
    assert "note canary 5521" in page
    with app.app_context():
        note = db.session().scalars(select(Note)).one()
        assert b"5521" not in note.ciphertext


def test_coordinator_grants_and_revokes_access(app: Flask, staff: StaffActions) -> None:
    coordinator, public_id = _case(app, staff, "coord@example.org", Role.COORDINATOR)
    late = staff.create("late@example.org")
    late_client = english_client(app)
    staff.login(late_client, late)
    assert late_client.get(f"/review/case/{public_id}").status_code == 404
    _post(coordinator, public_id, "access", {"grantee": str(late.account_id)})
    page = late_client.get(f"/review/case/{public_id}").get_data(as_text=True)
    assert "triage me" in page
    # A reviewer, even with the key, cannot pass it on.
    denied = post_form(
        late_client,
        f"/review/case/{public_id}/access",
        {"grantee": str(late.account_id)},
        form_page=f"/review/case/{public_id}",
    )
    assert denied.status_code == 404
    _post(coordinator, public_id, f"access/{late.account_id}/revoke", {})
    assert late_client.get(f"/review/case/{public_id}").status_code == 404
    with app.app_context():
        wraps = (
            db.session().scalars(select(KeyWrap).where(KeyWrap.account_id == late.account_id)).all()
        )
    assert wraps == []


def test_a_coordinator_without_the_key_cannot_revoke(app: Flask, staff: StaffActions) -> None:
    reviewer, public_id = _case(app, staff, "holder@example.org")
    # Created after the report: a coordinator holding no key of it.
    outsider = english_client(app)
    staff.login(outsider, staff.create("coord-late@example.org", role=Role.COORDINATOR))
    with app.app_context():
        holder = db.session().scalars(select(KeyWrap.account_id).where(~KeyWrap.escrow)).one()
    refused = post_form(
        outsider, f"/review/case/{public_id}/access/{holder}/revoke", {}, form_page="/review/"
    )
    assert refused.status_code == 404
    assert reviewer.get(f"/review/case/{public_id}").status_code == 200
    with app.app_context():
        staff_wraps = select(KeyWrap.account_id).where(~KeyWrap.escrow)
        assert db.session().scalars(staff_wraps).all() == [holder]
        revoked = select(AuditEvent).where(AuditEvent.action == "case.revoked")
        assert db.session().scalars(revoked).all() == []


def test_a_case_key_cannot_be_granted_to_an_administrator(app: Flask, staff: StaffActions) -> None:
    coordinator, public_id = _case(app, staff, "coord-admin@example.org", Role.COORDINATOR)
    admin = staff.create("admin-nokeys@example.org", role=Role.ADMIN)
    page = _post(coordinator, public_id, "access", {"grantee": str(admin.account_id)})
    assert "Please choose a person." in page
    admin_client = english_client(app)
    staff.login(admin_client, admin)
    assert admin_client.get(f"/review/case/{public_id}").status_code == 404
    with app.app_context():
        wraps = (
            db.session()
            .scalars(select(KeyWrap).where(KeyWrap.account_id == admin.account_id))
            .all()
        )
    assert wraps == []
