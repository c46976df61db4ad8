"""Languages: be/ru/en catalogs complete, switcher without JavaScript, fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

TRANSLATIONS = Path(__file__).resolve().parents[1] / "registry" / "translations"


@pytest.mark.parametrize("lang", ["be", "ru"])
def test_every_message_is_translated(lang: str) -> None:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open(encoding="utf-8") as handle:
        catalog = read_po(handle)
    with (TRANSLATIONS / "messages.pot").open(encoding="utf-8") as handle:
        template = read_po(handle)
    missing = [m.id for m in template if m.id and (m.id not in catalog or not catalog[m.id].string)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert missing == []
    assert fuzzy == []


def test_belarusian_is_the_fallback(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept-Language": "de, fr"}).get_data(as_text=True)
    assert '<html lang="be">' in html


def test_accept_language_is_respected(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).get_data(as_text=True)
    assert '<html lang="ru">' in html
    html = client.get("/", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Report police abuse safely" in html


def test_switcher_is_a_plain_link_that_sets_a_cookie(client: FlaskClient) -> None:
    html = client.get("/report", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="/lang/be?next=/report' in html
    response = client.get("/lang/be?next=/report")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/report")
    page = client.get("/report", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="be">' in page
    assert "Новае паведамленне" in page or "паведамленне" in page


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil",
        "javascript:x",
        # Browsers and Werkzeug drop tabs and newlines: "/<TAB>/x" arrives as "//x".
        "/\t/evil.example",
        "/\r\n/evil.example",
        "/%2F/evil.example",
    ],
)
def test_switcher_is_not_an_open_redirect(client: FlaskClient, target: str) -> None:
    response = client.get("/lang/ru", query_string={"next": target})
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_unknown_language_is_404(client: FlaskClient) -> None:
    assert client.get("/lang/xx").status_code == 404


def test_choice_labels_follow_the_visitors_language(client: FlaskClient) -> None:
    client.get("/lang/be")
    html = client.get("/report").get_data(as_text=True)
    # Radio and select labels built at import time must still be translated.
    assert "Так, адказамі, якія я чытаю на гэтым сайце з дапамогай квітанцыі" in html
    assert "Не памятаю" in html or "не памятаю" in html.lower()


def test_english_catalog_is_complete() -> None:
    with (TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po").open(encoding="utf-8") as handle:
        catalog = read_po(handle)
    with (TRANSLATIONS / "messages.pot").open(encoding="utf-8") as handle:
        template = read_po(handle)
    assert [
        m.id for m in template if m.id and (m.id not in catalog or not catalog[m.id].string)
    ] == []
