"""Bad input on the public form: a clear 4xx, nothing stored, nothing lost."""

from __future__ import annotations

import re
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from config import TestingConfig
from registry import create_app, db
from registry.models import Report, SealedField
from tests.helpers import csrf_token, english_client, post_form

BASE = {"narrative": "They beat us", "region": "brest"}


def _reports(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Report)) or 0


def _form(client: FlaskClient) -> dict[str, str]:
    page = client.get("/report").get_data(as_text=True)
    receipt = re.search(r'name="draft_receipt" type="hidden" value="([^"]+)"', page)
    assert receipt
    return {"csrf_token": csrf_token(page), "draft_receipt": receipt.group(1), **BASE}


def test_honeypot_is_refused_with_the_form_kept(app: Flask, client: FlaskClient) -> None:
    response = post_form(client, "/report", {**BASE, "website": "http://spam.example"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Please leave this field empty." in html
    assert "They beat us" in html
    assert _reports(app) == 0


def test_double_submit_stores_once_and_shows_the_same_receipt(
    app: Flask, client: FlaskClient
) -> None:
    data = _form(client)
    first = client.post("/report", data=data).get_data(as_text=True)
    second = client.post("/report", data=data).get_data(as_text=True)
    receipt = re.search(r'<p class="receipt" id="receipt"><code>([A-Z0-9-]+)</code>', first)
    assert receipt
    assert receipt.group(1) in second
    assert "sent more than once" in second
    assert _reports(app) == 1


def test_concurrent_duplicate_submits_store_once(app: Flask) -> None:
    client = english_client(app)
    data = _form(client)
    results: list[int] = []

    cookie = client.get_cookie("sv")
    assert cookie is not None

    def send() -> None:
        sender = english_client(app)
        sender.set_cookie("sv", cookie.value)
        results.append(sender.post("/report", data=data).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [200] * 4
    assert _reports(app) == 1


def test_invalid_utf8_is_refused_not_mangled(app: Flask, client: FlaskClient) -> None:
    data = _form(client)
    body = (
        "&".join(f"{k}={v}" for k, v in data.items() if k != "narrative")
        + "&narrative=abc%FF%FEdef"
    )
    response = client.post("/report", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "could not be read" in response.get_data(as_text=True)
    assert _reports(app) == 0


def test_very_long_narrative_is_refused_with_message(app: Flask, client: FlaskClient) -> None:
    response = post_form(client, "/report", {**BASE, "narrative": "я" * 50_001})
    assert "error-summary" in response.get_data(as_text=True)
    assert _reports(app) == 0


def test_oversized_body_gets_413_in_the_persons_language(app: Flask, client: FlaskClient) -> None:
    client.get("/lang/ru")
    data = _form(client)
    data["narrative"] = "x" * (2 * 1024 * 1024)
    response = client.post("/report", data=data)
    assert response.status_code == 413
    assert '<html lang="ru">' in response.get_data(as_text=True)
    assert _reports(app) == 0


def test_csrf_token_of_another_session_is_refused(app: Flask, client: FlaskClient) -> None:
    data = _form(client)
    other = english_client(app)
    other.get("/report")
    response = other.post("/report", data=data)
    assert response.status_code == 400
    assert "Nothing was stored" in response.get_data(as_text=True)
    assert _reports(app) == 0


def test_truncated_multipart_body_is_a_400(app: Flask, client: FlaskClient) -> None:
    data = _form(client)
    boundary = "XyZ"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in data.items()
    )
    body = parts + f'--{boundary}\r\nContent-Disposition: form-data; name="narrative"\r\n\r\nhal'
    response = client.post(
        "/report", data=body.encode(), content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert 400 <= response.status_code < 500
    assert _reports(app) == 0
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(SealedField)) == 0


@pytest.mark.parametrize("path", ["/", "/report?x=1"])
def test_onion_location_when_configured(database_url: str, tmp_path: object, path: str) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    cfg = TestingConfig.for_paths(root / "i", root / "k", database_url).with_overrides(
        onion_address="sviedkaexampleonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion"
    )
    onion_app = create_app(cfg)
    response = onion_app.test_client().get(path)
    assert response.headers["Onion-Location"] == (
        f"http://sviedkaexampleonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion{path}"
    )
    with onion_app.app_context():
        db.engine().dispose()


def test_no_onion_location_by_default(client: FlaskClient) -> None:
    assert "Onion-Location" not in client.get("/").headers
