"""Languages: Belarusian (fallback), Russian and English.

The switcher is a plain link to ``/lang/<code>?next=…`` that sets a cookie
and redirects, so it works with JavaScript disabled.
"""

from __future__ import annotations

from typing import Any

from babel.support import NullTranslations, Translations
from flask import Blueprint, Flask, abort, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale, get_translations
from jinja2.runtime import Context
from jinja2.utils import pass_context
from wtforms.i18n import messages_path

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
    # WHY no max_age or expires: a cookie kept for a year is a trace on a
    # phone that may be checked at a border.  This one lives only until the
    # browser closes (Tor Browser forgets it then), and "Leave now" deletes
    # it at once (intake.leave).
    response.set_cookie(
        COOKIE,
        code,
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
    # Flask-Babel's template ``_()`` asks for the request's translations
    # afresh on every call (locale selector, domain, context lookups: about
    # a tenth of a staff page's time).  Each render looks them up once, in a
    # context processor, and the template calls read them from the context.
    # Same catalogue, same strings, same autoescaping (newstyle gettext).
    app.context_processor(_render_translations)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext,
        ngettext=_ngettext,
        newstyle=True,
        pgettext=_pgettext,
        npgettext=_npgettext,
    )

    app.before_request(_wtforms_translations)

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {
            "languages": LANGUAGES,
            "language_names": LANGUAGE_NAMES,
            "current_language": current_language(),
        }


_CONTEXT_KEY = "_babel_translations"


def _render_translations() -> dict[str, Any]:
    return {_CONTEXT_KEY: get_translations()}


def _translations(context: Context) -> NullTranslations:
    # A macro imported without context sees only the globals: it looks the
    # translations up itself, as Flask-Babel would.
    found: NullTranslations | None = context.get(_CONTEXT_KEY)
    return found if found is not None else get_translations()


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _translations(context).ugettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _translations(context).ungettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, where: str, message: str) -> str:
    return _translations(context).upgettext(where, message)


@pass_context
def _npgettext(context: Context, where: str, singular: str, plural: str, n: int) -> str:
    return _translations(context).unpgettext(where, singular, plural, n)


# WTForms' own messages (its built-in validators), per language, read once
# per worker.  Flask-WTF reads them from disk again on every request that
# draws a form (``flask_wtf.i18n``), unless the request already holds them
# as ``request.wtforms_translations``; so each request is handed the kept
# ones there.  Same catalogue, same texts: if Flask-WTF stops looking there,
# it only goes back to reading the file itself.
_WTFORMS: dict[str, NullTranslations] = {}


def _wtforms_translations() -> None:
    locale = get_locale()
    code = str(locale) if locale is not None else FALLBACK
    found = _WTFORMS.get(code)
    if found is None:
        found = _WTFORMS[code] = Translations.load(messages_path(), [code], domain="wtforms")
    request.wtforms_translations = found  # type: ignore[attr-defined]
