""" "Leave now" forgets every cookie the site set, whoever the visitor was."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from tests.helpers import StaffActions, english_client, post_form, submit_report


def _record_cookies(app: Flask) -> set[tuple[str, str]]:
    """Note the (name, path) of every cookie any response of ``app`` sets.

    Around the WSGI app, so Flask's own session cookie (saved after every
    ``after_request`` hook) is seen too.
    """
    seen: set[tuple[str, str]] = set()
    inner = app.wsgi_app

    def recording(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            for key, value in headers:
                if key.lower() == "set-cookie":
                    name = value.split("=", 1)[0]
                    parts = (part.strip().partition("=") for part in value.split(";")[1:])
                    attributes = {k.lower(): v for k, _eq, v in parts}
                    if attributes.get("max-age") != "0":  # set, not deleted
                        seen.add((name, attributes.get("path", "/")))
            return start_response(status, headers, *args)

        return inner(environ, start)

    app.wsgi_app = recording
    return seen


def test_leave_now_forgets_every_cookie(app: Flask, staff: StaffActions) -> None:
    seen = _record_cookies(app)
    client = english_client(app)
    client.get("/lang/ru")
    post_form(client, "/followup/", {"receipt": submit_report(client)})
    staff.login(client, staff.create("leaver@example.org"))
    assert client.get("/review/").status_code == 200
    # The journey set each kind of cookie the site has.
    assert {name for name, _path in seen} >= {"lang", "sv", "sv_followup", "sv_staff"}

    response = client.get("/leave")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/blank")
    # Quoted strings, as the specification requires (browsers ignore bare words).
    directives = {part.strip() for part in response.headers["Clear-Site-Data"].split(",")}
    assert directives == {'"cookies"', '"storage"', '"cache"'}
    for name, path in seen:
        assert client.get_cookie(name, path=path) is None, f"{name} ({path}) survived"
    # The visit is over: no follow-up session, no staff session, no language.
    assert client.get("/followup/case").status_code == 303
    assert client.get("/review/").headers["Location"].endswith("/staff/login")
    assert '<html lang="en">' in client.get("/blank").get_data(as_text=True)
