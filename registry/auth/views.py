"""Staff account pages: login, logout, invite and TOTP enrolment."""

from __future__ import annotations

import segno
from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from registry import db, runtime
from registry.auth import loader, service, totp
from registry.auth.forms import ChoosePasswordForm, LoginForm, TotpForm
from registry.auth.sessions import COOKIE, end_session, start_session
from registry.extensions import limiter
from registry.models import Account

bp = Blueprint("auth", __name__, url_prefix="/staff")

ENROL_KEY = "enrol"
PASSWORD_MESSAGES = {
    "too-short": lambda: _("The password must have at least 12 characters."),
    "too-long": lambda: _("The password is too long."),
    "too-common": lambda: _(
        "This password is too easy to guess. Try a phrase of several unusual words."
    ),
}


def _login_key() -> str:
    # Throttle per account name, never per address (DESIGN §2, promise 3).
    from flask import request

    return "login:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", key_func=_login_key, methods=["POST"])
@limiter.limit("300 per minute", methods=["POST"])
def login() -> ResponseReturnValue:
    """Password + TOTP login; starts a fresh server-side session."""
    if current_user.is_authenticated:
        return redirect(url_for("review.queue"), code=303)
    form = LoginForm()
    if form.validate_on_submit():
        cfg, ring, dbs = runtime.config(), runtime.keyring(), db.session()
        try:
            done = service.authenticate(
                dbs,
                email=form.email.data or "",
                password=form.password.data or "",
                code=form.code.data or "",
                params=runtime.password_params(cfg),
                local_key=ring.local_key,
            )
        except service.LoginFailed:
            dbs.commit()
            form.form_errors.append(_("Email, password or code is wrong."))
            return render_template("auth/login.html", form=form)
        cookie = start_session(dbs, done.account, done.private_key)
        dbs.commit()
        response = redirect(url_for("review.queue"), code=303)
        response.set_cookie(
            COOKIE, cookie, httponly=True, samesite="Strict", secure=cfg.secure_cookies, path="/"
        )
        return response
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End this session and ask the browser to forget the site's data."""
    dbs = db.session()
    end_session(dbs, loader.live_session())
    dbs.commit()
    response = redirect(url_for("auth.login"), code=303)
    response.delete_cookie(COOKIE, path="/")
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str) -> ResponseReturnValue:
    """First step of an invite: choose a password (creates the key pair)."""
    dbs, cfg = db.session(), runtime.config()
    try:
        found = service.find_invite(dbs, token)
    except service.InviteInvalid:
        return make_response(render_template("auth/invite_invalid.html"), 404)
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            account = service.choose_password(
                dbs,
                found,
                email=form.email.data or "",
                password=form.password.data or "",
                params=runtime.password_params(cfg),
                local_key=runtime.keyring().local_key,
            )
        except service.WeakPassword as weak:
            form.password.errors = [PASSWORD_MESSAGES[weak.reason]()]
        except service.EmailTaken:
            form.email.errors = [_("An account with this email already exists.")]
        else:
            dbs.commit()
            session[ENROL_KEY] = {"invite": token, "account": account.id}
            return redirect(url_for("auth.enrol_totp"), code=303)
    return render_template("auth/invite.html", form=form, invite=found)


@bp.route("/enrol", methods=["GET", "POST"])
def enrol_totp() -> ResponseReturnValue:
    """Second step: show the TOTP secret and activate on a correct code."""
    state, dbs = session.get(ENROL_KEY) or {}, db.session()
    try:
        found = service.find_invite(dbs, str(state.get("invite", "")))
    except service.InviteInvalid:
        return make_response(render_template("auth/invite_invalid.html"), 404)
    account = dbs.get(Account, state.get("account"))
    if account is None or found.account_id != account.id:
        return make_response(render_template("auth/invite_invalid.html"), 404)
    secret = service.totp_secret(account, runtime.keyring().local_key)
    form = TotpForm()
    if form.validate_on_submit():
        try:
            service.confirm_totp(
                dbs, found, account, form.code.data or "", runtime.keyring().local_key
            )
        except service.CodeRejected:
            form.code.errors = [
                _("This code is not right. Check the time on your phone and try the next code.")
            ]
        else:
            dbs.commit()
            session.pop(ENROL_KEY, None)
            flash(_("Your account is ready. Log in with your password and a new code."))
            return redirect(url_for("auth.login"), code=303)
    uri = totp.provisioning_uri(secret, account.email)
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))  # noqa: S704
    return render_template("auth/enrol.html", form=form, qr=qr, secret=totp.secret_text(secret))
