"""The logged-in person's own account page (``/staff/account``).

Change the password, get new recovery codes, log out everywhere, choose
quiet e-mail notices.  Each POST checks its form, calls one service
function, commits.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from registry import db, runtime
from registry.auth import account_service, loader, recovery
from registry.auth.forms import ChangePasswordForm, NewCodesForm
from registry.auth.service import WeakPassword
from registry.auth.views import PASSWORD_MESSAGES, clear_browser, render_codes
from registry.models import StaffSession
from registry.notices.choice import choose_notices, may_opt_in
from registry.notices.forms import NoticesForm
from registry.web.extensions import rate_limit
from registry.web.i18n import current_language
from registry.web.i18n import gettext as _

bp = Blueprint("account", __name__, url_prefix="/staff/account")


def _password_key() -> str:
    # Each of these checks the password: throttled per account, so a
    # session left open cannot be used to guess the password quickly.
    return f"account-password:{getattr(current_user, 'id', '')}"


def _page(
    password_form: ChangePasswordForm | None = None,
    codes_form: NewCodesForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    dbs, account = db.session(), loader.live_session().account
    sessions = dbs.scalar(
        select(func.count()).select_from(StaffSession).where(StaffSession.account_id == account.id)
    )
    cfg = runtime.config()
    return render_template(
        "staff/auth/account.html",
        account=account,
        password_form=password_form or ChangePasswordForm(formdata=None),
        codes_form=codes_form or NewCodesForm(formdata=None),
        unused_codes=recovery.unused_count(dbs, account.id),
        code_count=recovery.CODE_COUNT,
        sessions=sessions,
        notices_form=NoticesForm(formdata=None, notify=account.notify_by_email),
        # Offered only when the operator set up a mail server, and only to
        # people who hold keys (registry.notices.choice.may_opt_in).
        mail_set_up=bool(cfg.smtp_host),
        notices_for_role=may_opt_in(account),
        notice_hours=cfg.notice_every_hours,
    ), status


@bp.get("")
def index() -> ResponseReturnValue:
    """The account page."""
    return _page()


@bp.post("/password")
@rate_limit("10 per minute; 50 per hour", key_func=_password_key)
def password() -> ResponseReturnValue:
    """Change the password; other browsers are logged out, this one stays."""
    form, dbs = ChangePasswordForm(), db.session()
    if form.validate_on_submit():
        try:
            account_service.change_password(
                dbs,
                loader.live_session(),
                current=form.current_password.data or "",
                new=form.new_password.data or "",
                params=runtime.password_params(runtime.config()),
                local_key=runtime.keyring().local_key,
            )
        except account_service.WrongPassword:
            dbs.rollback()
            form.current_password.errors = [_("The current password is wrong.")]
        except WeakPassword as weak:
            form.new_password.errors = [PASSWORD_MESSAGES[weak.reason]()]
        else:
            dbs.commit()
            flash(_("Your password is changed. Every other browser is logged out."))
            return redirect(url_for("account.index"), code=303)
    return _page(password_form=form, status=422)


@bp.post("/recovery-codes")
@rate_limit("10 per minute; 50 per hour", key_func=_password_key)
def recovery_codes() -> ResponseReturnValue:
    """Replace the recovery codes (asks for the password) and show the new ones once."""
    form, dbs = NewCodesForm(), db.session()
    if form.validate_on_submit():
        try:
            codes = account_service.replace_recovery_codes(
                dbs,
                loader.live_session().account,
                password=form.codes_password.data or "",
                local_key=runtime.keyring().local_key,
            )
        except account_service.WrongPassword:
            dbs.rollback()
            form.codes_password.errors = [_("The password is wrong.")]
        else:
            dbs.commit()
            return render_codes(codes)
    return _page(codes_form=form, status=422)


@bp.post("/sessions/end")
def end_sessions() -> ResponseReturnValue:
    """Log out everywhere: every session of the account ends, this one too."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    dbs = db.session()
    account_service.log_out_everywhere(dbs, loader.live_session().account.id)
    dbs.commit()
    # No message: Clear-Site-Data drops the cookie a flashed message would travel in.
    return clear_browser(redirect(url_for("auth.login"), code=303))


@bp.post("/notices")
def notices() -> ResponseReturnValue:
    """Turn quiet e-mail notices on (in this page's language) or off."""
    form, dbs = NoticesForm(), db.session()
    account = loader.live_session().account
    if not form.validate_on_submit() or not runtime.config().smtp_host or not may_opt_in(account):
        abort(400)
    wanted = bool(form.notify.data)
    choose_notices(dbs, account, wanted=wanted, language=current_language())
    dbs.commit()
    flash(_("E-mail notices are on.") if wanted else _("E-mail notices are off."))
    return redirect(url_for("account.index", _anchor="notices"), code=303)
