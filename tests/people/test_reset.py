"""A forgotten password: reset, re-enrol, and access back by grant or escrow."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.keyring.escrow import RewrapRefused, open_escrow_file, rewrap_for
from registry.models import Account, AuditEvent, Invite, Report, Role
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
from tests.people.conftest import PASSPHRASE

NEW_PASSWORD = "my second life passphrase 2026"


def _opens(app: Flask, public_id: str, person: Staff) -> bool:
    key = private_key_of(app, person)
    with app.app_context():
        session = db.session()
        try:
            open_case(session, public_id, person.account_id, key)
        except NoAccess:
            return False
        finally:
            session.rollback()
    return True


def _admin(app: Flask, staff: StaffActions) -> FlaskClient:
    """A logged-in administrator's browser."""
    client = english_client(app)
    staff.login(client, staff.create("admin@example.org", role=Role.ADMIN))
    return client


def _link(html: str) -> str:
    found = re.search(r'<code id="invite-link">[^<]*(/staff/invite/[^<]+)</code>', html)
    assert found, "no one-time link on the page"
    return found.group(1)


def _reset(admin: FlaskClient, person: Staff) -> str:
    """The administrator resets ``person`` on the people pages; return the link's path."""
    path = f"/staff/people/{person.account_id}/reset"
    page = admin.get(path)
    assert page.status_code == 200
    answer = admin.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert answer.status_code == 200
    return _link(answer.get_data(as_text=True))


def _reenrol(app: Flask, person: Staff, path: str) -> Staff:
    """``person`` follows the link, chooses a new password and enrols a new authenticator."""
    client = english_client(app)
    page = client.get(path).get_data(as_text=True)
    assert "Step 1 of 2" in page
    chosen = client.post(
        path,
        data={"csrf_token": csrf_token(page), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert chosen.status_code == 303
    enrol = client.get("/staff/enrol").get_data(as_text=True)
    found = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', enrol)
    assert found
    secret = base64.b32decode(found.group(1) + "=" * (-len(found.group(1)) % 8))
    code = StaffActions(app).next_code(secret, None)
    done = client.post("/staff/enrol", data={"csrf_token": csrf_token(enrol), "code": code})
    assert done.status_code == 200
    assert "Your recovery codes" in done.get_data(as_text=True)
    return Staff(person.email, NEW_PASSWORD, person.role, secret, person.account_id)


def _actions(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_forgotten_password_then_escrow_rewrap(escrowed: Flask, tmp_path: Path) -> None:
    staff = StaffActions(escrowed)
    reviewer = staff.create("forgetful@example.org")
    submit_report(english_client(escrowed))
    with escrowed.app_context():
        public_id = db.session().scalars(select(Report.public_id)).one()
    assert _opens(escrowed, public_id, reviewer)
    theirs = english_client(escrowed)
    staff.login(theirs, reviewer)
    link = _reset(_admin(escrowed, staff), reviewer)
    assert theirs.get("/review/").status_code == 303  # logged out at once
    renewed = _reenrol(escrowed, reviewer, link)
    # The same account (and id), a new key: the old wraps are gone.
    assert not _opens(escrowed, public_id, renewed)
    client = english_client(escrowed)
    staff.login(client, renewed)
    assert client.get(f"/review/case/{public_id}").status_code == 404
    escrow_key = open_escrow_file((tmp_path / "escrow.key").read_text(), PASSPHRASE)
    with escrowed.app_context():
        session = db.session()
        assert (
            rewrap_for(session, escrow_private_key=escrow_key, email=" Forgetful@example.org") == 1
        )
        session.commit()
        # Nothing left to do the second time.
        assert rewrap_for(session, escrow_private_key=escrow_key, email=reviewer.email) == 0
        session.commit()
    assert _opens(escrowed, public_id, renewed)
    assert client.get(f"/review/case/{public_id}").status_code == 200
    events = _actions(escrowed)
    reset = [e for e in events if e.action == "account.reset"]
    assert [e.detail for e in reset] == [f"account:{reviewer.account_id}"]
    (rewrap,) = [e for e in events if e.action == "case.escrow-rewrapped"]
    assert (rewrap.actor, rewrap.report_ref, rewrap.detail) == (
        "system",
        public_id,
        f"account:{reviewer.account_id}",
    )


def test_escrow_rewrap_refuses_admins_and_unknown_people(escrowed: Flask, tmp_path: Path) -> None:
    staff = StaffActions(escrowed)
    staff.create("boss@example.org", role=Role.ADMIN)
    submit_report(english_client(escrowed))
    escrow_key = open_escrow_file((tmp_path / "escrow.key").read_text(), PASSPHRASE)
    with escrowed.app_context():
        session = db.session()
        for email, reason in (("boss@example.org", "admin"), ("nobody@example.org", "unknown")):
            with pytest.raises(RewrapRefused) as refused:
                rewrap_for(session, escrow_private_key=escrow_key, email=email)
            assert refused.value.reason == reason


def test_a_coordinator_grant_restores_access_after_reset(app: Flask, staff: StaffActions) -> None:
    reviewer = staff.create("regrant@example.org")
    coordinator = staff.create("coord@example.org", role=Role.COORDINATOR)
    submit_report(english_client(app))
    with app.app_context():
        public_id = db.session().scalars(select(Report.public_id)).one()
    renewed = _reenrol(app, reviewer, _reset(_admin(app, staff), reviewer))
    assert not _opens(app, public_id, renewed)
    coordinator_client = english_client(app)
    staff.login(coordinator_client, coordinator)
    case_page = f"/review/case/{public_id}"
    assert "regrant@example.org" in coordinator_client.get(case_page).get_data(as_text=True)
    granted = post_form(
        coordinator_client,
        f"{case_page}/access",
        {"grantee": str(reviewer.account_id)},
        form_page=case_page,
    )
    assert granted.status_code == 303
    assert _opens(app, public_id, renewed)


def test_a_removed_persons_reset_link_dies_and_they_can_be_invited_back(
    app: Flask, staff: StaffActions
) -> None:
    person = staff.create("returning@example.org")
    admin = _admin(app, staff)
    link = _reset(admin, person)
    removed = post_form(
        admin,
        f"/staff/people/{person.account_id}/remove",
        {},
        form_page=f"/staff/people/{person.account_id}/remove",
    )
    assert removed.status_code == 303
    assert english_client(app).get(link).status_code == 404
    # Invited back: the same account row, so the audit log keeps one id per person.
    answer = post_form(
        admin,
        "/staff/people/invite",
        {"email": person.email, "role": "coordinator"},
        form_page="/staff/people",
    )
    assert answer.status_code == 200
    _reenrol(app, person, _link(answer.get_data(as_text=True)))
    with app.app_context():
        account = db.session().get(Account, person.account_id)
        assert account is not None
        assert (account.active, account.removed_at, account.role) == (True, None, "coordinator")
        assert db.session().scalars(select(Invite).where(Invite.used_at.is_(None))).all() == []


def test_rewrap_gives_back_only_what_was_held_and_not_revoked(
    escrowed: Flask, tmp_path: Path
) -> None:
    """A reset must not become a way around a revocation (found by review)."""
    staff = StaffActions(escrowed)
    coordinator = staff.create("coord@example.org", role=Role.COORDINATOR)
    reviewer = staff.create("conflicted@example.org")
    for narrative in ("kept case", "revoked case"):
        submit_report(english_client(escrowed), narrative=narrative)
    with escrowed.app_context():
        kept, revoked = db.session().scalars(select(Report.public_id)).all()
    later = staff.create("later@example.org")  # held nothing of the two
    admin = _admin(escrowed, staff)
    link = _reset(admin, reviewer)
    # Revoked while the person is reset (they hold no wrap at this moment).
    coord_client = english_client(escrowed)
    staff.login(coord_client, coordinator)
    answer = post_form(
        coord_client,
        f"/review/case/{revoked}/access/{reviewer.account_id}/revoke",
        {},
        form_page=f"/review/case/{revoked}",
    )
    assert answer.status_code == 303
    renewed = _reenrol(escrowed, reviewer, link)
    fresh = _reenrol(escrowed, later, _reset(admin, later))
    escrow_key = open_escrow_file((tmp_path / "escrow.key").read_text(), PASSPHRASE)
    with escrowed.app_context():
        session = db.session()
        assert rewrap_for(session, escrow_private_key=escrow_key, email=reviewer.email) == 1
        assert rewrap_for(session, escrow_private_key=escrow_key, email=later.email) == 0
        session.commit()
    assert _opens(escrowed, kept, renewed)
    assert not _opens(escrowed, revoked, renewed)
    assert not _opens(escrowed, kept, fresh)
