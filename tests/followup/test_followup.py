"""Coming back with the receipt: status, messages both ways, consents, withdrawal."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import db
from registry.followup import cookie
from registry.models import CaseMapping, KeyWrap, Message, Report, ReportViolation, SealedField
from registry.reforms.service import active_proposals
from registry.serving.slots import Busy, KdfSlots
from tests.helpers import StaffActions, english_client, post_form, submit_report

NOT_FOUND = "No report matches this receipt."


def _open(client: FlaskClient, receipt: str) -> str:
    response = post_form(client, "/followup/", {"receipt": receipt})
    if response.status_code == 303:
        return client.get(response.headers["Location"]).get_data(as_text=True)
    return response.get_data(as_text=True)


def _public_id(app: Flask) -> str:
    with app.app_context():
        return db.session().scalars(select(Report)).one().public_id


def test_receipt_opens_the_case_in_any_typing(client: FlaskClient) -> None:
    receipt = submit_report(client)
    sloppy = receipt.lower().replace("-", " ").replace("1", "l").replace("0", "o")
    page = _open(client, sloppy)
    assert "Received. Nobody has read it yet." in page


@pytest.mark.parametrize("receipt", ["0000-0000-0000-0000-0001", "not a receipt", "x" * 64])
def test_wrong_receipt_answers_the_same_way(client: FlaskClient, receipt: str) -> None:
    submit_report(client)
    response = post_form(client, "/followup/", {"receipt": receipt})
    assert response.status_code == 422
    assert NOT_FOUND in response.get_data(as_text=True)
    assert client.get_cookie(cookie.COOKIE, path="/followup") is None


def test_messages_both_ways(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    reviewer = staff.create("reply@example.org")
    receipt = submit_report(client)
    _open(client, receipt)
    sent = post_form(
        client,
        "/followup/message",
        {"text": "The officer's badge was 4711"},
        form_page="/followup/case",
    )
    assert sent.status_code == 303
    staff_client = english_client(app)
    staff.login(staff_client, reviewer)
    public_id = _public_id(app)
    case_page = staff_client.get(f"/review/case/{public_id}").get_data(as_text=True)
    assert "The officer&#39;s badge was 4711" in case_page
    replied = post_form(
        staff_client,
        f"/review/case/{public_id}/reply",
        {"text": "Which day was it?"},
        form_page=f"/review/case/{public_id}",
    )
    assert replied.status_code == 303
    page = client.get("/followup/case").get_data(as_text=True)
    assert "Which day was it?" in page
    assert "The officer&#39;s badge was 4711" in page
    with app.app_context():
        for message in db.session().scalars(select(Message)):
            assert b"4711" not in message.staff_copy + message.submitter_copy
            assert b"Which day" not in message.staff_copy + message.submitter_copy


def test_consents_are_saved(app: Flask, client: FlaskClient) -> None:
    _open(client, submit_report(client))
    response = post_form(
        client,
        "/followup/consents",
        {"contact": "none", "publish": "y"},
        form_page="/followup/case",
    )
    assert response.status_code == 303
    with app.app_context():
        report = db.session().scalars(select(Report)).one()
        assert (report.consent_contact, report.consent_publish, report.consent_refer) == (
            "none",
            True,
            False,
        )


def _row_counts(app: Flask) -> list[int]:
    with app.app_context():
        session = db.session()
        return [
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Report, SealedField, KeyWrap, ReportViolation, Message, CaseMapping)
        ]


def test_withdrawal_deletes_everything(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("w@example.org")
    receipt = submit_report(client, narrative="withdraw me")
    staff_client = app.test_client()
    staff.login(staff_client, reviewer)
    public_id = _public_id(app)
    with app.app_context():
        proposal = active_proposals(db.session())[0].code
    post_form(
        staff_client,
        f"/review/case/{public_id}/mappings",
        {"proposal": proposal, "strength": "strong", "rationale": "why"},
        form_page=f"/review/case/{public_id}",
    )
    _open(client, receipt)
    post_form(client, "/followup/message", {"text": "more"}, form_page="/followup/case")
    assert min(_row_counts(app)) >= 1
    unconfirmed = post_form(client, "/followup/withdraw", {})
    assert unconfirmed.status_code == 422
    assert min(_row_counts(app)) >= 1
    done = post_form(client, "/followup/withdraw", {"confirm": "y", "receipt": receipt})
    assert done.status_code == 200
    assert "Your report is deleted" in done.get_data(as_text=True)
    assert _row_counts(app) == [0, 0, 0, 0, 0, 0]
    assert NOT_FOUND in _open(english_client(app), receipt)


def test_session_ends_after_idle_time(app: Flask) -> None:
    key = bytes(32)
    session = cookie.FollowupSession(
        "ABCDEFGHJKMN", bytes(96), issued_at=1_000_000, signing_seed=bytes(range(32))
    )
    value = cookie.encode(key, session, now=1_000_000)
    assert cookie.decode(key, value, now=1_000_000 + 14 * 60) == session
    assert cookie.decode(key, value, now=1_000_000 + 16 * 60) is None
    # Sliding renewal cannot extend past the absolute limit.
    renewed = cookie.encode(key, session, now=1_000_000 + 119 * 60)
    assert cookie.decode(key, renewed, now=1_000_000 + 121 * 60) is None
    assert cookie.decode(bytes([1]) * 32, value, now=1_000_000) is None
    assert cookie.decode(key, value[:-2], now=1_000_000) is None


def test_case_page_without_session_goes_to_the_receipt_form(client: FlaskClient) -> None:
    response = client.get("/followup/case")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/followup/")
    client.set_cookie(cookie.COOKIE, "garbage", path="/followup")
    assert client.get("/followup/case").status_code == 303


def test_leave_now_ends_the_session(client: FlaskClient) -> None:
    _open(client, submit_report(client))
    page = client.get("/followup/case").get_data(as_text=True)
    assert 'href="/leave"' in page
    response = client.get("/leave")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/blank")
    assert "cookies" in response.headers["Clear-Site-Data"]
    assert client.get("/followup/case").status_code == 303
    neutral = client.get("/blank").get_data(as_text=True)
    assert "Sviedka" not in neutral
    assert "Сведка" not in neutral


def test_kdf_slots_refuse_when_full() -> None:
    slots = KdfSlots(1, wait=0.01)
    with slots.hold(), pytest.raises(Busy), slots.hold():
        pass
    with slots.hold():  # released again afterwards
        pass


def test_busy_answers_503_in_the_persons_language(app: Flask, client: FlaskClient) -> None:
    app.extensions["registry.kdf_slots"] = KdfSlots(0, wait=0.01)
    client.get("/lang/be")
    response = post_form(client, "/followup/", {"receipt": "AAAA-AAAA-AAAA-AAAA-AAAA"})
    assert response.status_code == 503
    assert re.search(r'<html lang="be">', response.get_data(as_text=True))


def test_withdrawal_empties_the_sqlite_wal(app: Flask, client: FlaskClient) -> None:
    from pathlib import Path

    url = str(app.extensions["registry.config"].database_url)
    receipt = submit_report(client, narrative="wal trace")
    _open(client, receipt)
    post_form(client, "/followup/withdraw", {"confirm": "y", "receipt": receipt})
    if url.startswith("sqlite"):
        wal = Path(url.removeprefix("sqlite:///") + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0


WRONG_RECEIPT = "This is not the receipt of this report. Nothing was deleted."


def test_a_copied_cookie_cannot_withdraw_without_the_receipt(
    app: Flask, client: FlaskClient
) -> None:
    receipt = submit_report(client, narrative="keep me")
    _open(client, receipt)
    # Someone copies the follow-up cookie (an unlocked phone) and has a
    # receipt of their own: a real one, of another report.
    copier = english_client(app)
    own_receipt = submit_report(copier, narrative="another report")
    stolen = client.get_cookie(cookie.COOKIE, path="/followup")
    assert stolen is not None
    copier.set_cookie(cookie.COOKIE, stolen.value, path="/followup")
    before = _row_counts(app)
    for typed in (own_receipt, "0000-0000-0000-0000-0001", "not a receipt"):
        refused = post_form(copier, "/followup/withdraw", {"confirm": "y", "receipt": typed})
        assert refused.status_code == 422
        html = refused.get_data(as_text=True)
        assert WRONG_RECEIPT in html
        assert typed not in html  # a receipt is never shown back
    missing = post_form(copier, "/followup/withdraw", {"confirm": "y"})
    assert missing.status_code == 422
    assert "Please enter your receipt." in missing.get_data(as_text=True)
    assert _row_counts(app) == before
    assert NOT_FOUND not in _open(english_client(app), receipt)  # still there…
    # …and the person's own receipt, typed loosely, withdraws it.
    done = post_form(client, "/followup/withdraw", {"confirm": "y", "receipt": receipt.lower()})
    assert "Your report is deleted" in done.get_data(as_text=True)
    assert NOT_FOUND in _open(english_client(app), receipt)
    assert NOT_FOUND not in _open(english_client(app), own_receipt)


def test_wrong_receipt_on_withdrawal_answers_in_the_persons_language(
    app: Flask, client: FlaskClient
) -> None:
    receipt = submit_report(client)
    _open(client, receipt)
    client.get("/lang/be")
    refused = post_form(
        client, "/followup/withdraw", {"confirm": "y", "receipt": "0000-0000-0000-0000-0001"}
    )
    assert refused.status_code == 422
    assert '<html lang="be">' in refused.get_data(as_text=True)
    assert _row_counts(app)[0] == 1


def test_withdrawal_is_refused_with_503_when_the_kdf_is_busy(
    app: Flask, client: FlaskClient
) -> None:
    receipt = submit_report(client)
    _open(client, receipt)
    app.extensions["registry.kdf_slots"] = KdfSlots(0, wait=0.01)
    busy = post_form(client, "/followup/withdraw", {"confirm": "y", "receipt": receipt})
    assert busy.status_code == 503
    assert _row_counts(app)[0] == 1


def test_a_cookie_of_the_layout_before_signing_seeds_is_refused() -> None:
    """An older cookie (no signing seed) must not be misread: the person types the receipt again."""
    import base64
    import struct

    from registry.crypto import seal_local

    key = bytes(32)
    payload = struct.pack(">QQ", 1_000_000, 1_000_000 + 900) + bytes(96) + b"ABCDEFGHJKMNPQRS"
    old = base64.urlsafe_b64encode(seal_local(key, payload, context="followup-session"))
    assert cookie.decode(key, old.decode().rstrip("="), now=1_000_000) is None
