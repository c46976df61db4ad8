"""Month names in the reader's language, from Babel's locale data (CLDR).

WHY not a list of msgids: CLDR's translators keep the nominative
("stand-alone") forms that a month picker needs in every language, and a
hand list drifted (be "Май" for "Травень").
"""

from __future__ import annotations

from functools import cache

from babel.dates import get_month_names

# Where a native reading of the form asked for another word than CLDR's.
# Belarusian May: CLDR has "май", the word Belarusian shares with Russian;
# "травень" is the Belarusian one, and the only month on which the two
# differ (the other eleven are the same words in both).
CORRECTIONS: dict[str, dict[int, str]] = {"be": {5: "травень"}}


@cache
def month_names(lang: str) -> tuple[str, ...]:
    """The twelve month names in ``lang``, January first, capitalised for a list."""
    names = dict(get_month_names("wide", context="stand-alone", locale=lang))
    names.update(CORRECTIONS.get(lang, {}))
    return tuple(names[number].capitalize() for number in range(1, 13))
