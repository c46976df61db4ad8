"""Submitting a report: one transaction, sealed, nothing about the request kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import db
from registry.crypto import unlock_private_key, unwrap_data_key
from registry.keyring.armor import PRIVATE_HEADER, dearmor
from registry.models import KeyWrap, Report, ReportViolation, SealedField
from registry.records.texts import open_texts
from tests.helpers import (
    ESCROW_PASSPHRASE,
    ESCROW_PRIVATE,
    StaffActions,
    csrf_token,
    post_form,
    submit_report,
)

CANARY = "CANARY-7f3a9c Лукашэнка біў нас у аўтобусе"


def _counts(app: Flask) -> tuple[int, ...]:
    with app.app_context():
        session = db.session()
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Report, SealedField, KeyWrap, ReportViolation)
        )


def test_report_is_sealed_and_wrapped_to_reviewers(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("rev@example.org")
    staff.create(
        "admin@example.org", role=__import__("registry.models", fromlist=["Role"]).Role.ADMIN
    )
    receipt = submit_report(client, narrative=CANARY)
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", receipt)
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report)).one()
        assert report.region == "minsk-city"
        assert report.incident_month == "2020-08"
        assert report.received_on == datetime.now(UTC).date()
        assert [v.code for v in report.violations] == ["torture"]
        stored = session.get(SealedField, (report.id, "answers"))
        assert stored is not None
        assert CANARY.encode() not in stored.ciphertext
        # Wrapped to the reviewer (admins see no case content by default) and
        # to escrow.
        assert [w.account_id for w in report.wraps if not w.escrow] == [reviewer.account_id]
        assert [w.account_id for w in report.wraps if w.escrow] == [None]


def test_invalid_region_stores_nothing(app: Flask, client: FlaskClient) -> None:
    page = client.get("/report").get_data(as_text=True)
    before = _counts(app)
    response = client.post(
        "/report",
        data={
            "csrf_token": csrf_token(page),
            "narrative": "x",
            "region": "atlantis",
            "year": "",
            "month": "",
        },
    )
    assert response.status_code == 422
    assert "error-summary" in response.get_data(as_text=True)
    assert _counts(app) == before


def test_missing_narrative_is_explained_in_russian(app: Flask, client: FlaskClient) -> None:
    client.get("/lang/ru")
    response = post_form(
        client,
        "/report",
        {
            "narrative": "   ",
            "region": "brest",
            "year": "",
            "month": "",
        },
    )
    html = response.get_data(as_text=True)
    assert "Пожалуйста, опишите, что произошло." in html
    assert _counts(app) == (0, 0, 0, 0)


def test_unknown_violation_code_stores_nothing(app: Flask, client: FlaskClient) -> None:
    page = client.get("/report").get_data(as_text=True)
    client.post(
        "/report",
        data={
            "csrf_token": csrf_token(page),
            "narrative": "x",
            "region": "brest",
            "violations": ["flying"],
        },
    )
    assert _counts(app) == (0, 0, 0, 0)


def test_post_without_csrf_is_refused_with_message(app: Flask, client: FlaskClient) -> None:
    response = client.post("/report", data={"narrative": "x", "region": "brest"})
    assert response.status_code == 400
    assert "Nothing was stored" in response.get_data(
        as_text=True
    ) or "Нічога не захавана" in response.get_data(as_text=True)
    assert _counts(app) == (0, 0, 0, 0)


def test_receipt_page_requires_confirmation(client: FlaskClient) -> None:
    receipt = submit_report(client)
    page = client.get("/report").get_data(as_text=True)
    token = csrf_token(page)
    again = client.post("/report/saved", data={"csrf_token": token, "receipt": receipt})
    assert again.status_code == 200
    assert receipt in again.get_data(as_text=True)
    done = client.post(
        "/report/saved", data={"csrf_token": token, "receipt": receipt, "saved": "y"}
    )
    assert done.status_code == 303
    assert done.headers["Location"].endswith("/report/done")


def test_receipt_page_does_not_echo_arbitrary_text(client: FlaskClient) -> None:
    page = client.get("/report").get_data(as_text=True)
    response = client.post(
        "/report/saved", data={"csrf_token": csrf_token(page), "receipt": "<b>x</b>"}
    )
    assert response.status_code == 400
    assert "<b>x</b>" not in response.get_data(as_text=True)


def test_report_stores_no_request_metadata(app: Flask, client: FlaskClient) -> None:
    client.environ_base.update(REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT="CanaryAgent/9.9")
    submit_report(client, narrative="metadata check")
    with app.app_context():
        session = db.session()
        dump = repr(
            [
                {c.name: getattr(row, c.name) for c in Report.__table__.columns}
                for row in session.scalars(select(Report))
            ]
        )
    assert "203.0.113.77" not in dump
    assert "CanaryAgent" not in dump
    # The day of receipt is a date, not a timestamp.
    assert "datetime.date(" in dump
    assert "datetime.datetime(" not in dump


def test_the_offline_escrow_key_opens_every_report(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    # The test deployment has an escrow key (conftest), and no reviewer at all.
    submit_report(client, narrative=CANARY)
    with app.app_context():
        report = db.session().scalars(select(Report)).one()
        (wrap,) = report.wraps
        sealed = db.session().get(SealedField, (report.id, "answers"))
        assert sealed is not None
        public_id, ciphertext = report.public_id, sealed.ciphertext
    assert wrap.escrow
    locked = dearmor(PRIVATE_HEADER, (tmp_path / ESCROW_PRIVATE).read_text())
    private = unlock_private_key(locked, ESCROW_PASSPHRASE)
    dek = unwrap_data_key(wrap.wrapped, private, report_id=public_id)
    opened = open_texts(dek, "answers", ciphertext, report_id=public_id)
    assert opened == {"narrative": CANARY}
