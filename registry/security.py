"""Security headers and default-deny authentication for staff pages."""

from __future__ import annotations

from flask import Flask, Response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

# Views any visitor may open.  Every other endpoint requires a logged-in
# staff member: a new view is private until someone adds it here on purpose.
PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "lang.set_language",
        "intake.index",
        "intake.new_report",
        "intake.receipt_saved",
        "intake.done",
        "intake.leave",
        "intake.neutral",
        "followup.start",
        "followup.case",
        "followup.message",
        "followup.consents",
        "followup.withdraw",
        "auth.login",
        "auth.invite",
        "auth.enrol_totp",
    }
)

CSP = (
    "default-src 'self'; "
    "script-src 'none'; "
    "style-src 'self'; "
    "img-src 'self'; "
    "object-src 'none'; "
    "base-uri 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)


def _require_login() -> ResponseReturnValue | None:
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        return None
    return redirect(url_for("auth.login"), code=303)


def _headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Frame-Options"] = "DENY"
    # No referrer: a link out of a case page must not tell the other site
    # that someone at this registry followed it.
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    # Every page may carry case data or a receipt: no browser or proxy cache
    # may keep it.  Static files are the only exception.
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    # No server banner (Werkzeug or gunicorn version) helps an attacker.
    headers.pop("Server", None)
    return response


def init_app(app: Flask) -> None:
    """Install the default-deny check and the header filter."""
    app.before_request(_require_login)
    app.after_request(_headers)
