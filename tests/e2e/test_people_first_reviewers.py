"""Issue 13, reviewers (items 8 and 10) in a real browser, JavaScript off.

- Item 8: at 360 px neither the case page (with a file's SHA-256 and the
  facts list) nor the queue scrolls sideways; the case page puts the facts
  and the account first, groups its actions, and its primary, secondary and
  destructive buttons look different.
- Item 10: a submitter's follow-up message shows in the queue as waiting for
  an answer, in the shortcut's count, under the filter and first in its
  order; a reply ends the wait.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.support import (
    PASSWORD,
    LiveServer,
    Reviewer,
    WebClient,
    csrf_token,
    enrol_reviewer,
    prepare_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RECEIPT = re.compile(r'<p class="receipt" id="receipt"><code>([A-Z0-9-]+)</code>')
PDF = b"%PDF-1.7\n%reviewers\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
STEP_TIMEOUT_MS = 30_000
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """gunicorn on SQLite whose queue counts never lag (a fresh snapshot per page)."""
    server = prepare_server(
        tmp_path_factory.mktemp("reviewers"),
        extra_env={"REGISTRY_QUEUE_COUNTS_SECONDS": "0"},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _file_report(server: LiveServer, narrative: str) -> str:
    citizen = WebClient(server.base_url, {"Accept-Language": "en"})
    form = citizen.get("/report")
    sent = citizen.post_multipart(
        "/report",
        [
            ("csrf_token", csrf_token(form.text)),
            ("narrative", narrative),
            ("region", "minsk-city"),
            ("year", "2021"),
            ("month", "03"),
            ("violations", "torture"),
        ],
        [("files", "a-rather-long-file-name-of-a-medical-certificate-scan.pdf", PDF)],
    )
    assert sent.status == 200, sent.text[:3000]
    found = RECEIPT.search(sent.text)
    assert found, sent.text[:3000]
    return found.group(1)


def _login(page: Page, base: str, reviewer: Reviewer) -> None:
    page.goto(base + "/staff/login")
    page.fill("#email", reviewer.email)
    page.fill("#password", PASSWORD)
    page.fill("#code", reviewer.recovery_codes.pop())
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/review/")


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide at {PHONE['width']} px"


def _case_path(page: Page, public_id_text: str) -> str:
    link = page.locator(f'table.queue a[href$="/{public_id_text}"]')
    href = link.first.get_attribute("href")
    assert href
    return href


def test_case_page_and_queue_fit_a_phone_and_put_the_work_first(
    browser: Browser, live_server: LiveServer
) -> None:
    base = live_server.base_url
    tag = secrets.token_hex(4)
    reviewer = enrol_reviewer(live_server, f"phone-{tag}@example.org")
    _file_report(live_server, f"Case {tag}: they beat us in the bus.")
    context = browser.new_context(java_script_enabled=False, viewport=PHONE, locale="en-US")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    _login(page, base, reviewer)
    _no_sideways_scroll(page)

    links = page.locator('table.queue a[href^="/review/case/"]')
    case_path = links.first.get_attribute("href")
    assert case_path
    for path in (case_path, f"{case_path}/history", f"{case_path}/codes"):
        page.goto(base + path)
        _no_sideways_scroll(page)
    page.goto(base + case_path)
    assert page.locator("ul.files code").count() == 1  # the SHA-256 is on the page

    # Facts and the account come before every action.
    order = page.evaluate(
        """() => ['dl.facts', '#narrative', '#actions', '#triage-title', '#reply-title',
                  '#mapping-title', '#links-title']
               .map(s => document.querySelector(s))
               .map(e => e ? [...document.querySelectorAll('*')].indexOf(e) : -1)"""
    )
    assert -1 not in order, order
    assert order == sorted(order), order
    # Three kinds of button, and they look different.  A fresh case offers
    # nothing to remove, so the destructive style is read from a button
    # added to the page for the purpose.
    assert page.locator("main button.primary").count() >= 4  # status, assign, reply, map…
    assert page.locator("main button.secondary").count() == 1  # urgency
    looks = page.evaluate(
        """() => {
             const main = document.querySelector('main');
             const danger = Object.assign(document.createElement('button'), {className: 'danger'});
             main.appendChild(danger);
             const look = b => { const s = getComputedStyle(b);
               return [s.backgroundColor, s.color, s.borderTopWidth, s.textDecorationLine]
                 .join('|'); };
             return ['primary', 'secondary', 'danger']
               .map(kind => look(main.querySelector('button.' + kind)));
           }"""
    )
    assert len(set(looks)) == 3, looks
    context.close()


def test_a_waiting_submitter_shows_in_the_queue(browser: Browser, live_server: LiveServer) -> None:
    base = live_server.base_url
    tag = secrets.token_hex(4)
    reviewer = enrol_reviewer(live_server, f"waits-{tag}@example.org")
    receipt = _file_report(live_server, f"Case {tag}: nobody answers me.")
    submitter = WebClient(base, {"Accept-Language": "en"})
    assert submitter.submit("/followup/", [("receipt", receipt)]).status == 303
    sent = submitter.submit(
        "/followup/message", [("text", f"Are you there? {tag}")], form_page="/followup/case"
    )
    assert sent.status == 303, sent.text[:2000]

    context = browser.new_context(java_script_enabled=False, viewport=PHONE, locale="en-US")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    _login(page, base, reviewer)
    # This reviewer holds the key of this test's case only: find it by its row.
    page.goto(base + "/review/?sort=waiting")
    first = page.locator("table.queue tbody tr").first
    assert "Submitter waiting for an answer" in first.inner_text()
    case_path = first.locator("a").first.get_attribute("href")
    assert case_path
    page.check("#f-waiting")
    page.click("form.queue-filters button[type=submit]")
    page.wait_for_url(re.compile(r".*/review/\?.*waiting=1.*"))
    assert page.locator(f'table.queue a[href="{case_path}"]').count() == 1
    _no_sideways_scroll(page)

    page.goto(base + case_path)
    page.fill(f'form[action="{case_path}/reply"] textarea', f"We read you, {tag}.")
    page.click(f'form[action="{case_path}/reply"] button[type=submit]')
    page.wait_for_url(base + case_path)
    page.goto(base + "/review/?waiting=1")
    assert page.locator(f'table.queue a[href="{case_path}"]').count() == 0
    context.close()
