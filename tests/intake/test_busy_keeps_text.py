"""A report refused because the site is busy keeps every word typed.

Both refusals happen before anything is stored: the receipt derivations of
the worker are taken (503), or the rate limit of the form is reached (429).
The generic error page would lose a narrative someone may have written at
risk; the form comes back instead, filled in, with an explanation.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import db
from registry.kdf_slots import KdfSlots
from registry.models import Report
from tests.helpers import csrf_token, english_client
from tests.test_rate_limits import _limited_app


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


def test_rate_limited_report_keeps_the_text(app: Flask, tmp_path: Path) -> None:
    limited = _limited_app(app.extensions["registry.config"].database_url, tmp_path, "memory://")
    client = english_client(limited)
    narrative = f"LIMITED-{secrets.token_hex(6)}"
    statuses = []
    for _ in range(121):
        status, html = _post_report(client, narrative)
        statuses.append(status)
    assert statuses[-1] == 429
    assert narrative in html
    assert "could not store your report" in html
    # The limit did not turn other pages into the report form.
    assert client.get("/followup/").status_code == 200
    with limited.app_context():
        db.engine().dispose()
