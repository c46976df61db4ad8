"""Cleaning photos through the forms: reduced to the bound, the request's budget, the slots.

A refusal of either kind keeps what the person typed and stores nothing;
the budget's refusal explains itself in the person's language.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from config import TestingConfig
from registry import create_app, db
from registry.models import Attachment, Report
from tests.attachments.test_scrub import _exif, _png_header
from tests.helpers import StaffActions, english_client, post_form, submit_report


def _photo(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    picture = Image.linear_gradient("L").resize(size).convert("RGB")
    picture.save(buffer, "JPEG", exif=_exif(), quality=80)
    return buffer.getvalue()


def _files(*items: tuple[bytes, str]) -> list[tuple[io.BytesIO, str]]:
    return [(io.BytesIO(data), name) for data, name in items]


def _stored(app: Flask) -> tuple[int, int, list[Path]]:
    with app.app_context():
        session = db.session()
        reports = session.scalar(select(func.count()).select_from(Report)) or 0
        files = session.scalar(select(func.count()).select_from(Attachment)) or 0
    storage = Path(app.extensions["registry.config"].storage_dir)
    return reports, files, [p for p in storage.rglob("*") if p.is_file()]


def _report(client: FlaskClient, narrative: str, *files: tuple[bytes, str]) -> tuple[int, str]:
    response = post_form(
        client,
        "/report",
        {
            "narrative": narrative,
            "region": "brest",
            "violations": ["torture"],
            "remove_metadata": "y",
            "files": _files(*files),
        },
    )
    return response.status_code, response.get_data(as_text=True)


@pytest.fixture
def configured(app: Flask) -> Iterator[Callable[..., Flask]]:
    """Apps like ``app`` (same database, keys and storage) with some settings changed."""
    made: list[Flask] = []

    def make(**changes: object) -> Flask:
        cfg: TestingConfig = app.extensions["registry.config"]
        made.append(create_app(cfg.with_overrides(**changes)))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine().dispose()


def test_a_large_photo_is_stored_reduced_and_clean(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("bounds@example.org")
    submit_report(client, remove_metadata="y", files=_files((_photo((4200, 3200)), "big.jpg")))
    with app.app_context():
        public_id = db.session().scalars(select(Report)).one().public_id
    staff_client = english_client(app)
    staff.login(staff_client, reviewer)
    page = staff_client.get(f"/review/case/{public_id}").get_data(as_text=True)
    (link,) = re.findall(rf'href="(/review/case/{public_id}/files/[A-Z0-9]+)">big.jpg<', page)
    response = staff_client.get(link)
    cleaned = response.get_data()
    response.close()
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.size == (2100, 1600)
        assert image.getexif().get_ifd(0x8825) == {}
    assert b"Samsung" not in cleaned


def test_the_request_budget_refuses_and_keeps_the_text(configured: Callable[..., Flask]) -> None:
    app = configured(image_clean_budget_ms=30)
    client = english_client(app)
    status, html = _report(
        client, "my words stay", (_photo(), "first.jpg"), (_photo(), "second.jpg")
    )
    assert status == 422
    assert "too large together" in html
    assert "“second.jpg” did not fit" in html
    assert "my words stay" in html
    assert "please choose the files again" in html
    assert _stored(app) == (0, 0, [])


@pytest.mark.parametrize(
    ("lang", "words"),
    [("be", "занадта вялікія, каб выдаліць"), ("ru", "слишком большие, чтобы удалить")],
)
def test_the_budget_refusal_speaks_the_persons_language(
    configured: Callable[..., Flask], lang: str, words: str
) -> None:
    app = configured(image_clean_budget_ms=30)
    client = app.test_client()
    client.get(f"/lang/{lang}")
    status, html = _report(client, "Тэкст", (_photo(), "a.jpg"), (_photo(), "b.jpg"))
    assert status == 422
    assert words in html
    assert "too large together" not in html


def test_one_photo_within_the_budget_is_taken(configured: Callable[..., Flask]) -> None:
    app = configured(image_clean_budget_ms=30)
    status, html = _report(english_client(app), "x", (_photo(), "only.jpg"))
    assert status == 200, html[:2000]
    reports, files, _ = _stored(app)
    assert (reports, files) == (1, 1)


def test_a_picture_too_large_on_its_own_is_explained(app: Flask, client: FlaskClient) -> None:
    status, html = _report(client, "kept text", (_png_header(7000, 7000), "bomb.png"))
    assert status == 422
    assert "“bomb.png” is too large a picture" in html
    assert "kept text" in html
    assert _stored(app) == (0, 0, [])


def test_no_free_cleaning_slot_keeps_the_text(configured: Callable[..., Flask]) -> None:
    app = configured(image_clean_slots=0)
    status, html = _report(english_client(app), "KEPT-words", (_photo(), "a.jpg"))
    assert status == 503
    assert "KEPT-words" in html
    assert "could not store your report" in html
    assert _stored(app) == (0, 0, [])


def test_the_slots_bound_cleaning_in_a_worker(configured: Callable[..., Flask]) -> None:
    """While the worker's one slot is taken, a photo waits, then the request is refused."""
    app = configured(image_clean_slots=1, image_clean_wait_seconds=0.05)
    client = english_client(app)
    with app.extensions["registry.image_slots"].hold():
        status, html = _report(client, "first try", (_photo(), "a.jpg"))
    assert status == 503
    assert "first try" in html
    status, _ = _report(client, "second try", (_photo(), "a.jpg"))
    assert status == 200
    # Files that are not cleaned need no slot.
    with app.extensions["registry.image_slots"].hold():
        response = post_form(
            client, "/report", {"narrative": "plain", "region": "brest", "files": []}
        )
    assert response.status_code == 200


def test_adding_files_when_busy_says_so(configured: Callable[..., Flask]) -> None:
    app = configured(image_clean_slots=0)
    client = english_client(app)
    receipt = submit_report(client)
    post_form(client, "/followup/", {"receipt": receipt})
    response = post_form(
        client,
        "/followup/files",
        {"remove_metadata": "y", "files": _files((_photo(), "later.jpg"))},
        form_page="/followup/case",
    )
    assert response.status_code == 503
    assert "could not remove the location data" in response.get_data(as_text=True)
    assert _stored(app)[1] == 0
