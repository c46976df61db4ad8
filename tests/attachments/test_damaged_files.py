"""Promise 10 for files: a damaged file is refused whole and hides nothing else.

Someone with write access to the database or the storage directory swaps
or flips a file's sealed key, metadata or blob, or cuts the blob.  The case
page still answers 200 and lists every other file; the damaged file is
never sent, not one byte of it, and its opening is audited as damage, not
as an opened file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from registry import db
from registry.attachments.verify import Expected, second_pass, verify
from registry.crypto import CannotOpen
from registry.crypto.stream import DEFAULT_CHUNK_SIZE, STREAM_HEADER_LENGTH, seal_stream
from registry.models import Attachment, AuditEvent, SealedField
from tests.helpers import StaffActions, english_client, submit_and_locate

# Four chunks of plaintext, every line a canary: no byte of it may be sent.
LONG = b"".join(b"canary-line %06d of the long statement\n" % i for i in range(6000))
PDF = b"%PDF-1.7\n%canary-pdf-31ab\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
SHORT = b"canary-short witness list\n"
FILE_DAMAGED = "This file failed its integrity check."
SEALED_CHUNK = DEFAULT_CHUNK_SIZE + 16


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


@dataclasses.dataclass
class Case:
    client: FlaskClient
    public_id: str
    files: dict[str, str]  # file name -> file public id

    def url(self, name: str) -> str:
        return f"/review/case/{self.public_id}/files/{self.files[name]}"


def _listed(client: FlaskClient, public_id: str) -> tuple[int, dict[str, str], str]:
    response = client.get(f"/review/case/{public_id}")
    page = response.get_data(as_text=True)
    found = re.findall(rf'href="/review/case/{public_id}/files/([A-Z0-9]+)">([^<]+)<', page)
    return response.status_code, {name: file_id for file_id, name in found}, page


@pytest.fixture
def case(app: Flask, staff: StaffActions) -> Case:
    """A case with a four-chunk text, a PDF, a short text and a cleaned photo."""
    reviewer = staff.create("files-damage@example.org")
    files = [(LONG, "long.txt"), (PDF, "med.pdf"), (SHORT, "short.txt"), (_photo(), "p.jpg")]
    public_id = submit_and_locate(
        app,
        english_client(app),
        remove_metadata="y",
        files=[(io.BytesIO(data), name) for data, name in files],
    )
    client = english_client(app)
    staff.login(client, reviewer)
    status, ids, page = _listed(client, public_id)
    assert status == 200
    assert set(ids) == {"long.txt", "med.pdf", "short.txt", "p.jpg"}
    assert FILE_DAMAGED not in page
    return Case(client, public_id, ids)


def _row(name: str, case: Case) -> Attachment:
    return (
        db.session()
        .scalars(select(Attachment).where(Attachment.public_id == case.files[name]))
        .one()
    )


def _blob_path(app: Flask, case: Case, name: str) -> Path:
    with app.app_context():
        blob = _row(name, case).blob
    return Path(app.extensions["registry.config"].storage_dir) / "blobs" / blob


def _events(app: Flask, action: str) -> list[str]:
    with app.app_context():
        details = db.session().scalars(select(AuditEvent.detail).where(AuditEvent.action == action))
        return [detail or "" for detail in details]


def _flip(data: bytes, at: int = -1) -> bytes:
    flipped = bytearray(data)
    flipped[at] ^= 1
    return bytes(flipped)


def _assert_refused(
    app: Flask, case: Case, name: str, suffix: str = "", damaged: tuple[str, ...] = ("file",)
) -> None:
    """The file is answered with the damage page: no byte of it, no opened event."""
    response = case.client.get(case.url(name) + suffix)
    body = response.get_data()
    assert response.status_code == 409
    assert response.headers["Content-Type"].startswith("text/html")
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    assert FILE_DAMAGED in body.decode()
    for canary in (b"canary-line", b"canary-pdf", b"canary-short", b"JFIF", b"\xff\xd8"):
        assert canary not in body
    opened = _events(app, "case.file-opened") + _events(app, "case.file-previewed")
    assert case.files[name] not in opened
    # Audited once, however often the case page or the file is opened.
    assert sorted(_events(app, "case.part-damaged")) == sorted(damaged)


def _assert_intact(app: Flask, case: Case, name: str, data: bytes) -> None:
    """The file still downloads byte for byte, and its opening is audited."""
    response = case.client.get(case.url(name))
    assert response.status_code == 200
    assert response.get_data() == data
    assert response.headers["Content-Length"] == str(len(data))
    response.close()
    assert case.files[name] in _events(app, "case.file-opened")


def _assert_listed(case: Case, names: set[str], damaged: int) -> None:
    status, ids, page = _listed(case.client, case.public_id)
    assert status == 200
    assert set(ids) == names
    assert page.count(FILE_DAMAGED) == damaged


def test_flipped_metadata_shows_as_damaged(app: Flask, case: Case) -> None:
    with app.app_context():
        row = _row("med.pdf", case)
        row.sealed_meta = _flip(row.sealed_meta)
        db.session().commit()
    _assert_listed(case, {"long.txt", "short.txt", "p.jpg"}, damaged=1)
    _assert_refused(app, case, "med.pdf")
    _assert_intact(app, case, "long.txt", LONG)
    _assert_intact(app, case, "short.txt", SHORT)


def test_swapped_metadata_and_keys_show_as_damaged(app: Flask, case: Case) -> None:
    with app.app_context():
        long, pdf, short = (_row(name, case) for name in ("long.txt", "med.pdf", "short.txt"))
        long.sealed_meta, pdf.sealed_meta = pdf.sealed_meta, long.sealed_meta
        short.sealed_key = pdf.sealed_key  # a key alone, moved: the listing notices it too
        db.session().commit()
    _assert_listed(case, {"p.jpg"}, damaged=3)
    for name in ("long.txt", "med.pdf", "short.txt"):
        _assert_refused(app, case, name)
    response = case.client.get(case.url("p.jpg") + "/preview")
    assert response.status_code == 200
    response.close()


def test_swapped_blobs_are_refused_whole(app: Flask, case: Case) -> None:
    long, pdf = _blob_path(app, case, "long.txt"), _blob_path(app, case, "med.pdf")
    sealed_long = long.read_bytes()
    long.write_bytes(pdf.read_bytes())
    pdf.write_bytes(sealed_long)
    # The listing does not read blobs: only the download can tell.
    _assert_listed(case, {"long.txt", "med.pdf", "short.txt", "p.jpg"}, damaged=0)
    _assert_refused(app, case, "long.txt")
    _assert_refused(app, case, "med.pdf")
    _assert_intact(app, case, "short.txt", SHORT)


@pytest.mark.parametrize("chunks_kept", [1, 2])
def test_blob_cut_at_a_chunk_boundary_sends_nothing(
    app: Flask, case: Case, chunks_kept: int
) -> None:
    path = _blob_path(app, case, "long.txt")
    sealed = path.read_bytes()
    assert len(sealed) > STREAM_HEADER_LENGTH + 3 * SEALED_CHUNK
    path.write_bytes(sealed[: STREAM_HEADER_LENGTH + chunks_kept * SEALED_CHUNK])
    _assert_listed(case, {"long.txt", "med.pdf", "short.txt", "p.jpg"}, damaged=0)
    _assert_refused(app, case, "long.txt")
    _assert_intact(app, case, "med.pdf", PDF)


def test_one_flipped_byte_in_the_middle_sends_nothing(app: Flask, case: Case) -> None:
    path = _blob_path(app, case, "long.txt")
    sealed = path.read_bytes()
    path.write_bytes(_flip(sealed, len(sealed) // 2))
    _assert_refused(app, case, "long.txt")
    _assert_intact(app, case, "med.pdf", PDF)


def test_damaged_photo_is_not_previewed(app: Flask, case: Case) -> None:
    path = _blob_path(app, case, "p.jpg")
    path.write_bytes(_flip(path.read_bytes()))
    _assert_refused(app, case, "p.jpg", "/preview")
    _assert_refused(app, case, "p.jpg")


def test_missing_blob_is_damage(app: Flask, case: Case) -> None:
    _blob_path(app, case, "med.pdf").unlink()
    _assert_refused(app, case, "med.pdf")


def test_damaged_inbox_key_lists_every_file_as_damaged(app: Flask, case: Case) -> None:
    with app.app_context():
        inbox = db.session().scalars(select(SealedField).where(SealedField.name == "inbox-key"))
        row = inbox.one()
        row.ciphertext = _flip(row.ciphertext)
        db.session().commit()
    _assert_listed(case, set(), damaged=4)
    _assert_refused(app, case, "short.txt", damaged=("file,inbox-key", "file"))


def test_damage_page_is_in_the_readers_language(app: Flask, case: Case) -> None:
    path = _blob_path(app, case, "med.pdf")
    path.write_bytes(_flip(path.read_bytes()))
    response = case.client.get(case.url("med.pdf"), headers={"Accept-Language": "be"})
    assert response.status_code == 409
    assert "Гэты файл не прайшоў праверку цэласнасці." in response.get_data(as_text=True)


def _sealed(data: bytes) -> io.BytesIO:
    sink = io.BytesIO()
    seal_stream(b"k" * 32, io.BytesIO(data), sink, report_id="upload", attachment_id="F1")
    sink.seek(0)
    return sink


def test_verify_checks_size_and_hash() -> None:
    """The hash and size of the plaintext must be the metadata's, not only the tags."""
    digest = hashlib.sha256(LONG).hexdigest()
    assert verify(_sealed(LONG), b"k" * 32, "F1", Expected(len(LONG), digest))[:6] == b"canary"
    assert verify(_sealed(LONG), b"k" * 32, "F1", Expected(len(LONG), None))
    for wrong in (Expected(len(LONG) - 1, digest), Expected(len(LONG), "0" * 64)):
        with pytest.raises(CannotOpen):
            verify(_sealed(LONG), b"k" * 32, "F1", wrong)


def test_second_pass_reads_the_same_file_and_closes_it() -> None:
    blob = _sealed(LONG)
    verify(blob, b"k" * 32, "F1", Expected(len(LONG), None))
    chunks = second_pass(blob, b"k" * 32, "F1")
    assert b"".join(chunks) == LONG
    assert blob.closed
    unsent = _sealed(LONG)
    second_pass(unsent, b"k" * 32, "F1").close()  # a response never sent
    assert unsent.closed
