"""Fuzzing the submitter's pages: never a 500, never a half-stored report.

Every form and query string a submitter can reach gets generated input
with a valid CSRF token (without one, every post would stop at the CSRF
check and test nothing behind it).  ``app.testing`` propagates exceptions,
so a crash fails the test with its traceback; a refused report must leave
every table and the blob store exactly as they were (promises 8 and 9).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from werkzeug.test import TestResponse

from registry import db
from registry.followup import cookie
from registry.records.vocabulary import QUESTIONS
from registry.taxonomy.service import titles
from tests.fuzz.strategies import (
    FUZZ,
    LONG_TEXT,
    TEXT,
    assert_answered,
    blob_files,
    form,
    row_counts,
    value,
    values,
)
from tests.helpers import csrf_token, english_client, submit_report

MAGIC = [
    b"", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"%PDF-1.7\n",
    b"RIFF\0\0\0\0WEBPVP8 ", b"\0\0\0\x18ftypheic", b"\0\0\0\x18ftypisom", b"ID3", b"OggS",
    b"\x1aE\xdf\xa3", b"\xef\xbb\xbf",
]  # fmt: skip


def _picture(image_format: str) -> bytes:
    """A tiny real picture, so that mutations of it reach the metadata scrubber."""
    out = io.BytesIO()
    Image.new("RGB", (9, 7), (200, 30, 30)).save(out, format=image_format)
    return out.getvalue()


PICTURES = [_picture(image_format) for image_format in ("JPEG", "PNG", "WEBP")]


def _mutated(raw: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    data = bytearray(raw[: max(cut, 1)])
    for position, byte in flips:
        data[position % len(data)] = byte
    return bytes(data)


PLAIN_FILES = [b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n", "Свидетель: 0420\n".encode(), *PICTURES]
# Good files twice: half the uploads are accepted and reach the storage.
CONTENT = st.one_of(
    st.sampled_from(PLAIN_FILES),
    st.sampled_from(PLAIN_FILES),
    st.builds(lambda head, tail: head + tail, st.sampled_from(MAGIC), st.binary(max_size=600)),
    st.builds(
        _mutated,
        st.sampled_from(PICTURES),
        st.integers(1, 2000),
        st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=4),
    ),
)
FILES = st.lists(
    st.tuples(
        CONTENT,
        TEXT,
        st.sampled_from(["application/octet-stream", "image/jpeg", "text/plain", "", "x/\x01"]),
    ),
    max_size=3,
)
RECEIPT_PAGE = re.compile(r'<p class="receipt" id="receipt">')


def _vocabulary(app: Flask) -> dict[str, list[str]]:
    with app.app_context():
        dbs = db.session()
        return {
            kind: list(titles(dbs, kind, "en"))
            for kind in ("regions", "violation_types", "flags", "places", "units", "reporter_roles")
        }


def _report_form(vocab: dict[str, list[str]]) -> st.SearchStrategy[dict[str, object]]:
    fields: dict[str, st.SearchStrategy[str] | st.SearchStrategy[list[str]]] = {
        "narrative": value(["They beat us in the bus.", "Ё" * 3000]),
        "region": value(vocab["regions"]),
        "year": value(["", "2020", "2000"]),
        "month": value(["", "08", "12"]),
        "violations": values(vocab["violation_types"]),
        "flags": values(vocab["flags"]),
        "place": value(vocab["places"]),
        "unit": value(vocab["units"]),
        "reporter_role": value(vocab["reporter_roles"]),
        "consent_contact": value(["receipt", "contact", "none"]),
        "contact_details": LONG_TEXT,
        "consent_publish": value(["y"]),
        "consent_refer": value(["y"]),
        "remove_metadata": value(["y"]),
        "website": value([""]),
        "draft_receipt": value(["0000-0000-0000-0000-0000"]),
    }
    fields |= {name: LONG_TEXT for name, _label, _hint in QUESTIONS}
    return form(fields, required=("narrative", "region"))


@pytest.fixture
def vocab(app: Flask) -> dict[str, list[str]]:
    """The real vocabulary codes, mixed into the generated values."""
    return _vocabulary(app)


@FUZZ
@given(data=st.data(), files=FILES, multipart=st.booleans())
def test_report_form_stores_all_or_nothing(
    app: Flask,
    client: FlaskClient,
    vocab: dict[str, list[str]],
    data: st.DataObject,
    files: list[tuple[bytes, str, str]],
    multipart: bool,
) -> None:
    body = data.draw(_report_form(vocab), label="form")
    token = csrf_token(client.get("/report").get_data(as_text=True))
    rows, blobs = row_counts(app), blob_files(app)
    payload: dict[str, object] = {"csrf_token": token, **body}
    if multipart or files:
        payload["files"] = [(io.BytesIO(raw), name, kind) for raw, name, kind in files]
    response = client.post("/report", data=payload)
    assert_answered(response)
    html = response.get_data(as_text=True)
    after = row_counts(app)
    # Whatever happened, no upload is left half-way in the blob store's tmp/.
    assert not [blob for blob in blob_files(app) if blob.parent.name == "tmp"]
    if response.status_code == 200 and RECEIPT_PAGE.search(html):
        if "sent more than once" not in html:
            assert after["reports"] == rows["reports"] + 1
            assert after["attachments"] == rows["attachments"] + len(blob_files(app) - blobs)
        return
    # Refused: a 4xx (or 503 when busy) and nothing of it stored.  Its
    # sealed files may wait in held/ for the next try (issue 13), each one
    # offered back on the page by a token; nothing else is left.
    assert 400 <= response.status_code < 500 or response.status_code == 503
    assert after == rows
    new = blob_files(app) - blobs
    assert all(blob.parent.name == "held" for blob in new)
    assert len(new) == len(re.findall(r'<input type="hidden" name="held" value="', html))


@dataclass
class Returning:
    """The app, a submitter with a follow-up session, and a visitor without one."""

    app: Flask
    client: FlaskClient
    visitor: FlaskClient


@pytest.fixture
def returning(app: Flask) -> Returning:
    """A submitter back on the follow-up pages, and a fresh visitor."""
    client = english_client(app)
    receipt = submit_report(client)
    token = csrf_token(client.get("/followup/").get_data(as_text=True))
    opened = client.post("/followup/", data={"csrf_token": token, "receipt": receipt})
    assert opened.status_code == 303
    return Returning(app, client, english_client(app))


FOLLOWUP_FORMS = {
    "/followup/message": form({"text": LONG_TEXT}, required=("text",)),
    "/followup/consents": form(
        {
            "contact": value(["receipt", "contact", "none"]),
            "publish": value(["y"]),
            "refer": value(["y"]),
        }
    ),
    "/followup/withdraw": form({"receipt": TEXT, "confirm": value(["y"])}),
    "/followup/files": form({"remove_metadata": value(["y"])}),
}


def _followup_form(who: Returning, data: st.DataObject) -> TestResponse:
    path = data.draw(st.sampled_from(sorted(FOLLOWUP_FORMS)), label="path")
    body = data.draw(FOLLOWUP_FORMS[path], label="form")
    page = who.client.get("/followup/case")
    assert page.status_code == 200
    token = data.draw(
        st.one_of(st.just(csrf_token(page.get_data(as_text=True))), TEXT), label="token"
    )
    payload: dict[str, object] = {"csrf_token": token, **body}
    if path == "/followup/files":
        files = data.draw(FILES, label="files")
        payload["files"] = [(io.BytesIO(raw), name, kind) for raw, name, kind in files]
    rows, blobs = row_counts(who.app), blob_files(who.app)
    response = who.client.post(path, data=payload)
    assert not [blob for blob in blob_files(who.app) if blob.parent.name == "tmp"]
    if 400 <= response.status_code < 500:
        # Refused: nothing stored, no file left behind.
        assert row_counts(who.app) == rows
        assert blob_files(who.app) == blobs
    return response


def _receipt_entry(who: Returning, data: st.DataObject) -> TestResponse:
    receipt = data.draw(
        st.one_of(TEXT, st.from_regex(r"[0-9A-Za-z -]{20,30}", fullmatch=True)), label="receipt"
    )
    token = csrf_token(who.visitor.get("/followup/").get_data(as_text=True))
    response = who.visitor.post("/followup/", data={"csrf_token": token, "receipt": receipt})
    assert response.status_code in (200, 400, 422)
    return response


def _receipt_saved(who: Returning, data: st.DataObject) -> TestResponse:
    body = data.draw(
        form({"receipt": value(["0000-0000-0000-0000-0000"]), "saved": value(["y"])}),
        label="form",
    )
    token = csrf_token(who.visitor.get("/report").get_data(as_text=True))
    return who.visitor.post("/report/saved", data={"csrf_token": token, **body})


PUBLIC_PATHS = ["/", "/report", "/followup/", "/followup/case", "/followup/withdraw", "/lang/be"]
PUBLIC_PATHS += ["/leave", "/blank", "/review/", "/staff/login"]


def _cookies_headers_and_query(who: Returning, data: st.DataObject) -> TestResponse:
    client = english_client(who.app)
    for name in data.draw(
        st.sets(st.sampled_from([cookie.COOKIE, "sv_staff", "sv", "lang"])), label="cookies"
    ):
        forged = data.draw(
            st.one_of(TEXT, st.binary(max_size=200).map(lambda b: b.hex())), label=name
        )
        client.set_cookie(name, forged, path="/")
        client.set_cookie(name, forged, path="/followup")
    args = data.draw(
        st.dictionaries(st.sampled_from(["next", "lang", "q", "x", "page"]), TEXT, max_size=3),
        label="query",
    )
    language = data.draw(
        st.one_of(
            value(["ru", "en-GB,en;q=0.5", "be;q=abc", "*", "xx-YY;q=2", ";;,,q="]),
            st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
        ),
        label="Accept-Language",
    )
    path = data.draw(st.sampled_from(PUBLIC_PATHS), label="path")
    return client.get(path, query_string=args, headers={"Accept-Language": language})


SUBMITTER_PROBES: dict[str, Callable[[Returning, st.DataObject], TestResponse]] = {
    "follow-up form": _followup_form,
    "receipt entry": _receipt_entry,
    "receipt saved": _receipt_saved,
    "cookies, headers, query": _cookies_headers_and_query,
}


@FUZZ
@given(data=st.data())
def test_submitter_pages(returning: Returning, data: st.DataObject) -> None:
    probe = data.draw(st.sampled_from(sorted(SUBMITTER_PROBES)), label="probe")
    assert_answered(SUBMITTER_PROBES[probe](returning, data))
