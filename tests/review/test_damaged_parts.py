"""Promise 10: a damaged part shows as damaged and hides nothing else.

Someone with write access to the database swaps, flips or moves sealed
rows.  The case page still answers 200, shows every intact part, marks each
damaged one, and the audit log records the damage once.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from registry import db
from registry.models import AuditEvent, CaseMapping, Message, Note, Report, SealedField
from tests.helpers import StaffActions, english_client, post_form, submit_report

NARRATIVE = "NARRATIVE-CANARY They held us in the yard"
WHEN = "WHEN-CANARY 9 August about 23:00"
WHERE = "WHERE-CANARY behind the Akrescina gate"
TO_STAFF = "MESSAGE-CANARY the badge was 4711"
REPLY = "REPLY-CANARY which day was it?"
NOTE = "NOTE-CANARY ask the lawyer"
RATIONALE = "RATIONALE-CANARY three days incommunicado"
DAMAGED = "This part failed its integrity check."


def _flip(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


@pytest.fixture
def case(app: Flask, client: FlaskClient, staff: StaffActions) -> tuple[FlaskClient, str]:
    """A case with every kind of sealed part; a reviewer's logged-in client and its id."""
    reviewer = staff.create("damage@example.org")
    receipt = submit_report(client, narrative=NARRATIVE, when_exact=WHEN, where_exact=WHERE)
    post_form(client, "/followup/", {"receipt": receipt})
    sent = post_form(client, "/followup/message", {"text": TO_STAFF}, form_page="/followup/case")
    assert sent.status_code == 303
    with app.app_context():
        public_id = db.session().scalars(select(Report.public_id)).one()
    staff_client = english_client(app)
    staff.login(staff_client, reviewer)
    page = f"/review/case/{public_id}"
    replied = post_form(staff_client, f"{page}/reply", {"text": REPLY}, form_page=page)
    assert replied.status_code == 303
    noted = post_form(staff_client, f"{page}/notes", {"text": NOTE}, form_page=page)
    assert noted.status_code == 303
    with app.app_context():
        from registry.reforms.service import active_proposals

        proposal = active_proposals(db.session())[0].code
    mapped = post_form(
        staff_client,
        f"{page}/mappings",
        {"proposal": proposal, "strength": "strong", "rationale": RATIONALE},
        form_page=page,
    )
    assert mapped.status_code == 303
    opened = staff_client.get(page).get_data(as_text=True)
    for text in (NARRATIVE, WHEN, WHERE, REPLY, NOTE, RATIONALE):
        assert text.replace("'", "&#39;") in opened, text
    assert "the badge was 4711" in opened
    assert DAMAGED not in opened
    return staff_client, public_id


def _damage_events(app: Flask, public_id: str) -> list[str | None]:
    with app.app_context():
        return list(
            db.session().scalars(
                select(AuditEvent.detail).where(
                    AuditEvent.action == "case.part-damaged", AuditEvent.report_ref == public_id
                )
            )
        )


def test_flipped_narrative_hides_nothing_else(app: Flask, case: tuple[FlaskClient, str]) -> None:
    """The narrative and answers share one sealed record: flipped, it shows as one damaged part."""
    staff_client, public_id = case
    with app.app_context():
        dbs = db.session()
        row = dbs.scalars(select(SealedField).where(SealedField.name == "answers")).one()
        row.ciphertext = _flip(row.ciphertext)
        dbs.commit()
    response = staff_client.get(f"/review/case/{public_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in (NARRATIVE, WHEN, WHERE):
        assert text not in page
    assert page.count(DAMAGED) == 1
    for text in (REPLY, NOTE, RATIONALE, "the badge was 4711"):
        assert text in page
    # Audited once, however often the case is opened.
    staff_client.get(f"/review/case/{public_id}")
    assert _damage_events(app, public_id) == ["answer,narrative"]


def test_swapped_answers_and_moved_rows_show_as_damaged(
    app: Flask, client: FlaskClient, case: tuple[FlaskClient, str]
) -> None:
    staff_client, public_id = case
    submit_report(client, narrative="OTHER-CANARY another case", when_exact="another day")
    with app.app_context():
        dbs = db.session()
        ours, theirs = (
            dbs.scalars(
                select(SealedField)
                .join(Report, Report.id == SealedField.report_id)
                .where(SealedField.name == "answers", same)
            ).one()
            for same in (Report.public_id == public_id, Report.public_id != public_id)
        )
        # Each record moved into the other case's row: bound to its case, neither opens.
        ours.ciphertext, theirs.ciphertext = theirs.ciphertext, ours.ciphertext
        note = dbs.scalars(select(Note)).one()
        note.ciphertext = _flip(note.ciphertext)
        mapping = dbs.scalars(select(CaseMapping)).one()
        mapping.sealed_rationale = mapping.sealed_rationale[:40]
        to_staff, reply = sorted(dbs.scalars(select(Message)), key=lambda m: m.seq)
        dbs.execute(
            update(Message).where(Message.id == to_staff.id).values(staff_copy=reply.staff_copy)
        )
        dbs.commit()
    response = staff_client.get(f"/review/case/{public_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count(DAMAGED) == 4  # the account and answers, a message, a note, a rationale
    assert REPLY in page
    for text in (NARRATIVE, WHEN, WHERE, "OTHER-CANARY", "the badge was 4711", NOTE, RATIONALE):
        assert text not in page
    assert _damage_events(app, public_id) == ["answer,message,narrative,note,rationale"]


def test_damaged_inbox_key_marks_the_submitters_messages_only(
    app: Flask, case: tuple[FlaskClient, str]
) -> None:
    staff_client, public_id = case
    with app.app_context():
        dbs = db.session()
        inbox = dbs.scalars(select(SealedField).where(SealedField.name == "inbox-key")).one()
        inbox.ciphertext = _flip(inbox.ciphertext)
        dbs.commit()
    response = staff_client.get(f"/review/case/{public_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "the badge was 4711" not in page
    for text in (NARRATIVE, WHEN, WHERE, REPLY, NOTE, RATIONALE):
        assert text in page
    assert _damage_events(app, public_id) == ["inbox-key,message"]
