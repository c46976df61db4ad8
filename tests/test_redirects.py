"""Redirect targets from a request lead only to this site (registry.web.redirects).

The property tests resolve every ``Location`` the way a browser does (the
WHATWG URL standard: tabs and newlines removed, edge controls and spaces
stripped, a backslash read as a slash) against http://localhost/ and
demand that the host stays ``localhost``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from config import TestingConfig
from registry import create_app, db
from registry.web.redirects import safe_next
from tests.fuzz.strategies import IN_CI

BASE = "http://localhost/"
C0_AND_SPACE = "".join(chr(code) for code in range(0x21))
TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")

# Pieces that have fooled redirect checks somewhere, mixed with random text.
TRICKS = [
    "/", "//", "\\", "/\\", "\\/", "\t", "\r", "\n", "\r\n", "\x00", "\x0b", "\x1f", " ",
    "\x7f", "\x85", "\xa0", "\u2028", "\u200b", "\u200e", "\u202e", "\ufeff", "\u3000",
    "%2f", "%2F", "%5c", "%5C", "%09", "%0a", "%0d%0a", "%00", "%20", "%25", "%252f", "%25252F",
    "http:", "https://", "HTTP://", "ftp:", "javascript:", "JaVaScRiPt:", "java\tscript:",
    "data:", "vbscript:", "mailto:", "evil.example", "localhost", "127.0.0.1", "[::1]",
    "@", "user:pass@", ":", ":80", "?", "#", "&", "=", "..", ".", "./", "../",
    "／", "＼", "﹨", "∕", "⁄", "。", "．", "ｅｖｉｌ", "é", "%E2%80%AE", "%EF%BC%8F",
]  # fmt: skip
URLS = st.lists(
    st.one_of(st.sampled_from(TRICKS), st.text(max_size=6)), min_size=0, max_size=10
).map("".join)
# Paths this app itself links to: letters, digits and the usual URL punctuation.
OWN_PATHS = st.from_regex(
    r"/[A-Za-z0-9_.~-][A-Za-z0-9/_.~-]{0,40}(\?[A-Za-z0-9=&_.-]{0,30})?", fullmatch=True
)


def browser_resolves(location: str) -> SplitResult:
    """Where a browser goes for ``location`` when on http://localhost/."""
    seen = location.strip(C0_AND_SPACE).translate(TAB_OR_NEWLINE).replace("\\", "/")
    return urlsplit(urljoin(BASE, seen))


def assert_stays_here(location: str) -> None:
    """``location`` is plain ASCII and leads to this site, over plain HTTP."""
    assert location.isascii()
    assert not any(ord(char) < 0x21 or ord(char) == 0x7F for char in location)
    resolved = browser_resolves(location)
    assert resolved.scheme == "http"
    assert resolved.hostname == "localhost"
    assert resolved.port is None
    assert resolved.username is None


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "report",
        "https://evil.example/",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\r\n/evil.example",
        " //evil.example",
        "\x01//evil.example",
        "/%2F/evil.example",
        "/%5C/evil.example",
        "/%252F/evil.example",
        "/／evil.example",
        "javascript:alert(1)",
        "java\tscript:alert(1)",
        "//user@evil.example/",
        "/\u202e/x",
        "/\u200b/x",
        "/%00",
        "/" + "a" * 5000,
    ],
)
def test_foreign_or_odd_targets_become_the_default(target: str | None) -> None:
    assert safe_next(target) == "/"
    assert safe_next(target, default="/report") == "/report"


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/report", "/report"),
        ("/report?", "/report?"),
        ("/review/?q=a%20b&status=new", "/review/?q=a%20b&status=new"),
        ("/followup/case#messages", "/followup/case#messages"),
        # What a browser would send anyway: the space and the letter encoded.
        ("/review/?q=a b", "/review/?q=a%20b"),
        ("/case/é", "/case/%C3%A9"),
        # A path that merely contains "@" or ":" stays on this site.
        ("/@evil.example", "/@evil.example"),
        ("/javascript:x", "/javascript:x"),
    ],
)
def test_own_paths_are_kept(target: str, kept: str) -> None:
    assert safe_next(target) == kept


@settings(max_examples=600, deadline=None, derandomize=IN_CI)
@given(target=URLS)
@example(target="/\t/evil.example")
@example(target="/\r\n/evil.example")
@example(target="\x00/\\evil.example")
def test_any_target_resolves_to_this_site(target: str) -> None:
    assert_stays_here(safe_next(target))


@settings(max_examples=150, deadline=None, derandomize=IN_CI)
@given(target=OWN_PATHS)
def test_the_apps_own_paths_survive(target: str) -> None:
    assert unquote(safe_next(target)) == target


@pytest.fixture(scope="module")
def lang_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app for the language switcher, which reads no database."""
    root: Path = tmp_path_factory.mktemp("redirects")
    url = f"sqlite:///{root / 'unused.sqlite3'}"
    app = create_app(TestingConfig.for_paths(root / "instance", root / "keys", url))
    yield app
    with app.app_context():
        db.engine().dispose()


@pytest.fixture(scope="module")
def lang_client(lang_app: Flask) -> FlaskClient:
    """A client of :func:`lang_app`."""
    return lang_app.test_client()


@settings(max_examples=300, deadline=None, derandomize=IN_CI)
@given(target=URLS, code=st.sampled_from(["be", "ru", "en"]))
@example(target="/\t/evil.example", code="be")
@example(target="/\r\n/evil.example", code="be")
@example(target="/%0d%0a/evil.example", code="ru")
def test_the_switcher_never_leaves_the_site(
    lang_client: FlaskClient, target: str, code: str
) -> None:
    # Exceptions propagate in testing: a 500 fails here with its traceback.
    response = lang_client.get(f"/lang/{code}", query_string={"next": target})
    if "\x00" in target:  # refused for every address (registry.web.security)
        assert response.status_code == 400
        return
    assert response.status_code == 303
    assert_stays_here(response.headers["Location"])


def test_switcher_keeps_a_search_page(lang_client: FlaskClient) -> None:
    response = lang_client.get("/lang/en", query_string={"next": "/review/?q=a b&page=2"})
    assert response.headers["Location"] == "/review/?q=a%20b&page=2"


def test_onion_location_encodes_line_breaks_in_the_path(tmp_path: Path) -> None:
    """Found with the redirect work: a decoded "%0d%0a" in the path made a 500."""
    url = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    cfg = TestingConfig.for_paths(tmp_path / "i", tmp_path / "k", url).with_overrides(
        onion_address="abcdefexample.onion"
    )
    app = create_app(cfg)
    response = app.test_client().get("/lang/be/%0d%0aSet-Cookie:%20x=1?next=%0d%0a")
    assert response.status_code == 404
    assert response.headers["Onion-Location"] == (
        "http://abcdefexample.onion/lang/be/%0D%0ASet-Cookie:%20x=1?next=%0d%0a"
    )
    with app.app_context():
        db.engine().dispose()
