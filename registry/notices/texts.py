"""The words of a notice, in the person's language, without a request.

WHY babel's catalogues directly rather than Flask-Babel's ``force_locale``
(which the Telegram bot uses): sending is a service that runs from
``registry maintain`` and the CLI, below the web layer, so it imports no
Flask.  It reads the very catalogues the website compiles
(registry/translations), so the msgids below are extracted with the rest
(``N_`` is one of pybabel's default keywords) and translated once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
LANGUAGES = ("be", "ru", "en")
# The site's fallback language (registry.web.i18n.FALLBACK), for a person
# whose notice language was never recorded.
FALLBACK = "be"
# The staff login page (registry.auth.views, blueprint "auth" at /staff).
LOGIN_PATH = "/staff/login"


def N_(message: str) -> str:  # noqa: N802  (pybabel's default keyword for "mark only")
    """Mark ``message`` for extraction; it is translated when a notice is written."""
    return message


SUBJECT = N_("New activity in Sviedka")
BODY = N_("There is new activity for you in Sviedka.")
LOGIN = N_("Log in to see it: %(link)s")


@dataclass(frozen=True)
class NoticeText:
    """The subject and body of one notice."""

    subject: str
    body: str


@cache
def _catalogue(language: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS), [language], domain="messages")


def notice_text(language: str | None, base_url: str) -> NoticeText:
    """The notice in ``language`` (be, ru or en): only that there is activity, and the link."""
    chosen = language if language in LANGUAGES else FALLBACK
    words = _catalogue(chosen).gettext
    link = base_url.rstrip("/") + LOGIN_PATH
    body = f"{words(BODY)}\n\n{words(LOGIN) % {'link': link}}\n"
    return NoticeText(subject=words(SUBJECT), body=body)
