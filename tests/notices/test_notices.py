"""Quiet notices against a real SMTP server: one e-mail per burst, saying nothing more.

Time is passed to ``send_due`` explicitly; activity is marked at the real
clock's moment, so "later" is the real time plus hours, never a sleep.
"""

from __future__ import annotations

import email
import logging
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db, runtime
from registry.models import Account, Notice, Report, Role
from registry.notices.activity import UNSCHEDULED, note_activity, period_end
from registry.notices.sending import SendResult, send_due
from registry.review.triage import assign, grant
from tests.helpers import (
    Staff,
    StaffActions,
    english_client,
    post_form,
    private_key_of,
    submit_and_locate,
    submit_report,
)
from tests.notices.conftest import HangingServer, MailServer, use_mail_server

HOURS = 6  # the configuration's default quiet period
# Long enough for a submission to go through while the sender waits.
HANG = 2.0
LOGIN_LINK = "https://registry.example.org/staff/login"


def _send(app: Flask, now: datetime) -> SendResult:
    with app.app_context():
        return send_due(db.session(), runtime.config(), now=now)


def _row(app: Flask, person: Staff) -> Notice | None:
    with app.app_context():
        return db.session().get(Notice, person.account_id)


def _activity(app: Flask, person: Staff) -> bool:
    row = _row(app, person)
    return row is not None and row.activity


def _opt_in(app: Flask, staff: StaffActions, person: Staff, *, lang: str = "en") -> FlaskClient:
    """Log ``person`` in with the page in ``lang`` and tick the box; return their browser."""
    browser = english_client(app)
    browser.get(f"/lang/{lang}")
    staff.login(browser, person)
    response = post_form(
        browser, "/staff/account/notices", {"notify": "y"}, form_page="/staff/account"
    )
    assert response.status_code == 303
    return browser


def _opted_in_directly(app: Flask, *people: Staff) -> None:
    """Opt ``people`` in without a browser (for the tests of sending alone)."""
    with app.app_context():
        session = db.session()
        for person in people:
            account = session.get(Account, person.account_id)
            assert account is not None
            account.notify_by_email, account.notice_language = True, "en"
        note_activity(session, [person.account_id for person in people])
        session.commit()


def _parsed(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _message_from_submitter(client: FlaskClient, receipt: str) -> None:
    assert post_form(client, "/followup/", {"receipt": receipt}).status_code == 303
    sent = post_form(
        client, "/followup/message", {"text": "One more thing."}, form_page="/followup/case"
    )
    assert sent.status_code == 303


def _assign(app: Flask, by: Staff, to: Staff, public_id: str) -> None:
    key = private_key_of(app, by)
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report).where(Report.public_id == public_id)).one()
        assign(
            session, report, account_id=by.account_id, private_key=key, assignee_id=to.account_id
        )
        session.commit()


def test_one_quiet_email_after_a_burst(
    app: Flask, client: FlaskClient, staff: StaffActions, smtpd: MailServer
) -> None:
    use_mail_server(app, smtpd.port)
    told = staff.create("told@example.org")
    coordinator = staff.create("coordinator@example.org", Role.COORDINATOR)
    _opt_in(app, staff, told)
    receipt = submit_report(client, region="brest")
    ids = [submit_and_locate(app, client, region=region) for region in ("vitebsk", "minsk-city")]
    _message_from_submitter(client, receipt)
    _assign(app, coordinator, told, ids[0])

    now = datetime.now(UTC)
    first = _send(app, now)
    # Fresh activity waits for the end of the period: the e-mail's time
    # must not tell when the reports arrived.
    assert (first.sent, first.scheduled) == (0, 1)
    assert smtpd.got.messages == []
    end = period_end(now, HOURS)
    assert _send(app, end - timedelta(seconds=1)).sent == 0
    assert _send(app, end) == SendResult(sent=1)

    ((recipients, raw),) = smtpd.got.messages
    assert recipients == ["told@example.org"]
    message = _parsed(raw)
    body = message.get_content()
    assert message["Subject"] == "New activity in Sviedka"
    assert "There is new activity for you in Sviedka." in body
    assert LOGIN_LINK in body
    text = f"{message['Subject']}\n{body}"
    with app.app_context():
        public_ids = list(db.session().scalars(select(Report.public_id)))
    for secret in [*public_ids, "brest", "vitebsk", "minsk", "Brest", "Minsk"]:
        assert secret not in text
        assert secret.encode() not in raw
    # No count, no date, no time: no digit at all in what a person reads.
    assert not re.search(r"\d", text)
    assert set(message.keys()) == {
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
    }
    # The coordinator did not opt in: no row, no e-mail.
    assert _row(app, coordinator) is None
    row = _row(app, told)
    assert row is not None
    assert (row.activity, row.failures, row.last_sent_at) == (False, 0, end)
    assert row.not_before == end + timedelta(hours=HOURS)

    # New activity within the quiet period (a submitter's message alone):
    # nothing until the period ends.
    _message_from_submitter(client, receipt)
    assert _activity(app, told)
    assert _send(app, end + timedelta(hours=1)) == SendResult()
    assert _send(app, end + timedelta(hours=HOURS)) == SendResult(sent=1)
    assert len(smtpd.got.messages) == 2
    # Taking a case oneself is no news; being given one by someone else is.
    _assign(app, told, told, ids[1])
    assert not _activity(app, told)
    _assign(app, coordinator, coordinator, ids[1])
    _assign(app, coordinator, told, ids[1])
    assert _activity(app, told)


def test_the_choice_keeps_the_page_language_and_opting_out_forgets(
    app: Flask, client: FlaskClient, staff: StaffActions, smtpd: MailServer
) -> None:
    use_mail_server(app, smtpd.port)
    person = staff.create("russian@example.org")
    browser = _opt_in(app, staff, person, lang="ru")
    submit_report(client)
    row = _row(app, person)
    assert row is not None
    assert (row.activity, row.not_before) == (True, UNSCHEDULED)
    with app.app_context():
        account = db.session().get(Account, person.account_id)
        assert account is not None
        assert (account.notify_by_email, account.notice_language) == (True, "ru")
    off = post_form(browser, "/staff/account/notices", {}, form_page="/staff/account")
    assert off.status_code == 303
    assert _row(app, person) is None
    with app.app_context():
        account = db.session().get(Account, person.account_id)
        assert account is not None
        assert account.notify_by_email is False
    submit_report(client)
    assert _row(app, person) is None
    assert _send(app, datetime.now(UTC) + timedelta(days=2)) == SendResult()
    assert smtpd.got.messages == []


def test_the_page_offers_notices_only_when_they_can_be_sent(
    app: Flask, staff: StaffActions, smtpd: MailServer
) -> None:
    reviewer, admin = staff.create("r@example.org"), staff.create("a@example.org", Role.ADMIN)
    browser = english_client(app)
    staff.login(browser, reviewer)
    page = browser.get("/staff/account").get_data(as_text=True)
    assert "the operator has not set up e-mail" in page
    assert 'name="notify"' not in page
    refused = post_form(
        browser, "/staff/account/notices", {"notify": "y"}, form_page="/staff/account"
    )
    assert refused.status_code == 400
    use_mail_server(app, smtpd.port)
    page = browser.get("/staff/account").get_data(as_text=True)
    assert 'name="notify"' in page
    assert "At most one e-mail is sent every 6 hours" in page
    assert "There is new activity for you in Sviedka" in page
    admin_browser = english_client(app)
    staff.login(admin_browser, admin)
    page = admin_browser.get("/staff/account").get_data(as_text=True)
    assert 'name="notify"' not in page
    assert "E-mail notices are for reviewers and coordinators" in page


def test_a_refusing_server_is_retried_with_backoff(
    app: Flask, staff: StaffActions, smtpd: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    use_mail_server(app, smtpd.port)
    person = staff.create("refused@example.org")
    _opted_in_directly(app, person)
    smtpd.got.refuse = True
    now = datetime.now(UTC)
    _send(app, now)
    end = period_end(now, HOURS)
    with caplog.at_level(logging.WARNING, logger="registry.notices"):
        assert _send(app, end) == SendResult(failed=1)
    row = _row(app, person)
    assert row is not None
    assert (row.activity, row.failures, row.not_before) == (True, 1, end + timedelta(minutes=1))
    (line,) = [r.getMessage() for r in caplog.records if r.name.startswith("registry.notices")]
    assert str(person.account_id) in line
    assert "SMTPRecipientsRefused" in line
    assert "refused@example.org" not in line
    assert _send(app, end + timedelta(seconds=30)) == SendResult()
    assert _send(app, end + timedelta(minutes=1)) == SendResult(failed=1)
    row = _row(app, person)
    assert row is not None
    assert (row.failures, row.not_before) == (2, end + timedelta(minutes=3))
    smtpd.got.refuse = False
    later = end + timedelta(minutes=3)
    assert _send(app, later) == SendResult(sent=1)
    row = _row(app, person)
    assert row is not None
    assert (row.activity, row.failures, row.last_sent_at) == (False, 0, later)
    assert row.not_before == end + timedelta(hours=HOURS)
    assert len(smtpd.got.messages) == 1


def test_a_hanging_server_costs_one_timeout_and_never_touches_intake(
    app: Flask, client: FlaskClient, staff: StaffActions, hanging: HangingServer
) -> None:
    use_mail_server(app, hanging.port, smtp_timeout_seconds=HANG)
    first, second = staff.create("one@example.org"), staff.create("two@example.org")
    _opted_in_directly(app, first, second)
    now = datetime.now(UTC)
    _send(app, now)
    results: list[SendResult] = []
    sender = threading.Thread(target=lambda: results.append(_send(app, period_end(now, HOURS))))
    started = time.monotonic()
    sender.start()
    while not hanging.accepted:
        assert time.monotonic() - started < HANG, "the sender never connected"
        time.sleep(0.01)
    # While the sender waits on the silent server, a report goes through
    # (no database lock is held across the SMTP conversation) and intake
    # itself never opens a connection to the mail server.
    submit_report(client)
    assert sender.is_alive()
    assert len(hanging.accepted) == 1
    sender.join()
    # One connection, one timeout: the second person is not tried against
    # a server that is gone (they wait for the next run, with backoff).
    assert time.monotonic() - started < HANG + 1.0
    assert results == [SendResult(failed=2)]
    assert len(hanging.accepted) == 1
    for person in (first, second):
        row = _row(app, person)
        assert row is not None
        assert (row.activity, row.failures) == (True, 1)


def test_a_case_granted_to_someone_is_news_for_them(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    coordinator = staff.create("giver@example.org", Role.COORDINATOR)
    public_id = submit_and_locate(app, client, region="brest")
    later = staff.create("later@example.org")  # joined after the report: no wrap yet
    _opted_in_directly(app, later)
    key = private_key_of(app, coordinator)
    with app.app_context():
        session = db.session()
        row = session.get(Notice, later.account_id)
        assert row is not None
        row.activity = False
        report = session.scalars(select(Report).where(Report.public_id == public_id)).one()
        grant(
            session,
            report,
            account_id=coordinator.account_id,
            private_key=key,
            grantee_id=later.account_id,
        )
        session.commit()
    assert _activity(app, later)
