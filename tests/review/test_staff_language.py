"""Issue 13, items 9 and 11: staff pages in the page's language; mapping explained.

Asserts what comes from data and Babel (titles, language names, dates),
never a new interface string's translation, which is compiled later.
"""

from __future__ import annotations

import re
from datetime import date
from html import unescape

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import format_date
from sqlalchemy import select

from registry import db
from registry.models import ReformProposal, Report
from registry.reforms.service import active_proposals
from tests.helpers import StaffActions, csrf_token, english_client, submit_and_locate


def _in(client: FlaskClient, lang: str) -> None:
    assert client.get(f"/lang/{lang}?next=/").status_code == 303


def _get(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return unescape(response.get_data(as_text=True))


def _received(app: Flask, public_id: str) -> date:
    with app.app_context():
        report = db.session().scalars(select(Report).where(Report.public_id == public_id)).one()
        return report.received_on


def test_case_page_and_mapping_in_the_pages_language(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("reader@example.org")
    public_id = submit_and_locate(app, english_client(app))  # the form in English
    staff.login(client, reviewer)
    _in(client, "ru")
    page = _get(client, f"/review/case/{public_id}")
    received = _received(app, public_id)
    assert received.isoformat() not in page.split("<h2")[0]  # the facts: no ISO day
    with app.test_request_context(headers={"Cookie": "lang=ru"}):
        assert format_date(received, "medium") in page
        assert format_date(date(2020, 8, 1), "LLLL y") in page  # the month of incident
    assert "<dd>English</dd>" in page  # the form's language by name, not "en"
    with app.app_context():
        proposals = active_proposals(db.session())
    mapping = page.split('id="proposal"')[1].split("</select>")[0]
    first = proposals[0]
    assert f'<optgroup label="{first.block_title("ru")}">' in mapping
    assert f">{first.title('ru')}</option>" in mapping
    assert f"{first.code} —" not in mapping  # titles, not codes
    assert mapping.count("<optgroup") == len({p.block for p in proposals})
    # What the two strengths mean, beside each choice.
    strength = page.split('id="strength"')[1].split("</fieldset>")[0]
    assert strength.count('class="hint"') == 2
    assert 'aria-describedby="strength-0-hint"' in strength


def test_mapped_list_queue_filter_and_standards_use_titles(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("reader@example.org")
    public_id = submit_and_locate(app, app.test_client())
    staff.login(client, reviewer)
    with app.app_context():
        proposal = db.session().get(ReformProposal, "torture-criminalise")
        assert proposal is not None
        title_be = proposal.title("be")
    page = _get(client, f"/review/case/{public_id}")
    token = csrf_token(page)
    response = client.post(
        f"/review/case/{public_id}/mappings",
        data={
            "csrf_token": token,
            "proposal": "torture-criminalise",
            "strength": "strong",
            "rationale": "Why",
        },
    )
    assert response.status_code == 303
    _in(client, "be")
    mapped = _get(client, f"/review/case/{public_id}").split('class="mappings"')[1]
    assert f">{title_be}</a>" in mapped.split("</ul>")[0]
    queue = _get(client, "/review/")
    proposal_filter = queue.split('id="f-proposal"')[1].split("</select>")[0]
    assert f'<option value="torture-criminalise">{title_be} (' in proposal_filter
    assert "torture-criminalise —" not in proposal_filter
    assert _received(app, public_id).isoformat() not in queue.split("<tbody>")[1]

    _in(client, "ru")
    standards = _get(client, "/proposals/torture-criminalise").split('id="standards"')[1]
    assert "Конвенция ООН против пыток, ст. 1" in standards
    assert "Международный пакт о гражданских и политических правах, ст. 7" in standards
    _in(client, "en")
    standards = _get(client, "/proposals/torture-criminalise").split('id="standards"')[1]
    assert "<li>UNCAT art. 1</li>" in standards


def test_coding_page_has_a_month_picker_with_a_named_example(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("reader@example.org")
    public_id = submit_and_locate(app, app.test_client())
    staff.login(client, reviewer)
    page = _get(client, f"/review/case/{public_id}/codes")
    month = re.search(r'<input[^>]*id="incident_month"[^>]*>', page)
    assert month
    assert 'type="month"' in month.group(0)
    assert "YYYY-MM" not in page
    assert "August 2020" in page  # the example's month, named by Babel
