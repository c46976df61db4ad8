"""The full report: Istanbul Protocol sections, flags, consents."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import db
from registry.models import Report, SealedField
from registry.records.vocabulary import QUESTIONS, SEALED_ANSWERS
from tests.helpers import (
    StaffActions,
    english_client,
    post_form,
    submit_report,
    texts_by_escrow,
)

ANSWERS = {
    "when_exact": "9 August 2020 about 23:00",
    "where_exact": "Akrescina, cell 14",
    "perpetrators": "Officer with badge 0420, masked",
    "said": "They said we would not leave alive",
    "injuries": "Broken rib, hospital paper",
    "witnesses": "My cellmate Ales",
}


def test_questions_of_the_form_are_the_sealed_answers() -> None:
    assert tuple(name for name, _, _ in QUESTIONS) == SEALED_ANSWERS


def test_full_report_is_sealed_and_coded(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("full@example.org")
    submit_report(
        client,
        reporter_role="witness",
        place="temporary-detention",
        unit="omon",
        flags=["detained-now", "journalist"],
        consent_contact="none",
        consent_publish="y",
        **ANSWERS,
    )
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report)).one()
        assert (report.reporter_role, report.place, report.unit) == (
            "witness",
            "temporary-detention",
            "omon",
        )
        assert [f.code for f in report.flags] == ["detained-now", "journalist"]
        assert report.urgent  # someone is still detained
        assert (report.consent_contact, report.consent_publish, report.consent_refer) == (
            "none",
            True,
            False,
        )
        stored = b"".join(f.ciphertext for f in session.scalars(select(SealedField)))
        for text in ANSWERS.values():
            assert text.encode() not in stored
        public_id = report.public_id
    staff_client = english_client(app)
    staff.login(staff_client, reviewer)
    page = staff_client.get(f"/review/case/{public_id}").get_data(as_text=True)
    for text in ANSWERS.values():
        assert text in page
    assert "Urgent" in page


def test_empty_answers_are_not_stored(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    submit_report(client, when_exact="   ")
    with app.app_context():
        names = set(db.session().scalars(select(SealedField.name)))
        public_id = db.session().scalars(select(Report.public_id)).one()
    # Every report has the same two rows; what was answered is inside the record.
    assert names == {"answers", "inbox-key"}
    assert texts_by_escrow(app, tmp_path, public_id) == {"narrative": "They beat us in the bus."}


def test_unknown_codes_are_refused_and_nothing_is_stored(app: Flask, client: FlaskClient) -> None:
    for field, value in (
        ("place", "moon"),
        ("unit", "ninjas"),
        ("flags", "vip"),
        ("reporter_role", "spy"),
        ("consent_contact", "pigeon"),
    ):
        response = post_form(client, "/report", {"narrative": "x", "region": "brest", field: value})
        assert response.status_code == 422
        assert "error-summary" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Report)) == 0


def test_too_long_answer_is_refused_with_the_form_kept(app: Flask, client: FlaskClient) -> None:
    response = post_form(
        client,
        "/report",
        {"narrative": "kept text", "region": "brest", "witnesses": "w" * 10_001},
    )
    html = response.get_data(as_text=True)
    assert "error-summary" in html
    assert "kept text" in html  # nothing the person typed is lost
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Report)) == 0


def test_form_sections_are_labelled_fieldsets(client: FlaskClient) -> None:
    html = client.get("/report").get_data(as_text=True)
    assert html.count("<fieldset") >= 7
    for name, _, _ in QUESTIONS:
        assert f'<label for="{name}">' in html
        assert f'aria-describedby="{name}-hint"' in html


def test_contact_is_sealed_and_required_when_chosen(
    app: Flask, client: FlaskClient, staff: StaffActions, tmp_path: Path
) -> None:
    refused = post_form(
        client, "/report", {"narrative": "x", "region": "brest", "consent_contact": "contact"}
    )
    assert "error-summary" in refused.get_data(as_text=True)
    reviewer = staff.create("contact@example.org")
    submit_report(client, consent_contact="contact", contact_details="Signal +48 600 000 000")
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report)).one()
        assert report.consent_contact == "contact"
        sealed = session.get(SealedField, (report.id, "answers"))
        assert sealed is not None
        assert b"600 000" not in sealed.ciphertext
        public_id = report.public_id
    assert texts_by_escrow(app, tmp_path, public_id)["contact"] == "Signal +48 600 000 000"
    staff_client = english_client(app)
    staff.login(staff_client, reviewer)
    page = staff_client.get(f"/review/case/{public_id}").get_data(as_text=True)
    assert "Signal +48 600 000 000" in page
