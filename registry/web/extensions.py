"""Flask extensions shared by the blueprints."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf import CSRFProtect

GLOBAL_KEY = "all"


def _global_key() -> str:
    # Rate limits are never keyed on the client's address: an address would
    # be "something about a submitter's request" held in memory or Redis
    # (promise 3, docs/threat-model.md#promise-3).  Routes that need finer keys pass their own.
    return GLOBAL_KEY


csrf = CSRFProtect()
limiter = Limiter(key_func=_global_key, default_limits=[])
login_manager = LoginManager()


def init_app(app: Flask) -> None:
    """Initialise CSRF protection, rate limiting and Flask-Login."""
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flask-Login's own session protection hashes the client address and
    # user agent into the cookie; staff sessions are server-side instead.
    login_manager.session_protection = None
