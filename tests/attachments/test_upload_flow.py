"""Attachments through the public form: sealed on arrival, checked by content."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from config import TestingConfig
from registry import create_app, db
from registry.models import Attachment, Report
from tests.helpers import Staff, StaffActions, english_client, post_form, submit_report

PDF = b"%PDF-1.7\n%canary-pdf-9f1c\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
TEXT = "Свидетель: canary-text-77aa, badge 0420\n".encode()


def _storage(app: Flask) -> Path:
    return Path(app.extensions["registry.config"].storage_dir)


def _stored_bytes(app: Flask) -> bytes:
    return b"".join(p.read_bytes() for p in _storage(app).rglob("*") if p.is_file())


def _blob_files(app: Flask) -> list[Path]:
    return [p for p in _storage(app).rglob("*") if p.is_file()]


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        session = db.session()
        return (
            session.scalar(select(func.count()).select_from(Report)) or 0,
            session.scalar(select(func.count()).select_from(Attachment)) or 0,
        )


def _files(*items: tuple[bytes, str]) -> list[tuple[io.BytesIO, str]]:
    return [(io.BytesIO(data), name) for data, name in items]


def test_files_are_sealed_and_download_identical(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("files@example.org")
    submit_report(client, files=_files((PDF, "med.pdf"), (TEXT, "notes.txt")))
    assert _counts(app) == (1, 2)
    stored = _stored_bytes(app)
    assert b"canary-pdf-9f1c" not in stored
    assert b"canary-text-77aa" not in stored
    assert not list((_storage(app) / "tmp").iterdir())  # nothing left incoming
    staff_client = english_client(app)
    staff.login(staff_client, reviewer)
    with app.app_context():
        public_id = db.session().scalars(select(Report)).one().public_id
    page = staff_client.get(f"/review/case/{public_id}").get_data(as_text=True)
    assert "med.pdf" in page
    assert "application/pdf" in page
    assert hashlib.sha256(PDF).hexdigest() in page
    links = re.findall(rf'href="(/review/case/{public_id}/files/[A-Z0-9]+)">([^<]+)<', page)
    bodies, headers = {}, {}
    for link, name in links:
        response = staff_client.get(link)
        bodies[name], headers[name] = response.get_data(), response.headers
        response.close()
    assert bodies == {"med.pdf": PDF, "notes.txt": TEXT}
    assert headers["med.pdf"]["Content-Disposition"].startswith("attachment;")
    assert headers["med.pdf"]["Content-Type"] == "application/octet-stream"
    assert headers["med.pdf"]["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "photo.jpg", "is not a photo, PDF"),
        (b"PK\x03\x04zipzipzip", "doc.pdf", "is not a photo, PDF"),
        (b"", "empty.pdf", "is empty"),
    ],
)
def test_refused_file_keeps_the_form_and_stores_nothing(
    app: Flask, client: FlaskClient, data: bytes, name: str, message: str
) -> None:
    response = post_form(
        client,
        "/report",
        {"narrative": "my words stay", "region": "brest", "files": _files((data, name))},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "please choose the files again" in html
    assert "my words stay" in html
    assert _counts(app) == (0, 0)
    assert _blob_files(app) == []


@pytest.fixture
def small_limits(database_url: str, tmp_path: Path) -> Flask:
    """The app with tiny attachment limits."""
    cfg = TestingConfig.for_paths(tmp_path / "i", tmp_path / "k", database_url).with_overrides(
        attachment_max_files=2, attachment_max_bytes=1024
    )
    return create_app(cfg)


def test_too_large_and_too_many_are_explained(small_limits: Flask) -> None:
    client = english_client(small_limits)
    big = post_form(
        client,
        "/report",
        {"narrative": "x", "region": "brest", "files": _files((PDF * 40, "big.pdf"))},
    ).get_data(as_text=True)
    assert "is larger than" in big
    many = post_form(
        client,
        "/report",
        {
            "narrative": "x",
            "region": "brest",
            "files": _files((PDF, "a.pdf"), (PDF, "b.pdf"), (PDF, "c.pdf")),
        },
    ).get_data(as_text=True)
    assert "Only 2 files can be sent at once." in many
    assert _counts(small_limits) == (0, 0)
    assert _blob_files(small_limits) == []
    with small_limits.app_context():
        db.engine().dispose()


def test_failed_submission_leaves_no_blob(app: Flask, client: FlaskClient) -> None:
    post_form(
        client,
        "/report",
        {"narrative": "x", "region": "atlantis", "files": _files((PDF, "a.pdf"))},
    )
    assert _counts(app) == (0, 0)
    # The form comes back (the region is wrong) with the file held, sealed,
    # for its next try (issue 13): nothing kept, nothing left incoming.
    assert [path.parent.name for path in _blob_files(app)] == ["held"]


def test_withdrawal_deletes_the_files(app: Flask, client: FlaskClient) -> None:
    receipt = submit_report(client, files=_files((PDF, "a.pdf")))
    assert len(_blob_files(app)) == 1
    post_form(client, "/followup/", {"receipt": receipt})
    post_form(client, "/followup/withdraw", {"confirm": "y", "receipt": receipt})
    assert _blob_files(app) == []
    assert _counts(app) == (0, 0)


def _photo_with_gps() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "CanaryCamMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (53.0, 54.0, 0.0)  # latitude
    gps[3], gps[4] = "E", (27.0, 33.0, 0.0)  # longitude
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_photo_location_is_removed_when_chosen(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    from PIL import Image

    photo = _photo_with_gps()
    assert b"CanaryCamMaker" in photo
    early = staff.create("early@example.org")  # holds the key of the report
    submit_report(client, remove_metadata="y", files=_files((photo, "street.jpg")))
    bodies = _download_all(app, staff, early)
    cleaned = bodies["street.jpg"]
    assert b"CanaryCamMaker" not in cleaned
    image = Image.open(io.BytesIO(cleaned))
    assert 0x8825 not in image.getexif()
    assert image.size == (64, 48)


def test_photo_is_byte_identical_when_removal_is_declined(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    photo = _photo_with_gps()
    early = staff.create("early@example.org")
    submit_report(client, files=_files((photo, "street.jpg")))  # checkbox not sent: off
    assert _download_all(app, staff, early)["street.jpg"] == photo


def _download_all(app: Flask, staff: StaffActions, person: Staff) -> dict[str, bytes]:
    """Download every file of the only report as ``person``."""
    with app.app_context():
        public_id = db.session().scalars(select(Report)).one().public_id
    client = english_client(app)
    staff.login(client, person)
    page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    links = re.findall(rf'href="(/review/case/{public_id}/files/[A-Z0-9]+)">([^<]+)<', page)
    bodies = {}
    for link, name in links:
        response = client.get(link)
        bodies[name] = response.get_data()
        response.close()
    return bodies


def test_submitter_adds_files_later(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    early = staff.create("early@example.org")
    receipt = submit_report(client)
    post_form(client, "/followup/", {"receipt": receipt})
    response = post_form(
        client, "/followup/files", {"files": _files((PDF, "later.pdf"))}, form_page="/followup/case"
    )
    assert response.status_code == 303
    assert _counts(app) == (1, 1)
    assert b"canary-pdf-9f1c" not in _stored_bytes(app)
    assert _download_all(app, staff, early) == {"later.pdf": PDF}
    refused = post_form(
        client,
        "/followup/files",
        {"files": _files((b"MZ\x90\x00", "tool.exe"))},
        form_page="/followup/case",
    )
    assert "is not a photo, PDF" in refused.get_data(as_text=True)
    assert _counts(app) == (1, 1)


HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def test_uncleanable_photo_is_refused_when_removal_is_asked(
    app: Flask, client: FlaskClient
) -> None:
    response = post_form(
        client,
        "/report",
        {
            "narrative": "x",
            "region": "brest",
            "remove_metadata": "y",
            "files": _files((HEIC, "IMG_0001.HEIC")),
        },
    )
    assert response.status_code == 422
    assert "Location data cannot be removed" in response.get_data(as_text=True)
    assert _counts(app) == (0, 0)
    assert _blob_files(app) == []


def test_kept_blobs_carry_no_time_of_day(app: Flask, client: FlaskClient) -> None:
    submit_report(client, files=_files((PDF, "a.pdf")))
    (blob,) = _blob_files(app)
    assert int(blob.stat().st_mtime) % 86400 == 0
    assert int(blob.stat().st_atime) % 86400 == 0
