"""Reviewer pages that change a case: triage, notes, access.

Each view is one small POST: check CSRF, call one triage service function
with the reviewer's key, commit, and go back to the case page.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from registry import db
from registry.auth import loader
from registry.models import Report
from registry.records.access import NoAccess, find_report
from registry.review import coding, links, triage
from registry.web.routing import MAX_INTEGER_ID

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
        "Please write the month of the incident as YYYY-MM (for example 2020-08), "
        "or leave it empty."
    ),
}


def _change(
    public_id: str, apply: Callable[[Report, bytes], object], done: str
) -> ResponseReturnValue:
    """Run one change with the reviewer's key; flash the outcome; back to the case."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    dbs = db.session()
    try:
        apply(find_report(dbs, public_id), loader.private_key())
    except NoAccess:
        abort(404)
    except triage.TriageError as bad:
        dbs.rollback()
        flash(FAILURES[bad.field]())
    else:
        dbs.commit()
        flash(done)
    return redirect(url_for("review.case", public_id=public_id), code=303)


def _int(name: str) -> int | None:
    value = request.form.get(name, "")
    # isascii: "²".isdigit() is true, but int() refuses it.
    if not (value.isascii() and value.isdigit()):
        return None
    # A number past the id column's range is nobody (-1 is no id either);
    # passed on, the database would fail on it (a 500) instead of finding
    # no one.  The length check comes first: int() refuses 4,300 digits.
    return int(value) if len(value) <= 10 and int(value) <= MAX_INTEGER_ID else -1


@bp.post("/<public_id>/status")
def status(public_id: str) -> ResponseReturnValue:
    """Change the status (and, when closing, the disposition)."""
    return _change(
        public_id,
        lambda report, key: triage.set_status(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            status=request.form.get("status", ""),
            disposition=request.form.get("disposition") or None,
        ),
        _("The status is saved."),
    )


@bp.post("/<public_id>/urgency")
def urgency(public_id: str) -> ResponseReturnValue:
    """Mark or unmark as urgent."""
    return _change(
        public_id,
        lambda report, key: triage.set_urgent(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            urgent=request.form.get("urgent") == "1",
        ),
        _("The urgency is saved."),
    )


@bp.post("/<public_id>/assign")
def assign(public_id: str) -> ResponseReturnValue:
    """Assign to a staff member who can open the case."""
    return _change(
        public_id,
        lambda report, key: triage.assign(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            assignee_id=_int("assignee"),
        ),
        _("The assignment is saved."),
    )


@bp.post("/<public_id>/notes")
def note(public_id: str) -> ResponseReturnValue:
    """Add a sealed internal note."""
    return _change(
        public_id,
        lambda report, key: triage.add_note(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            text=request.form.get("text", ""),
        ),
        _("The note is saved."),
    )


@bp.post("/<public_id>/access")
def grant(public_id: str) -> ResponseReturnValue:
    """Coordinators: give a staff member the key of this case."""
    grantee = _int("grantee")
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
    form = request.form
    codes = coding.Codes(
        violations=tuple(form.getlist("violations")),
        region=form.get("region", ""),
        place=form.get("place") or None,
        unit=form.get("unit") or None,
        incident_month=form.get("incident_month", "").strip() or None,
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
    return _change(
        public_id,
        lambda report, key: links.link(
            db.session(),
            report,
            account_id=current_user.id,
            private_key=key,
            other_public_id=request.form.get("other", ""),
            kind=request.form.get("kind", ""),
        ),
        _("The cases are linked."),
    )


@bp.post("/<public_id>/links/<int:link_id>/unlink")
def unlink(public_id: str, link_id: int) -> ResponseReturnValue:
    """Remove a link (with the keys of both cases)."""
    return _change(
        public_id,
        lambda report, key: links.unlink(
            db.session(), report, account_id=current_user.id, private_key=key, link_id=link_id
        ),
        _("The link is removed."),
    )
