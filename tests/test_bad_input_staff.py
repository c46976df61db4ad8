"""Odd input on staff pages gets a 4xx, never a 500 (promise 9).

Found by review: a NUL character crashes PostgreSQL text comparisons,
"²" passes ``str.isdigit`` but not ``int``, and the last representable day
overflowed the audit page's "to" filter.  ``app.testing`` propagates
exceptions, so a 500 here fails the test with the traceback.
"""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.models import Report, Role
from tests.helpers import StaffActions, csrf_token, english_client, post_form, submit_report


@pytest.fixture
def admin(app: Flask, staff: StaffActions) -> FlaskClient:
    client = english_client(app)
    staff.login(client, staff.create("odd-admin@example.org", role=Role.ADMIN))
    return client


@pytest.fixture
def reviewer(app: Flask, staff: StaffActions) -> tuple[FlaskClient, str]:
    person = staff.create("odd-reviewer@example.org")
    submit_report(english_client(app))
    client = english_client(app)
    staff.login(client, person)
    with app.app_context():
        public_id = db.session().scalars(select(Report.public_id)).one()
    return client, public_id


def test_the_last_day_as_audit_filter_is_no_crash(admin: FlaskClient) -> None:
    assert admin.get("/staff/audit?to=9999-12-31").status_code in (200, 422)


@pytest.mark.parametrize("page", ["²", "٣", "1²"])
def test_non_ascii_digits_as_page_number(reviewer: tuple[FlaskClient, str], page: str) -> None:
    client, _ = reviewer
    assert client.get("/review/", query_string={"page": page}).status_code == 200


def test_non_ascii_digits_as_assignee(reviewer: tuple[FlaskClient, str]) -> None:
    client, public_id = reviewer
    response = post_form(
        client,
        f"/review/case/{public_id}/assign",
        {"assignee": "²"},
        form_page=f"/review/case/{public_id}",
    )
    assert response.status_code == 303


@pytest.mark.parametrize(
    "path",
    ["/review/?after=%00", "/review/?q=a%00b", "/review/case/A%00B", "/staff/audit?actor=a%00@b.c"],
)
def test_nul_in_path_or_query_is_refused(admin: FlaskClient, path: str) -> None:
    response = admin.get(path)
    assert response.status_code == 400
    assert "could not be read" in response.get_data(as_text=True)


def test_nul_in_a_staff_form_is_refused(app: Flask) -> None:
    client = english_client(app)
    page = client.get("/staff/login").get_data(as_text=True)
    response = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(page),
            "email": "a\x00@example.org",
            "password": "x" * 12,
            "code": "123456",
        },
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("action", "field"),
    [("notes", "text"), ("links", "other"), ("status", "status"), ("codes", "region")],
)
def test_a_file_part_named_like_a_text_field_is_no_text(
    reviewer: tuple[FlaskClient, str], action: str, field: str
) -> None:
    """Case forms read the posted fields only: a file part is not handed on as text.

    A plain FlaskForm also fills its fields from ``request.files``; the
    services would then get a file where they expect text (a 500).
    """
    client, public_id = reviewer
    page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    response = client.post(
        f"/review/case/{public_id}/{action}",
        data={"csrf_token": csrf_token(page), field: (io.BytesIO(b"x"), "x.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert client.get(f"/review/case/{public_id}").status_code == 200


def test_a_json_body_is_no_form(reviewer: tuple[FlaskClient, str]) -> None:
    """With the token in the header, a JSON body is refused (415), never read as a form."""
    client, public_id = reviewer
    page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    for body in ('"text"', "[1, 2]", '{"text": 5}'):
        response = client.post(
            f"/review/case/{public_id}/notes",
            data=body,
            content_type="application/json",
            headers={"X-CSRFToken": csrf_token(page)},
        )
        assert response.status_code == 415
    assert client.get(f"/review/case/{public_id}").status_code == 200


@pytest.mark.parametrize("path", ["/report", "/staff/login"])
def test_a_json_body_to_a_public_form_is_refused_not_a_500(app: Flask, path: str) -> None:
    """Flask-WTF would fill the form from JSON (a list, a string): a clear 415 instead."""
    client = app.test_client()
    page = client.get(path).get_data(as_text=True)
    for body in ('"x"', "[1, 2]", '{"narrative": 5}'):
        response = client.post(
            path,
            data=body,
            content_type="application/json",
            headers={"X-CSRFToken": csrf_token(page)},
        )
        assert response.status_code == 415
        assert "<html" in response.get_data(as_text=True)
