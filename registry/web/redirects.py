"""Where the app may send a browser back to: same-site paths only.

Every redirect target that comes from a request (today the language
switcher's ``next``) goes through :func:`safe_next`.  Anything that is not
plainly a path on this site becomes the view's default, so no link to this
registry can forward a submitter or a reviewer to a phishing page.

WHY normalise before checking: a browser does not read a ``Location`` the
way a naive string test does.  Per the WHATWG URL standard it first removes
leading and trailing C0 controls and spaces and every tab, CR and LF
anywhere, and it reads a backslash as a slash in http(s) URLs; Werkzeug's
``iri_to_uri`` drops the same characters.  So ``/<TAB>/evil.example``
passes a test for ``//`` and still reaches the browser as ``//evil.example``.
The check therefore runs on what the browser will see, and on its
percent-decoded and NFKC-folded form too (``/%2F…``, ``/%5C…``, a fullwidth
solidus), in case anything on the way decodes it once more.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, unquote

# Longer than any address this app makes; longer input is refused outright
# rather than walked character by character.
MAX_LENGTH = 2048
# Rounds of percent-decoding looked through; a target still changing after
# this many (``%25252F…``) is no address a person or this app made.
_DECODE_ROUNDS = 4
# WHATWG URL parsing: leading/trailing "C0 control or space" are stripped,
# and "ASCII tab or newline" are removed wherever they are.
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
# Control, format (bidi marks, zero-width), surrogate, line and paragraph
# separator characters: none belongs in an address this app links to.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# What may stay unescaped in the returned path, query and fragment; "%"
# keeps existing escapes as they are.  Everything else (spaces, non-ASCII)
# is percent-encoded, so the header value is plain ASCII.
_SAFE = "/?#&=%:@!$'()*+,;~"
_PATH_END = re.compile(r"[?#]")


def _as_browser_reads(target: str) -> str:
    """``target`` with what browsers strip removed and backslashes as slashes."""
    return target.strip(_C0_AND_SPACE).translate(_TAB_OR_NEWLINE).replace("\\", "/")


def _fully_decoded(text: str) -> str | None:
    """``text`` percent-decoded until it no longer changes; None if it never settles."""
    for _round in range(_DECODE_ROUNDS):
        decoded = unquote(text)
        if decoded == text:
            return text
        text = decoded
    return None


def _refused_character(text: str) -> bool:
    return any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in text)


def _is_local_path(path: str) -> bool:
    # One slash and then anything but a slash: "//host" is scheme-relative,
    # and "scheme:" or "host" (no leading slash) leave the site or are
    # relative to a page we cannot know.
    return path.startswith("/") and not path.startswith("//")


def safe_next(target: object, default: str = "/") -> str:
    """A same-site path to redirect to: ``target`` if it is one, else ``default``.

    Accepted: a path on this site with optional query and fragment, such as
    ``/report?x=1``.  Refused (``default``): anything absolute or
    scheme-relative (``https://…``, ``//host``, ``javascript:…``), anything
    that becomes one once tabs, newlines and edge controls are removed,
    backslashes read as slashes, percent-escapes decoded or Unicode folded
    (NFKC), and any control or invisible formatting character.  The result
    is ASCII (other characters percent-encoded), so it is always a valid
    header value.  ``default`` must itself be a same-site path.
    """
    if not isinstance(target, str) or not target or len(target) > MAX_LENGTH:
        return default
    seen = _as_browser_reads(target)
    if _refused_character(seen) or not _is_local_path(seen):
        return default
    path = _PATH_END.split(seen, maxsplit=1)[0]
    decoded = _fully_decoded(path)
    if decoded is None or _refused_character(decoded):
        return default
    folded = _as_browser_reads(unicodedata.normalize("NFKC", decoded))
    if not _is_local_path(folded):
        return default
    return quote(seen, safe=_SAFE)
