"""Staff account pages: login, logout, invite and TOTP enrolment."""

from __future__ import annotations

import base64
import binascii
import math
from datetime import timedelta

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from registry import db, runtime
from registry.auth import loader, recovery, service, totp
from registry.auth.forms import ChoosePasswordForm, CodesSavedForm, LoginForm, TotpForm
from registry.auth.sessions import COOKIE, end_session, start_session
from registry.keyring.backfill import backfill_at_login
from registry.models import Account
from registry.web.extensions import rate_limit
from registry.web.i18n import gettext as _
from registry.web.i18n import ngettext

bp = Blueprint("auth", __name__, url_prefix="/staff")

ENROL_KEY = "enrol"
PASSWORD_MESSAGES = {
    "too-short": lambda: _("The password must have at least 12 characters."),
    "too-long": lambda: _("The password is too long."),
    "too-common": lambda: _(
        "This password is too easy to guess. Try a phrase of several unusual words."
    ),
}


def _throttled(form: LoginForm, retry_after: timedelta) -> ResponseReturnValue:
    """The login page saying how long to wait (429, with Retry-After).

    The same answer for every email, with or without an account: see
    ``service.Throttled`` for why naming the wait gives nothing away.
    """
    minutes = max(math.ceil(retry_after.total_seconds() / 60), 1)
    form.form_errors.append(
        ngettext(
            "Too many failed attempts with this email address. Try again in %(num)d minute. "
            "If these attempts were not yours, tell an administrator.",
            "Too many failed attempts with this email address. Try again in %(num)d minutes. "
            "If these attempts were not yours, tell an administrator.",
            minutes,
        )
    )
    seconds = max(math.ceil(retry_after.total_seconds()), 1)
    return render_template("staff/auth/login.html", form=form), 429, {"Retry-After": str(seconds)}


@bp.route("/login", methods=["GET", "POST"])
# Site-wide and per worker: bounds the Argon2id work a flood can cause.  The
# per-account limit is not here: Flask-Limiter's memory:// counters are per
# worker process, so it lives in the database (registry.auth.throttle).
@rate_limit("300 per minute", methods=["POST"])
def login() -> ResponseReturnValue:
    """Password + TOTP login; starts a fresh server-side session."""
    if current_user.is_authenticated:
        return redirect(url_for("review.queue"), code=303)
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("staff/auth/login.html", form=form)
    cfg, ring, dbs = runtime.config(), runtime.keyring(), db.session()
    try:
        done = service.authenticate(
            dbs,
            email=form.email.data or "",
            password=form.password.data or "",
            code=form.code.data or "",
            params=runtime.password_params(cfg),
            local_key=ring.local_key,
            policy=loader.login_throttle(),
        )
    except service.Throttled as throttled:
        dbs.commit()
        return _throttled(form, throttled.retry_after)
    except service.LoginFailed:
        dbs.commit()  # keeps the count of a wrong code and its audit event
        form.form_errors.append(_("Email, password or code is wrong."))
        return render_template("staff/auth/login.html", form=form)
    cookie = start_session(dbs, done.account, done.private_key)
    # Reports lacking a wrap to the current escrow key get one through a key
    # holder's login, a batch at a time: the server alone holds no data key
    # to wrap (registry.keyring.backfill).
    backfill_at_login(
        dbs, runtime.escrow_watch(), account_id=done.account.id, private_key=done.private_key
    )
    dbs.commit()
    response = redirect(url_for("review.queue"), code=303)
    response.set_cookie(
        COOKIE, cookie, httponly=True, samesite="Strict", secure=cfg.secure_cookies, path="/"
    )
    return response


def clear_browser(response: BaseResponse) -> BaseResponse:
    """Drop the staff cookie and ask the browser to forget the site's data."""
    response.delete_cookie(COOKIE, path="/")
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End this session and ask the browser to forget the site's data."""
    dbs = db.session()
    end_session(dbs, loader.live_session())
    dbs.commit()
    return clear_browser(redirect(url_for("auth.login"), code=303))


def _invalid(problem: service.InviteInvalid | None = None) -> Response:
    elsewhere = isinstance(problem, service.EnrolmentElsewhere)
    return make_response(
        render_template("staff/auth/invite_invalid.html", elsewhere=elsewhere), 404
    )


def _browser_secret(token: str) -> bytes | None:
    """The secret this browser got when it chose a password with ``token``.

    It lives in Flask's signed session cookie: the server keeps only its
    hash (``Invite.enrolment_ref``), so only this browser can continue.
    """
    state = session.get(ENROL_KEY) or {}
    if not token or state.get("invite") != token:
        return None
    try:
        return base64.urlsafe_b64decode(str(state.get("browser", "")).encode()) or None
    except (ValueError, binascii.Error):
        return None


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str) -> ResponseReturnValue:
    """First step of an invite: choose a password (creates the key pair)."""
    dbs, cfg, browser = db.session(), runtime.config(), _browser_secret(token)
    try:
        found = service.find_invite(dbs, token)
        service.check_enrolment_browser(found, browser)
    except service.InviteInvalid as problem:
        return _invalid(problem)
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            enrolment = service.choose_password(
                dbs,
                found,
                email=form.email.data or "",
                password=form.password.data or "",
                params=runtime.password_params(cfg),
                browser_secret=browser,
            )
        except service.InviteInvalid as problem:
            dbs.rollback()
            return _invalid(problem)
        except service.WeakPassword as weak:
            form.password.errors = [PASSWORD_MESSAGES[weak.reason]()]
        except service.EmailTaken:
            dbs.rollback()
            form.email.errors = [_("An account with this email already exists.")]
        else:
            dbs.commit()
            session[ENROL_KEY] = {
                "invite": token,
                "account": enrolment.account.id,
                "browser": base64.urlsafe_b64encode(enrolment.browser_secret).decode(),
            }
            return redirect(url_for("auth.enrol_totp"), code=303)
    return render_template("staff/auth/invite.html", form=form, invite=found)


@bp.route("/enrol", methods=["GET", "POST"])
def enrol_totp() -> ResponseReturnValue:
    """Second step: show the TOTP secret; on a correct code activate and show recovery codes."""
    state, dbs = session.get(ENROL_KEY) or {}, db.session()
    token = str(state.get("invite", ""))
    browser = _browser_secret(token)
    try:
        found = service.find_invite(dbs, token)
        service.check_enrolment_browser(found, browser)
    except service.InviteInvalid as problem:
        return _invalid(problem)
    account = dbs.get(Account, state.get("account"))
    if account is None or found.account_id != account.id:
        return _invalid()
    try:
        secret = service.enrolment_totp_secret(account, browser)
    except service.EnrolmentOutdated:
        return _choose_again(token)
    form = TotpForm()
    if form.validate_on_submit():
        try:
            codes = service.confirm_totp(
                dbs, found, account, form.code.data or "", browser_secret=browser
            )
        except service.CodeRejected:
            dbs.rollback()
            form.code.errors = [
                _("This code is not right. Check the time on your phone and try the next code.")
            ]
        except service.InviteInvalid as problem:
            dbs.rollback()
            return _invalid(problem)
        else:
            dbs.commit()
            session.pop(ENROL_KEY, None)
            return render_codes(codes)
    uri = totp.provisioning_uri(secret, account.email)
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))  # noqa: S704
    return render_template(
        "staff/auth/enrol.html", form=form, qr=qr, secret=totp.secret_text(secret)
    )


def _choose_again(token: str) -> BaseResponse:
    """Back to the password step of an enrolment begun before the seed went under the password.

    Its seed is sealed under the server's key, and only the password (not
    typed on this step) could move it; this browser may restart.
    """
    flash(_("Please choose your password again to finish setting up your account."))
    return redirect(url_for("auth.invite", token=token), code=303)


def render_codes(codes: list[str], form: CodesSavedForm | None = None) -> str:
    """The page that shows recovery codes, once, until the person saved them.

    The codes are in this response only; the server keeps their hashes.
    """
    form = form or CodesSavedForm(formdata=None, codes=" ".join(codes))
    return render_template("staff/auth/recovery_codes.html", form=form, codes=codes)


@bp.post("/recovery-codes/saved")
def recovery_codes_saved() -> ResponseReturnValue:
    """Leave the codes page only once the person confirms they saved the codes."""
    form = CodesSavedForm()
    codes = recovery.parse_shown(form.codes.data or "")
    if codes is None:
        abort(400)
    if not form.validate_on_submit():
        return render_codes(codes, form)
    if current_user.is_authenticated:
        return redirect(url_for("account.index"), code=303)
    flash(_("Your account is ready. Log in with your password and a new code."))
    return redirect(url_for("auth.login"), code=303)
