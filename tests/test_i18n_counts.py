"""Month names and counted nouns come from Babel, never from hand lists (issue 13, item 13).

Belarusian and Russian have three plural forms (1 / 2-4 / 5+, with
exceptions for 11-14): "%(count)s files" written once reads wrong for most
numbers.  Every message that counts something is a plural entry
(``ngettext``), and month names come from Babel's locale data, which the
translators of CLDR keep, instead of a list of msgids.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.dates import get_month_names
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
# Placeholders that hold a count of things (a number that a noun follows).
COUNTS = {"num", "count", "hours", "k", "total", "n"}
# Words that may follow a count without being a counted noun.
NOT_NOUNS = {"of", "is", "or", "each", "that", "and", "more"}
COUNTED = re.compile(r"%\((\w+)\)[ds] (\w+)")
MONTHS = {
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
}


def _catalogue(tmp_path: Path) -> list[object]:
    """Today's messages, extracted afresh from the code and templates."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open(encoding="utf-8") as handle:
        return list(read_po(handle))


def test_no_month_name_is_a_message(tmp_path: Path) -> None:
    singles = {m.id for m in _catalogue(tmp_path) if isinstance(m.id, str)}  # type: ignore[attr-defined]
    assert not singles & MONTHS, "month names come from babel.dates.get_month_names"


def test_every_counted_noun_is_a_plural_entry(tmp_path: Path) -> None:
    wrong = []
    for message in _catalogue(tmp_path):
        text = message.id  # type: ignore[attr-defined]
        if not isinstance(text, str):
            continue  # a plural entry: (singular, plural)
        for name, word in COUNTED.findall(text):
            if name in COUNTS and word.lower() not in NOT_NOUNS:
                wrong.append(text)
    assert not wrong, "use ngettext for: " + " | ".join(wrong)


def test_month_names_are_babels_with_the_belarusian_may(client: FlaskClient) -> None:
    expected = {
        "be": [name.capitalize() for name in _babel_months("be")],
        "ru": [name.capitalize() for name in _babel_months("ru")],
        "en": _babel_months("en"),
    }
    expected["be"][4] = "Травень"  # CORRECTIONS in registry/taxonomy/months.py
    for lang, names in expected.items():
        client.set_cookie("lang", lang)
        page = client.get("/report").get_data(as_text=True)
        shown = re.findall(r'<option value="(\d\d)">([^<]+)</option>', page)
        assert [name for value, name in shown if value.isdigit()] == names, lang


def _babel_months(lang: str) -> list[str]:
    names = get_month_names("wide", context="stand-alone", locale=lang)
    return [names[number] for number in range(1, 13)]
