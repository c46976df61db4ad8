"""The app writes audit events for openings and changes, never content."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import audit, db
from registry.auditlog.labels import ACTION_LABELS
from registry.evidence import snapshots, summaries
from registry.models import AuditEvent, Report, Role
from registry.reforms.service import active_proposals
from tests.helpers import (
    StaffActions,
    english_client,
    post_form,
    submit_and_locate,
    submit_report,
)

SECRET = "canary-in-the-audit-log"


def _events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_openings_and_changes_are_chained_events(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("aud@example.org")
    receipt = submit_report(client, narrative=SECRET)
    with app.app_context():
        public_id = db.session().scalars(select(Report)).one().public_id
        proposal = active_proposals(db.session())[0].code
    staff_client = english_client(app)
    staff.login(staff_client, reviewer)
    staff_client.get(f"/review/case/{public_id}")
    post_form(
        staff_client,
        f"/review/case/{public_id}/mappings",
        {"proposal": proposal, "strength": "strong", "rationale": SECRET},
        form_page=f"/review/case/{public_id}",
    )
    post_form(
        staff_client,
        f"/review/case/{public_id}/reply",
        {"text": SECRET},
        form_page=f"/review/case/{public_id}",
    )
    post_form(client, "/followup/", {"receipt": receipt})
    post_form(client, "/followup/withdraw", {"confirm": "y", "receipt": receipt})
    events = _events(app)
    actions = [e.action for e in events]
    assert actions[:2] == ["account.activated", "account.login"]
    assert actions.count("case.opened") >= 3
    assert "case.mapped" in actions
    assert "case.replied" in actions
    assert actions[-1] == "report.withdrawn"
    tombstone = events[-1]
    assert (tombstone.actor, tombstone.report_ref) == ("submitter", public_id)
    assert (tombstone.at.hour, tombstone.at.minute, tombstone.at.second) == (0, 0, 0)
    for event in events:
        assert SECRET not in f"{event.detail} {event.report_ref} {event.action}"
    with app.app_context():
        assert audit.verify(db.session()).ok


def test_evidence_events_are_recorded_and_labelled_on_the_audit_page(
    app: Flask, staff: StaffActions
) -> None:
    """Summaries written, approved and deleted, a snapshot published: each by its label."""
    writer = staff.create("writer@example.org")
    approver = staff.create("approver@example.org", role=Role.COORDINATOR)
    admin = staff.create("admin@example.org", role=Role.ADMIN)
    summary = f"In August 2020, in the Minsk region, a man was beaten. {SECRET}"
    public_id = submit_and_locate(app, english_client(app), consent_publish="y")
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report).where(Report.public_id == public_id)).one()
        report.status = "verified"
        session.commit()
    clients = {}
    for person in (writer, approver, admin):
        clients[person.email] = english_client(app)
        staff.login(clients[person.email], person)
    by_writer, by_approver = clients[writer.email], clients[approver.email]
    case = f"/review/case/{public_id}"

    written = post_form(by_writer, f"{case}/summary", {"text": summary}, form_page=case)
    assert written.status_code == 303
    page = by_approver.get(case).get_data(as_text=True)
    seen = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', page)
    assert seen
    ticked = {"seen": seen.group(1), "no_identifying_details": "y", "no_finer_place_or_date": "y"}
    approved = post_form(by_approver, f"{case}/summary/approve", ticked, form_page=case)
    assert approved.status_code == 303
    stats = "/review/stats"
    assert post_form(by_approver, f"{stats}/publish", {}, form_page=stats).status_code == 303
    removed = post_form(by_writer, f"{case}/summary/remove", {}, form_page=case)
    assert removed.status_code == 303

    new_actions = [summaries.WRITTEN, summaries.APPROVED, snapshots.ACTION, summaries.DELETED]
    events = _events(app)
    assert [e.action for e in events if e.action in new_actions] == new_actions
    # Every action this walk recorded has a label, the new ones included.
    assert {e.action for e in events} - set(ACTION_LABELS) == set()
    log = clients[admin.email].get("/staff/audit")
    assert log.status_code == 200
    html = log.get_data(as_text=True)
    for action in new_actions:
        assert f"<td>{ACTION_LABELS[action]}</td>" in html
        assert f"<td>{action}</td>" not in html
    # Who did what, never the summary's words.
    assert SECRET not in html
    for event in events:
        assert SECRET not in f"{event.detail} {event.report_ref} {event.action}"
    with app.app_context():
        assert audit.verify(db.session()).ok
