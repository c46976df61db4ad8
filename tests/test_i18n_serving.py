"""The request's catalogue looked up once (registry.web.i18n): same texts as Flask-Babel's.

Every translatable text of the web layer goes through ``registry.web.i18n``
``gettext``/``ngettext``/``lazy_gettext``, which read the catalogue that the
first before-request hook found, instead of asking Flask-Babel again on
each call.  These tests hold that this changes no text: in each language,
for every message of the catalogue, inside a request and outside one.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import flask_babel
import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.web import i18n

POT = Path(__file__).resolve().parents[1] / "registry" / "translations" / "messages.pot"
LANGUAGES = ("be", "ru", "en")


def _messages() -> tuple[list[str], list[tuple[str, str]]]:
    with POT.open(encoding="utf-8") as handle:
        catalog = read_po(handle)
    singles: list[str] = []
    plurals: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if set(re.findall(r"%\((\w+)\)", " ".join(message.id))) <= {"num"}:
                plurals.append((message.id[0], message.id[1]))
        elif isinstance(message.id, str) and "%(" not in message.id:
            singles.append(message.id)
    return singles, plurals


SINGLES, PLURALS = _messages()


def test_the_catalogue_has_messages_of_both_kinds() -> None:
    # Guards the tests below against comparing two empty lists.
    assert len(SINGLES) > 300
    assert len(PLURALS) > 5


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_reads_as_flask_babel_reads_it(sqlite_app: Flask, lang: str) -> None:
    with sqlite_app.test_request_context("/", headers={"Accept-Language": lang}):
        sqlite_app.preprocess_request()
        # The fast path is the one compared (without it, both would be Flask-Babel's).
        assert i18n._SERVING.get() is not None
        ours = [i18n.gettext(m) for m in SINGLES]
        theirs = [flask_babel.gettext(m) for m in SINGLES]
        ours_n = [i18n.ngettext(s, p, n) for s, p in PLURALS for n in (1, 2, 5, 21)]
        theirs_n = [flask_babel.ngettext(s, p, n) for s, p in PLURALS for n in (1, 2, 5, 21)]
        lazy = [str(i18n.lazy_gettext(m)) for m in SINGLES[:50]]
        language = i18n.current_language()
    assert language == lang
    assert ours == theirs
    assert ours_n == theirs_n
    assert lazy == ours[:50]
    if lang != "en":
        # The comparison above is between translations, not two copies of English.
        assert sum(a != b for a, b in zip(ours, SINGLES, strict=True)) > 300


def test_variables_are_filled_in_as_flask_babel_fills_them(sqlite_app: Flask) -> None:
    message = "Written by %(who)s on %(day)s."
    with sqlite_app.test_request_context("/", headers={"Accept-Language": "ru"}):
        sqlite_app.preprocess_request()
        ours = i18n.gettext(message, who="<b>", day="1 May")
        theirs = flask_babel.gettext(message, who="<b>", day="1 May")
    assert ours == theirs
    assert "<b>" in ours
    assert "1 May" in ours
    assert "Written" not in ours


def test_a_lazy_text_follows_each_request_and_nothing_stays_behind(sqlite_app: Flask) -> None:
    label = i18n.lazy_gettext("Reply")  # made once, like a form's label
    seen = []
    for lang in ("ru", "en", "be"):
        with sqlite_app.test_request_context("/", headers={"Accept-Language": lang}):
            sqlite_app.preprocess_request()
            seen.append(str(label))
    client = sqlite_app.test_client()
    # Whole requests in Russian: a page, a page that is not there, and a
    # staff page that a later hook turns away (to the login page).
    assert client.get("/", headers={"Accept-Language": "ru"}).status_code == 200
    assert client.get("/no-such-page", headers={"Accept-Language": "ru"}).status_code == 404
    assert client.get("/review/", headers={"Accept-Language": "ru"}).status_code == 303
    with sqlite_app.app_context():
        expected = []
        for lang in ("ru", "en", "be"):
            with force_locale(lang):
                expected.append(flask_babel.gettext("Reply"))
        # Outside any request, a text follows force_locale, as the Telegram
        # bot's do: nothing of the Russian requests stayed behind.
        with force_locale("en"):
            after = (str(label), i18n.gettext("Reply"), i18n.current_language())
    assert seen == expected
    assert len(set(seen)) == 3
    assert after == ("Reply", "Reply", "en")


def test_the_language_is_looked_up_first_and_forgotten_first(sqlite_app: Flask) -> None:
    assert sqlite_app.before_request_funcs[None][0] is i18n._begin_request
    assert sqlite_app.teardown_request_funcs[None][-1] is i18n._end_request


def test_a_failed_teardown_leaves_no_language_to_the_next_request(sqlite_app: Flask) -> None:
    """The next request's earliest error page (a NUL in the path) is in its own language."""
    failing = [True]

    @sqlite_app.teardown_request
    def fails(_error: BaseException | None) -> None:  # runs before i18n's, and stops it
        if failing:
            failing.clear()
            raise RuntimeError("a teardown failed")

    client = sqlite_app.test_client()
    with pytest.raises(RuntimeError):
        client.get("/", headers={"Accept-Language": "ru"})
    assert i18n._SERVING.get() is not None  # left behind by the failed request
    refused = client.get("/%00", headers={"Accept-Language": "en"})
    assert refused.status_code == 400
    assert '<html lang="en">' in refused.get_data(as_text=True)


NUMBERS = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=3),
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
)


@pytest.mark.parametrize("lang", LANGUAGES)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(numbers=st.lists(NUMBERS, min_size=1, max_size=20))
def test_numbers_are_written_as_flask_babel_writes_them(
    sqlite_app: Flask, lang: str, numbers: list[int | Decimal | float]
) -> None:
    ours = sqlite_app.jinja_env.filters["numberformat"]
    with sqlite_app.test_request_context("/", headers={"Accept-Language": lang}):
        sqlite_app.preprocess_request()
        assert [ours(n) for n in numbers] == [flask_babel.format_number(n) for n in numbers]


def test_the_queue_writes_counts_with_the_languages_grouping(sqlite_app: Flask) -> None:
    ours = sqlite_app.jinja_env.filters["numberformat"]
    written = {}
    for lang in LANGUAGES:
        with sqlite_app.test_request_context("/", headers={"Accept-Language": lang}):
            sqlite_app.preprocess_request()
            written[lang] = ours(1234567)
    assert written == {"be": "1\xa0234\xa0567", "ru": "1\xa0234\xa0567", "en": "1,234,567"}
