"""The app writes audit events for openings and changes, never content."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import audit, db
from registry.models import AuditEvent, Report
from registry.reforms.service import active_proposals
from tests.helpers import StaffActions, english_client, post_form, submit_report

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
