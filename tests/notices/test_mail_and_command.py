"""The SMTP conversation's refusals to downgrade, and ``registry notices send``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from config import TestingConfig
from registry import db
from registry.cli import main
from registry.models import Account, Notice
from registry.notices.mail import DeliveryFailed, Outbox, compose
from registry.notices.texts import notice_text
from tests.helpers import StaffActions, submit_report
from tests.notices.conftest import TIMEOUT, MailServer


@pytest.mark.parametrize(
    ("security", "error"), [("starttls", "SMTPNotSupportedError"), ("tls", "SSLError")]
)
def test_no_message_goes_in_the_clear_when_tls_is_asked_for(
    smtpd: MailServer, security: str, error: str
) -> None:
    # The test server offers no TLS at all: asked for STARTTLS or implicit
    # TLS, the outbox must give up, never fall back to plain text.
    cfg = TestingConfig().with_overrides(
        smtp_host="127.0.0.1",
        smtp_port=smtpd.port,
        smtp_security=security,
        smtp_timeout_seconds=TIMEOUT,
    )
    message = compose(cfg, "x@example.org", notice_text("en", cfg.base_url), now=datetime.now(UTC))
    with Outbox(cfg) as outbox, pytest.raises(DeliveryFailed) as failed:
        outbox.deliver(message)
    assert (failed.value.kind, failed.value.server_gone) == (error, True)
    assert smtpd.got.messages == []


def test_message_ids_are_random_and_carry_no_clock() -> None:
    cfg = TestingConfig().with_overrides(smtp_from="registry@example.org")
    now = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    first, second = (
        compose(cfg, "x@example.org", notice_text("en", cfg.base_url), now=now) for _ in range(2)
    )
    assert first["Message-ID"] != second["Message-ID"]
    assert first["Message-ID"].endswith("@example.org>")
    assert "2026" not in first["Message-ID"]
    assert first["Date"] == "Fri, 04 Dec 2026 18:00:00 +0000"


def test_the_command_schedules_and_sends(
    app: Flask,
    staff: StaffActions,
    smtpd: MailServer,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = CliRunner()
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY"):
        monkeypatch.delenv(f"REGISTRY_{name}", raising=False)
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(tmp_path / "cli-instance"))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(tmp_path / "cli-keys"))
    unset = runner.invoke(main, ["notices", "send"])
    assert unset.exit_code == 2
    assert "REGISTRY_SMTP_HOST is not set" in unset.output
    person = staff.create("cli@example.org")
    with app.app_context():
        session = db.session()
        account = session.get(Account, person.account_id)
        assert account is not None
        account.notify_by_email = True
        session.commit()
    submit_report(app.test_client())
    monkeypatch.setenv("REGISTRY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("REGISTRY_SMTP_PORT", str(smtpd.port))
    monkeypatch.setenv("REGISTRY_SMTP_SECURITY", "none")
    ran = runner.invoke(main, ["notices", "send"])
    assert ran.exit_code == 0, ran.output
    assert (
        ran.output
        == "notices: 0 sent, 0 failed (retried later), 1 scheduled for the end of the period\n"
    )
    with app.app_context():
        (row,) = db.session().scalars(select(Notice))
        assert row.activity is True
