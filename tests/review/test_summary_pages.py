"""The public summary on the case page: write, approve with four eyes, refuse, forget."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from registry import db
from registry.evidence.summaries import text_digest
from registry.models import (
    AuditEvent,
    CaseSummary,
    EvidenceSnapshot,
    Report,
    Role,
    SnapshotSummary,
)
from tests.helpers import Staff, StaffActions, english_client, post_form, submit_report

SUMMARY = "In August 2020, in the Minsk region, a man was beaten in a police bus."


@dataclass
class Desk:
    """A consenting, verified case; its submitter; a writer and an approver, logged in."""

    public_id: str
    receipt: str
    submitter: FlaskClient
    writer: FlaskClient
    approver: FlaskClient
    writer_staff: Staff
    approver_staff: Staff


def _desk(
    app: Flask, staff: StaffActions, *, consent: bool = True, status: str = "verified"
) -> Desk:
    writer_staff = staff.create("writer@example.org")
    approver_staff = staff.create("approver@example.org", role=Role.COORDINATOR)
    submitter = english_client(app)
    receipt = submit_report(submitter, **({"consent_publish": "y"} if consent else {}))
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report)).one()
        report.status = status
        public_id = report.public_id
        session.commit()
    clients = []
    for person in (writer_staff, approver_staff):
        client = english_client(app)
        staff.login(client, person)
        clients.append(client)
    return Desk(public_id, receipt, submitter, *clients, writer_staff, approver_staff)


def _case_page(desk: Desk) -> str:
    return f"/review/case/{desk.public_id}"


def _post(client: FlaskClient, desk: Desk, action: str, data: dict[str, object]) -> TestResponse:
    return post_form(client, f"{_case_page(desk)}/{action}", data, form_page=_case_page(desk))


def _seen(page: str) -> str:
    match = re.search(r'name="seen" type="hidden" value="([0-9a-f]*)"', page)
    assert match, "no approval form on the page"
    return match.group(1)


def _approve(client: FlaskClient, desk: Desk, **ticks: str) -> TestResponse:
    page = client.get(_case_page(desk)).get_data(as_text=True)
    return _post(client, desk, "summary/approve", {"seen": _seen(page), **ticks})


TICKED = {"no_identifying_details": "y", "no_finer_place_or_date": "y"}


def _rows(app: Flask) -> tuple[int, int]:
    with app.app_context():
        session = db.session()
        return (
            session.scalar(select(func.count()).select_from(CaseSummary)) or 0,
            session.scalar(select(func.count()).select_from(SnapshotSummary)) or 0,
        )


def _summary_events(app: Flask) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        events = db.session().scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("case.summary-%"))
            .order_by(AuditEvent.id)
        )
        return [(e.action, e.actor, e.detail) for e in events]


def test_written_by_one_key_holder_approved_by_another(app: Flask, staff: StaffActions) -> None:
    desk = _desk(app, staff)
    written = _post(desk.writer, desk, "summary", {"text": SUMMARY})
    assert written.status_code == 303
    page = desk.writer.get(written.headers["Location"]).get_data(as_text=True)
    assert SUMMARY in page
    assert 'id="public-summary-unapproved"' in page
    # The writer sees no approval form, and cannot approve by posting one.
    assert 'id="public-summary-approve"' not in page
    assert "You wrote this summary" in page
    with app.app_context():
        stored = db.session().scalars(select(CaseSummary)).one().text
    refused = _post(desk.writer, desk, "summary/approve", {"seen": text_digest(stored), **TICKED})
    assert refused.status_code == 422
    assert "not by the person who wrote it" in refused.get_data(as_text=True)
    # The second key holder must tick both boxes.
    unticked = _approve(desk.approver, desk, no_identifying_details="y")
    assert unticked.status_code == 422
    assert "Please confirm both points of the checklist" in unticked.get_data(as_text=True)
    approved = _approve(desk.approver, desk, **TICKED)
    assert approved.status_code == 303
    page = desk.approver.get(_case_page(desk)).get_data(as_text=True)
    assert 'id="public-summary-approved"' in page
    assert "Approved by approver@example.org" in page
    with app.app_context():
        summary = db.session().scalars(select(CaseSummary)).one()
        assert (summary.written_by, summary.approved_by) == (
            desk.writer_staff.account_id,
            desk.approver_staff.account_id,
        )
    assert _summary_events(app) == [
        ("case.summary-written", f"account:{desk.writer_staff.account_id}", "new"),
        ("case.summary-approved", f"account:{desk.approver_staff.account_id}", None),
    ]


def test_an_edit_clears_the_approval(app: Flask, staff: StaffActions) -> None:
    desk = _desk(app, staff)
    _post(desk.writer, desk, "summary", {"text": SUMMARY})
    assert _approve(desk.approver, desk, **TICKED).status_code == 303
    page = desk.approver.get(_case_page(desk)).get_data(as_text=True)
    assert "Saving a changed text clears the approval." in page
    edited = _post(desk.approver, desk, "summary", {"text": SUMMARY + " He was released."})
    assert edited.status_code == 303
    page = desk.writer.get(_case_page(desk)).get_data(as_text=True)
    assert 'id="public-summary-unapproved"' in page
    # The first writer approves the new text: two people again.
    assert _approve(desk.writer, desk, **TICKED).status_code == 303


def test_an_approval_of_a_text_changed_meanwhile_is_refused(
    app: Flask, staff: StaffActions
) -> None:
    desk = _desk(app, staff)
    _post(desk.writer, desk, "summary", {"text": SUMMARY})
    read = _seen(desk.approver.get(_case_page(desk)).get_data(as_text=True))
    _post(desk.writer, desk, "summary", {"text": SUMMARY + " Changed."})
    refused = _post(desk.approver, desk, "summary/approve", {"seen": read, **TICKED})
    assert refused.status_code == 422
    assert "changed since you read it" in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Beaten on 9 August 2020 in a bus.", "“9 August 2020” reads as an exact date"),
        ("ru", "Избит 9 августа 2020 года в автобусе.", "«9 августа 2020» похоже на точную дату"),
        ("be", "Збіты 09.08.2020 у аўтобусе.", "«09.08.2020» падобна на дакладную дату"),
    ],
)
def test_an_exact_date_is_refused_in_the_reviewers_language(
    app: Flask, staff: StaffActions, language: str, text: str, expected: str
) -> None:
    desk = _desk(app, staff)
    desk.writer.set_cookie("lang", language)
    refused = _post(desk.writer, desk, "summary", {"text": text})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert expected in page
    # The typed text comes back to be corrected, not lost.
    assert text in page
    assert _rows(app) == (0, 0)
    assert _summary_events(app) == []


def test_too_long_is_refused(app: Flask, staff: StaffActions) -> None:
    desk = _desk(app, staff)
    refused = _post(desk.writer, desk, "summary", {"text": "x" * 1_501})
    assert refused.status_code == 422
    assert "at most 1500 characters" in refused.get_data(as_text=True)
    assert _post(desk.writer, desk, "summary", {"text": "x" * 1_500}).status_code == 303


def test_no_summary_without_consent(app: Flask, staff: StaffActions) -> None:
    desk = _desk(app, staff, consent=False)
    page = desk.writer.get(_case_page(desk)).get_data(as_text=True)
    assert 'id="public-summary-no-consent"' in page
    assert 'id="public-summary-write"' not in page
    refused = _post(desk.writer, desk, "summary", {"text": SUMMARY})
    assert refused.status_code == 422
    assert "has not consented to publication" in refused.get_data(as_text=True)
    assert _rows(app) == (0, 0)


def test_no_summary_before_the_case_is_verified(app: Flask, staff: StaffActions) -> None:
    desk = _desk(app, staff, status="in-review")
    page = desk.writer.get(_case_page(desk)).get_data(as_text=True)
    assert 'id="public-summary-not-verified"' in page
    refused = _post(desk.writer, desk, "summary", {"text": SUMMARY})
    assert refused.status_code == 422
    assert "Only a verified case can have a public summary." in refused.get_data(as_text=True)


def test_staff_without_the_case_key_get_404(app: Flask, staff: StaffActions) -> None:
    desk = _desk(app, staff)
    _post(desk.writer, desk, "summary", {"text": SUMMARY})
    outsider = english_client(app)
    # Created after the report: a coordinator who holds no key of it.
    staff.login(outsider, staff.create("late@example.org", role=Role.COORDINATOR))
    for action, data in (
        ("summary", {"text": SUMMARY + " Edited."}),
        ("summary/approve", {"seen": text_digest(SUMMARY), **TICKED}),
        ("summary/remove", {}),
    ):
        refused = post_form(outsider, f"{_case_page(desk)}/{action}", data, form_page="/review/")
        assert refused.status_code == 404, action
    with app.app_context():
        summary = db.session().scalars(select(CaseSummary)).one()
        assert (summary.text, summary.approved_by) == (SUMMARY, None)
    assert [a for a, _actor, _detail in _summary_events(app)] == ["case.summary-written"]


def test_a_post_without_a_token_is_refused(app: Flask, staff: StaffActions) -> None:
    desk = _desk(app, staff)
    response = desk.writer.post(f"{_case_page(desk)}/summary", data={"text": SUMMARY})
    assert response.status_code == 400
    assert _rows(app) == (0, 0)


def _publish(app: Flask, desk: Desk) -> None:
    """Written, approved, and copied into two snapshots as publication does."""
    _post(desk.writer, desk, "summary", {"text": SUMMARY})
    assert _approve(desk.approver, desk, **TICKED).status_code == 303
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report)).one()
        for number in (1, 2):
            snapshot = EvidenceSnapshot(
                number=number,
                published_on=date(2026, 12, number),
                k=5,
                payload="{}",
                digest="0" * 64,
            )
            session.add(snapshot)
            session.flush()
            session.add(
                SnapshotSummary(
                    snapshot_id=snapshot.id,
                    report_id=report.id,
                    text=SUMMARY,
                    region=report.region,
                    period="2020",
                    proposals="[]",
                )
            )
        session.commit()
    assert _rows(app) == (1, 2)


def test_withdrawal_removes_it_from_every_snapshot(app: Flask, staff: StaffActions) -> None:
    desk = _desk(app, staff)
    _publish(app, desk)
    post_form(desk.submitter, "/followup/", {"receipt": desk.receipt})
    done = post_form(
        desk.submitter, "/followup/withdraw", {"confirm": "y", "receipt": desk.receipt}
    )
    assert done.status_code == 200
    assert _rows(app) == (0, 0)
    assert _summary_events(app)[-1] == ("case.summary-deleted", "submitter", "withdrawn")


def test_a_consent_change_removes_it_from_every_snapshot(app: Flask, staff: StaffActions) -> None:
    desk = _desk(app, staff)
    _publish(app, desk)
    post_form(desk.submitter, "/followup/", {"receipt": desk.receipt})
    saved = post_form(
        desk.submitter, "/followup/consents", {"contact": "receipt"}, form_page="/followup/case"
    )
    assert saved.status_code == 303
    assert _rows(app) == (0, 0)
    assert _summary_events(app)[-1] == ("case.summary-deleted", "submitter", "consent")
    page = desk.writer.get(_case_page(desk)).get_data(as_text=True)
    assert SUMMARY not in page
    assert 'id="public-summary-no-consent"' in page


def test_a_key_holder_deletes_it_everywhere(app: Flask, staff: StaffActions) -> None:
    desk = _desk(app, staff)
    _publish(app, desk)
    removed = _post(desk.writer, desk, "summary/remove", {})
    assert removed.status_code == 303
    assert _rows(app) == (0, 0)
    assert _summary_events(app)[-1] == (
        "case.summary-deleted",
        f"account:{desk.writer_staff.account_id}",
        "staff",
    )
    again = _post(desk.writer, desk, "summary/remove", {})
    assert again.status_code == 422
    assert "This case has no public summary." in again.get_data(as_text=True)
