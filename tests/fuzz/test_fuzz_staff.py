"""Fuzzing the staff pages: every form and query string answers, never a 500.

Logged-in clients send generated values (with a valid CSRF token, so the
views behind the check run) to every case action, the queue's filters and
search, the case and proposal pages, the audit, people and account pages,
and, without a login, to the login, invite, enrolment and recovery-code
pages.  ``app.testing`` propagates exceptions: a crash fails with its
traceback.  Each test draws which page to probe, so one app and one login
serve many examples; the plain tests at the end are the regressions found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from registry import db
from registry.auth import service as auth
from registry.models import Role, Status
from registry.reforms.service import active_proposals
from registry.taxonomy.service import titles
from tests.fuzz.strategies import (
    DIGITS,
    FUZZ,
    LONG_TEXT,
    TEXT,
    assert_answered,
    form,
    path_segment,
    value,
    values,
)
from tests.helpers import StaffActions, csrf_token, english_client, submit_and_locate

BIG = str(2**63)  # one past a signed 64-bit integer
HUGE = "9" * 30
# Past the Integer id columns (PostgreSQL), past 64 bits, past int()'s 4,300 digits.
TOO_LARGE = (str(2**31), BIG, HUGE, "9" * 5000)
IDS = st.one_of(st.integers(0, 8).map(str), st.sampled_from(TOO_LARGE), DIGITS)


@dataclass(repr=False)
class Desk:
    """A coordinator logged in, a case they hold, and codes to mix into the input."""

    client: FlaskClient
    public_id: str
    token: str
    codes: dict[str, list[str]]

    def __repr__(self) -> str:
        # Short, for hypothesis's report of a failing example.
        return f"Desk(case {self.public_id})"


@pytest.fixture
def desk(app: Flask, staff: StaffActions) -> Desk:
    """A coordinator (who may grant access) with two cases and a colleague."""
    person = staff.create("fuzz-coordinator@example.org", role=Role.COORDINATOR)
    staff.create("fuzz-reviewer@example.org")
    public_id = submit_and_locate(app, english_client(app))
    submit_and_locate(app, english_client(app), narrative="Another case")
    client = english_client(app)
    staff.login(client, person)
    page = client.get(f"/review/case/{public_id}")
    assert page.status_code == 200
    with app.app_context():
        dbs = db.session()
        codes = {
            kind: list(titles(dbs, kind, "en"))
            for kind in ("regions", "violation_types", "places", "units", "dispositions")
        }
        codes["proposals"] = [p.code for p in active_proposals(dbs)][:20]
    return Desk(client, public_id, csrf_token(page.get_data(as_text=True)), codes)


@pytest.fixture
def admin(app: Flask, staff: StaffActions) -> tuple[FlaskClient, str]:
    """An administrator logged in, and a CSRF token of their session."""
    client = english_client(app)
    staff.login(client, staff.create("fuzz-admin@example.org", role=Role.ADMIN))
    submit_and_locate(app, english_client(app))
    return client, csrf_token(client.get("/staff/people").get_data(as_text=True))


def _case_forms(codes: dict[str, list[str]], public_id: str) -> dict[str, st.SearchStrategy]:
    return {
        "status": form(
            {
                "status": value([s.value for s in Status]),
                "disposition": value(codes["dispositions"]),
            }
        ),
        "urgency": form({"urgent": value(["1", "0"])}),
        "assign": form({"assignee": IDS}),
        "notes": form({"text": LONG_TEXT}),
        "access": form({"grantee": IDS}),
        "codes": form(
            {
                "violations": values(codes["violation_types"]),
                "region": value(codes["regions"]),
                "place": value(codes["places"]),
                "unit": value(codes["units"]),
                "incident_month": value(["2020-08", "", "1950-01", "2099-12"]),
            }
        ),
        "links": form({"other": value([public_id]), "kind": value(["duplicate", "related"])}),
        "mappings": form(
            {
                "proposal": value(codes["proposals"]),
                "strength": value(["illustrates", "strong"]),
                "rationale": LONG_TEXT,
            }
        ),
        "reply": form({"text": LONG_TEXT}),
    }


def _case_action(desk: Desk, data: st.DataObject) -> TestResponse:
    forms = _case_forms(desk.codes, desk.public_id)
    action = data.draw(st.sampled_from(sorted(forms)), label="action")
    body = data.draw(forms[action], label="form")
    public_id = data.draw(st.one_of(st.just(desk.public_id), path_segment()), label="case")
    return desk.client.post(
        f"/review/case/{quote(public_id, safe='')}/{action}",
        data={"csrf_token": desk.token, **body},
    )


def _revoke_or_unlink(desk: Desk, data: st.DataObject) -> TestResponse:
    action, verb = data.draw(st.sampled_from([("access", "revoke"), ("links", "unlink")]))
    number = data.draw(IDS.filter(lambda s: s.isascii() and s.isdigit()), label="id")
    return desk.client.post(
        f"/review/case/{desk.public_id}/{action}/{number}/{verb}",
        data={"csrf_token": data.draw(st.sampled_from([desk.token, "x"]), label="token")},
    )


QUEUE_ARGS = [
    "q", "status", "region", "violation", "place", "unit", "proposal", "language", "assignee",
    "urgent", "from", "to", "sort", "page", "after",
]  # fmt: skip


def _queue(desk: Desk, data: st.DataObject) -> TestResponse:
    plausible = {
        "status": [s.value for s in Status],
        "region": desk.codes["regions"],
        "violation": desk.codes["violation_types"],
        "proposal": desk.codes["proposals"],
        "language": ["be", "ru", "en"],
        "assignee": ["me", "none", "1", "2", BIG],
        "from": ["2020-01-01", "9999-12-31"],
        "to": ["2020-01-01", "0001-01-01"],
        "sort": ["newest", "oldest", "month", "status", "urgent"],
        "page": ["2", HUGE],
        "after": [desk.public_id],
    }
    names = data.draw(st.sets(st.sampled_from(QUEUE_ARGS), max_size=6), label="filters")
    args = data.draw(
        st.fixed_dictionaries({name: value(plausible.get(name, ())) for name in sorted(names)}),
        label="args",
    )
    return desk.client.get("/review/", query_string=args)


def _case_page(desk: Desk, data: st.DataObject) -> TestResponse:
    page = data.draw(st.sampled_from(["", "/codes", "/linked", "/files/F", "/files/F/preview"]))
    public_id = data.draw(st.one_of(st.just(desk.public_id), path_segment()), label="case")
    file_id = quote(data.draw(path_segment(), label="file"), safe="")
    return desk.client.get(f"/review/case/{quote(public_id, safe='')}{page}".replace("F", file_id))


def _proposal_page(desk: Desk, data: st.DataObject) -> TestResponse:
    code = data.draw(st.one_of(st.sampled_from(desk.codes["proposals"]), path_segment()))
    return desk.client.get(f"/proposals/{quote(code, safe='')}")


DESK_PROBES: dict[str, Callable[[Desk, st.DataObject], TestResponse]] = {
    "case action": _case_action,
    "revoke or unlink": _revoke_or_unlink,
    "queue": _queue,
    "case page": _case_page,
    "proposal": _proposal_page,
}


@FUZZ
@given(data=st.data())
def test_reviewer_pages(desk: Desk, data: st.DataObject) -> None:
    probe = data.draw(st.sampled_from(sorted(DESK_PROBES)), label="probe")
    assert_answered(DESK_PROBES[probe](desk, data))


def _audit_filters(client: FlaskClient, _token: str, data: st.DataObject) -> TestResponse:
    args = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "actor": value(["system", "submitter", "fuzz-admin@example.org", "a@b.c"]),
                "action": value(["case.status", "audit.viewed"]),
                "case": value(["ABC", "A" * 33]),
                "from": value(["2020-01-01", "9999-12-31"]),
                "to": value(["2020-01-01", "9999-12-31", "0001-01-01"]),
                "page": st.one_of(DIGITS, st.sampled_from(["-" + HUGE, HUGE])),
            },
        ),
        label="args",
    )
    return client.get("/staff/audit", query_string=args)


def _audit_verify(client: FlaskClient, token: str, data: st.DataObject) -> TestResponse:
    anchor = data.draw(
        st.one_of(
            TEXT,
            st.from_regex(r"[0-9]{1,14}:[0-9a-f]{64}", fullmatch=True),
            st.just("999999999999:" + "0" * 64),
        ),
        label="anchor",
    )
    return client.post("/staff/audit/verify", data={"csrf_token": token, "anchor": anchor})


def _people(client: FlaskClient, token: str, data: st.DataObject) -> TestResponse:
    number = data.draw(IDS.filter(lambda s: s.isascii() and s.isdigit()), label="id")
    path = data.draw(
        st.sampled_from(
            [
                f"/staff/people/{number}/remove",
                f"/staff/people/{number}/reset",
                f"/staff/people/invites/{number}/cancel",
                "/staff/people/invite",
            ]
        ),
        label="path",
    )
    if data.draw(st.booleans(), label="GET"):
        return client.get(path)
    body = data.draw(
        form(
            {
                "email": value(["new@example.org", "fuzz-admin@example.org"]),
                "role": value([role.value for role in Role]),
            }
        ),
        label="form",
    )
    # Others may be removed or reset (the app refuses it for oneself):
    # that only changes what later examples find.
    return client.post(path, data={"csrf_token": token, **body})


def _account(client: FlaskClient, token: str, data: st.DataObject) -> TestResponse:
    # "Log out everywhere" is left out: it would end this test's session.
    path = data.draw(st.sampled_from(["password", "recovery-codes"]), label="form")
    body = data.draw(
        form(
            {
                "current_password": TEXT,
                "new_password": LONG_TEXT,
                "confirm": TEXT,
                "codes_password": TEXT,
            }
        ),
        label="fields",
    )
    return client.post(f"/staff/account/{path}", data={"csrf_token": token, **body})


ADMIN_PROBES: dict[str, Callable[[FlaskClient, str, st.DataObject], TestResponse]] = {
    "audit filters": _audit_filters,
    "audit verify": _audit_verify,
    "people": _people,
    "account": _account,
}


@FUZZ
@given(data=st.data())
def test_admin_pages(admin: tuple[FlaskClient, str], data: st.DataObject) -> None:
    probe = data.draw(st.sampled_from(sorted(ADMIN_PROBES)), label="probe")
    assert_answered(ADMIN_PROBES[probe](*admin, data))


def _invite(app: Flask, email: str) -> str:
    with app.app_context():
        session = db.session()
        token = auth.create_invite(
            session, email=email, role=Role.REVIEWER, valid_for=timedelta(hours=1)
        )
        session.commit()
    return token


@dataclass
class Door:
    """The ways in: a login client, an open invite, a browser at the TOTP step."""

    app: Flask
    client: FlaskClient
    token: str
    invite: str
    enrolling: FlaskClient
    enrolling_token: str


@pytest.fixture
def door(app: Flask, staff: StaffActions) -> Door:
    """Everything the pages before login need."""
    staff.create("fuzz-login@example.org")
    client = english_client(app)
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    enrolling = english_client(app)
    invite = _invite(app, "fuzz-enrolling@example.org")
    page = enrolling.get(f"/staff/invite/{invite}").get_data(as_text=True)
    chosen = enrolling.post(
        f"/staff/invite/{invite}",
        data={
            "csrf_token": csrf_token(page),
            "password": StaffActions.PASSWORD,
            "confirm": StaffActions.PASSWORD,
        },
    )
    assert chosen.status_code == 303
    enrolling_token = csrf_token(enrolling.get("/staff/enrol").get_data(as_text=True))
    return Door(
        app, client, token, _invite(app, "fuzz-invited@example.org"), enrolling, enrolling_token
    )


def _login(door: Door, data: st.DataObject) -> TestResponse:
    body = data.draw(
        form(
            {
                "email": value(["fuzz-login@example.org"]),
                "password": st.one_of(st.just(StaffActions.PASSWORD), LONG_TEXT),
                "code": st.one_of(TEXT, DIGITS),
            }
        ),
        label="form",
    )
    return door.client.post("/staff/login", data={"csrf_token": door.token, **body})


def _invite_page(door: Door, data: st.DataObject) -> TestResponse:
    invite = data.draw(st.one_of(st.just(door.invite), path_segment()), label="invite")
    path = f"/staff/invite/{quote(invite, safe='')}"
    if data.draw(st.booleans(), label="GET"):
        return door.client.get(path)
    body = data.draw(form({"email": TEXT, "password": LONG_TEXT, "confirm": TEXT}), label="form")
    return door.client.post(path, data={"csrf_token": door.token, **body})


def _enrolment(door: Door, data: st.DataObject) -> TestResponse:
    code = data.draw(st.one_of(TEXT, DIGITS, st.from_regex(r"[0-9]{6,8}", fullmatch=True)))
    return door.enrolling.post(
        "/staff/enrol", data={"csrf_token": door.enrolling_token, "code": code}
    )


def _codes_saved(door: Door, data: st.DataObject) -> TestResponse:
    codes = data.draw(
        st.one_of(TEXT, st.from_regex(r"([A-Z0-9]{4}-[A-Z0-9]{4} ?){0,12}", fullmatch=True))
    )
    saved = data.draw(value(["y"]), label="saved")
    return door.enrolling.post(
        "/staff/recovery-codes/saved",
        data={"csrf_token": door.enrolling_token, "codes": codes, "saved": saved},
    )


DOOR_PROBES: dict[str, Callable[[Door, st.DataObject], TestResponse]] = {
    "login": _login,
    "invite": _invite_page,
    "enrolment": _enrolment,
    "recovery codes saved": _codes_saved,
}


@FUZZ
@given(data=st.data())
def test_pages_before_login(door: Door, data: st.DataObject) -> None:
    probe = data.draw(st.sampled_from(sorted(DOOR_PROBES)), label="probe")
    assert_answered(DOOR_PROBES[probe](door, data))


def test_ids_past_the_columns_range_in_case_forms_and_addresses(desk: Desk) -> None:
    """Regression: such numbers reached the databases, which failed on them (a 500)."""
    for number in TOO_LARGE:
        for action, field in (("assign", "assignee"), ("access", "grantee")):
            response = desk.client.post(
                f"/review/case/{desk.public_id}/{action}",
                data={"csrf_token": desk.token, field: number},
            )
            assert response.status_code == 303
            page = desk.client.get(f"/review/case/{desk.public_id}").get_data(as_text=True)
            assert "someone who can open it" in page or "Please choose a person." in page
        for action, verb in (("access", "revoke"), ("links", "unlink")):
            response = desk.client.post(
                f"/review/case/{desk.public_id}/{action}/{number}/{verb}",
                data={"csrf_token": desk.token},
            )
            assert response.status_code == 404


def test_ids_past_the_columns_range_on_people_pages(admin: tuple[FlaskClient, str]) -> None:
    """Regression: ``<int:…>`` passed any number on to the database (a 500)."""
    client, token = admin
    for number in TOO_LARGE:
        for path in (f"/{number}/remove", f"/{number}/reset", f"/invites/{number}/cancel"):
            assert client.get(f"/staff/people{path}").status_code in (404, 405)
            response = client.post(f"/staff/people{path}", data={"csrf_token": token})
            assert response.status_code == 404
