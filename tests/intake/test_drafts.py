"""Receipts come only from the server (issue 9, item 3).

The report form carries a draft id; the receipt is a MAC of it and of the
browser's session under a server key.  A client cannot choose a receipt,
cannot ask whether one exists ("already submitted"), and a draft lifted
from one browser is worth nothing in another.  A genuine resend of the same
page, also after a busy or outage page, is still recognised and stored once.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import scoped_session, sessionmaker
from werkzeug.test import TestResponse

from registry import db, runtime
from registry.crypto import RECEIPT_ALPHABET, generate_receipt, normalize_receipt
from registry.intake.drafts import Draft, draft_id_ok, new_draft_id, receipt_for
from registry.models import Report
from registry.serving.slots import KdfSlots
from tests.helpers import csrf_token, english_client, post_form, submit_report

FIELDS = {"narrative": "They beat us in the bus.", "region": "minsk-city"}
RECEIPT = re.compile(r'<p class="receipt" id="receipt"><code>([A-Z0-9-]+)</code>')
DRAFT = re.compile(r'name="draft_receipt" type="hidden" value="([^"]*)"')
ALREADY = "sent more than once"
NOT_FOUND = "No report matches this receipt."


def _reports(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(Report)) or 0)


def _page(client: FlaskClient) -> tuple[str, str]:
    """A fresh form page's CSRF token and draft."""
    html = client.get("/report").get_data(as_text=True)
    draft = DRAFT.search(html)
    assert draft
    return csrf_token(html), draft.group(1)


def _send(client: FlaskClient, draft: str, token: str | None = None) -> TestResponse:
    """Send a valid report with ``draft`` as the hidden field (a new page's token if none)."""
    token = token or _page(client)[0]
    return client.post("/report", data={"csrf_token": token, "draft_receipt": draft, **FIELDS})


def _receipt(response: TestResponse) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    found = RECEIPT.search(response.get_data(as_text=True))
    assert found, "no receipt page"
    return found.group(1)


def _fresh(response: TestResponse) -> str:
    """The receipt of a newly stored report (not the "already submitted" page)."""
    receipt = _receipt(response)
    assert ALREADY not in response.get_data(as_text=True)
    return receipt


def _opens(app: Flask, receipt: str) -> bool:
    response = post_form(english_client(app), "/followup/", {"receipt": receipt})
    if response.status_code == 303:
        return True
    assert NOT_FOUND in response.get_data(as_text=True)
    return False


def _same(a: str, b: str) -> bool:
    return normalize_receipt(a) is not None and normalize_receipt(a) == normalize_receipt(b)


def _tampered(draft: str) -> str:
    # A character that is in the draft alphabet and in the receipt alphabet,
    # so the tampered value keeps whichever shape the draft had.
    return draft[:-1] + ("B" if draft[-1] == "A" else "A")


def test_a_client_chosen_receipt_is_not_used(app: Flask, client: FlaskClient) -> None:
    chosen = "2222-2222-2222-2222-2222"
    receipt = _fresh(_send(client, chosen))
    assert not _same(receipt, chosen)
    assert _reports(app) == 1
    assert _opens(app, receipt)
    assert not _opens(app, chosen)


def test_a_tampered_draft_is_replaced(app: Flask, client: FlaskClient) -> None:
    token, draft = _page(client)
    tampered = _tampered(draft)
    first = _fresh(_send(client, tampered, token))
    assert not _same(first, tampered)
    # The genuine draft is a form of its own: a new report, another receipt.
    second = _fresh(_send(client, draft, token))
    assert not _same(second, first)
    assert _reports(app) == 2
    assert _opens(app, first)
    assert _opens(app, second)


def test_a_draft_from_another_session_is_replaced(app: Flask, client: FlaskClient) -> None:
    token, draft = _page(client)
    thief = english_client(app)
    stolen = _fresh(_send(thief, draft))
    mine = _fresh(_send(client, draft, token))
    assert not _same(stolen, mine)
    assert not _same(stolen, draft)
    assert _reports(app) == 2


@pytest.mark.parametrize("same_browser", [True, False])
def test_an_existing_receipt_is_no_oracle(
    app: Flask, client: FlaskClient, same_browser: bool
) -> None:
    existing = submit_report(client)
    guesser = client if same_browser else english_client(app)
    response = _send(guesser, existing)
    receipt = _fresh(response)
    assert not _same(receipt, existing)
    assert _reports(app) == 2
    assert _opens(app, receipt)


def test_a_genuine_resend_is_recognised(app: Flask, client: FlaskClient) -> None:
    token, draft = _page(client)
    receipt = _fresh(_send(client, draft, token))
    again = _send(client, draft, token)
    assert _receipt(again) == receipt
    assert ALREADY in again.get_data(as_text=True)
    # The same browser with a newer page's CSRF token: still the same form.
    assert _receipt(_send(client, draft)) == receipt
    assert _reports(app) == 1
    assert _opens(app, receipt)


def test_the_page_holds_no_receipt_before_sending(client: FlaskClient) -> None:
    html = client.get("/report").get_data(as_text=True)
    found = DRAFT.search(html)
    assert found
    draft = found.group(1)
    assert draft_id_ok(draft)
    receipt = normalize_receipt(_fresh(_send(client, draft, csrf_token(html))))
    assert receipt is not None
    # Not in the page in any spelling a person could type it in (the draft
    # id, random letters, may itself happen to have a receipt's shape: it is
    # what the receipt is derived from, not the receipt).
    typed = re.sub(r"[\s_-]", "", html).upper().translate(str.maketrans("OIL", "011"))
    assert receipt not in typed
    assert normalize_receipt(draft) != receipt


def test_a_refused_form_keeps_its_draft(app: Flask, client: FlaskClient) -> None:
    token, draft = _page(client)
    refused = client.post(
        "/report", data={"csrf_token": token, "draft_receipt": draft, "narrative": "x"}
    )
    assert refused.status_code == 422
    assert DRAFT.findall(refused.get_data(as_text=True)) == [draft]
    receipt = _fresh(_send(client, draft, token))
    assert _receipt(_send(client, draft, token)) == receipt
    assert _reports(app) == 1


def test_a_refused_form_replaces_a_bad_draft(client: FlaskClient) -> None:
    token, _draft = _page(client)
    chosen = "2222-2222-2222-2222-2222"
    refused = client.post(
        "/report", data={"csrf_token": token, "draft_receipt": chosen, "narrative": "x"}
    )
    assert refused.status_code == 422
    [kept] = DRAFT.findall(refused.get_data(as_text=True))
    assert kept != chosen
    assert draft_id_ok(kept)


def test_a_busy_page_keeps_the_draft(app: Flask, client: FlaskClient) -> None:
    slots = app.extensions["registry.kdf_slots"]
    token, draft = _page(client)
    app.extensions["registry.kdf_slots"] = KdfSlots(0, wait=0.01)
    busy = _send(client, draft, token)
    assert busy.status_code == 503
    assert DRAFT.findall(busy.get_data(as_text=True)) == [draft]
    assert _reports(app) == 0
    app.extensions["registry.kdf_slots"] = slots
    receipt = _fresh(_send(client, draft, token))
    assert _receipt(_send(client, draft, token)) == receipt
    assert _reports(app) == 1


@contextmanager
def _database_down(app: Flask, tmp_path: Path) -> Iterator[None]:
    """While inside, the app's database cannot be reached (same backend, dead address)."""
    engine, factory = app.extensions["registry.db"]
    if engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path}/missing/registry.sqlite3"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    dead = db.make_engine(url)
    dead_factory = scoped_session(sessionmaker(bind=dead))
    app.extensions["registry.db"] = (dead, dead_factory)
    try:
        yield
    finally:
        app.extensions["registry.db"] = (engine, factory)
        dead_factory.remove()
        dead.dispose()


def test_an_outage_page_keeps_the_draft(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    token, draft = _page(client)
    with _database_down(app, tmp_path):
        down = _send(client, draft, token)
    html = down.get_data(as_text=True)
    assert down.status_code == 503
    assert "could not store your report" in html
    assert DRAFT.findall(html) == [draft]
    receipt = _fresh(_send(client, draft, token))
    assert _receipt(_send(client, draft, token)) == receipt
    assert _reports(app) == 1


def _session_secret(app: Flask, client: FlaskClient) -> str:
    """The CSRF secret in the client's (signed) Flask session cookie."""
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    serializer = interface.get_signing_serializer(app)
    assert serializer is not None
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    secret = serializer.loads(cookie.value)["csrf_token"]
    assert isinstance(secret, str)
    return secret


DRAFT_LIKE = st.text(string.ascii_letters + string.digits + "-_", min_size=22, max_size=22)
RECEIPT_LIKE = st.text(RECEIPT_ALPHABET, min_size=20, max_size=20).map(
    lambda s: "-".join(s[i : i + 4] for i in range(0, 20, 4))
)
POSTED = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=60),
    DRAFT_LIKE,
    RECEIPT_LIKE,
    RECEIPT_LIKE.map(str.lower),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(posted=POSTED)
@example(posted="")
@example(posted="2222-2222-2222-2222-2222")
@example(posted="0" * 22)
@example(posted="\x00" * 22)
def test_any_posted_draft_gets_a_server_made_receipt(app: Flask, posted: str) -> None:
    client = english_client(app)  # a new browser: no earlier form to resend
    response = _send(client, posted)
    receipt = _fresh(response)
    assert normalize_receipt(receipt) is not None
    assert not _same(receipt, posted)
    if draft_id_ok(posted):
        # A well-formed draft id: the receipt is the server's MAC of it and of
        # this browser's session, which no client can compute.
        with app.app_context():
            key = runtime.keyring().draft_key
        assert receipt == receipt_for(key, Draft(posted, _session_secret(app, client)))


def test_drafts_are_bound_to_key_session_and_id() -> None:
    key, other_key = b"k" * 32, b"o" * 32
    draft = Draft(new_draft_id(), "a" * 40)
    receipt = receipt_for(key, draft)
    assert receipt is not None
    assert normalize_receipt(receipt) is not None
    assert receipt_for(key, draft) == receipt
    assert receipt_for(other_key, draft) != receipt
    assert receipt_for(key, Draft(draft.draft_id, "b" * 40)) != receipt
    assert receipt_for(key, Draft(_tampered(draft.draft_id), draft.session)) != receipt
    assert receipt_for(key, Draft(new_draft_id(), draft.session)) != receipt


@pytest.mark.parametrize(
    "draft",
    [
        Draft("", "a" * 40),
        Draft(generate_receipt(), "a" * 40),
        Draft("A" * 21, "a" * 40),
        Draft("A" * 23, "a" * 40),
        Draft("A" * 21 + "=", "a" * 40),
        Draft("A" * 22, ""),
        Draft("A" * 22, "a" * 257),
    ],
)
def test_unusable_drafts_give_no_receipt(draft: Draft) -> None:
    assert receipt_for(b"k" * 32, draft) is None
