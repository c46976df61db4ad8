"""Languages: Belarusian (fallback), Russian and English.

The switcher is a plain link to ``/lang/<code>?next=…`` that sets a cookie
and redirects, so it works with JavaScript disabled.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import flask_babel
from babel import Locale
from babel.numbers import NumberPattern, parse_pattern
from babel.support import NullTranslations, Translations
from flask import Blueprint, Flask, abort, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import Babel, LazyString, get_locale, get_translations
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


@dataclass(frozen=True, slots=True)
class _Serving:
    """The language a request is served in and its catalogue, looked up once."""

    language: str
    translations: NullTranslations


# Set by the first before-request hook, cleared by the first teardown
# (serve_request_language).  WHY a context variable: Flask-Babel finds the
# request's catalogue again on every call, through four lookups on Flask's
# context proxies (``g``); a staff page makes some seventy such calls (form
# labels, views, the language switcher), about a twentieth of the case
# page's instructions (callgrind, bench/README.md, issue 10).  Outside a
# request (the CLI, the Telegram bot, which uses ``force_locale``) it is
# unset and every function below asks Flask-Babel as before.  Inside a
# request, ``force_locale`` does not change these functions' language:
# nothing uses it there (e-mails in another language take babel's
# catalogues directly, registry.notices.texts).
_SERVING: ContextVar[_Serving | None] = ContextVar("registry.web.i18n.serving", default=None)


def current_language() -> str:
    """The two-letter code of the language this request is served in."""
    serving = _SERVING.get()
    if serving is not None:
        return serving.language
    locale = get_locale()
    return locale.language if locale is not None else FALLBACK


def gettext(message: str, **variables: Any) -> str:
    """``message`` in the request's language, ``%(name)s`` filled from ``variables``.

    Flask-Babel's ``gettext``, with the catalogue read once per request.
    """
    serving = _SERVING.get()
    if serving is None:
        asked: str = flask_babel.gettext(message, **variables)
        return asked
    text = serving.translations.ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The form of ``singular``/``plural`` for ``num`` (also ``%(num)d``), as Flask-Babel's."""
    serving = _SERVING.get()
    if serving is None:
        asked: str = flask_babel.ngettext(singular, plural, num, **variables)
        return asked
    variables.setdefault("num", num)
    return serving.translations.ungettext(singular, plural, num) % variables


def lazy_gettext(message: str, **variables: Any) -> LazyString:
    """:func:`gettext` when used as text, in the language of the request using it."""
    return LazyString(gettext, message, **variables)


# Per language, its locale and decimal pattern (babel's own), parsed once
# per worker: the queue writes some twenty counts per page, and Flask-Babel's
# ``numberformat`` looked up the locale and parsed the pattern for each.
@dataclass(frozen=True, slots=True)
class _Numbers:
    locale: Locale
    pattern: NumberPattern
    # Python's own grouping with this separator writes an integer exactly as
    # the pattern does (checked on samples when kept), or None: ask babel.
    group: str | None


_NUMBERS: dict[str, _Numbers] = {}
_SAMPLES = (0, 7, -7, 999, 1000, -1234, 12345, 123456, -1234567, 10**12 + 5, -(10**15))


def _numbers(lang: str) -> _Numbers:
    locale = Locale.parse(lang)
    pattern = parse_pattern(locale.decimal_formats[None])
    group = locale.number_symbols["latn"]["group"]
    # WHY checked rather than assumed: babel's integer formatting for these
    # three languages is grouping by three with one separator, which Python
    # writes in C; a language or babel version where it is not falls back.
    if any(f"{n:,}".replace(",", group) != pattern.apply(n, locale) for n in _SAMPLES):
        return _Numbers(locale, pattern, None)
    return _Numbers(locale, pattern, group)


def format_number(number: float | int) -> str:
    """``number`` as Flask-Babel's ``numberformat`` writes it in the request's language."""
    lang = current_language()
    kept = _NUMBERS.get(lang)
    if kept is None:
        kept = _NUMBERS[lang] = _numbers(lang)
    if kept.group is not None and type(number) is int:
        return f"{number:,}".replace(",", kept.group)
    written: str = kept.pattern.apply(number, kept.locale)
    return written


def serve_request_language(app: Flask) -> None:
    """Look each request's language up first, and forget it first at its end.

    The app factory calls this last, after every other hook is registered.
    WHY first: every later hook, and the error page it may answer (a 400
    for a NUL byte, a 413), is then in the request's language; and a value
    left by an earlier request on the same thread (a teardown that raised
    before ours ran) is replaced before anything reads it.
    """
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_request)
    # Teardowns run last-registered first: ours before the others.
    app.teardown_request(_end_request)


def _begin_request() -> None:
    locale = get_locale()
    code = str(locale) if locale is not None else FALLBACK
    _SERVING.set(_Serving(locale.language if locale is not None else FALLBACK, get_translations()))
    # WTForms' own messages (see _WTFORMS below).
    found = _WTFORMS.get(code)
    if found is None:
        found = _WTFORMS[code] = Translations.load(messages_path(), [code], domain="wtforms")
    request.wtforms_translations = found  # type: ignore[attr-defined]


def _end_request(_error: BaseException | None) -> None:
    _SERVING.set(None)


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
    # a tenth of a staff page's time).  The template calls read the ones
    # _begin_request looked up.  Same catalogue, same strings, same
    # autoescaping (newstyle gettext).
    app.jinja_env.filters["numberformat"] = format_number
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext,
        ngettext=_ngettext,
        newstyle=True,
        pgettext=_pgettext,
        npgettext=_npgettext,
    )

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {
            "languages": LANGUAGES,
            "language_names": LANGUAGE_NAMES,
            "current_language": current_language(),
        }


def _translations(_context: Context) -> NullTranslations:
    # A template rendered outside a request (an e-mail from the CLI) asks
    # Flask-Babel, as its own template functions would.
    serving = _SERVING.get()
    return serving.translations if serving is not None else get_translations()


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
# as ``request.wtforms_translations``; so _begin_request hands each request
# the kept ones there.  Same catalogue, same texts: if Flask-WTF stops
# looking there, it only goes back to reading the file itself.
_WTFORMS: dict[str, NullTranslations] = {}
