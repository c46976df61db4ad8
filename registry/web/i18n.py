"""Languages: Belarusian (fallback), Russian and English.

The switcher is a plain link to ``/lang/<code>?next=…`` that sets a cookie
and redirects, so it works with JavaScript disabled.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale

from config import ROOT
from registry.web.redirects import safe_next

LANGUAGES: tuple[str, ...] = ("be", "ru", "en")
LANGUAGE_NAMES = {"be": "Беларуская", "ru": "Русский", "en": "English"}
FALLBACK = "be"
COOKIE = "lang"

bp = Blueprint("lang", __name__)


def select_locale() -> str:
    """Cookie choice first, then Accept-Language, then Belarusian."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or FALLBACK


def current_language() -> str:
    """The two-letter code of the language this request is served in."""
    locale = get_locale()
    return locale.language if locale is not None else FALLBACK


@bp.get("/lang/<code>")
def set_language(code: str) -> ResponseReturnValue:
    """Remember the chosen language and go back."""
    if code not in LANGUAGES:
        abort(404)
    # Only same-site paths: the switcher must not be an open redirect.
    response = redirect(safe_next(request.args.get("next")), code=303)
    response.set_cookie(
        COOKIE,
        code,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )
    return response


def init_app(app: Flask) -> None:
    """Configure Flask-Babel and expose language helpers to templates."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "registry" / "translations")
    app.config["BABEL_DEFAULT_LOCALE"] = FALLBACK
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {
            "languages": LANGUAGES,
            "language_names": LANGUAGE_NAMES,
            "current_language": current_language(),
        }
