"""Links between cases: both keys needed, stored once, audited on both cases."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.crypto import generate_keypair
from registry.models import AuditEvent, Report, ReportLink
from registry.records.access import NoAccess
from registry.review import links
from registry.review.triage import TriageError
from tests.helpers import (
    Staff,
    StaffActions,
    english_client,
    post_form,
    private_key_of,
    submit_and_locate,
)

NO_CASE = "There is no case with this id that you can open."


@dataclass
class Cases:
    """Reports ``a``, ``b``, ``c`` (in order of arrival) and who holds which key."""

    a: str
    b: str
    c: str
    everything: Staff  # holds a, b and c
    later: Staff  # arrived after a: holds b and c only


@pytest.fixture
def cases(app: Flask, staff: StaffActions) -> Cases:
    everything = staff.create("all@example.org")
    a = submit_and_locate(app, english_client(app), narrative="NARRATIVE-A bus")
    later = staff.create("later@example.org")
    b = submit_and_locate(app, english_client(app), narrative="NARRATIVE-B yard")
    c = submit_and_locate(app, english_client(app), narrative="NARRATIVE-C cell")
    return Cases(a, b, c, everything, later)


def _client(app: Flask, staff: StaffActions, person: Staff) -> FlaskClient:
    client = english_client(app)
    staff.login(client, person)
    return client


def _post(client: FlaskClient, public_id: str, path: str, data: dict[str, object]) -> str:
    response = post_form(
        client, f"/review/case/{public_id}/{path}", data, form_page=f"/review/case/{public_id}"
    )
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _links(app: Flask) -> list[tuple[str, str, str]]:
    """Stored links as (public id of report_id, public id of other_id, kind)."""
    with app.app_context():
        session = db.session()
        rows = session.scalars(select(ReportLink).order_by(ReportLink.id)).all()
        ids = {
            row.id: row.public_id for row in session.execute(select(Report.id, Report.public_id))
        }
        return [(ids[r.report_id], ids[r.other_id], r.kind) for r in rows]


def _events(app: Flask, action: str) -> list[tuple[str | None, str | None, str]]:
    with app.app_context():
        rows = db.session().scalars(select(AuditEvent).where(AuditEvent.action == action))
        return sorted((e.report_ref, e.detail, e.actor) for e in rows)


def _report(public_id: str) -> Report:
    return db.session().scalars(select(Report).where(Report.public_id == public_id)).one()


def test_link_is_stored_once_whichever_side_links(
    app: Flask, staff: StaffActions, cases: Cases
) -> None:
    client = _client(app, staff, cases.everything)
    with app.app_context():
        # Row ids are random: which of a and b has the smaller one varies.
        low, high = sorted((cases.a, cases.b), key=lambda public_id: _report(public_id).id)
    page = _post(client, high, "links", {"other": low.lower(), "kind": "same-incident"})
    assert "The cases are linked." in page
    # Stored with the smaller report id first, although the other case asked.
    assert _links(app) == [(low, high, "same-incident")]
    # From the other side, the same link is refused gracefully, not stored twice.
    page = _post(client, low, "links", {"other": high, "kind": "same-incident"})
    assert "These cases are already linked in this way." in page
    assert len(_links(app)) == 1
    # Another kind of relation between the same cases is a second link.
    _post(client, cases.a, "links", {"other": cases.b, "kind": "duplicate"})
    assert len(_links(app)) == 2
    page = client.get(f"/review/case/{cases.a}").get_data(as_text=True)
    assert f'href="/review/case/{cases.b}"' in page
    assert "Same incident" in page
    assert "Duplicate" in page
    actor = f"account:{cases.everything.account_id}"
    assert _events(app, "case.linked") == sorted(
        [
            (cases.a, f"same-incident:{cases.b}", actor),
            (cases.b, f"same-incident:{cases.a}", actor),
            (cases.a, f"duplicate:{cases.b}", actor),
            (cases.b, f"duplicate:{cases.a}", actor),
        ]
    )


def test_link_needs_the_keys_of_both_cases(app: Flask, staff: StaffActions, cases: Cases) -> None:
    client = _client(app, staff, cases.later)
    # Holds b, not a: refused with the same words as for a case that does not exist.
    page = _post(client, cases.b, "links", {"other": cases.a, "kind": "same-perpetrator"})
    assert NO_CASE in page
    page = _post(client, cases.b, "links", {"other": "ZZZZZZZZZZZZ", "kind": "same-perpetrator"})
    assert NO_CASE in page
    assert _links(app) == []
    assert _events(app, "case.linked") == []
    # Nor from the side it cannot open.
    denied = post_form(
        client,
        f"/review/case/{cases.a}/links",
        {"other": cases.b, "kind": "duplicate"},
        form_page=f"/review/case/{cases.b}",
    )
    assert denied.status_code == 404
    assert _links(app) == []


def test_service_refuses_without_both_keys(app: Flask, staff: StaffActions, cases: Cases) -> None:
    """Called directly, without the views, the crypto still decides."""
    later_key = private_key_of(app, cases.later)
    with app.app_context():
        session = db.session()
        a, b = _report(cases.a), _report(cases.b)
        with pytest.raises(TriageError) as refused:
            links.link(
                session,
                b,
                account_id=cases.later.account_id,
                private_key=later_key,
                other_public_id=cases.a,
                kind="duplicate",
            )
        assert refused.value.field == "other"
        with pytest.raises(NoAccess):
            links.link(
                session,
                a,
                account_id=cases.later.account_id,
                private_key=later_key,
                other_public_id=cases.b,
                kind="duplicate",
            )
        # The holder of both wraps, with a wrong private key: no key opens.
        with pytest.raises(NoAccess):
            links.link(
                session,
                b,
                account_id=cases.everything.account_id,
                private_key=generate_keypair().private,
                other_public_id=cases.a,
                kind="duplicate",
            )
        session.rollback()
    assert _links(app) == []


def test_self_links_and_unknown_kinds_are_refused(
    app: Flask, staff: StaffActions, cases: Cases
) -> None:
    client = _client(app, staff, cases.everything)
    page = _post(client, cases.a, "links", {"other": cases.a, "kind": "duplicate"})
    assert "A case cannot be linked to itself." in page
    page = _post(client, cases.a, "links", {"other": cases.b, "kind": "cousin"})
    assert "Please choose how the cases are related." in page
    page = _post(client, cases.a, "links", {})
    assert "Please choose how the cases are related." in page
    assert _links(app) == []


def test_unlink_needs_both_keys_and_is_audited(
    app: Flask, staff: StaffActions, cases: Cases
) -> None:
    everything = _client(app, staff, cases.everything)
    _post(everything, cases.a, "links", {"other": cases.b, "kind": "same-incident"})
    later = _client(app, staff, cases.later)
    page = later.get(f"/review/case/{cases.b}").get_data(as_text=True)
    # Listed by its id only: no way in to a case this reviewer cannot open.
    assert cases.a in page
    assert "no access" in page
    assert f'href="/review/case/{cases.a}"' not in page
    assert "/unlink" not in page  # no button it could not use
    with app.app_context():
        link_id = db.session().scalars(select(ReportLink.id)).one()
    page = _post(later, cases.b, f"links/{link_id}/unlink", {})
    assert "Only someone who can open both cases can remove the link." in page
    assert len(_links(app)) == 1
    # Another case's link cannot be removed through a case it does not belong to.
    page = _post(everything, cases.c, f"links/{link_id}/unlink", {})
    assert "This link does not exist any more." in page
    assert len(_links(app)) == 1
    page = _post(everything, cases.a, f"links/{link_id}/unlink", {})
    assert "The link is removed." in page
    assert _links(app) == []
    actor = f"account:{cases.everything.account_id}"
    assert _events(app, "case.unlinked") == sorted(
        [(cases.a, f"same-incident:{cases.b}", actor), (cases.b, f"same-incident:{cases.a}", actor)]
    )
    page = _post(everything, cases.a, f"links/{link_id}/unlink", {})
    assert "This link does not exist any more." in page


def test_linked_page_opens_only_what_the_reviewer_can_open(
    app: Flask, staff: StaffActions, cases: Cases
) -> None:
    everything = _client(app, staff, cases.everything)
    _post(everything, cases.b, "links", {"other": cases.a, "kind": "same-incident"})
    _post(everything, cases.b, "links", {"other": cases.c, "kind": "same-perpetrator"})
    _post(everything, cases.b, "links", {"other": cases.c, "kind": "duplicate"})
    later = _client(app, staff, cases.later)
    with app.app_context():
        before = db.session().scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc())).first()
    response = later.get(f"/review/case/{cases.b}/linked")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "NARRATIVE-B" in page
    assert "NARRATIVE-C" in page
    assert "NARRATIVE-A" not in page
    assert re.search(rf'id="case-{cases.a}">.*?no access', page, re.S)
    with app.app_context():
        opened = db.session().scalars(
            select(AuditEvent.report_ref).where(
                AuditEvent.id > (before or 0), AuditEvent.action == "case.opened"
            )
        )
        # Each case it could open, once (c is linked twice); never a.
        assert sorted(opened) == sorted([cases.b, cases.c])
    # Without the key of the case itself, the page does not exist.
    assert later.get(f"/review/case/{cases.a}/linked").status_code == 404
