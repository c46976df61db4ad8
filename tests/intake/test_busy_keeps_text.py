"""A report refused because the site is busy keeps every word typed.

The refusal happens before anything is stored, when the receipt
derivations of the worker are all taken (503).  The generic error page
would lose a narrative someone may have written at
risk; the form comes back instead, filled in, with an explanation.
"""

from __future__ import annotations

import secrets

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import db
from registry.models import Report
from registry.serving.slots import KdfSlots
from tests.helpers import csrf_token


def _post_report(client: FlaskClient, narrative: str) -> tuple[int, str]:
    page = client.get("/report").get_data(as_text=True)
    response = client.post(
        "/report",
        data={
            "csrf_token": csrf_token(page),
            "narrative": narrative,
            "region": "minsk-city",
            "violations": ["torture"],
        },
    )
    return response.status_code, response.get_data(as_text=True)


def _reports(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(Report)) or 0)


def test_busy_kdf_returns_the_form_with_the_text(app: Flask, client: FlaskClient) -> None:
    app.extensions["registry.kdf_slots"] = KdfSlots(0, wait=0.01)
    narrative = f"KEPT-{secrets.token_hex(6)} they took us to Akrestsina"
    status, html = _post_report(client, narrative)
    assert status == 503
    assert narrative in html
    assert "could not store your report" in html
    assert 'name="narrative"' in html
    assert _reports(app) == 0


def test_busy_message_is_in_the_persons_language(app: Flask) -> None:
    app.extensions["registry.kdf_slots"] = KdfSlots(0, wait=0.01)
    client = app.test_client()
    client.get("/lang/be")
    status, html = _post_report(client, "Тэкст")
    assert status == 503
    assert '<html lang="be">' in html
    assert "could not store your report" not in html
