"""``registry escrow rewrap``: the operator restores a person's access from escrow."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from registry import db
from registry.cli import main
from registry.models import AuditEvent, KeyWrap, Report, Role
from tests.helpers import StaffActions, english_client, submit_report
from tests.people.conftest import PASSPHRASE


@pytest.fixture
def deployment(escrowed: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The CLI pointed, through the environment, at the escrowed app's database and keys."""
    cfg = escrowed.extensions["registry.config"]
    monkeypatch.setenv("REGISTRY_DATABASE_URL", cfg.database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(cfg.instance_dir))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(cfg.keys_dir))
    (tmp_path / "pass.txt").write_text(PASSPHRASE + "\n")
    (tmp_path / "wrong.txt").write_text("not the escrow passphrase at all\n")
    return escrowed


def _rewrap(tmp_path: Path, email: str, *extra: str, input: str | None = None) -> object:
    args = ["escrow", "rewrap", "--reviewer", email, "--escrow-key", str(tmp_path / "escrow.key")]
    return CliRunner().invoke(main, [*args, *extra], input=input)


def _wraps_for(app: Flask, account_id: int) -> int:
    with app.app_context():
        rows = db.session().scalars(select(KeyWrap).where(KeyWrap.account_id == account_id))
        return len(rows.all())


def test_rewrap_all_gives_every_escrowed_report_to_the_person(
    deployment: Flask, tmp_path: Path
) -> None:
    submit_report(english_client(deployment))
    submit_report(english_client(deployment))
    # Enrolled after the reports arrived: holds no key for them.
    late = StaffActions(deployment).create("late@example.org")
    assert _wraps_for(deployment, late.account_id) == 0
    pass_file = ("--passphrase-file", str(tmp_path / "pass.txt"))
    # Without --all: only what the person held before a reset (here: nothing).
    held_only = _rewrap(tmp_path, "late@example.org", *pass_file)
    assert held_only.exit_code == 0, held_only.output  # type: ignore[attr-defined]
    assert "0 reports re-wrapped" in held_only.output  # type: ignore[attr-defined]
    assert _wraps_for(deployment, late.account_id) == 0
    result = _rewrap(tmp_path, "late@example.org", "--all", *pass_file)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "2 reports re-wrapped for late@example.org." in result.output  # type: ignore[attr-defined]
    assert _wraps_for(deployment, late.account_id) == 2
    client = english_client(deployment)
    StaffActions(deployment).login(client, late)
    with deployment.app_context():
        public_ids = db.session().scalars(select(Report.public_id)).all()
        events = db.session().scalars(
            select(AuditEvent).where(AuditEvent.action == "case.escrow-rewrapped")
        )
        assert sorted(e.report_ref or "" for e in events) == sorted(public_ids)
    for public_id in public_ids:
        assert client.get(f"/review/case/{public_id}").status_code == 200
    # The passphrase can be typed (hidden) instead; nothing is left to do.
    again = _rewrap(tmp_path, "late@example.org", "--all", input=PASSPHRASE + "\n")
    assert again.exit_code == 0, again.output  # type: ignore[attr-defined]
    assert "0 reports re-wrapped" in again.output  # type: ignore[attr-defined]
    assert PASSPHRASE not in again.output  # type: ignore[attr-defined]


def test_rewrap_refusals_exit_non_zero_and_change_nothing(
    deployment: Flask, tmp_path: Path
) -> None:
    submit_report(english_client(deployment))
    staff = StaffActions(deployment)
    staff.create("boss@example.org", role=Role.ADMIN)
    reviewer = staff.create("someone@example.org")
    passphrase = ("--passphrase-file", str(tmp_path / "pass.txt"))
    cases = [
        (
            ("someone@example.org", "--passphrase-file", str(tmp_path / "wrong.txt")),
            1,
            "Wrong passphrase",
        ),
        (("boss@example.org", *passphrase), 1, "Administrators hold no report keys"),
        (("nobody@example.org", *passphrase), 1, "No active account has this email"),
    ]
    for args, code, message in cases:
        result = _rewrap(tmp_path, *args)
        assert result.exit_code == code, result.output  # type: ignore[attr-defined]
        assert message in result.output  # type: ignore[attr-defined]
    (tmp_path / "escrow.key").write_text("not a key\n")
    broken = _rewrap(tmp_path, "someone@example.org", *passphrase)
    assert broken.exit_code == 2
    assert "not an escrow private key file" in broken.output  # type: ignore[attr-defined]
    assert _wraps_for(deployment, reviewer.account_id) == 0


def test_rewrap_goes_batch_by_batch_and_resumes(deployment: Flask, tmp_path: Path) -> None:
    from registry.keyring.escrow import open_escrow_file, rewrap_for

    for _ in range(3):
        submit_report(english_client(deployment))
    late = StaffActions(deployment).create("batches@example.org")
    key = open_escrow_file((tmp_path / "escrow.key").read_text(), PASSPHRASE)
    with deployment.app_context():
        session = db.session()
        counts = []
        while done := rewrap_for(
            session, escrow_private_key=key, email=late.email, limit=2, everything=True
        ):
            session.commit()
            counts.append(done)
    assert counts == [2, 1]
    assert _wraps_for(deployment, late.account_id) == 3
