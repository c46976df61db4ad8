"""The follow-up page marks new staff replies and dates messages in its language (issue 13, item 7).

"New" is what the staff wrote after the submitter's last message (or after
the report, if they never wrote): the one moment of a past visit the
registry already holds, so marking it adds no trace anywhere.  Days are
Babel's long date in the page's language, never ISO.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.followup.service import new_replies
from registry.models import Report
from registry.records.messages import MessageView
from tests.helpers import StaffActions, english_client, post_form, submit_report

DAY = date(2024, 3, 5)


def _view(direction: str) -> MessageView:
    return MessageView(direction, DAY, "text", verified=True)


def test_new_replies_are_those_after_the_submitters_last_message() -> None:
    staff, own = "to-submitter", "to-staff"
    assert new_replies([]) == set()
    assert new_replies([_view(staff), _view(staff)]) == {0, 1}
    assert new_replies([_view(staff), _view(own), _view(staff)]) == {2}
    assert new_replies([_view(own), _view(staff), _view(own)]) == set()


def _reply(app: Flask, staff_client: FlaskClient, text: str) -> None:
    with app.app_context():
        public_id = db.session().scalars(select(Report)).one().public_id
    replied = post_form(
        staff_client,
        f"/review/case/{public_id}/reply",
        {"text": text},
        form_page=f"/review/case/{public_id}",
    )
    assert replied.status_code == 303


def _items(page: str) -> list[str]:
    return re.findall(r"<li class=\"to-[^\"]*\">.*?</li>", page, flags=re.DOTALL)


def test_replies_new_since_the_last_message_are_marked(app: Flask, staff: StaffActions) -> None:
    # The reviewer first: the report is wrapped to the key holders of the day.
    reviewer = staff.create("new-replies@example.org")
    client = english_client(app)
    receipt = submit_report(client)
    assert post_form(client, "/followup/", {"receipt": receipt}).status_code == 303
    staff_client = english_client(app)
    staff.login(staff_client, reviewer)

    _reply(app, staff_client, "Which day was it?")
    page = client.get("/followup/case").get_data(as_text=True)
    (first,) = _items(page)
    assert 'class="to-submitter new"' in first
    assert "New since you sent the report" in first
    assert "1 new reply from the staff." in page

    sent = post_form(client, "/followup/message", {"text": "On Monday"}, form_page="/followup/case")
    assert sent.status_code == 303
    _reply(app, staff_client, "Thank you. Was anyone hurt?")
    _reply(app, staff_client, "And where?")
    page = client.get("/followup/case").get_data(as_text=True)
    items = _items(page)
    assert len(items) == 4
    assert [("new" in item.split(">", 1)[0]) for item in items] == [False, False, True, True]
    assert all("New since your last message" in item for item in items[2:])
    assert "New since" not in "".join(items[:2])
    assert "2 new replies from the staff." in page


def test_message_days_are_in_the_pages_language(app: Flask, client: FlaskClient) -> None:
    receipt = submit_report(client)
    post_form(client, "/followup/", {"receipt": receipt})
    post_form(client, "/followup/message", {"text": "More"}, form_page="/followup/case")
    today = datetime.now(UTC).date()
    for language in ("en", "be", "ru"):
        client.get(f"/lang/{language}")
        page = client.get("/followup/case").get_data(as_text=True)
        (item,) = _items(page)
        shown = re.search(r"<time datetime=\"[0-9-]+\">([^<]+)</time>", item)
        assert shown, item
        assert shown.group(1) == format_date(today, "long", locale=language)
        # The ISO day stays machine-readable only, never the text shown.
        assert shown.group(1) != today.isoformat()
