"""Inline previews: only photos the registry re-encoded, with locked-down headers."""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from registry import db
from registry.attachments import service as attachments
from registry.models import AuditEvent, Role
from tests.helpers import Staff, StaffActions, english_client, submit_and_locate

PDF = b"%PDF-1.7\n%canary-pdf\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(range(256)) * 4
CSP = "default-src 'none'; img-src 'self'; style-src 'none'; frame-ancestors 'none'; sandbox"


def _photo(image_format: str) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "CanaryCamMaker"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 30)).save(buffer, image_format, exif=exif)
    return buffer.getvalue()


@dataclasses.dataclass
class Case:
    public_id: str
    raw_public_id: str  # the report whose photo was kept as sent
    reviewer: Staff
    files: dict[str, str]  # file name -> file public id


def _file_ids(client: FlaskClient, public_id: str) -> dict[str, str]:
    page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
    found = re.findall(rf'href="/review/case/{public_id}/files/([A-Z0-9]+)">([^<]+)<', page)
    return {name: file_id for file_id, name in found}


@pytest.fixture
def case(app: Flask, staff: StaffActions) -> Case:
    """One report with cleaned photos, a PDF and a video; one with a photo kept as sent."""
    reviewer = staff.create("viewer@example.org")
    files = [
        (io.BytesIO(_photo("JPEG")), "a.jpg"),
        (io.BytesIO(_photo("PNG")), "b.png"),
        (io.BytesIO(_photo("WEBP")), "c.webp"),
        (io.BytesIO(PDF), "d.pdf"),
        (io.BytesIO(MP4), "e.mp4"),
    ]
    first = submit_and_locate(app, english_client(app), remove_metadata="y", files=files)
    second = submit_and_locate(
        app, english_client(app), files=[(io.BytesIO(_photo("JPEG")), "raw.jpg")]
    )
    client = _login(app, staff, reviewer)
    ids = _file_ids(client, first)
    ids["raw.jpg"] = _file_ids(client, second)["raw.jpg"]
    return Case(first, second, reviewer, ids)


def _login(app: Flask, staff: StaffActions, person: Staff) -> FlaskClient:
    client = english_client(app)
    staff.login(client, person)
    return client


def _url(case: Case, name: str) -> str:
    return f"/review/case/{_case_of(case, name)}/files/{case.files[name]}"


def _case_of(case: Case, name: str) -> str:
    return case.raw_public_id if name == "raw.jpg" else case.public_id


def _previews(app: Flask) -> list[tuple[str | None, str | None]]:
    with app.app_context():
        events = db.session().scalars(
            select(AuditEvent).where(AuditEvent.action == "case.file-previewed")
        )
        return [(e.report_ref, e.detail) for e in events]


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("a.jpg", "image/jpeg"), ("b.png", "image/png"), ("c.webp", "image/webp")],
)
def test_cleaned_photo_is_shown_inline_with_strict_headers(
    app: Flask, staff: StaffActions, case: Case, name: str, media_type: str
) -> None:
    client = _login(app, staff, case.reviewer)
    page = client.get(f"/review/case/{case.public_id}").get_data(as_text=True)
    assert f'<img class="thumb" src="{_url(case, name)}/preview"' in page
    response = client.get(_url(case, name) + "/preview")
    body = response.get_data()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Content-Disposition"] == "inline"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["Cache-Control"] == "no-store"
    download = client.get(_url(case, name))
    assert body == download.get_data()  # the same cleaned file, only shown inline
    download.close()
    assert b"CanaryCamMaker" not in body
    assert _previews(app) == [(case.public_id, case.files[name])]
    # Every other page keeps the site's own policy.
    assert "script-src 'none'" in client.get("/review/").headers["Content-Security-Policy"]


@pytest.mark.parametrize("name", ["d.pdf", "e.mp4", "raw.jpg"])
def test_anything_but_a_cleaned_photo_is_refused(
    app: Flask, staff: StaffActions, case: Case, name: str
) -> None:
    client = _login(app, staff, case.reviewer)
    response = client.get(_url(case, name) + "/preview")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    page = client.get(f"/review/case/{_case_of(case, name)}").get_data(as_text=True)
    assert f"{case.files[name]}/preview" not in page  # no thumbnail either
    assert _previews(app) == []


def test_bytes_that_do_not_match_the_type_are_refused(
    app: Flask, staff: StaffActions, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decrypted bytes are sniffed again: a JPEG labelled PNG is not served."""
    real = attachments._view

    def mislabelled(*args: Any) -> attachments.AttachmentView:
        return dataclasses.replace(real(*args), media_type="image/png")

    monkeypatch.setattr(attachments, "_view", mislabelled)
    client = _login(app, staff, case.reviewer)
    assert client.get(_url(case, "a.jpg") + "/preview").status_code == 404
    assert _previews(app) == []


def test_preview_needs_the_case_key(app: Flask, staff: StaffActions, case: Case) -> None:
    url = _url(case, "a.jpg") + "/preview"
    assert english_client(app).get(url).status_code == 303  # to the login page
    for email, role in (("late@example.org", Role.REVIEWER), ("adm@example.org", Role.ADMIN)):
        client = _login(app, staff, staff.create(email, role=role))
        assert client.get(url).status_code == 404
    assert _previews(app) == []


def test_files_kept_with_their_metadata_are_marked_for_reviewers(
    app: Flask, staff: StaffActions, case: Case
) -> None:
    """PDFs, videos and photos kept as sent may name their author, device or place."""
    client = _login(app, staff, case.reviewer)
    notice = "metadata not removed"
    for public_id, names in ((case.public_id, "abcde"), (case.raw_public_id, "r")):
        page = client.get(f"/review/case/{public_id}").get_data(as_text=True)
        items = re.findall(
            r"<li><a href=\"/review/case/[^\"]+/files/[A-Z0-9]+\">([^<]+)</a>(.*?)</li>", page, re.S
        )
        marked = {name: notice in rest for name, rest in items}
        assert set(marked) == {n for n in case.files if n[0] in names}, marked
        for name, has_notice in marked.items():
            cleaned = name in ("a.jpg", "b.png", "c.webp")
            assert has_notice is not cleaned, name
