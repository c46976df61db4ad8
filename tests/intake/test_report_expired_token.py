"""A report sent with a missing or stale form token comes back filled in (issue 13, item 2).

A new Tor identity, "Leave now" in another tab or a closed browser ends the
browser session, and with it the CSRF token of a form page still open.
Sending that page must not cost the person their text: the form comes back
with every answer, a fresh token and a request to send it once more, never
advice to reload.  Only a POST the browser marks as coming from this very
site gets its text back: another site must not make this one show its words.
"""

from __future__ import annotations

import re
import secrets

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import db
from registry.models import Report
from tests.helpers import csrf_token, english_client


def _reports(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(Report)) or 0)


def _browser(app: Flask, fetch_site: str = "same-origin") -> FlaskClient:
    client = english_client(app)
    # What a browser adds to a form POST from a page of the same site.
    client.environ_base["HTTP_SEC_FETCH_SITE"] = fetch_site
    return client


def _answers(narrative: str) -> dict[str, object]:
    return {
        "narrative": narrative,
        "region": "minsk-city",
        "violations": ["torture"],
        "when_exact": "On the evening of the 10th",
    }


def test_a_report_whose_session_ended_comes_back_with_every_answer(app: Flask) -> None:
    client = _browser(app)
    stale = csrf_token(client.get("/report").get_data(as_text=True))
    # The browser session ends: its cookie, holding the token's secret, is gone.
    client.delete_cookie("sv")
    narrative = f"KEPT-{secrets.token_hex(6)} they took us to Akrestsina"
    response = client.post("/report", data={"csrf_token": stale, **_answers(narrative)})

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert narrative in html
    assert "On the evening of the 10th" in html
    assert re.search(r'<option selected value="minsk-city">', html)
    assert re.search(r'<input checked[^>]*name="violations"[^>]*value="torture"', html)
    assert "please check it and send it once more" in html
    assert "reload" not in html.lower()
    assert "refresh" not in html.lower()
    assert _reports(app) == 0

    # One more press with the page as it came back stores the report.
    again = client.post("/report", data={"csrf_token": csrf_token(html), **_answers(narrative)})
    assert again.status_code == 200
    assert 'id="receipt"' in again.get_data(as_text=True)
    assert _reports(app) == 1


def test_a_report_without_any_token_comes_back_filled_in(app: Flask) -> None:
    client = _browser(app)
    response = client.post("/report", data=_answers("No token at all"))
    assert response.status_code == 400
    assert "No token at all" in response.get_data(as_text=True)
    assert _reports(app) == 0


def test_a_post_from_another_site_shows_none_of_its_words(app: Flask) -> None:
    for fetch_site in ("cross-site", "same-site", ""):
        client = _browser(app, fetch_site)
        if not fetch_site:
            del client.environ_base["HTTP_SEC_FETCH_SITE"]
        response = client.post("/report", data=_answers("WORDS-OF-ANOTHER-SITE"))
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "WORDS-OF-ANOTHER-SITE" not in html
        assert 'name="narrative"' not in html
    assert _reports(app) == 0
