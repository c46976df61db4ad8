"""Promise 4 and the security baseline: headers on every page."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from config import Config
from registry import create_app, db
from tests.helpers import StaffActions

PUBLIC_PAGES = ["/", "/report", "/staff/login", "/nonexistent"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_security_headers_on_public_pages(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "script-src 'none'" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "geolocation=()" in response.headers["Permissions-Policy"]
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Server" not in response.headers


def test_case_pages_are_not_cached(client: FlaskClient, staff: StaffActions) -> None:
    reviewer = staff.create("cache@example.org")
    staff.login(client, reviewer)
    assert client.get("/review/").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/", "/report", "/staff/login"])
def test_pages_load_nothing_from_another_host(client: FlaskClient, path: str) -> None:
    html = client.get(path).get_data(as_text=True)
    for marker in ("http://", "https://", "//"):
        for attr in ("src=", "href=", "action="):
            assert f'{attr}"{marker}' not in html
    assert "<script" not in html
    assert "style=" not in html


def test_csrf_cookie_is_httponly_and_strict(client: FlaskClient) -> None:
    client.get("/report")
    cookie = client.get_cookie("sv")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Strict"


def test_staff_session_cookie_flags(client: FlaskClient, staff: StaffActions) -> None:
    reviewer = staff.create("flags@example.org")
    staff.login(client, reviewer)
    cookie = client.get_cookie("sv_staff")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Strict"


def test_no_hsts_by_default(client: FlaskClient) -> None:
    # The embedded default serves plain HTTP (and onion services need no
    # HTTPS): HSTS there would only lock visitors out once a name gets TLS.
    for path in ("/", "/report", "/static/site.css"):
        response = client.get(path)
        response.close()
        assert "Strict-Transport-Security" not in response.headers


def test_hsts_when_configured(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_HSTS_SECONDS", "31536000")
    assert Config.from_env().hsts_seconds == 31536000
    cfg = app.extensions["registry.config"].with_overrides(
        hsts_seconds=31536000, keys_dir=tmp_path / "hsts-keys"
    )
    served = create_app(cfg)
    client = served.test_client()
    for path in ("/", "/staff/login", "/nonexistent", "/static/site.css"):
        response = client.get(path, base_url="https://localhost")
        response.close()
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000", path
    with served.app_context():
        db.engine().dispose()
