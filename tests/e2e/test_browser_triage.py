"""A reviewer triages a case end to end in a real browser, with JavaScript
off and on: filter the queue, search, open, correct the codes, note, reply,
map to a proposal and close with a disposition.

The pages carry no script (CSP ``script-src 'none'``), so both runs must
behave the same; running with JavaScript enabled catches a page that only
works because the browser refused to run something.  The submitter then
reads the reply with their receipt, over plain HTTP.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.support import (
    PASSWORD,
    LiveServer,
    Reviewer,
    WebClient,
    enrol_reviewer,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RECEIPT = re.compile(r'<p class="receipt" id="receipt"><code>([A-Z0-9-]+)</code>')
PROPOSAL = "torture-investigation"
# Milliseconds Playwright waits for one navigation or element: a bound, not a timed assert.
STEP_TIMEOUT_MS = 30_000


def _file_report(server: LiveServer, narrative: str, region: str, violation: str) -> str:
    """A citizen files a report over HTTP; return the receipt."""
    citizen = WebClient(server.base_url, {"Accept-Language": "en"})
    sent = citizen.submit(
        "/report",
        [
            ("narrative", narrative),
            ("region", region),
            ("month", "03"),
            ("year", "2021"),
            ("violations", violation),
        ],
    )
    assert sent.status == 200, sent.text[:3000]
    found = RECEIPT.search(sent.text)
    assert found, sent.text[:3000]
    return found.group(1)


def _login(page: Page, base: str, reviewer: Reviewer) -> None:
    page.goto(base + "/staff/login")
    page.fill("#email", reviewer.email)
    page.fill("#password", PASSWORD)
    # enrol_reviewer used up the TOTP steps of this half-minute (enrolment and
    # an HTTP login), so the browser logs in with a one-time recovery code.
    page.fill("#code", reviewer.recovery_codes.pop())
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/review/")


def _submit(page: Page, action: str) -> None:
    """Press the submit button of the form posting to ``action``."""
    page.click(f'form[action="{action}"] button[type=submit]')


@pytest.mark.parametrize("javascript", [False, True], ids=["js-off", "js-on"])
def test_reviewer_triages_a_case_from_queue_to_closing(
    browser: Browser, live_server: LiveServer, javascript: bool
) -> None:
    base = live_server.base_url
    tag = secrets.token_hex(4)
    reviewer = enrol_reviewer(live_server, f"triage-{tag}@example.org")
    word = f"автазак{tag}"
    receipt = _file_report(
        live_server, f"Мяне збілі ў {word} каля Акрэсціна.", "minsk-city", "torture"
    )
    _file_report(live_server, f"Other case {tag} in Brest.", "brest", "threats")

    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1024, "height": 800}, locale="en-US"
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    _login(page, base, reviewer)

    # Filter: only the Minsk case (other tests' cases on this server are not
    # this reviewer's to open, but the queue lists plain columns of all).
    page.select_option("#f-region", "minsk-city")
    page.select_option("#f-violation", "torture")
    page.fill("#f-q", word.upper())
    _submit(page, "/review/")
    page.wait_for_url(re.compile(r".*/review/\?.*region=minsk-city.*"))
    assert page.locator("#searched").count() == 1
    links = page.locator('table.queue a[href^="/review/case/"]')
    assert links.count() == 1, page.content()[:3000]
    case_path = links.first.get_attribute("href")
    assert case_path
    links.first.click()
    page.wait_for_url(base + case_path)
    assert word in page.inner_text("#narrative")

    # Correct the codes: add a violation the submitter did not tick, and the place.
    page.click("#correct-codes")
    page.wait_for_url(f"{base}{case_path}/codes")
    page.check('form[action$="/codes"] input[name="violations"][value="detention-conditions"]')
    page.select_option('form[action$="/codes"] select[name="place"]', "vehicle")
    _submit(page, f"{case_path}/codes")
    page.wait_for_url(base + case_path)
    assert "Inhuman conditions of detention" in page.inner_text("#violations")

    note = f"NOTE-{tag} спраўдзіць відэа"
    page.fill("#note-text", note)
    _submit(page, f"{case_path}/notes")
    page.wait_for_url(base + case_path)
    assert note in page.inner_text("main")

    reply = f"REPLY-{tag} Дзякуй, мы вывучаем вашае паведамленне."
    page.fill(f'form[action="{case_path}/reply"] textarea', reply)
    _submit(page, f"{case_path}/reply")
    page.wait_for_url(base + case_path)
    assert reply in page.inner_text("main")

    rationale = f"RATIONALE-{tag}"
    page.select_option("#proposal", PROPOSAL)
    page.check('input[name="strength"][value="strong"]')
    page.fill("#rationale", rationale)
    _submit(page, f"{case_path}/mappings")
    page.wait_for_url(base + case_path)
    assert rationale in page.inner_text("ul.mappings")

    page.select_option("#status", "closed")
    page.select_option("#disposition", "substantiated")
    _submit(page, f"{case_path}/status")
    page.wait_for_url(base + case_path)
    assert page.locator("#status option:checked").get_attribute("value") == "closed"

    # The queue now finds it among closed cases with the new codes.
    page.goto(f"{base}/review/?status=closed&violation=detention-conditions&place=vehicle")
    assert page.locator(f'table.queue a[href="{case_path}"]').count() == 1
    context.close()
    assert hosts == {urlsplit(base).netloc}, hosts

    # The submitter reads the reply with the receipt, and sees the case closed.
    citizen = WebClient(base, {"Accept-Language": "en"})
    opened = citizen.submit("/followup/", [("receipt", receipt)])
    assert opened.status == 303, opened.text[:3000]
    status = citizen.get("/followup/case")
    assert reply in status.text
    # Internal notes and mapping rationales are for staff only.
    assert note not in status.text
    assert rationale not in status.text
