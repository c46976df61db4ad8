"""Who may open what: every route × every kind of visitor, from the URL map.

A route that is not in ``EXPECTED`` fails the test, so a new view cannot
slip in without someone deciding who may use it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db, runtime
from registry.evidence import snapshots
from registry.evidence.exports import POPULATIONS
from registry.models import Account, ReformProposal, Report, Role, VocabularyTerm
from tests.helpers import StaffActions, csrf_token, english_client, post_form, submit_report

ROLES = ("anonymous", "submitter", "reviewer_without_grant", "reviewer", "coordinator", "admin")
LOGIN = 303  # redirected to the login page
OPEN = 200
REFUSED = 422  # a form sent empty: shown again with its problems

# endpoint: (method, path, {role: status}); ``*`` stands for every other role.
EXPECTED: dict[str, tuple[str, str, dict[str, int]]] = {
    "static": ("GET", "/static/site.css", {"*": OPEN}),
    "intake.index": ("GET", "/", {"*": OPEN}),
    "intake.new_report": ("GET", "/report", {"*": OPEN}),
    "intake.receipt_saved": ("POST", "/report/saved", {"*": 400}),  # no receipt sent
    "intake.done": ("GET", "/report/done", {"*": OPEN}),
    "intake.neutral": ("GET", "/blank", {"*": OPEN}),
    "followup.start": ("GET", "/followup/", {"*": OPEN}),
    "followup.case": ("GET", "/followup/case", {"submitter": OPEN, "*": 303}),
    # Without a follow-up session the message comes back on the receipt form
    # (422), kept for when the report is open again (issue 13).
    "followup.message": ("POST", "/followup/message", {"*": REFUSED}),
    "followup.add_files": ("POST", "/followup/files", {"submitter": REFUSED, "*": 303}),
    "followup.consents": ("POST", "/followup/consents", {"submitter": REFUSED, "*": 303}),
    "followup.withdraw": ("GET", "/followup/withdraw", {"submitter": OPEN, "*": 303}),
    "auth.login": ("GET", "/staff/login", {"anonymous": OPEN, "submitter": OPEN, "*": 303}),
    "auth.invite": ("GET", "/staff/invite/not-a-token", {"*": 404}),
    "auth.enrol_totp": ("GET", "/staff/enrol", {"*": 404}),
    "review.queue": ("GET", "/review/", {"anonymous": LOGIN, "submitter": LOGIN, "*": OPEN}),
    "review.case": (
        "GET",
        "/review/case/{public_id}",
        {"anonymous": LOGIN, "submitter": LOGIN, "reviewer": OPEN, "coordinator": OPEN, "*": 404},
    ),
    "review.map_case": (
        "POST",
        "/review/case/{public_id}/mappings",
        {"anonymous": LOGIN, "submitter": LOGIN, "reviewer": OPEN, "coordinator": OPEN, "*": 404},
    ),
    "review.coding": (
        "GET",
        "/review/case/{public_id}/codes",
        {"anonymous": LOGIN, "submitter": LOGIN, "reviewer": OPEN, "coordinator": OPEN, "*": 404},
    ),
    # Issue 13: a case's audit events, for its key holders only.
    "review.history": (
        "GET",
        "/review/case/{public_id}/history",
        {"anonymous": LOGIN, "submitter": LOGIN, "reviewer": OPEN, "coordinator": OPEN, "*": 404},
    ),
    "review.download": (
        "GET",
        "/review/case/{public_id}/files/NOSUCHFILE",
        {"anonymous": LOGIN, "submitter": LOGIN, "*": 404},
    ),
    "review.reply": (
        "POST",
        "/review/case/{public_id}/reply",
        {"anonymous": LOGIN, "submitter": LOGIN, "reviewer": OPEN, "coordinator": OPEN, "*": 404},
    ),
    **{
        f"casework.{name}": (
            "POST",
            f"/review/case/{{public_id}}/{path}",
            {"anonymous": LOGIN, "submitter": LOGIN, "reviewer": 303, "coordinator": 303, "*": 404},
        )
        for name, path in (
            ("status", "status"),
            ("urgency", "urgency"),
            ("assign", "assign"),
            ("note", "notes"),
            ("code", "codes"),
            ("link", "links"),
            ("unlink", "links/999999/unlink"),
        )
    },
    # Only an existing cleaned photo is shown (tests/review/test_preview.py).
    "review.preview": (
        "GET",
        "/review/case/{public_id}/files/NOSUCHFILE/preview",
        {"anonymous": LOGIN, "submitter": LOGIN, "*": 404},
    ),
    "review.linked": (
        "GET",
        "/review/case/{public_id}/linked",
        {"anonymous": LOGIN, "submitter": LOGIN, "reviewer": OPEN, "coordinator": OPEN, "*": 404},
    ),
    # Granting and revoking: coordinators only (and only with the key).
    "casework.grant": (
        "POST",
        "/review/case/{public_id}/access",
        {"anonymous": LOGIN, "submitter": LOGIN, "coordinator": 303, "*": 404},
    ),
    "casework.revoke": (
        "POST",
        "/review/case/{public_id}/access/999999/revoke",
        {"anonymous": LOGIN, "submitter": LOGIN, "coordinator": 303, "*": 404},
    ),
    "reforms.catalogue": (
        "GET",
        "/proposals/",
        {"anonymous": LOGIN, "submitter": LOGIN, "*": OPEN},
    ),
    "reforms.proposal": (
        "GET",
        "/proposals/{proposal}",
        {"anonymous": LOGIN, "submitter": LOGIN, "*": OPEN},
    ),
    # The audit log: administrators only; to everyone else it does not exist.
    "audit.log": (
        "GET",
        "/staff/audit",
        {"anonymous": LOGIN, "submitter": LOGIN, "admin": OPEN, "*": 404},
    ),
    "audit.verify": (
        "POST",
        "/staff/audit/verify",
        {"anonymous": LOGIN, "submitter": LOGIN, "admin": OPEN, "*": 404},
    ),
    # Recovery codes shown at enrolment: only leads on, and only with codes sent back.
    "auth.recovery_codes_saved": ("POST", "/staff/recovery-codes/saved", {"*": 400}),
    # Everyone's own account page; the forms sent empty are shown again.
    # Choosing quiet e-mail notices: 400 for staff here, as the test
    # configuration sets no mail server (tests/notices cover the rest).
    "account.notices": (
        "POST",
        "/staff/account/notices",
        {"anonymous": LOGIN, "submitter": LOGIN, "*": 400},
    ),
    # The operator's health check: open to all, says only ok or unavailable.
    "health.healthz": ("GET", "/healthz", {"*": OPEN}),
    # Holding a case past its deletion day: coordinators only (and only with the key).
    "retention.hold": (
        "POST",
        "/review/case/{public_id}/hold",
        {"anonymous": LOGIN, "submitter": LOGIN, "coordinator": 303, "*": 404},
    ),
    "retention.release": (
        "POST",
        "/review/case/{public_id}/hold/release",
        {"anonymous": LOGIN, "submitter": LOGIN, "coordinator": 303, "*": 404},
    ),
    "account.index": ("GET", "/staff/account", {"anonymous": LOGIN, "submitter": LOGIN, "*": OPEN}),
    "account.password": (
        "POST",
        "/staff/account/password",
        {"anonymous": LOGIN, "submitter": LOGIN, "*": REFUSED},
    ),
    "account.recovery_codes": (
        "POST",
        "/staff/account/recovery-codes",
        {"anonymous": LOGIN, "submitter": LOGIN, "*": REFUSED},
    ),
    # People: administrators only; to everyone else the pages do not exist.
    "people.index": (
        "GET",
        "/staff/people",
        {"anonymous": LOGIN, "submitter": LOGIN, "admin": OPEN, "*": 404},
    ),
    "people.invite": (
        "POST",
        "/staff/people/invite",
        {"anonymous": LOGIN, "submitter": LOGIN, "admin": REFUSED, "*": 404},
    ),
    "people.cancel_invite": (
        "POST",
        "/staff/people/invites/999999/cancel",
        {"anonymous": LOGIN, "submitter": LOGIN, "*": 404},
    ),
    "people.remove": (
        "GET",
        "/staff/people/{account_id}/remove",
        {"anonymous": LOGIN, "submitter": LOGIN, "admin": OPEN, "*": 404},
    ),
    "people.reset": (
        "GET",
        "/staff/people/{account_id}/reset",
        {"anonymous": LOGIN, "submitter": LOGIN, "admin": OPEN, "*": 404},
    ),
    "people.unthrottle": (
        "POST",
        "/staff/people/{account_id}/unthrottle",
        # Lifting a pause nobody is in changes nothing and goes back to the list.
        {"anonymous": LOGIN, "submitter": LOGIN, "admin": 303, "*": 404},
    ),
    # Team statistics: every staff role.  Publishing: coordinators only; the
    # form holds nothing but the CSRF token, so a coordinator's POST here
    # publishes (303 back to the page).  To other staff it is 403, not 404:
    # the stats page shows every staff member the rule "only coordinators
    # publish" (registry/review/stats_views.py), so there is nothing to hide.
    "team_stats.stats": (
        "GET",
        "/review/stats",
        {"anonymous": LOGIN, "submitter": LOGIN, "*": OPEN},
    ),
    "team_stats.publish": (
        "POST",
        "/review/stats/publish",
        {"anonymous": LOGIN, "submitter": LOGIN, "coordinator": 303, "*": 403},
    ),
    # The public summary: key holders only; the case has no consent to
    # publish and no summary, so each empty form is shown again with why.
    **{
        f"summaries.{name}": (
            "POST",
            f"/review/case/{{public_id}}/{path}",
            {
                "anonymous": LOGIN,
                "submitter": LOGIN,
                "reviewer": REFUSED,
                "coordinator": REFUSED,
                "*": 404,
            },
        )
        for name, path in (
            ("write", "summary"),
            ("approve", "summary/approve"),
            ("remove", "summary/remove"),
        )
    },
    # Published evidence: public, from snapshot 1 (published by the fixture;
    # the coordinator's POST above adds snapshot 2, the latest for the admin).
    "evidence.index": ("GET", "/evidence", {"*": OPEN}),
    "evidence.proposal": ("GET", "/evidence/proposal/{proposal}", {"*": OPEN}),
    "evidence.unit": ("GET", "/evidence/unit/{unit}", {"*": OPEN}),
    "evidence.data": ("GET", "/evidence/1/data.json", {"*": OPEN}),
    "evidence.datapackage": ("GET", "/evidence/1/datapackage.json", {"*": OPEN}),
    "evidence.table": ("GET", f"/evidence/1/{POPULATIONS}.csv", {"*": OPEN}),
    "lang.set_language": ("GET", "/lang/en?next=/", {"*": 303}),
    "referral.refer": (
        "GET",
        "/review/refer?case={public_id}",
        {"anonymous": LOGIN, "submitter": LOGIN, "coordinator": OPEN, "*": 403},
    ),
    # A token and no fields: the coordinator gets the page back, "choose a case" (422).
    "referral.download": (
        "POST",
        "/review/refer",
        {"anonymous": LOGIN, "submitter": LOGIN, "coordinator": REFUSED, "*": 403},
    ),
    "partners.index": (
        "GET",
        "/staff/partners",
        {"anonymous": LOGIN, "submitter": LOGIN, "admin": OPEN, "*": 404},
    ),
    "partners.add": (
        "POST",
        "/staff/partners",
        {"anonymous": LOGIN, "submitter": LOGIN, "admin": REFUSED, "*": 404},
    ),
    "partners.remove": (
        "POST",
        "/staff/partners/999999/remove",
        {"anonymous": LOGIN, "submitter": LOGIN, "*": 404},
    ),
    "keys.signing_public": ("GET", "/keys/signing.pub", {"*": OPEN}),
    # These end the visit; they run last for every role.
    "intake.leave": ("GET", "/leave", {"*": 303}),
    "account.end_sessions": ("POST", "/staff/account/sessions/end", {"*": 303}),
    "auth.logout": ("POST", "/staff/logout", {"*": 303}),
}
LAST = ("intake.leave", "account.end_sessions", "auth.logout")


def test_every_route_has_an_entry(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(EXPECTED)


@pytest.fixture
def visitors(app: Flask, staff: StaffActions) -> dict[str, FlaskClient]:
    """A client per kind of visitor, set up around one report and the first snapshot."""
    reviewer = staff.create("granted@example.org")
    coordinator = staff.create("coord@example.org", role=Role.COORDINATOR)
    admin = staff.create("admin@example.org", role=Role.ADMIN)
    submitter = english_client(app)
    receipt = submit_report(submitter)
    post_form(submitter, "/followup/", {"receipt": receipt})
    # Created after the report: holds no key for it.
    outsider = staff.create("outsider@example.org")
    with app.app_context():
        session = db.session()
        first = snapshots.publish(
            session,
            account_id=None,
            k=runtime.config().evidence_k,
            today=datetime.now(UTC).date(),
        )
        assert first.number == 1
        session.commit()
    clients = {"anonymous": english_client(app), "submitter": submitter}
    for role, person in (
        ("reviewer_without_grant", outsider),
        ("reviewer", reviewer),
        ("coordinator", coordinator),
        ("admin", admin),
    ):
        clients[role] = english_client(app)
        staff.login(clients[role], person)
    return clients


def _status(client: FlaskClient, method: str, path: str) -> int:
    if method == "GET":
        response = client.get(path)
        response.close()  # static files are streamed from an open file
        return response.status_code
    page = client.get("/").get_data(as_text=True)
    token = csrf_token(page) if re.search(r'name="csrf_token"', page) else ""
    if not token:
        token = csrf_token(client.get("/followup/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token}).status_code


def test_access_matrix(app: Flask, visitors: dict[str, FlaskClient]) -> None:
    with app.app_context():
        values = {
            "public_id": db.session().scalars(select(Report)).one().public_id,
            "proposal": db.session().scalars(select(ReformProposal.code)).first(),
            "unit": db.session()
            .scalars(select(VocabularyTerm.code).where(VocabularyTerm.kind == "units"))
            .first(),
            "account_id": db.session()
            .scalars(select(Account.id).where(Account.email == "outsider@example.org"))
            .one(),
        }
    order = [e for e in EXPECTED if e not in LAST] + list(LAST)
    wrong = []
    for role in ROLES:
        for endpoint in order:
            method, path, statuses = EXPECTED[endpoint]
            expected = statuses.get(role, statuses.get("*"))
            actual = _status(visitors[role], method, path.format(**values))
            if actual != expected:
                wrong.append(f"{role} {method} {endpoint}: {actual} (expected {expected})")
    assert wrong == []
