"""Marking activity costs a submission one statement, and a triage change one at most."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from registry import db
from registry.models import Account
from tests.helpers import StaffActions, submit_and_locate, submit_report
from tests.review.test_page_statements import recorded


def _opt_in(app: Flask, account_id: int) -> None:
    with app.app_context():
        session = db.session()
        account = session.get(Account, account_id)
        assert account is not None
        account.notify_by_email = True
        session.commit()


def test_a_submission_marks_activity_in_one_statement(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    for n in range(3):
        _opt_in(app, staff.create(f"holder{n}@example.org").account_id)
    staff.create("not-told@example.org")
    submit_report(client)  # warm what a worker keeps anyway
    with app.app_context():
        engine = db.engine()
    with recorded(engine) as seen:
        submit_and_locate(app, client)
    touching = [sql for sql in seen if "notices" in sql]
    assert len(touching) == 1
    assert touching[0].startswith("INSERT INTO notices")
