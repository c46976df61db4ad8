"""The whole path in a real browser: a reviewer enrols, a citizen without
JavaScript files a report in Belarusian on a 360 px phone screen, and the
reviewer logs in with TOTP, opens the case and maps it to a proposal.

Playwright drives Debian's Chromium (``/usr/bin/chromium``).  Every request
either page makes is recorded: none may go to another host (promise 4).
Screenshots of the receipt and case pages go to ``$SVIEDKA_E2E_SCREENSHOTS``
or the server's temporary directory, never into the repository.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e.support import PASSWORD, LiveServer, current_step, decode_secret, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROPOSAL = "torture-investigation"
RECEIPT_SHAPE = re.compile(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){4}")
# Milliseconds Playwright waits for one navigation or element: a bound, not a timed assert.
STEP_TIMEOUT_MS = 30_000


@pytest.fixture
def shots(live_server: LiveServer) -> Path:
    """Where screenshots go (outside the repository)."""
    folder = Path(os.environ.get("SVIEDKA_E2E_SCREENSHOTS") or live_server.root / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _recording(context: BrowserContext) -> tuple[Page, list[str]]:
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return page, urls


def _hosts(urls: list[str]) -> set[str]:
    return {urlsplit(url).netloc for url in urls}


def _enrol(page: Page, invite: str) -> tuple[bytes, int]:
    """Choose a password and enrol TOTP on the invite pages; return the seed and step used."""
    page.goto(invite)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/staff/enrol")
    assert page.locator("figure.qr svg").count() == 1  # inline QR, no image request
    secret = decode_secret(page.inner_text("#totp-secret").strip())
    step = current_step()
    page.fill("#code", totp_code(secret, step))
    page.click("main form button[type=submit]")
    # Recovery codes, shown once: the page stays until they are confirmed saved.
    assert page.locator("#recovery-codes li").count() == 10
    page.click('form[action="/staff/recovery-codes/saved"] button[type=submit]')
    assert page.locator("#saved-error").count() == 1
    assert page.locator("#recovery-codes li").count() == 10
    page.check("#saved")
    page.click('form[action="/staff/recovery-codes/saved"] button[type=submit]')
    page.wait_for_url("**/staff/login")
    return secret, step


def _report(page: Page, base_url: str, narrative: str, shots: Path) -> str:
    """File a report without JavaScript, in Belarusian; return the receipt."""
    page.goto(base_url + "/")
    page.click('nav.langs a[hreflang="be"]')
    page.wait_for_url(base_url + "/**")
    assert page.get_attribute("html", "lang") == "be"
    page.click('main a[href="/report"]')
    page.wait_for_url("**/report")
    assert page.get_attribute("html", "lang") == "be"
    page.fill("#narrative", narrative)
    page.select_option("#region", "minsk-city")
    page.select_option("#month", "08")
    page.select_option("#year", "2020")
    page.check('input[name="violations"][value="torture"]')
    page.check('input[name="violations"][value="detention-conditions"]')
    page.screenshot(path=str(shots / "report-form-360.png"), full_page=True)
    page.click('form[action="/report"] button[type=submit]')
    receipt = page.inner_text("#receipt code").strip()
    assert RECEIPT_SHAPE.fullmatch(receipt), receipt
    page.screenshot(path=str(shots / "receipt-360.png"), full_page=True)
    # Continuing without confirming keeps the receipt on screen, with an error.
    page.click('form[action="/report/saved"] button[type=submit]')
    assert page.locator("#saved-error").count() == 1
    assert page.inner_text("#receipt code").strip() == receipt
    page.check("#saved")
    page.click('form[action="/report/saved"] button[type=submit]')
    page.wait_for_url(base_url + "/report/done")
    assert page.get_attribute("html", "lang") == "be"
    return receipt


def _login(page: Page, base_url: str, email: str, secret: bytes, enrol_step: int) -> None:
    page.goto(base_url + "/staff/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    # A step after the one used for enrolment: a used step is refused.
    page.fill("#code", totp_code(secret, max(current_step(), enrol_step + 1)))
    page.click("main form button[type=submit]")
    page.wait_for_url(base_url + "/review/")


def test_citizen_reports_without_javascript_and_reviewer_maps_the_case(
    browser: Browser, live_server: LiveServer, shots: Path
) -> None:
    base = live_server.base_url
    server_host = urlsplit(base).netloc
    narrative = f"CANARY-{secrets.token_hex(8)} Мяне збілі ў аўтобусе каля Акрэсціна."
    rationale = f"RATIONALE-{secrets.token_hex(8)} сведчанне пра катаванні"
    email = "browser-reviewer@example.org"

    staff = browser.new_context(viewport={"width": 1024, "height": 800}, locale="en-US")
    staff_page, staff_urls = _recording(staff)
    secret, enrol_step = _enrol(staff_page, live_server.invite(email))

    citizen = browser.new_context(
        java_script_enabled=False, viewport={"width": 360, "height": 740}, locale="en-US"
    )
    citizen_page, citizen_urls = _recording(citizen)
    receipt = _report(citizen_page, base, narrative, shots)
    citizen.close()
    assert _hosts(citizen_urls) == {server_host}, citizen_urls
    assert receipt not in staff_page.content()

    _login(staff_page, base, email, secret, enrol_step)
    links = staff_page.locator('table.queue a[href^="/review/case/"]')
    assert links.count() == 1
    case_path = links.first.get_attribute("href")
    assert case_path
    links.first.click()
    staff_page.wait_for_url(base + case_path)
    assert staff_page.inner_text("#narrative").strip() == narrative
    assert "minsk-city" not in staff_page.inner_text("dl.facts")  # shown by its title
    staff_page.screenshot(path=str(shots / "case-1024.png"), full_page=True)

    staff_page.select_option("#proposal", PROPOSAL)
    staff_page.check('input[name="strength"][value="strong"]')
    staff_page.fill("#rationale", rationale)
    staff_page.click(f'form[action="{case_path}/mappings"] button[type=submit]')
    staff_page.wait_for_url(base + case_path)
    mappings = staff_page.locator("ul.mappings")
    assert rationale in mappings.inner_text()
    staff_page.screenshot(path=str(shots / "case-mapped-1024.png"), full_page=True)
    mappings.locator(f'a[href="/proposals/{PROPOSAL}"]').click()
    staff_page.wait_for_url(f"{base}/proposals/{PROPOSAL}")
    assert staff_page.locator(f'main a[href="{case_path}"]').count() == 1

    staff_page.click('form[action="/staff/logout"] button[type=submit]')
    staff_page.wait_for_url(base + "/staff/login")
    staff_page.goto(base + case_path)
    assert urlsplit(staff_page.url).path == "/staff/login"
    assert narrative not in staff_page.content()
    staff.close()
    assert _hosts(staff_urls) == {server_host}, staff_urls
