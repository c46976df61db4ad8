"""Flask extensions shared by the blueprints."""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf import CSRFProtect

GLOBAL_KEY = "all"

# Blueprints the rate limiter never looks at.
# WHY the published evidence: every one of its pages is the same for every
# visitor and is answered from the worker's own cache (no database, nothing
# written), so serving it costs less than counting it would (a counter
# update, in Redis a round trip).  A limit there would protect nothing, and
# as every key here is global, evidence readers would use up a limit shared
# with the pages that need one.  No limit applies to it today either: this
# only skips the limiter's per-request work of finding that out.
UNLIMITED_BLUEPRINTS = frozenset({"evidence"})


def _global_key() -> str:
    # Rate limits are never keyed on the client's address: an address would
    # be "something about a submitter's request" held in memory or Redis
    # (promise 3, docs/threat-model.md#promise-3).  Routes that need finer keys pass their own.
    return GLOBAL_KEY


csrf = CSRFProtect()
limiter = Limiter(key_func=_global_key, default_limits=[])
login_manager = LoginManager()


@limiter.request_filter
def _unlimited() -> bool:
    # A filter, not ``limiter.exempt(blueprint)``: it is checked before the
    # limiter works out which limits apply, so an exempt request costs a
    # set lookup instead of that resolution.
    return request.blueprint in UNLIMITED_BLUEPRINTS


def init_app(app: Flask) -> None:
    """Initialise CSRF protection, rate limiting and Flask-Login."""
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flask-Login's own session protection hashes the client address and
    # user agent into the cookie; staff sessions are server-side instead.
    login_manager.session_protection = None
