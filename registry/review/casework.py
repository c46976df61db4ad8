"""Reviewer pages that change a case: triage, notes, access.

Each view is one small POST: read its form (which checks CSRF), call one
triage service function with the reviewer's key and the form's typed values,
commit, and go back to the case page.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry import db
from registry.auth import loader
from registry.models import Report
from registry.records.access import NoAccess, find_report
from registry.review import coding, links, triage
from registry.review.forms import (
    AssignForm,
    CodingForm,
    GrantForm,
    LinkForm,
    NoteForm,
    StatusForm,
    UrgencyForm,
)
from registry.web.forms import PostedForm, checked_post
from registry.web.i18n import gettext as _

bp = Blueprint("casework", __name__, url_prefix="/review/case")

FAILURES = {
    "status": lambda: _("Please choose a status."),
    "disposition": lambda: _("A closed case needs a disposition."),
    "assignee": lambda: _("The case can only be assigned to someone who can open it."),
    "text": lambda: _("Please write a note."),
    "grantee": lambda: _("Please choose a person."),
    "kind": lambda: _("Please choose how the cases are related."),
    "other": lambda: _("There is no case with this id that you can open."),
    "self": lambda: _("A case cannot be linked to itself."),
    "duplicate": lambda: _("These cases are already linked in this way."),
    "link": lambda: _("This link does not exist any more."),
    "both": lambda: _("Only someone who can open both cases can remove the link."),
    "violations": lambda: _("Please choose violation types from the list."),
    "place": lambda: _("Please choose a type of place from the list."),
    "unit": lambda: _("Please choose a service or unit from the list."),
    "region": lambda: _("Please choose a region."),
    "incident_month": lambda: _(
        "Please give the month of the incident as year and month (for example 2020-08), "
        "or leave it empty."
    ),
}


def with_case_key(public_id: str, apply: Callable[[Report, bytes], object]) -> None:
    """Run ``apply`` on the case with the staff member's key; 404 if they cannot open it.

    WHY 404 and not 403: a case one cannot open does not exist for them;
    a different answer would confirm that an id is a real case.
    """
    try:
        apply(find_report(db.session(), public_id), loader.private_key())
    except NoAccess:
        abort(404)


def _change(
    public_id: str, apply: Callable[[Report, bytes], object], done: str
) -> ResponseReturnValue:
    """Run one change with the reviewer's key; flash the outcome; back to the case."""
    dbs = db.session()
    try:
        with_case_key(public_id, apply)
    except triage.TriageError as bad:
        dbs.rollback()
        flash(FAILURES[bad.field]())
    else:
        dbs.commit()
        flash(done)
    return redirect(url_for("review.case", public_id=public_id), code=303)


@bp.post("/<public_id>/status")
def status(public_id: str) -> ResponseReturnValue:
    """Change the status (and, when closing, the disposition)."""
    form = checked_post(StatusForm())
    return _change(
        public_id,
        lambda report, key: triage.set_status(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            status=form.status.data,
            disposition=form.disposition.data,
        ),
        _("The status is saved."),
    )


@bp.post("/<public_id>/urgency")
def urgency(public_id: str) -> ResponseReturnValue:
    """Mark or unmark as urgent."""
    form = checked_post(UrgencyForm())
    return _change(
        public_id,
        lambda report, key: triage.set_urgent(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            urgent=form.urgent.data,
        ),
        _("The urgency is saved."),
    )


@bp.post("/<public_id>/assign")
def assign(public_id: str) -> ResponseReturnValue:
    """Assign to a staff member who can open the case (no id: to nobody)."""
    form = checked_post(AssignForm())
    return _change(
        public_id,
        lambda report, key: triage.assign(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            assignee_id=form.assignee.data,
        ),
        _("The assignment is saved."),
    )


@bp.post("/<public_id>/notes")
def note(public_id: str) -> ResponseReturnValue:
    """Add a sealed internal note."""
    form = checked_post(NoteForm())
    return _change(
        public_id,
        lambda report, key: triage.add_note(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            text=form.text.data,
        ),
        _("The note is saved."),
    )


@bp.post("/<public_id>/access")
def grant(public_id: str) -> ResponseReturnValue:
    """Coordinators: give a staff member the key of this case."""
    grantee = checked_post(GrantForm()).grantee.data
    return _change(
        public_id,
        lambda report, key: triage.grant(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            grantee_id=grantee if grantee is not None else -1,
        ),
        _("Access is granted."),
    )


@bp.post("/<public_id>/access/<int:account_id>/revoke")
def revoke(public_id: str, account_id: int) -> ResponseReturnValue:
    """Coordinators: delete a staff member's key of this case."""
    checked_post(PostedForm())
    return _change(
        public_id,
        lambda report, key: triage.revoke(
            db.session(), report, account_id=current_user.id, private_key=key, grantee_id=account_id
        ),
        _("Access is revoked."),
    )


@bp.post("/<public_id>/codes")
def code(public_id: str) -> ResponseReturnValue:
    """Correct the plain codes the submitter chose (checked against the vocabularies)."""
    form = checked_post(CodingForm())
    codes = coding.Codes(
        violations=tuple(form.violations.data or ()),
        region=form.region.data or "",
        place=form.place.data or None,
        unit=form.unit.data or None,
        incident_month=(form.incident_month.data or "").strip() or None,
    )
    return _change(
        public_id,
        lambda report, key: coding.recode(
            db.session(), report, account_id=current_user.id, private_key=key, codes=codes
        ),
        _("The codes are saved."),
    )


@bp.post("/<public_id>/links")
def link(public_id: str) -> ResponseReturnValue:
    """Link this case to another one the reviewer can also open."""
    form = checked_post(LinkForm())
    return _change(
        public_id,
        lambda report, key: links.link(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            other_public_id=form.other.data,
            kind=form.kind.data,
        ),
        _("The cases are linked."),
    )


@bp.post("/<public_id>/links/<int:link_id>/unlink")
def unlink(public_id: str, link_id: int) -> ResponseReturnValue:
    """Remove a link (with the keys of both cases)."""
    checked_post(PostedForm())
    return _change(
        public_id,
        lambda report, key: links.unlink(
            db.session(), report, account_id=current_user.id, private_key=key, link_id=link_id
        ),
        _("The link is removed."),
    )
