"""A submitter's whole journey in a real browser without JavaScript, on a phone screen.

A reviewer is enrolled first, so the report is wrapped to them.  The citizen
files a full report with two photos (one carrying GPS and camera tags) and a
PDF, keeps "remove location and camera data" ticked and saves the receipt.
The reviewer downloads the files (the GPS photo comes back without GPS and
camera tags, the PDF byte for byte) and replies; the citizen comes back with
the receipt, reads the reply and withdraws.  Afterwards nothing of the report
is left: no rows, no blobs, no canary anywhere on disk.

A second test sends refused files (too large, wrong type) and checks that
the form comes back with the message and the narrative still filled in.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e.support import (
    LiveServer,
    download_files,
    enrol_reviewer,
    only_case_path,
    prepare_server,
    reply_as,
    row_counts,
)
from tests.e2e.test_leak import found_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RECEIPT_SHAPE = re.compile(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){4}")
# Milliseconds Playwright waits for one navigation or element: a bound, not a timed assert.
STEP_TIMEOUT_MS = 30_000
# A small per-file limit, so the "too large" case needs only a 1.5 MiB file.
MAX_BYTES = 1024 * 1024
GPS_IFD = 0x8825
MAKE = 0x010F
# Every table that holds a part of a report.
REPORT_TABLES = (
    "reports",
    "attachments",
    "messages",
    "sealed_fields",
    "key_wraps",
    "report_violations",
    "report_flags",
    "case_mappings",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """gunicorn (2 workers) on SQLite with a 1 MiB limit per file."""
    live = prepare_server(
        tmp_path_factory.mktemp("journey"),
        extra_env={"REGISTRY_ATTACHMENT_MAX_BYTES": str(MAX_BYTES)},
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _phone(browser: Browser) -> tuple[BrowserContext, Page, list[str]]:
    """A citizen's context: no JavaScript, 360 × 740, every request recorded."""
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 360, "height": 740}, locale="en-US"
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return context, page, urls


def _jpeg(colour: tuple[int, int, int], *, make: str = "", gps: bool = False) -> bytes:
    exif = Image.Exif()
    if make:
        exif[MAKE] = make
    if gps:
        ifd = exif.get_ifd(GPS_IFD)
        ifd[1], ifd[2] = "N", (53.0, 54.0, 0.0)  # latitude
        ifd[3], ifd[4] = "E", (27.0, 33.0, 0.0)  # longitude
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _pdf(canary: str) -> bytes:
    return (
        b"%PDF-1.7\n%" + canary.encode() + b"\n1 0 obj << /Type /Catalog >> endobj\n"
        b"trailer\n%%EOF\n"
    )


def _fill_report(page: Page, base: str, narrative: str) -> None:
    page.goto(base + "/report")
    page.fill("#narrative", narrative)
    page.select_option("#region", "minsk-city")
    page.select_option("#month", "08")
    page.select_option("#year", "2020")
    page.check('input[name="violations"][value="torture"]')


def test_full_report_with_files_reply_and_withdrawal_leaves_nothing(
    browser: Browser, server: LiveServer, tmp_path: Path
) -> None:
    base = server.base_url
    canaries = {
        "narrative": f"NARRATIVE-{secrets.token_hex(8)} збілі ў аўтобусе",
        "place": f"PLACE-{secrets.token_hex(8)} Акрэсціна, камера 7",
        "perpetrators": f"WHO-{secrets.token_hex(8)} АМАП, жэтон 0420",
        "camera make": f"CanaryCam{secrets.token_hex(6)}",
        "pdf content": f"PDFCANARY-{secrets.token_hex(8)}",
        "reply": f"REPLY-{secrets.token_hex(8)} мы звязаліся з юрыстам",
    }
    reviewer = enrol_reviewer(server, "journey-reviewer@example.org")

    gps_photo = _jpeg((200, 30, 30), make=canaries["camera make"], gps=True)
    assert canaries["camera make"].encode() in gps_photo
    assert GPS_IFD in Image.open(io.BytesIO(gps_photo)).getexif()
    plain_photo = _jpeg((30, 30, 200))
    pdf = _pdf(canaries["pdf content"])
    paths = []
    for name, data in (("street.jpg", gps_photo), ("bruise.jpg", plain_photo), ("med.pdf", pdf)):
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)

    context, page, urls = _phone(browser)
    _fill_report(page, base, canaries["narrative"])
    page.check('input[name="violations"][value="detention-conditions"]')
    page.check('input[name="reporter_role"][value="victim"]')
    page.select_option("#place", "temporary-detention")
    page.select_option("#unit", "omon")
    page.fill("#when_exact", "9 August 2020, about 23:00")
    page.fill("#where_exact", canaries["place"])
    page.fill("#perpetrators", canaries["perpetrators"])
    page.check('input[name="flags"][value="journalist"]')
    page.set_input_files("#files", [str(path) for path in paths])
    assert page.is_checked("#remove_metadata")  # ticked by default
    page.check("#consent_publish")
    page.check("#consent_refer")
    page.click('form[action="/report"] button[type=submit]')
    receipt = page.inner_text("#receipt code").strip()
    assert RECEIPT_SHAPE.fullmatch(receipt), receipt
    page.check("#saved")
    page.click('form[action="/report/saved"] button[type=submit]')
    page.wait_for_url(base + "/report/done")
    assert row_counts(server.database_url, ["reports", "attachments"]) == {
        "reports": 1,
        "attachments": 3,
    }

    case_path = only_case_path(reviewer)
    case = reviewer.client.get(case_path).text
    assert canaries["narrative"] in case
    assert canaries["place"] in case
    assert canaries["perpetrators"] in case
    files = download_files(reviewer, case_path)
    assert sorted(files) == ["bruise.jpg", "med.pdf", "street.jpg"]
    for answer in files.values():
        assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert files["med.pdf"].body == pdf
    cleaned = files["street.jpg"].body
    assert canaries["camera make"].encode() not in cleaned
    image = Image.open(io.BytesIO(cleaned))
    assert GPS_IFD not in image.getexif()
    assert MAKE not in image.getexif()
    assert image.size == (64, 48)
    assert Image.open(io.BytesIO(files["bruise.jpg"].body)).size == (64, 48)
    reply_as(reviewer, case_path, canaries["reply"])

    page.goto(base + "/followup/")
    page.fill("#receipt", receipt)
    page.click('form[action="/followup/"] button[type=submit]')
    page.wait_for_url(base + "/followup/case")
    assert canaries["reply"] in page.inner_text("ol.messages")
    page.click('a[href="/followup/withdraw"]')
    page.wait_for_url(base + "/followup/withdraw")
    page.fill("#receipt", receipt)  # asked again: the cookie alone cannot withdraw
    page.check("#confirm")
    page.click('form[action="/followup/withdraw"] button[type=submit]')
    assert page.inner_text("h1").strip() == "Your report is deleted"
    # The receipt opens nothing any more.
    page.goto(base + "/followup/")
    page.fill("#receipt", receipt)
    page.click('form[action="/followup/"] button[type=submit]')
    assert "No report matches this receipt" in page.inner_text("main")
    context.close()
    assert {urlsplit(url).netloc for url in urls} == {urlsplit(base).netloc}, urls

    assert row_counts(server.database_url, REPORT_TABLES) == dict.fromkeys(REPORT_TABLES, 0)
    assert [p for p in server.storage_dir.rglob("*") if p.is_file()] == []
    assert case_path.rsplit("/", 1)[1] not in reviewer.client.get("/review/").text
    # Positive control: the scan reads the stored data.
    assert any(found_in(p.read_bytes(), reviewer.email) for p in server.stored_files())
    for moment in ("running", "stopped"):
        if moment == "stopped":
            server.stop()  # SQLite checkpoints its write-ahead log into the main file
        for label, canary in {**canaries, "receipt": receipt}.items():
            holders = [str(p) for p in server.stored_files() if found_in(p.read_bytes(), canary)]
            assert not holders, f"{label} {canary!r} on disk ({moment}) in {holders}"
    server.start()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("scan.pdf", b"%PDF-1.7\n" + b"0" * (MAX_BYTES + MAX_BYTES // 2), "is larger than 1 MB"),
        ("tool.jpg", b"MZ\x90\x00" + b"\x00" * 64, "is not a photo, PDF"),
    ],
)
def test_refused_file_shows_the_message_and_keeps_the_narrative(
    browser: Browser, server: LiveServer, tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    narrative = f"KEPT-{secrets.token_hex(8)} мяне затрымалі каля метро"
    path = tmp_path / name
    path.write_bytes(data)
    before = row_counts(server.database_url, ["reports", "attachments"])
    blobs = sorted(p for p in server.storage_dir.rglob("*") if p.is_file())

    context, page, _urls = _phone(browser)
    _fill_report(page, server.base_url, narrative)
    page.set_input_files("#files", str(path))
    page.click('form[action="/report"] button[type=submit]')
    error = page.inner_text("#files-error")
    assert f"“{name}” {message}" in error
    assert "please choose the files again" in error
    assert page.locator(".error-summary").count() == 1
    assert page.input_value("#narrative") == narrative
    assert page.locator("#receipt").count() == 0
    context.close()

    assert row_counts(server.database_url, ["reports", "attachments"]) == before
    assert sorted(p for p in server.storage_dir.rglob("*") if p.is_file()) == blobs
