"""Security headers and default-deny authentication for staff pages."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, Response, abort, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry.web.forms import posted_text_has_nul, refuse_json_body, refuse_undecodable_body

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
        "followup.add_files",
        "followup.consents",
        "followup.withdraw",
        "auth.login",
        "auth.invite",
        "auth.enrol_totp",
        # Only leads on from the recovery codes shown at the end of enrolment.
        "auth.recovery_codes_saved",
        # Published evidence: the latest snapshot's figures and its downloads.
        "evidence.index",
        "evidence.proposal",
        "evidence.unit",
        "evidence.data",
        "evidence.datapackage",
        "evidence.table",
        # The public half of the key that signs evidence packs (docs/packs.md).
        "keys.signing_public",
        # "ok" or "unavailable" for monitors, nothing more (registry/web/health.py).
        "health.healthz",
    }
)

# Blueprints whose successful answers may be cached by anyone: published
# evidence and the public signing key hold no case data and are the same for
# every visitor (their views set Cache-Control and ETag themselves;
# registry/evidence/views.py, registry/referral/key_views.py).
CACHEABLE_BLUEPRINTS = frozenset({"evidence", "keys"})

# The pages a submitter writes into (never refused for odd characters).
SUBMITTER_BLUEPRINTS = frozenset({"intake", "followup"})

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


def _refuse_nul() -> None:
    """Refuse a NUL character in the path, the query or a staff form.

    PostgreSQL cannot store or even compare text containing NUL and raises
    an error (a 500) where SQLite would match nothing; no person types one.
    Submitter forms are left alone: their free text is sealed as bytes, and
    a refusal there would lose what the person wrote.
    """
    if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
        abort(400, description="invalid-utf8")
    staff_form = (
        request.method == "POST"
        and request.blueprint not in SUBMITTER_BLUEPRINTS
        and request.mimetype == "application/x-www-form-urlencoded"
    )
    if staff_form and posted_text_has_nul():
        abort(400, description="invalid-utf8")


def _cacheable(response: Response) -> bool:
    """Whether ``response`` keeps the public caching its view chose.

    Never an error page, and never a response that sets a cookie: a shared
    cache would hand that cookie to the next visitor.
    """
    return (
        request.blueprint in CACHEABLE_BLUEPRINTS
        and response.status_code in (200, 304)
        and "Set-Cookie" not in response.headers
        and (response.cache_control.public or False)
    )


def _headers(response: Response) -> Response:
    headers = response.headers
    # A view may set a stricter policy for its own response (an inline
    # photo preview); every other response gets the site's policy.
    headers.setdefault("Content-Security-Policy", CSP)
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
    if request.endpoint != "static" and not _cacheable(response):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    hsts = current_app.extensions["registry.config"].hsts_seconds
    if hsts > 0:
        # Browsers then refuse plain HTTP to this host for ``hsts`` seconds:
        # no first-request downgrade on a hostile network.  Sent on every
        # response; browsers ignore it on plain HTTP anyway (RFC 6797 §8.1).
        headers["Strict-Transport-Security"] = f"max-age={hsts}"
    onion = current_app.extensions["registry.config"].onion_address
    if onion:
        # Tor Browser offers the onion address: traffic then never leaves Tor.
        # WHY re-encode: ``request.path`` is percent-decoded, so "%0d%0a" in
        # the address would put a line break into the header (a 500, or a
        # split header); encoded, the value is plain ASCII.
        path = quote(request.path, safe="/:@!$&'()*+,;=~")
        if request.query_string:
            path += "?" + quote(request.query_string, safe="/?:@!$&'()*+,;=~%")
        headers["Onion-Location"] = f"http://{onion}{path}"
    # No server banner (Werkzeug or gunicorn version) helps an attacker.
    headers.pop("Server", None)
    return response


def init_app(app: Flask) -> None:
    """Install the default-deny check and the header filter."""
    app.before_request(_require_login)
    # First of all hooks: once anything (e.g. the CSRF check) parses the form,
    # the raw body is gone and cannot be checked any more.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_undecodable_body)
    app.before_request_funcs[None].insert(1, _refuse_nul)
    app.before_request_funcs[None].insert(2, refuse_json_body)
    app.after_request(_headers)
