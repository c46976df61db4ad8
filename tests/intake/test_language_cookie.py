"""The language choice lasts only as long as the browser session (issue 13, item 3).

A cookie kept for a year is a trace on a phone that may be checked at a
border: the choice carries no expiry date, so the browser forgets it when
it closes, and "Leave now" deletes it at once.
"""

from __future__ import annotations

from flask import Flask

from registry.web.i18n import COOKIE
from tests.helpers import english_client


def _attributes(set_cookie: str) -> dict[str, str]:
    parts = (part.strip().partition("=") for part in set_cookie.split(";")[1:])
    return {key.lower(): value for key, _eq, value in parts}


def _language_cookies(headers: list[str]) -> list[str]:
    return [value for value in headers if value.startswith(f"{COOKIE}=")]


def test_the_language_choice_has_no_expiry_date(app: Flask) -> None:
    client = english_client(app)
    response = client.get("/lang/ru?next=/report")
    (set_cookie,) = _language_cookies(response.headers.getlist("Set-Cookie"))
    assert set_cookie.startswith(f"{COOKIE}=ru;")
    attributes = _attributes(set_cookie)
    assert "expires" not in attributes
    assert "max-age" not in attributes
    assert {"httponly", "samesite"} <= set(attributes)
    assert '<html lang="ru">' in client.get("/report").get_data(as_text=True)


def test_leave_now_still_deletes_the_language_choice(app: Flask) -> None:
    client = english_client(app)
    client.get("/lang/be")
    assert client.get_cookie(COOKIE) is not None
    response = client.get("/leave")
    (deleted,) = _language_cookies(response.headers.getlist("Set-Cookie"))
    assert _attributes(deleted)["max-age"] == "0"
    assert client.get_cookie(COOKIE) is None
    assert '<html lang="en">' in client.get("/blank").get_data(as_text=True)
