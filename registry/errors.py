"""Error pages in the visitor's language, never a stack trace.

No error page touches the database: each one calls
:func:`registry.auth.loader.skip_identity` before rendering, and the outage
page (503, database unreachable) renders from the request alone.  A POST
that carried what a person wrote can register a *keeper* that shows the
text again instead of the outage page (:func:`keeps_text_on_outage`).  A
POST refused for a missing or stale form token can show its form again,
filled in (:func:`keeps_text_on_expired_token`); that page is the form's
own, not an error page, and may use the database.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from wtforms import ValidationError

from registry import db
from registry.auth.loader import skip_identity
from registry.records.access import deleted_meanwhile
from registry.serving.slots import Busy
from registry.web.forms import TokenForm

# A keeper answers a POST refused by an outage with the page that holds
# what was sent (HTML, without the database), or None for the outage page.
Keeper = Callable[[], str | None]
_KEEPERS: dict[str, Keeper] = {}

# A token keeper answers a POST refused for its form token with the form
# again, filled in (or a redirect), or None for the generic error page.
TokenKeeper = Callable[[], ResponseReturnValue | None]
_TOKEN_KEEPERS: dict[str, TokenKeeper] = {}

# How long a client should wait before trying again during an outage.
RETRY_AFTER_SECONDS = "60"


def keeps_text_on_outage(endpoint: str) -> Callable[[Keeper], Keeper]:
    """Register the decorated function as ``endpoint``'s page for an outage.

    The keeper must not use the database: it runs because the database
    failed.  Promise 12: an outage never costs a person what they typed.
    """

    def register(keeper: Keeper) -> Keeper:
        _KEEPERS[endpoint] = keeper
        return keeper

    return register


def keeps_text_on_expired_token(endpoint: str) -> Callable[[TokenKeeper], TokenKeeper]:
    """Register the decorated function as ``endpoint``'s page for a refused form token.

    A new Tor identity, "Leave now" in another tab or a long pause ends the
    browser session, and with it the token: the person must get back what
    they typed, not an error page that can only advise a reload (issue 13).
    The keeper runs only for a POST sent from a page of this site
    (:func:`sent_from_this_site`).
    """

    def register(keeper: TokenKeeper) -> TokenKeeper:
        _TOKEN_KEEPERS[endpoint] = keeper
        return keeper

    return register


def sent_from_this_site() -> bool:
    """Whether the browser says this request came from a page of this very site.

    ``Sec-Fetch-Site`` is set by the browser itself (no page can forge it);
    current Tor Browser and Chromium send it.  WHY not ``Origin``: every page
    here sends ``Referrer-Policy: no-referrer``, so a browser's form POST
    carries ``Origin: null``, from this site or any other.
    """
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def same_site_post() -> bool:
    """Whether this POST carries a valid CSRF token (checked without the database).

    Keepers show the sent text only then: the outage check runs before the
    CSRF hook, and another site must not be able to make this one display
    words of its choosing.
    """
    try:
        validate_csrf(TokenForm().csrf_token.data)
    except (ValidationError, HTTPException):  # a bad token, or a body that cannot be read
        return False
    return True


def _render(status: int, *, gone: bool = False) -> tuple[str, int]:
    skip_identity()
    return render_template("public/errors/error.html", status=status, gone=gone), status


def _caused_by_outage(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if db.is_outage(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def register_error_handlers(app: Flask) -> None:
    """Map every HTTP error, CSRF failure and database outage to an error page."""

    def outage(error: BaseException) -> ResponseReturnValue:
        skip_identity()
        # One line with the exception's type and nothing else: the DBAPI
        # message can quote SQL parameters, and the request line or form can
        # carry a submitter's or a search's words (promise 3).  No traceback.
        app.logger.error("database unavailable: %s", type(error).__name__)
        keeper = _KEEPERS.get(request.endpoint or "") if request.method == "POST" else None
        page = keeper() if keeper is not None else None
        if page is None:
            page = render_template("public/errors/outage.html", status=503)
        return page, 503, {"Retry-After": RETRY_AFTER_SECONDS}

    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError) -> ResponseReturnValue:
        keeper = _TOKEN_KEEPERS.get(request.endpoint or "") if request.method == "POST" else None
        # WHY only a POST from this site's own page: the token is what tells
        # this site's forms from another site's, and without it a page
        # elsewhere could make this one show words of its choosing, ready
        # to send.  A refusal from elsewhere gets the plain error page.
        if keeper is not None and sent_from_this_site():
            kept = keeper()
            if kept is not None:
                return kept
        skip_identity()
        return render_template("public/errors/error.html", status=400, csrf=True), 400

    @app.errorhandler(Busy)
    def _busy(_error: Busy) -> tuple[str, int]:
        return _render(503)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int]:
        if error.description == "invalid-utf8":
            skip_identity()
            return render_template("public/errors/error.html", status=400, unreadable=True), 400
        return _render(error.code or 500)

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def _database(error: Exception) -> ResponseReturnValue:
        if db.is_outage(error):
            return outage(error)
        return _unexpected(error)

    @app.errorhandler(Exception)
    def _unexpected(_error: Exception) -> ResponseReturnValue:
        # An outage wrapped in another exception (raised while handling it)
        # is still an outage, not a bug.
        if _caused_by_outage(_error):
            return outage(_error)
        if deleted_meanwhile(_error):
            # A race with a deletion, not a bug (records.access says which).
            # The type only, as for an outage: the driver's message can
            # quote the row's values.  The session is rolled back at
            # teardown, so nothing of the change was stored.
            app.logger.warning("a change met a row deleted meanwhile: %s", type(_error).__name__)
            return _render(409, gone=True)
        # In debug and testing, Flask's PROPAGATE_EXCEPTIONS lets a bug surface.
        if app.config.get("PROPAGATE_EXCEPTIONS") or app.testing or app.debug:
            raise _error
        # The exception is not logged with request data: a traceback could
        # carry a submitter's words into a log file (promise 3).
        app.logger.error("unexpected error: %s", type(_error).__name__)
        return _render(500)
