"""Follow-up forms keep what was typed when the page's token or session ran out (issue 13, item 2).

A message, a change of choices or a withdrawal sent from a page whose
browser session ended comes back as the page itself, filled in, with a
request to send it once more.  A message written while the follow-up
session (15 minutes idle) ran out is carried through the receipt form and
shown again, unsent, once the report is open.
"""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import db
from registry.followup import cookie
from registry.models import Message, Report
from tests.helpers import csrf_token, english_client, post_form, submit_report

TEXT = "The officer's badge was 4711, and he came back on Monday"


def _count(app: Flask, model: type[Message] | type[Report]) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(model)) or 0)


def _opened(app: Flask) -> tuple[FlaskClient, str]:
    """A browser that sent a report and opened it again with the receipt."""
    client = english_client(app)
    client.environ_base["HTTP_SEC_FETCH_SITE"] = "same-origin"
    receipt = submit_report(client)
    assert post_form(client, "/followup/", {"receipt": receipt}).status_code == 303
    return client, receipt


def test_a_message_whose_page_token_expired_comes_back_and_sends(app: Flask) -> None:
    client, _receipt = _opened(app)
    stale = csrf_token(client.get("/followup/case").get_data(as_text=True))
    client.delete_cookie("sv")  # the browser session's token secret is gone
    response = client.post("/followup/message", data={"csrf_token": stale, "text": TEXT})

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert TEXT.replace("'", "&#39;") in html
    assert "please check it and send it once more" in html
    assert "reload" not in html.lower()
    assert "refresh" not in html.lower()
    assert _count(app, Message) == 0

    again = client.post("/followup/message", data={"csrf_token": csrf_token(html), "text": TEXT})
    assert again.status_code == 303
    assert _count(app, Message) == 1


def test_a_message_written_while_the_followup_session_ran_out_is_kept(app: Flask) -> None:
    client, receipt = _opened(app)
    token = csrf_token(client.get("/followup/case").get_data(as_text=True))
    # 15 minutes idle: the follow-up cookie no longer opens (here: it is gone).
    client.delete_cookie(cookie.COOKIE, path="/followup")
    response = client.post("/followup/message", data={"csrf_token": token, "text": TEXT})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert TEXT.replace("'", "&#39;") in html
    assert 'name="receipt"' in html
    assert _count(app, Message) == 0

    # The receipt opens the report with the message in its box, still unsent.
    opened = client.post(
        "/followup/",
        data={"csrf_token": csrf_token(html), "receipt": receipt, "message": TEXT},
    )
    page = opened.get_data(as_text=True)
    assert opened.status_code == 200
    kept_box = r'<textarea[^>]*name="text"[^>]*>\s*' + re.escape(TEXT.replace("'", "&#39;"))
    assert re.search(kept_box, page)
    assert "Your message is not sent yet" in page
    assert _count(app, Message) == 0
    sent = client.post("/followup/message", data={"csrf_token": csrf_token(page), "text": TEXT})
    assert sent.status_code == 303
    assert _count(app, Message) == 1


def test_the_whole_browser_session_gone_still_keeps_the_message(app: Flask) -> None:
    client, _receipt = _opened(app)
    stale = csrf_token(client.get("/followup/case").get_data(as_text=True))
    client.delete_cookie("sv")
    client.delete_cookie(cookie.COOKIE, path="/followup")
    response = client.post("/followup/message", data={"csrf_token": stale, "text": TEXT})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert TEXT.replace("'", "&#39;") in html
    assert 'name="receipt"' in html


def test_choices_whose_page_token_expired_come_back_as_ticked(app: Flask) -> None:
    client, _receipt = _opened(app)
    client.delete_cookie("sv")
    response = client.post(
        "/followup/consents", data={"csrf_token": "stale", "contact": "none", "publish": "y"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'<input checked[^>]*name="contact"[^>]*value="none"', html)
    assert re.search(r'<input checked[^>]*name="publish"', html)
    with app.app_context():
        report = db.session().scalars(select(Report)).one()
        assert (report.consent_contact, report.consent_publish) == ("receipt", False)


def test_a_withdrawal_whose_page_token_expired_deletes_nothing_and_works_again(
    app: Flask,
) -> None:
    client, receipt = _opened(app)
    stale = csrf_token(client.get("/followup/withdraw").get_data(as_text=True))
    client.delete_cookie("sv")
    response = client.post(
        "/followup/withdraw", data={"csrf_token": stale, "receipt": receipt, "confirm": "y"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "nothing was deleted" in html
    # The receipt is never shown back (the page may be seen over a shoulder).
    assert receipt not in html
    assert _count(app, Report) == 1
    done = client.post(
        "/followup/withdraw",
        data={"csrf_token": csrf_token(html), "receipt": receipt, "confirm": "y"},
    )
    assert done.status_code == 200
    assert _count(app, Report) == 0


def test_a_followup_post_from_another_site_shows_none_of_its_words(app: Flask) -> None:
    client, _receipt = _opened(app)
    client.environ_base["HTTP_SEC_FETCH_SITE"] = "cross-site"
    response = client.post("/followup/message", data={"text": "WORDS-OF-ANOTHER-SITE"})
    assert response.status_code == 400
    assert "WORDS-OF-ANOTHER-SITE" not in response.get_data(as_text=True)
