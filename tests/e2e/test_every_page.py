"""Issue 13, "Keep it true": every page, public and staff, in be, ru and en.

Each page is audited in a real browser at 360 px with axe-core (pinned in
package.json, installed by ``npm ci``) and must show no violation, and its
document must not scroll sideways.  Every page is visited with JavaScript
off, as a careful submitter would, and its width measured there.  axe
cannot run in that context (its promise waits on timers, which never fire
with JavaScript off), so each document the JS-off page holds is served
again, as it is, to a second page with JavaScript on, for the audit only;
axe is injected through the DevTools protocol (``page.evaluate``), which
the site's CSP (no inline scripts) does not stop.  The site has no script
of its own, so both pages render the same.

One server, one browser context per role; the language is switched by the
site's own ``/lang/<code>?next=…`` link (a session cookie).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, ViewportSize

from tests.e2e.support import (
    PASSWORD,
    ROOT,
    LiveServer,
    Reviewer,
    WebClient,
    enrol_reviewer,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
LANGS = ("en", "be", "ru")
PHONE: ViewportSize = {"width": 360, "height": 740}
STEP_TIMEOUT_MS = 30_000
RECEIPT = re.compile(r'<p class="receipt" id="receipt"><code>([A-Z0-9-]+)</code>')
CASE_LINK = re.compile(r'<a href="(/review/case/[A-Za-z0-9]+)">')
PROPOSAL = "torture-investigation"
UNIT = "omon"
# (page, axe rule) pairs let through, each with why.  Keep it as short as possible.
ALLOWED: dict[tuple[str, str], str] = {
    # "Leave now" lands here: a page that looks like an empty tab to whoever
    # looks over the person's shoulder; any heading would be words on it.
    ("/blank", "page-has-heading-one"): "the neutral page is empty on purpose",
}


@dataclass
class Findings:
    """What the audit found on every page visited, reported together at the end."""

    auditor: Page
    pages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(self, page: Page, where: str) -> None:
        """Audit the page now shown in ``page``: axe violations and sideways scrolling."""
        self.pages.append(where)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > PHONE["width"]:
            self.problems.append(f"{where}: {width} px wide at {PHONE['width']} px")
        for violation in _axe(self.auditor, page):
            if (where.split(" ")[0], violation["id"]) in ALLOWED:
                continue
            targets = "; ".join(
                " ".join(str(part) for part in node["target"]) for node in violation["nodes"]
            )
            self.problems.append(
                f"{where}: axe {violation['id']} ({violation['impact']}): {targets}"
            )

    def assert_clean(self) -> None:
        """Fail with every problem found, one a line."""
        assert not self.problems, "\n".join(self.problems)


def _axe_source() -> str:
    # A missing axe-core is a failure, not a skip: a skipped audit would let
    # the pages drift with a green suite.
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci` in {ROOT} (package-lock.json pins it)"
    return AXE.read_text(encoding="utf-8")


def _axe(auditor: Page, page: Page) -> list[dict[str, Any]]:
    """axe's violations on the document ``page`` shows, audited in ``auditor`` (JS on)."""
    url, markup = page.url, page.content()

    def serve(route: Route) -> None:
        # The same document at the same address (so its stylesheet and
        # relative links resolve); everything else comes from the server.
        if route.request.is_navigation_request() and route.request.url == url:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=markup)
        else:
            route.continue_()

    auditor.route("**/*", serve)
    try:
        auditor.goto(url)
    finally:
        auditor.unroute("**/*", serve)
    auditor.evaluate(_axe_source())
    result = auditor.evaluate("axe.run(document, {resultTypes: ['violations']})")
    violations: list[dict[str, Any]] = json.loads(json.dumps(result["violations"]))
    return violations


def _context(browser: Browser, *, javascript: bool) -> BrowserContext:
    context = browser.new_context(java_script_enabled=javascript, viewport=PHONE, locale="en-US")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context


def _in_language(page: Page, base: str, lang: str, path: str) -> None:
    """Switch to ``lang`` with the site's own link and land on ``path``."""
    page.goto(f"{base}/lang/{lang}?next={path}")
    assert page.get_attribute("html", "lang") == lang, (lang, path, page.url)


def _go(page: Page, base: str, path: str, status: int = 200) -> None:
    answer = page.goto(base + path)
    assert answer is not None, path
    assert answer.status == status, (path, answer.status)


def _login(page: Page, base: str, person: Reviewer) -> None:
    page.goto(base + "/staff/login")
    page.fill("#email", person.email)
    page.fill("#password", PASSWORD)
    # enrol_reviewer used this half-minute's TOTP step: a one-time recovery code logs in.
    page.fill("#code", person.recovery_codes.pop())
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/review/")


@dataclass
class Site:
    """The server and what exists on it: staff of each role, a case, a snapshot."""

    server: LiveServer
    coordinator: Reviewer
    admin: Reviewer
    case: str


@pytest.fixture(scope="module")
def site(live_server: LiveServer) -> Site:
    """Staff enrolled, one report filed, verified and mapped, and a snapshot published."""
    tag = secrets.token_hex(4)
    # Enrolled before the report, so the report is sealed to the coordinator too.
    coordinator = enrol_reviewer(live_server, f"axe-coord-{tag}@example.org", role="coordinator")
    admin = enrol_reviewer(live_server, f"axe-admin-{tag}@example.org", role="admin")
    citizen = WebClient(live_server.base_url, {"Accept-Language": "en"})
    sent = citizen.submit(
        "/report",
        [
            ("narrative", f"Case {tag}: they beat us in the bus and took a phone."),
            ("region", "minsk-city"),
            ("year", "2021"),
            ("month", "03"),
            ("unit", UNIT),
            ("violations", "torture"),
            ("consent_contact", "receipt"),
            ("consent_refer", "y"),
        ],
    )
    assert sent.status == 200, sent.text[:3000]
    assert RECEIPT.search(sent.text), sent.text[:3000]
    queue = coordinator.client.get("/review/")
    cases = CASE_LINK.findall(queue.text)
    assert len(cases) == 1, queue.text[:3000]
    case = cases[0]
    mapped = coordinator.client.submit(
        f"{case}/mappings",
        [("proposal", PROPOSAL), ("strength", "strong"), ("rationale", "A medical certificate.")],
        form_page=case,
    )
    assert mapped.status == 303, mapped.text[:3000]
    verified = coordinator.client.submit(
        f"{case}/status", [("status", "verified"), ("disposition", "")], form_page=case
    )
    assert verified.status == 303, verified.text[:3000]
    published = coordinator.client.submit("/review/stats/publish", [], form_page="/review/stats")
    assert published.status == 303, published.text[:3000]
    return Site(live_server, coordinator, admin, case)


def _file_report(page: Page, base: str, findings: Findings, lang: str) -> str:
    """The form empty, with errors, then sent; the receipt page; return the receipt."""
    _go(page, base, "/report")
    findings.check(page, f"/report ({lang})")
    page.click('form[action="/report"] button[type=submit]')
    assert page.locator('[aria-invalid="true"], .error-summary').count() > 0, page.url
    findings.check(page, f"/report with errors ({lang})")
    page.fill("#narrative", f"Audit {lang}: they held us at the station overnight.")
    page.select_option("#region", "brest")
    page.select_option("#month", "05")
    page.select_option("#year", "2022")
    page.check('input[name="violations"][value="torture"]')
    page.click('form[action="/report"] button[type=submit]')
    receipt = page.inner_text("#receipt code").strip()
    assert receipt, page.url
    findings.check(page, f"receipt page ({lang})")
    page.check("#saved")
    page.click('form[action="/report/saved"] button[type=submit]')
    page.wait_for_url(base + "/report/done")
    findings.check(page, f"/report/done ({lang})")
    return receipt


def test_every_public_page_passes_axe_and_fits_360_px(browser: Browser, site: Site) -> None:
    base = site.server.base_url
    audit = _context(browser, javascript=True)
    findings = Findings(audit.new_page())
    context = _context(browser, javascript=False)
    page = context.new_page()
    for lang in LANGS:
        _in_language(page, base, lang, "/")
        findings.check(page, f"/ ({lang})")
        receipt = _file_report(page, base, findings, lang)
        _go(page, base, "/followup/")
        findings.check(page, f"/followup/ ({lang})")
        page.fill("#receipt", receipt)
        page.click("main form button[type=submit]")
        page.wait_for_url(base + "/followup/case")
        findings.check(page, f"/followup/case ({lang})")
        _go(page, base, "/followup/withdraw")
        findings.check(page, f"/followup/withdraw ({lang})")
        for path in ("/evidence", f"/evidence/proposal/{PROPOSAL}", f"/evidence/unit/{UNIT}"):
            _go(page, base, path)
            findings.check(page, f"{path} ({lang})")
        _go(page, base, "/blank")
        findings.check(page, f"/blank ({lang})")
        _go(page, base, f"/no-such-page-{lang}", status=404)
        findings.check(page, f"404 page ({lang})")
    context.close()
    audit.close()
    assert len(findings.pages) == 13 * len(LANGS), findings.pages
    findings.assert_clean()


def test_every_staff_page_passes_axe_and_fits_360_px(browser: Browser, site: Site) -> None:
    base = site.server.base_url
    audit = _context(browser, javascript=True)
    findings = Findings(audit.new_page())
    tag = secrets.token_hex(4)
    case = site.case

    # Before an account exists: the invitation and the TOTP enrolment.
    newcomer = _context(browser, javascript=False)
    page = newcomer.new_page()
    invite = site.server.invite(f"axe-new-{tag}@example.org").removeprefix(base)
    for lang in LANGS:
        _in_language(page, base, lang, "/staff/login")
        findings.check(page, f"/staff/login ({lang})")
        _go(page, base, invite)
        findings.check(page, f"invitation ({lang})")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/staff/enrol")
    for lang in LANGS:
        _in_language(page, base, lang, "/staff/enrol")
        findings.check(page, f"/staff/enrol ({lang})")
    newcomer.close()

    coordinator_pages = (
        "/review/",
        case,
        f"{case}/codes",
        f"{case}/history",
        f"{case}/linked",
        "/review/stats",
        "/proposals/",
        f"/proposals/{PROPOSAL}",
        "/staff/account",
        f"/review/refer?case={case.rsplit('/', 1)[1]}",
    )
    admin_pages = ("/staff/people", "/staff/audit", "/staff/partners")
    for person, paths in ((site.coordinator, coordinator_pages), (site.admin, admin_pages)):
        context = _context(browser, javascript=False)
        page = context.new_page()
        _login(page, base, person)
        for lang in LANGS:
            _in_language(page, base, lang, paths[0])
            for path in paths:
                _go(page, base, path)
                findings.check(page, f"{path} ({lang})")
        context.close()
    audit.close()
    assert len(findings.pages) == 3 * (3 + len(coordinator_pages) + len(admin_pages))
    findings.assert_clean()


def test_a_missing_axe_fails_rather_than_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.AXE", ROOT / "node_modules" / "no-such-axe" / "axe.min.js")
    with pytest.raises(AssertionError, match="run `npm ci`"):
        _axe_source()
