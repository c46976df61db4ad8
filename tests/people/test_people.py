"""Administrators' people pages: invite, remove, reset; only for admins."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.auth import recovery
from registry.crypto import second_factor_key
from registry.models import (
    Account,
    AuditEvent,
    Invite,
    KeyWrap,
    RecoveryCode,
    Report,
    Role,
    StaffSession,
)
from registry.people import service
from registry.records.access import NoAccess
from registry.review.service import open_case
from tests.helpers import (
    Staff,
    StaffActions,
    csrf_token,
    english_client,
    post_form,
    private_key_of,
    submit_report,
)


def _case(app: Flask) -> str:
    submit_report(english_client(app))
    with app.app_context():
        return db.session().scalars(select(Report.public_id)).one()


def _events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _confirm(client: FlaskClient, path: str) -> str:
    """GET the confirmation page, then POST its form; return the answer's text or location."""
    page = client.get(path)
    assert page.status_code == 200
    response = client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    if response.status_code == 303:
        return response.headers["Location"]
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _admin_client(app: Flask, staff: StaffActions) -> tuple[Staff, FlaskClient]:
    admin = staff.create("admin@example.org", role=Role.ADMIN)
    client = english_client(app)
    staff.login(client, admin)
    return admin, client


def test_people_pages_are_for_admins_only(app: Flask, staff: StaffActions) -> None:
    target = staff.create("target@example.org")
    for role in (Role.REVIEWER, Role.COORDINATOR):
        person = staff.create(f"{role.value}@example.org", role=role)
        client = english_client(app)
        staff.login(client, person)
        assert client.get("/staff/people").status_code == 404
        for path in (f"/staff/people/{target.account_id}/remove", "/staff/people/invite"):
            response = post_form(
                client,
                path,
                {"email": "x@example.org", "role": "admin"},
                form_page="/staff/account",
            )
            assert response.status_code == 404
        assert client.get(f"/staff/people/{target.account_id}/reset").status_code == 404
    with app.app_context():
        account = db.session().get(Account, target.account_id)
        assert account is not None
        assert account.active
        assert db.session().scalars(select(Invite).where(Invite.used_at.is_(None))).all() == []
    anonymous = english_client(app)
    assert anonymous.get("/staff/people").headers["Location"].endswith("/staff/login")


def test_an_admin_invites_a_person_with_a_one_time_link(app: Flask, staff: StaffActions) -> None:
    admin, client = _admin_client(app, staff)
    page = client.get("/staff/people").get_data(as_text=True)
    assert "admin@example.org" in page
    answer = post_form(
        client,
        "/staff/people/invite",
        {"email": " New@Example.org ", "role": "coordinator"},
        form_page="/staff/people",
    )
    assert answer.status_code == 200
    link = re.search(r'<code id="invite-link">([^<]+)</code>', answer.get_data(as_text=True))
    assert link
    base = app.extensions["registry.config"].base_url
    assert link.group(1).startswith(f"{base}/staff/invite/")
    # The token is not stored, only its hash; the list shows the open invitation.
    token = link.group(1).rsplit("/", 1)[1]
    with app.app_context():
        invite = db.session().scalars(select(Invite).where(Invite.email == "new@example.org")).one()
        assert token.encode() not in invite.token_hash
        assert invite.role == "coordinator"
    assert "new@example.org" in client.get("/staff/people").get_data(as_text=True)
    newcomer = english_client(app)
    assert newcomer.get(link.group(1).removeprefix(base)).status_code == 200
    (event,) = _events(app, "account.invited")
    assert (event.actor, event.detail) == (f"account:{admin.account_id}", "coordinator")
    # An email that already has an account, and a malformed one, are refused.
    for email, message in (
        ("admin@example.org", "An account with this email already exists."),
        ("not-an-email", "Please enter an email address."),
    ):
        refused = post_form(
            client,
            "/staff/people/invite",
            {"email": email, "role": "reviewer"},
            form_page="/staff/people",
        )
        assert refused.status_code == 422
        assert message in refused.get_data(as_text=True)


def test_removal_takes_everything_away_at_once(app: Flask, staff: StaffActions) -> None:
    admin, client = _admin_client(app, staff)
    leaver = staff.create("leaver@example.org")
    public_id = _case(app)
    key = private_key_of(app, leaver)
    with app.app_context():
        session = db.session()
        recovery.issue_codes(session, leaver.account_id, second_factor_key(key))
        report = session.scalars(select(Report)).one()
        report.assignee_id = leaver.account_id
        session.commit()
        assert open_case(session, public_id, leaver.account_id, key).narrative
        session.commit()
    theirs = english_client(app)
    staff.login(theirs, leaver)
    assert theirs.get("/review/").status_code == 200
    location = _confirm(client, f"/staff/people/{leaver.account_id}/remove")
    assert location.endswith("/staff/people")
    # Their browser is out at once.
    answer = theirs.get("/review/")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/staff/login")
    with app.app_context():
        session = db.session()
        account = session.get(Account, leaver.account_id)
        assert account is not None
        assert (account.active, account.removed_at is not None) == (False, True)
        assert account.public_key is None
        assert account.locked_private_key is None
        assert account.sealed_totp_secret is None
        for model in (StaffSession, RecoveryCode, KeyWrap):
            rows = session.scalars(select(model).where(model.account_id == leaver.account_id))
            assert rows.all() == []
        assert session.scalars(select(Report)).one().assignee_id is None
        # Even with their old private key in hand, nothing opens.
        with pytest.raises(NoAccess):
            open_case(session, public_id, leaver.account_id, key)
    (event,) = _events(app, "account.removed")
    assert (event.actor, event.detail) == (
        f"account:{admin.account_id}",
        f"account:{leaver.account_id}",
    )
    assert "Removed" in client.get("/staff/people").get_data(as_text=True)
    # They cannot log in again.
    again = post_form(
        english_client(app),
        "/staff/login",
        {
            "email": leaver.email,
            "password": leaver.password,
            "code": staff.next_code(leaver.totp_secret, staff.last_step(leaver)),
        },
    )
    assert "Email, password or code is wrong." in again.get_data(as_text=True)


def test_nobody_removes_themselves_or_the_last_admin(app: Flask, staff: StaffActions) -> None:
    admin, client = _admin_client(app, staff)
    other = staff.create("second-admin@example.org", role=Role.ADMIN)
    coordinator = staff.create("coord@example.org", role=Role.COORDINATOR)
    post_form(client, f"/staff/people/{admin.account_id}/remove", {})
    page = client.get("/staff/people").get_data(as_text=True)
    assert "You cannot remove or reset your own account." in page
    with app.app_context():
        session = db.session()
        # Only an active admin may remove or reset anyone.
        with pytest.raises(service.NotAllowed):
            service.remove_person(
                session, admin_id=coordinator.account_id, account_id=admin.account_id
            )
        session.rollback()
        service.remove_person(session, admin_id=admin.account_id, account_id=other.account_id)
        session.commit()
        # The removed admin cannot then remove the last one.
        with pytest.raises(service.NotAllowed):
            service.remove_person(session, admin_id=other.account_id, account_id=admin.account_id)
        session.rollback()
        with pytest.raises(service.Refused):
            service.reset_person(
                session,
                admin_id=admin.account_id,
                account_id=admin.account_id,
                valid_for=timedelta(hours=1),
            )
        session.rollback()
        admins = session.scalars(
            select(Account).where(Account.role == "admin", Account.active.is_(True))
        ).all()
        assert [a.id for a in admins] == [admin.account_id]


def _invite_link(client: FlaskClient, email: str) -> str:
    answer = post_form(
        client,
        "/staff/people/invite",
        {"email": email, "role": "reviewer"},
        form_page="/staff/people",
    )
    assert answer.status_code == 200
    link = re.search(
        r'<code id="invite-link">[^<]*(/staff/invite/[^<]+)</code>', answer.get_data(as_text=True)
    )
    assert link
    return link.group(1)


def test_a_new_invite_replaces_the_earlier_link(app: Flask, staff: StaffActions) -> None:
    """Two live links to one person let the holder of either take over (found by review)."""
    _, client = _admin_client(app, staff)
    first = _invite_link(client, "twice@example.org")
    second = _invite_link(client, "twice@example.org")
    assert english_client(app).get(first).status_code == 404
    assert english_client(app).get(second).status_code == 200


def test_an_admin_cancels_an_open_invitation(app: Flask, staff: StaffActions) -> None:
    admin, client = _admin_client(app, staff)
    link = _invite_link(client, "mistake@example.org")
    with app.app_context():
        invite_id = (
            db.session()
            .scalars(select(Invite.id).where(Invite.email == "mistake@example.org"))
            .one()
        )
    page = client.get("/staff/people").get_data(as_text=True)
    assert f"/staff/people/invites/{invite_id}/cancel" in page
    done = post_form(
        client, f"/staff/people/invites/{invite_id}/cancel", {}, form_page="/staff/people"
    )
    assert done.status_code == 303
    assert english_client(app).get(link).status_code == 404
    assert "mistake@example.org" not in client.get("/staff/people").get_data(as_text=True)
    (event,) = _events(app, "account.invite-cancelled")
    assert event.actor == f"account:{admin.account_id}"
    assert "mistake" not in (event.detail or "")
    again = post_form(
        client, f"/staff/people/invites/{invite_id}/cancel", {}, form_page="/staff/people"
    )
    assert again.status_code == 404
