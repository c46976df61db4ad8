"""What may not leave is refused with a reason, and nothing is exported or audited for it.

Issue 12, "Bad input": a case without consent, a case the coordinator holds
no key for, an unknown case, a removed partner; and only coordinators
export.  A refused request answers 422 with the page and its reason, no
pack, and no event for the refused case (nothing was opened).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.models import AuditEvent, Partner, Role
from registry.referral import partners
from tests.helpers import StaffActions, csrf_token, english_client, submit_and_locate
from tests.referral.support import add_partner, age_keygen, event_count


@pytest.fixture
def coordinator_client(app: Flask, staff: StaffActions) -> FlaskClient:
    coordinator = staff.create("coordinator@example.org", Role.COORDINATOR)
    client = english_client(app)
    staff.login(client, coordinator)
    return client


def _post(client: FlaskClient, cases: list[str], partner_id: int) -> tuple[int, str, str]:
    """Post the refer form with a valid token; (status, content type, page text)."""
    token = csrf_token(client.get("/review/refer?case=x").get_data(as_text=True))
    response = client.post(
        "/review/refer", data={"csrf_token": token, "cases": cases, "partner": str(partner_id)}
    )
    return response.status_code, response.mimetype, response.get_data(as_text=True)


def _events_about(app: Flask, case: str) -> list[str]:
    with app.app_context():
        return list(
            db.session().scalars(select(AuditEvent.action).where(AuditEvent.report_ref == case))
        )


def _refused(
    app: Flask, client: FlaskClient, cases: list[str], partner_id: int, reason: str
) -> None:
    before = event_count(app)
    status, mimetype, page = _post(client, cases, partner_id)
    assert status == 422
    assert mimetype == "text/html"
    assert reason in page
    assert "Nothing was exported." in page
    assert event_count(app) == before


def test_a_case_without_consent_is_refused(
    app: Flask, coordinator_client: FlaskClient, tmp_path: Path
) -> None:
    consenting = submit_and_locate(app, english_client(app), consent_refer="y")
    refusing = submit_and_locate(app, english_client(app))
    partner = add_partner(app, "Partner", age_keygen(tmp_path).recipient)
    _refused(
        app,
        coordinator_client,
        [consenting, refusing],
        partner,
        f"Case {refusing} cannot be referred: the submitter has not consented to referral.",
    )
    assert _events_about(app, refusing) == []
    # The refer page says so before anything is posted, and offers only the other.
    page = coordinator_client.get(f"/review/refer?case={consenting}&case={refusing}")
    text = page.get_data(as_text=True)
    assert "has not consented to referral" in text
    assert f'value="{refusing}"' not in text
    assert f'value="{consenting}"' in text


def test_a_case_the_coordinator_holds_no_key_for_is_refused(
    app: Flask, staff: StaffActions, tmp_path: Path
) -> None:
    case = submit_and_locate(app, english_client(app), consent_refer="y")
    # Enrolled after the report was sealed: no wrap of it is addressed to them.
    late = staff.create("late@example.org", Role.COORDINATOR)
    client = english_client(app)
    staff.login(client, late)
    partner = add_partner(app, "Partner", age_keygen(tmp_path).recipient)
    _refused(
        app, client, [case], partner, f"Case {case} cannot be referred: you hold no key for it."
    )
    assert _events_about(app, case) == []


def test_an_unknown_case_is_refused(
    app: Flask, coordinator_client: FlaskClient, tmp_path: Path
) -> None:
    partner = add_partner(app, "Partner", age_keygen(tmp_path).recipient)
    _refused(app, coordinator_client, ["NOSUCHCASE12"], partner, "There is no case NOSUCHCASE12.")


def test_a_removed_partner_gets_nothing(
    app: Flask, coordinator_client: FlaskClient, tmp_path: Path
) -> None:
    case = submit_and_locate(app, english_client(app), consent_refer="y")
    partner = add_partner(app, "Partner", age_keygen(tmp_path).recipient)
    with app.app_context():
        session = db.session()
        found = session.get(Partner, partner)
        assert found is not None
        partners.remove_partner(session, found, account_id=None, today=date(2026, 12, 5))
        session.commit()
    _refused(app, coordinator_client, [case], partner, "This partner has been removed")
    _refused(app, coordinator_client, [case], 12345, "This partner has been removed")
    assert _events_about(app, case) == []
    # The refer page no longer offers it.
    page = coordinator_client.get(f"/review/refer?case={case}").get_data(as_text=True)
    assert "No partner organisation is registered yet." in page


def test_nothing_chosen_is_refused(
    app: Flask, coordinator_client: FlaskClient, tmp_path: Path
) -> None:
    partner = add_partner(app, "Partner", age_keygen(tmp_path).recipient)
    _refused(app, coordinator_client, [], partner, "Please choose at least one case.")


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.ADMIN])
def test_only_coordinators_export(
    app: Flask, staff: StaffActions, tmp_path: Path, role: Role
) -> None:
    person = staff.create("someone@example.org", role)
    case = submit_and_locate(app, english_client(app), consent_refer="y")
    partner = add_partner(app, "Partner", age_keygen(tmp_path).recipient)
    client = english_client(app)
    staff.login(client, person)
    assert client.get(f"/review/refer?case={case}").status_code == 403
    token = csrf_token(client.get("/staff/account").get_data(as_text=True))
    before = event_count(app)
    response = client.post(
        "/review/refer", data={"csrf_token": token, "cases": [case], "partner": str(partner)}
    )
    assert response.status_code == 403
    assert event_count(app) == before
    if role == Role.REVIEWER:
        page = client.get(f"/review/case/{case}").get_data(as_text=True)
        assert "/review/refer" not in page
