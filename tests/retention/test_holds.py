"""A coordinator holds a case past its deletion day and ends the hold; nobody else may."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from registry import db
from registry.models import AuditEvent, RetentionHold, Role
from tests.helpers import StaffActions, english_client, post_form, submit_and_locate

REASON = "A lawyer asked for it until the appeal."


def test_a_coordinator_holds_and_releases_a_case_and_a_reviewer_cannot(
    app: Flask, staff: StaffActions
) -> None:
    coordinator = staff.create("hold-coord@example.org", Role.COORDINATOR)
    reviewer = staff.create("hold-rev@example.org")
    public_id = submit_and_locate(app, english_client(app))
    case = f"/review/case/{public_id}"
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    boss = english_client(app)
    staff.login(boss, coordinator)
    assert "Kept while the case is open." in boss.get(case).get_data(as_text=True)
    # Refused input: a message, nothing held.
    for data, problem in (
        ({"reason": " ", "until": until}, "Please give a reason for the hold"),
        ({"reason": "a\u202eb", "until": until}, "Please give a reason for the hold"),
        ({"reason": REASON, "until": "2020-01-01"}, "Please choose the day the hold ends"),
        ({"reason": REASON, "until": "soon"}, "Please choose the day the hold ends"),
    ):
        refused = post_form(boss, f"{case}/hold", data, form_page=case)
        assert refused.status_code == 303
        assert problem in boss.get(case).get_data(as_text=True)
    held = post_form(boss, f"{case}/hold", {"reason": REASON, "until": until}, form_page=case)
    assert held.status_code == 303
    page = boss.get(case).get_data(as_text=True)
    assert "The case is held." in page
    assert "Held until" in page
    assert REASON in page
    # A reviewer with the key sees no form and is refused like any other stranger.
    other = english_client(app)
    staff.login(other, reviewer)
    assert 'id="hold-form"' not in other.get(case).get_data(as_text=True)
    data = {"reason": "mine", "until": until}
    assert post_form(other, f"{case}/hold", data, form_page=case).status_code == 404
    assert post_form(other, f"{case}/hold/release", {}, form_page=case).status_code == 404
    released = post_form(boss, f"{case}/hold/release", {}, form_page=case)
    assert released.status_code == 303
    assert "The hold is ended." in boss.get(case).get_data(as_text=True)
    with app.app_context():
        session = db.session()
        assert session.scalar(select(RetentionHold)) is None
        events = session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.detail)
            .where(AuditEvent.action.in_(("case.hold", "case.hold-released")))
            .order_by(AuditEvent.id)
        ).all()
    actor = f"account:{coordinator.account_id}"
    assert [tuple(event) for event in events] == [
        ("case.hold", actor, until),
        ("case.hold-released", actor, until),
    ]
