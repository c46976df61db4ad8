"""Administrators' pages for staff accounts (``/staff/people``).

Administrators only (everyone else gets 404).  Each view checks its form,
calls one service function, commits; the one-time links are shown once,
in the response, and stored nowhere but as a hash.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from registry import db, runtime
from registry.auth import loader
from registry.auth.roles import require_role
from registry.models import Account, Role
from registry.models.base import utcnow
from registry.people import service
from registry.people.forms import InviteForm
from registry.web.i18n import gettext as _

bp = Blueprint("people", __name__, url_prefix="/staff/people")

REFUSALS = {
    "self": lambda: _("You cannot remove or reset your own account. Use your account page."),
    "removed": lambda: _("This account is removed. To bring the person back, invite them again."),
    "email-taken": lambda: _("An account with this email already exists."),
}


def _valid_for() -> timedelta:
    return timedelta(hours=runtime.config().invite_valid_hours)


def _link_page(email: str, token: str) -> str:
    cfg = runtime.config()
    link = f"{cfg.base_url}/staff/invite/{token}"
    return render_template(
        "staff/people/link.html", email=email, link=link, hours=cfg.invite_valid_hours
    )


def _person(account_id: int) -> Account:
    account = db.session().get(Account, account_id)
    if account is None:
        abort(404)
    return account


def _list_page(form: InviteForm, status: int) -> ResponseReturnValue:
    dbs = db.session()
    return render_template(
        "staff/people/index.html",
        people=service.people(dbs),
        invites=service.open_invites(dbs),
        blocks=service.blocked_logins(dbs, loader.login_throttle(), utcnow()),
        form=form,
    ), status


@bp.get("")
@require_role(Role.ADMIN)
def index() -> ResponseReturnValue:
    """Everyone with an account, open invitations, and the invite form."""
    return _list_page(InviteForm(formdata=None), 200)


@bp.post("/invite")
@require_role(Role.ADMIN)
def invite() -> ResponseReturnValue:
    """Invite a person; show their one-time link once."""
    form, dbs = InviteForm(), db.session()
    if form.validate_on_submit():
        email = form.email.data or ""
        try:
            token = service.invite_person(
                dbs,
                admin_id=current_user.id,
                email=email,
                role=Role(form.role.data),
                valid_for=_valid_for(),
            )
        except service.Refused as refused:
            dbs.rollback()
            form.email.errors = [REFUSALS[refused.reason]()]
        else:
            dbs.commit()
            return _link_page(email.strip().lower(), token)
    return _list_page(form, 422)


@bp.post("/<int:account_id>/unthrottle")
@require_role(Role.ADMIN)
def unthrottle(account_id: int) -> ResponseReturnValue:
    """Lift a login throttle at once (after checking with the person)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    dbs = db.session()
    try:
        email = service.lift_throttle(
            dbs, admin_id=current_user.id, account_id=account_id, policy=loader.login_throttle()
        )
    except service.NotAllowed:
        abort(404)
    dbs.commit()
    flash(_("%(email)s can log in again now.", email=email))
    return redirect(url_for("people.index"), code=303)


@bp.post("/invites/<int:invite_id>/cancel")
@require_role(Role.ADMIN)
def cancel_invite(invite_id: int) -> ResponseReturnValue:
    """Withdraw an open invitation; its link stops working."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    dbs = db.session()
    try:
        service.cancel_invite(dbs, admin_id=current_user.id, invite_id=invite_id)
    except service.NotAllowed:
        abort(404)
    dbs.commit()
    flash(_("The invitation is cancelled; its link no longer works."))
    return redirect(url_for("people.index"), code=303)


def _confirm(action: str, account_id: int) -> str:
    person = _person(account_id)
    return render_template(
        "staff/people/confirm.html", action=action, person=person, form=FlaskForm(formdata=None)
    )


@bp.route("/<int:account_id>/remove", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def remove(account_id: int) -> ResponseReturnValue:
    """Confirm, then remove a person: logged out and without keys at once."""
    if not FlaskForm().validate_on_submit():
        return _confirm("remove", account_id)
    dbs = db.session()
    email = _person(account_id).email
    try:
        service.remove_person(dbs, admin_id=current_user.id, account_id=account_id)
    except service.NotAllowed:
        abort(404)
    except service.Refused as refused:
        dbs.rollback()
        flash(REFUSALS[refused.reason]())
    else:
        dbs.commit()
        flash(_("%(email)s is removed.", email=email))
    return redirect(url_for("people.index"), code=303)


@bp.route("/<int:account_id>/reset", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def reset(account_id: int) -> ResponseReturnValue:
    """Confirm, then reset a forgotten password; show the re-enrolment link once."""
    if not FlaskForm().validate_on_submit():
        return _confirm("reset", account_id)
    dbs = db.session()
    email = _person(account_id).email
    try:
        token = service.reset_person(
            dbs, admin_id=current_user.id, account_id=account_id, valid_for=_valid_for()
        )
    except service.NotAllowed:
        abort(404)
    except service.Refused as refused:
        dbs.rollback()
        flash(REFUSALS[refused.reason]())
        return redirect(url_for("people.index"), code=303)
    dbs.commit()
    return _link_page(email, token)
