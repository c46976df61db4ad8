"""Correcting a case's plain codes: checked against the vocabularies, audited."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import audit, db
from registry.crypto import generate_keypair
from registry.models import AuditEvent, Report
from registry.records.access import NoAccess
from registry.review import coding
from registry.taxonomy.service import titles
from tests.helpers import (
    Staff,
    StaffActions,
    english_client,
    post_form,
    private_key_of,
    submit_report,
)

GOOD = {
    "violations": ["threats", "coercion"],
    "place": "vehicle",
    "unit": "omon",
    "region": "brest",
    "incident_month": "2021-03",
}


def _codes(app: Flask) -> tuple[list[str], str | None, str | None, str, str | None]:
    with app.app_context():
        report = db.session().scalars(select(Report)).one()
        violations = [v.code for v in report.violations]
        return violations, report.place, report.unit, report.region, report.incident_month


def _coded_events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session().scalars(select(AuditEvent).where(AuditEvent.action == "case.coded"))
        )


@pytest.fixture
def reviewer(app: Flask, staff: StaffActions) -> Staff:
    person = staff.create("coder@example.org")
    submit_report(english_client(app), place="street", unit="kgb")
    return person


def _post(app: Flask, staff: StaffActions, person: Staff, data: dict[str, object]) -> str:
    client: FlaskClient = english_client(app)
    staff.login(client, person)
    with app.app_context():
        public_id = db.session().scalars(select(Report.public_id)).one()
    response = post_form(
        client, f"/review/case/{public_id}/codes", data, form_page=f"/review/case/{public_id}/codes"
    )
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_codes_change_the_plain_columns_the_queue_filters(
    app: Flask, staff: StaffActions, reviewer: Staff
) -> None:
    assert _codes(app) == (["torture"], "street", "kgb", "minsk-city", "2020-08")
    page = _post(app, staff, reviewer, GOOD)
    assert "The codes are saved." in page
    assert _codes(app) == (["coercion", "threats"], "vehicle", "omon", "brest", "2021-03")
    client = english_client(app)
    staff.login(client, reviewer)
    with app.app_context():
        public_id = db.session().scalars(select(Report.public_id)).one()
    # The codes page shows the new codes selected.
    form = client.get(f"/review/case/{public_id}/codes").get_data(as_text=True)
    assert '<option selected value="vehicle">' in form
    assert public_id in client.get("/review/?region=brest").get_data(as_text=True)
    assert public_id not in client.get("/review/?region=minsk-city").get_data(as_text=True)
    assert public_id in client.get("/review/?violation=threats").get_data(as_text=True)
    assert public_id not in client.get("/review/?violation=torture").get_data(as_text=True)
    (event,) = _coded_events(app)
    assert event.actor == f"account:{reviewer.account_id}"
    assert event.report_ref == public_id
    assert event.detail == (
        "violation+:coercion,violation+:threats,violation-:torture,"
        "place:vehicle,unit:omon,region:brest,month:2021-03"
    )


def test_optional_codes_can_be_cleared(app: Flask, staff: StaffActions, reviewer: Staff) -> None:
    _post(app, staff, reviewer, {"region": "minsk-city", "violations": ["torture"]})
    assert _codes(app) == (["torture"], None, None, "minsk-city", None)
    (event,) = _coded_events(app)
    assert event.detail == "place:none,unit:none,month:none"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"violations": ["torture", "tickling"]}, "Please choose violation types from the list."),
        ({"place": "moon"}, "Please choose a type of place from the list."),
        ({"unit": "aliens"}, "Please choose a service or unit from the list."),
        ({"region": "atlantis"}, "Please choose a region."),
        ({"region": ""}, "Please choose a region."),
        ({"incident_month": "2021-13"}, "the month of the incident as year and month"),
        ({"incident_month": "March 2021"}, "the month of the incident as year and month"),
    ],
)
def test_every_code_is_checked_and_nothing_changes(
    app: Flask, staff: StaffActions, reviewer: Staff, bad: dict[str, object], message: str
) -> None:
    before = _codes(app)
    page = _post(app, staff, reviewer, {**GOOD, **bad})
    assert message in page
    assert "The codes are saved." not in page
    assert _codes(app) == before
    assert _coded_events(app) == []


def test_service_needs_the_key_and_splits_long_details(
    app: Flask, staff: StaffActions, reviewer: Staff
) -> None:
    outsider = staff.create("late@example.org")  # no wrap of the report
    attempts = (
        (outsider.account_id, private_key_of(app, outsider)),
        (reviewer.account_id, generate_keypair().private),
    )
    reviewer_key = private_key_of(app, reviewer)
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report)).one()
        every = tuple(sorted(titles(session, "violation_types", "en")))
        codes = coding.Codes(violations=every, region="gomel")
        for account_id, key in attempts:
            with pytest.raises(NoAccess):
                coding.recode(session, report, account_id=account_id, private_key=key, codes=codes)
        assert [v.code for v in report.violations] == ["torture"]
        changes = coding.recode(
            session, report, account_id=reviewer.account_id, private_key=reviewer_key, codes=codes
        )
        session.commit()
    events = _coded_events(app)
    assert len(events) > 1  # thirteen codes do not fit in one detail
    assert all(len(e.detail or "") <= audit.DETAIL_MAX for e in events)
    assert ",".join(e.detail or "" for e in events) == ",".join(changes)
    assert _codes(app)[0] == sorted(every)
    assert _codes(app)[3] == "gomel"


def test_the_codes_page_shows_the_current_codes_to_key_holders_only(
    app: Flask, staff: StaffActions, reviewer: Staff
) -> None:
    with app.app_context():
        public_id = db.session().scalars(select(Report.public_id)).one()
    client = english_client(app)
    staff.login(client, reviewer)
    page = client.get(f"/review/case/{public_id}/codes").get_data(as_text=True)
    assert f'action="/review/case/{public_id}/codes"' in page
    assert '<option selected value="street">' in page
    assert re.search(r'<input checked [^>]*value="torture"', page)
    assert not re.search(r'<input checked [^>]*value="threats"', page)
    case_page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    assert f'href="/review/case/{public_id}/codes"' in case_page
    # Created after the report: holds no key, so the page does not exist for them.
    outsider = english_client(app)
    staff.login(outsider, staff.create("late-coder@example.org"))
    assert outsider.get(f"/review/case/{public_id}/codes").status_code == 404
