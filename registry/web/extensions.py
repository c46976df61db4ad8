"""Flask extensions shared by the blueprints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from flask_wtf.csrf import generate_csrf

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


View = TypeVar("View", bound=Callable[..., Any])

# The functions rate_limit wrapped a view in.
_LIMITED: set[Callable[..., Any]] = set()
# Per view as Flask registered it: whether a rate_limit wrapper is in it,
# under any other decorators (see _has_limit).  As many entries as views.
_VIEW_LIMITED: dict[Callable[..., Any], bool] = {}
# Flask-Limiter's settings for limits on every view, which _unlimited
# would skip: init_app refuses to start with any of them.
_APP_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def rate_limit(limit_value: str, **options: Any) -> Callable[[View], View]:
    """``limiter.limit(limit_value, **options)`` for a view, which the limiter then looks at.

    Every limit in the registry is set through here (tests/test_rate_limits.py
    checks that no view is limited any other way): a view not set through
    here has no limit, and _unlimited spares the limiter's work on it.
    """
    decorate = limiter.limit(limit_value, **options)

    def mark(view: View) -> View:
        limited = cast(View, decorate(view))
        _LIMITED.add(limited)
        return limited

    return mark


@limiter.request_filter
def _unlimited() -> bool:
    # A filter, not ``limiter.exempt(blueprint)``: it is checked before the
    # limiter works out which limits apply, so an exempt request costs a
    # set lookup instead of that resolution.  WHY every view without a
    # limit of its own: there is no default or application-wide limit
    # (default_limits is empty), so for them the limiter only found out,
    # on each request, that nothing applies: about a fiftieth of a staff
    # page's instructions (callgrind, bench/README.md, issue 10).
    if request.blueprint in UNLIMITED_BLUEPRINTS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return True  # no view (a 404): Flask-Limiter found no limit for it either
    limited = _VIEW_LIMITED.get(view)
    if limited is None:
        limited = _VIEW_LIMITED[view] = _has_limit(view)
    return not limited


def _has_limit(view: Callable[..., Any]) -> bool:
    """Whether a rate_limit wrapper is ``view`` or lies under it (``__wrapped__``).

    WHY the whole chain: a decorator above ``@rate_limit`` (a role check)
    registers its own wrapper with Flask, and a filter that looked only at
    that one would exempt the view, silently dropping its limit.
    """
    seen: Any = view
    while seen is not None:
        if seen in _LIMITED:
            return True
        seen = getattr(seen, "__wrapped__", None)
    return False


def _csrf_once() -> dict[str, Callable[[], str]]:
    # Flask-WTF's ``csrf_token()`` template global looks its settings up
    # in the app's configuration and the request context on every call;
    # a staff case page calls it about forty times (one per form).  The
    # token is the same for the whole request (Flask-WTF keeps it in
    # ``g``), so each render asks for it once and repeats the answer.
    token: list[str] = []

    def csrf_token() -> str:
        if not token:
            token.append(generate_csrf())
        return token[0]

    return {"csrf_token": csrf_token}


def init_app(app: Flask) -> None:
    """Initialise CSRF protection, rate limiting and Flask-Login."""
    csrf.init_app(app)
    app.context_processor(_csrf_once)
    for name in _APP_WIDE_LIMITS:
        if app.config.get(name):
            raise RuntimeError(f"{name}: limits on every view are not supported (see _unlimited)")
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flask-Login's own session protection hashes the client address and
    # user agent into the cookie; staff sessions are server-side instead.
    login_manager.session_protection = None
