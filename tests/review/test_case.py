"""The queue, the case page and mapping a case to a proposal."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.crypto import generate_keypair
from registry.models import CaseMapping, Report, Role
from registry.records.access import NoAccess
from registry.review import service
from tests.helpers import StaffActions, csrf_token, submit_report

SECRET = "They held me at Akrescina for three days"


def _public_id(app: Flask) -> str:
    with app.app_context():
        return db.session().scalars(select(Report)).one().public_id


def test_reviewer_reads_and_maps_a_case(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("reader@example.org")
    submit_report(app.test_client(), narrative=SECRET)
    staff.login(client, reviewer)
    public_id = _public_id(app)
    queue = client.get("/review/").get_data(as_text=True)
    assert public_id in queue
    assert SECRET not in queue  # the queue shows plain columns only
    page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    assert SECRET in page
    with app.app_context():
        from registry.reforms.service import active_proposals

        proposal = active_proposals(db.session())[0].code
    response = client.post(
        f"/review/case/{public_id}/mappings",
        data={
            "csrf_token": csrf_token(page),
            "proposal": proposal,
            "strength": "strong",
            "rationale": "Three days incommunicado — rationale canary",
        },
    )
    assert response.status_code == 303
    page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    assert "rationale canary" in page
    with app.app_context():
        mapping = db.session().scalars(select(CaseMapping)).one()
        assert b"rationale canary" not in mapping.sealed_rationale
    assert public_id in client.get(f"/proposals/{proposal}").get_data(as_text=True)


def test_reviewer_added_after_the_report_cannot_open_it(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    submit_report(app.test_client(), narrative=SECRET)
    late = staff.create("late@example.org")
    staff.login(client, late)
    public_id = _public_id(app)
    assert client.get(f"/review/case/{public_id}").status_code == 404


def test_no_wrap_means_the_service_refuses(app: Flask, staff: StaffActions) -> None:
    """Even called directly, without the view, no wrap means no key."""
    holder = staff.create("holder@example.org")
    submit_report(app.test_client(), narrative=SECRET)
    outsider = staff.create("outsider@example.org", role=Role.COORDINATOR)
    public_id = _public_id(app)
    with app.app_context():
        session = db.session()
        with pytest.raises(NoAccess):
            service.open_case(session, public_id, outsider.account_id, generate_keypair().private)
        # Holder's wrap with a wrong private key: the crypto refuses.
        with pytest.raises(NoAccess):
            service.open_case(session, public_id, holder.account_id, generate_keypair().private)


def test_admin_sees_no_case_content(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    admin = staff.create("root@example.org", role=Role.ADMIN)
    submit_report(app.test_client(), narrative=SECRET)
    staff.login(client, admin)
    assert client.get(f"/review/case/{_public_id(app)}").status_code == 404


def test_staff_pages_need_login(client: FlaskClient) -> None:
    for path in ("/review/", "/review/case/ABC", "/proposals/"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/staff/login")


def test_mapping_with_unknown_proposal_is_refused(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("m@example.org")
    submit_report(app.test_client())
    staff.login(client, reviewer)
    public_id = _public_id(app)
    page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    response = client.post(
        f"/review/case/{public_id}/mappings",
        data={
            "csrf_token": csrf_token(page),
            "proposal": "no-such",
            "strength": "strong",
            "rationale": "x",
        },
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session().scalars(select(CaseMapping)).all() == []


def test_page_titles_are_plain_text(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    """No markup leaks into <title> (a template block mix-up once put forms there)."""
    import re

    reviewer = staff.create("title@example.org")
    submit_report(app.test_client())
    staff.login(client, reviewer)
    for path in ("/", "/report", "/review/", f"/review/case/{_public_id(app)}", "/proposals/"):
        html = client.get(path).get_data(as_text=True)
        title = re.search(r"<title>(.*?)</title>", html, re.S)
        assert title
        assert "<" not in title.group(1)
