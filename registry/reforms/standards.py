"""The international standards a proposal cites, in the reader's language.

The catalogue keeps each citation in one short English form, such as
``UNCAT art. 12`` or ``Nelson Mandela Rules r. 24`` (data/README.md): that
form is the code, stored and compared as it is.  For display,
``data/standards.json`` gives each instrument's name in Belarusian and
Russian and the words for its parts (article, rule, principle, chapter);
English shows the citation as written.  A citation whose instrument is not
listed shows as written, in every language.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "standards.json"
# What follows the instrument: a part ("art. 14(3)(g)", "ch. III") or nothing.
_PART = re.compile(r"(?P<unit>[a-z]+\.) (?P<number>\S+)")


@cache
def _data() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data["instruments"], data["units"]


def standard_title(citation: str, lang: str) -> str:
    """``citation`` (the catalogue's English form) written out in ``lang``."""
    if lang == "en":
        return citation
    instruments, units = _data()
    # The longest listed name the citation starts with: "UNCAT" must not
    # take "UN Code of Conduct …", nor a shorter name a longer one.
    names = [name for name in instruments if citation.startswith(name)]
    if not names:
        return citation
    name = max(names, key=len)
    title = instruments[name].get(lang, name)
    rest = citation[len(name) :].strip()
    if not rest:
        return title
    part = _PART.fullmatch(rest)
    if part is None or part["unit"] not in units:
        return f"{title}, {rest}"
    return f"{title}, {units[part['unit']].get(lang, part['unit'])} {part['number']}"
