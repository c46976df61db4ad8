"""Issue 13, the submitter's side, in a real browser: no JavaScript, a 360 px phone.

- item 1: a file attached to a form that comes back with an error stays
  attached (listed by type and size) and is stored with the report;
- item 2: a form sent after the browser session ended comes back with every
  word typed, and one more press sends it;
- item 3: the language choice is a session cookie, and "Leave now" removes it;
- items 4 and 5: what is required comes first and says so in words; the
  page says that sending may take minutes;
- item 6: withdrawal offers "Keep my report — go back", well apart from the
  red button;
- item 7: the receipt stays on one line at 360 px.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e.support import LiveServer, prepare_server, row_counts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STEP_TIMEOUT_MS = 30_000
WIDTH = 360
RECEIPT_SHAPE = re.compile(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){4}")
PDF = b"%PDF-1.7\n%people-first\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """gunicorn (2 workers) on SQLite; the escrow key accepts reports without staff."""
    live = prepare_server(tmp_path_factory.mktemp("people-first"))
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _phone(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": WIDTH, "height": 740}, locale="en-US"
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context, context.new_page()


def _send(page: Page) -> None:
    page.click('form[action="/report"] button[type=submit]')


def _receipt(page: Page) -> str:
    receipt = page.inner_text("#receipt code").strip()
    assert RECEIPT_SHAPE.fullmatch(receipt), receipt
    return receipt


def _reports(server: LiveServer) -> int:
    return row_counts(server.database_url, ["reports"])["reports"]


def test_files_stay_attached_when_the_form_comes_back(
    browser: Browser, server: LiveServer, tmp_path: Path
) -> None:
    pdf = tmp_path / "protocol-of-detention.pdf"
    pdf.write_bytes(PDF)
    before = row_counts(server.database_url, ["reports", "attachments"])
    context, page = _phone(browser)
    page.goto(server.base_url + "/report")
    narrative = f"FILES-{secrets.token_hex(6)} they took my phone"
    page.fill("#narrative", narrative)
    page.set_input_files("#files", str(pdf))
    _send(page)  # no region chosen

    assert "Please choose a region." in page.inner_text(".error-summary")
    assert page.input_value("#narrative") == narrative
    kept = page.inner_text("#held")
    assert "File 1: application/pdf" in kept
    assert "protocol-of-detention" not in page.content()
    assert page.locator('#held input[name="remove_held"]').count() == 1
    assert len(list((server.storage_dir / "held").iterdir())) == 1

    page.select_option("#region", "minsk-city")
    _send(page)
    _receipt(page)
    after = row_counts(server.database_url, ["reports", "attachments"])
    assert after == {"reports": before["reports"] + 1, "attachments": before["attachments"] + 1}
    assert list((server.storage_dir / "held").iterdir()) == []
    context.close()


def test_a_form_sent_after_the_session_ended_keeps_everything(
    browser: Browser, server: LiveServer
) -> None:
    before = _reports(server)
    context, page = _phone(browser)
    page.goto(server.base_url + "/report")
    narrative = f"SESSION-{secrets.token_hex(6)} at Akrestsina, cell 7"
    page.fill("#narrative", narrative)
    page.select_option("#region", "minsk-city")
    page.fill("#when_exact", "the night of 10 August")
    # "Leave now" in another tab, a new Tor identity: the session cookie
    # (and the form token's secret with it) is gone.
    assert context.cookies()  # the form page started a session
    context.clear_cookies(name="sv")
    _send(page)

    assert "please check it and send it once more" in page.inner_text(".error-summary")
    body = page.inner_text("main").lower()
    assert "reload" not in body
    assert "refresh" not in body
    assert page.input_value("#narrative") == narrative
    assert page.input_value("#region") == "minsk-city"
    assert page.input_value("#when_exact") == "the night of 10 August"
    assert _reports(server) == before

    _send(page)
    _receipt(page)
    assert _reports(server) == before + 1
    context.close()


def test_the_language_is_a_session_cookie_that_leave_now_removes(
    browser: Browser, server: LiveServer
) -> None:
    context, page = _phone(browser)
    page.goto(server.base_url + "/report")
    page.click('a[href^="/lang/be"]')
    assert page.get_attribute("html", "lang") == "be"
    (lang,) = [cookie for cookie in context.cookies() if cookie["name"] == "lang"]
    # -1: a session cookie, forgotten when the browser closes.
    assert lang["expires"] == -1
    page.click('a[href="/leave"]')
    page.wait_for_url(server.base_url + "/blank")
    assert [cookie for cookie in context.cookies() if cookie["name"] == "lang"] == []
    context.close()


def test_required_answers_come_first_and_say_so(browser: Browser, server: LiveServer) -> None:
    context, page = _phone(browser)
    page.goto(server.base_url + "/report")
    legends = page.locator("form fieldset > legend").all_inner_texts()
    assert legends[0] == "What happened and where"
    assert page.inner_text('label[for="narrative"]').endswith("(required)")
    assert page.inner_text('label[for="region"]').endswith("(required)")
    assert "(required)" not in page.inner_text('label[for="place"]')
    # The region is on the first screen of the form, before every optional part.
    region = page.locator("#region").bounding_box()
    optional = page.locator("h2.optional-part").bounding_box()
    assert region is not None
    assert optional is not None
    assert region["y"] < optional["y"]
    slow = "Sending can take several minutes on a slow connection; keep this page open."
    assert slow in page.inner_text("#files-hint")
    assert page.inner_text("#send-slow") == slow
    context.close()


def test_withdrawal_offers_a_clear_way_back_apart_from_the_red_button(
    browser: Browser, server: LiveServer
) -> None:
    context, page = _phone(browser)
    page.goto(server.base_url + "/report")
    page.fill("#narrative", "Withdraw page check")
    page.select_option("#region", "brest")
    _send(page)
    receipt = _receipt(page)
    page.goto(server.base_url + "/followup/")
    page.fill("#receipt", receipt)
    page.click('form[action="/followup/"] button[type=submit]')
    page.wait_for_url(server.base_url + "/followup/case")
    page.click('a[href="/followup/withdraw"]')
    page.wait_for_url(server.base_url + "/followup/withdraw")

    keep = page.get_by_role("link", name="Keep my report — go back")
    button = page.locator('form[action="/followup/withdraw"] button[type=submit]')
    keep_box, button_box = keep.bounding_box(), button.bounding_box()
    assert keep_box is not None
    assert button_box is not None
    # Well apart: at least 24 px between the red button and the way back.
    assert keep_box["y"] - (button_box["y"] + button_box["height"]) >= 24
    assert "Keep it" not in page.inner_text("main")
    keep.click()
    page.wait_for_url(server.base_url + "/followup/case")
    context.close()


def test_the_receipt_stays_on_one_line_at_360_px(browser: Browser, server: LiveServer) -> None:
    context, page = _phone(browser)
    page.goto(server.base_url + "/report")
    page.fill("#narrative", "Receipt width check")
    page.select_option("#region", "brest")
    _send(page)
    _receipt(page)
    code = page.locator("#receipt code")
    box = code.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= WIDTH
    # One line: two lines of even the smallest size it takes (16 px, line
    # height 1.5) with the padding would be 64 px tall or more.
    assert box["height"] < 64, box
    context.close()
