"""The queue page: the no-JS filter form, counts, links that keep filters, bad input."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

from flask import Flask
from flask.testing import FlaskClient

from registry import db
from tests.helpers import Staff, StaffActions
from tests.review.queue_data import plain_report


def _reviewer(app: Flask, client: FlaskClient, staff: StaffActions) -> Staff:
    person = staff.create("queue@example.org")
    staff.login(client, person)
    return person


def _page(client: FlaskClient, query: str) -> str:
    response = client.get(f"/review/{query}")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def _listed(page: str) -> list[str]:
    """Public ids of the cases in the page's table, in order."""
    return re.findall(r'<a href="/review/case/([A-Z0-9]+)">', page)


def _add(app: Flask, **columns: object) -> str:
    with app.app_context():
        session = db.session()
        public_id = plain_report(session, **columns).public_id
        session.commit()
        return public_id


def test_filters_counts_and_total(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    _reviewer(app, client, staff)
    brest = [_add(app, region="brest", status="new") for _ in range(2)]
    gomel = _add(app, region="gomel", status="closed")
    page = _page(client, "?region=brest")
    assert set(_listed(page)) == set(brest)
    assert gomel not in page
    # The count beside each region is with the other filters (none) only.
    assert "Brest region (2)</option>" in page
    assert "Gomel region (1)</option>" in page
    assert '<option value="brest" selected>' in page
    assert "Cases: 2. Page 1 of 1." in page
    # Beside each status: the Brest cases only.
    assert "New (2)</option>" in page
    assert "Closed (0)</option>" in page


def test_links_keep_every_filter(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    _reviewer(app, client, staff)
    for day in range(1, 28):
        for _ in range(2):
            _add(app, region="brest", violations=["torture"], received_on=date(2025, 3, day))
    _add(app, region="brest", violations=["threats"])
    query = "?region=brest&violation=torture&from=2025-03-01&sort=oldest"
    first = _page(client, query)
    assert "Cases: 54. Page 1 of 2." in first
    found = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert found
    following = found.group(1)
    for part in ("region=brest", "violation=torture", "from=2025-03-01", "sort=oldest", "page=2"):
        assert part in following
    second = _page(client, following.removeprefix("/review/"))
    assert len(_listed(second)) == 4
    assert not set(_listed(second)) & set(_listed(first))
    assert 'rel="next"' not in second
    back = re.search(r'<a href="([^"]+)" rel="prev">', second)
    assert back
    assert "violation=torture" in back.group(1)
    assert "page=1" in back.group(1)


def test_my_cases_and_unassigned(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    me = _reviewer(app, client, staff)
    mine = _add(app, assignee_id=me.account_id)
    nobodys = _add(app)
    page = _page(client, "")
    assert "My cases (1)" in page
    assert "Unassigned (1)" in page
    assert 'href="/review/?assignee=me"' in page
    assert _listed(_page(client, "?assignee=me")) == [mine]
    assert _listed(_page(client, "?assignee=none")) == [nobodys]
    # The person's own entry in the list is marked and selected.
    assert "queue@example.org (you) (1)</option>" in _page(client, "?assignee=me")


def test_bad_dates_are_explained_not_500(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    _reviewer(app, client, staff)
    brest, gomel = _add(app, region="brest"), _add(app, region="gomel")
    for bad in ("2025-13-45", "yesterday", "2025-02-30", "20250101", "2025-1-1"):
        page = _page(client, f"?from={bad}&region=brest")
        assert "“Received from” must be a date such as 2025-03-31" in page
        # The bad filter is ignored, the others still apply.
        assert _listed(page) == [brest]
    page = _page(client, "?from=2025-02-01&to=2025-01-01")
    assert "The first day is after the last day, so the dates were ignored." in page
    assert set(_listed(page)) == {brest, gomel}
    assert _listed(_page(client, "?to=2025-01-15&from=2025-01-15")) != []


def test_unknown_values_are_ignored_with_a_message(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    _reviewer(app, client, staff)
    brest, gomel = _add(app, region="brest"), _add(app, region="gomel")
    cases = [
        ("region=atlantis", "“Region”"),
        ("violation=jaywalking", "“Violation”"),
        ("status=lost", "“Status”"),
        ("proposal=nope", "“Reform proposal”"),
        ("language=de", "“Language of the form”"),
        ("assignee=999999", "“Assigned to”"),
        ("assignee=abc", "“Assigned to”"),
        ("urgent=yes", "“Urgent only”"),
        ("sort=random", "“Sort by”"),
    ]
    for query, label in cases:
        page = _page(client, f"?{query}")
        assert f"{label}: the value in the address is not one of the choices" in page, query
        assert set(_listed(page)) == {brest, gomel}, query
    # Pages that do not exist are the first page, not an error.
    for page_arg in ("0", "-3", "x", "99999999999"):
        assert set(_listed(_page(client, f"?page={page_arg}"))) == {brest, gomel}


def test_a_page_past_the_end(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    _reviewer(app, client, staff)
    _add(app)
    page = _page(client, "?page=7")
    assert "There are no cases on this page." in page


def test_the_form_works_without_javascript(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    _reviewer(app, client, staff)
    page = _page(client, "")
    form = re.search(r'<form method="get" class="queue-filters"(.*?)</form>', page, re.S)
    assert form, "the filters are a plain GET form"
    body = form.group(1)
    assert "<script" not in page
    assert " style=" not in page
    names = set(re.findall(r'name="([a-z]+)"', body))
    assert names == {
        "q",
        "status",
        "region",
        "violation",
        "place",
        "unit",
        "proposal",
        "language",
        "assignee",
        "from",
        "to",
        "urgent",
        "waiting",  # issue 13: a submitter waits for an answer
        "new",  # issue 13: news since I last opened the case
        "sort",
    }
    # Every control has a label pointing at it.
    for control in re.findall(r'id="(f-[a-z]+)"', body):
        assert f'for="{control}"' in body, control


def test_an_empty_queue(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    _reviewer(app, client, staff)
    page = _page(client, "")
    assert "No reports match." in page
    assert "Cases: 0. Page 1 of 1." in page
