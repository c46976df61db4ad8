"""Escrow coverage holes closed (issue 12, point 4): current key, backfill, rotation, damage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select, update

from registry import create_app, db
from registry.cli import main
from registry.keyring import escrow_fingerprint
from registry.keyring.armor import PUBLIC_HEADER, dearmor
from registry.keyring.escrow import create_escrow, escrow_status, installed_escrow
from registry.models import AuditEvent, KeyWrap, Report
from registry.runtime import escrow_params
from tests.escrow.conftest import file_case, run_registry
from tests.helpers import ESCROW_PASSPHRASE, StaffActions, english_client


@pytest.fixture
def bare(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The same database served by a worker started before any escrow key existed."""
    cfg = app.extensions["registry.config"].with_overrides(keys_dir=tmp_path / "bare-keys")
    served = create_app(cfg)
    assert served.extensions["registry.keyring"].escrow_public is None
    yield served
    with served.app_context():
        db.engine().dispose()


@pytest.fixture
def cli_env(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI pointed at ``app``'s database and keys; returns the passphrase file."""
    cfg = app.extensions["registry.config"]
    monkeypatch.setenv("REGISTRY_DATABASE_URL", cfg.database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(cfg.instance_dir))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(cfg.keys_dir))
    # The app's test costs for keys `escrow rotate` makes (not 1 GiB Argon2id).
    monkeypatch.setenv("REGISTRY_ESCROW_MEMORY_KIB", str(cfg.escrow_memory_kib))
    monkeypatch.setenv("REGISTRY_ESCROW_ITERATIONS", str(cfg.escrow_iterations))
    (tmp_path / "pass.txt").write_text(ESCROW_PASSPHRASE + "\n")
    return tmp_path / "pass.txt"


def _escrow_wraps(app: Flask, public_id: str) -> list[str | None]:
    with app.app_context():
        return sorted(
            db.session().scalars(
                select(KeyWrap.escrow_key)
                .join(Report, Report.id == KeyWrap.report_id)
                .where(Report.public_id == public_id, KeyWrap.escrow)
            ),
            key=str,
        )


def test_escrow_created_after_start_wraps_the_next_report(bare: Flask, tmp_path: Path) -> None:
    StaffActions(bare).create("early@example.org")
    before = file_case(bare, "Filed before the escrow key existed.")
    assert _escrow_wraps(bare, before) == []
    cfg = bare.extensions["registry.config"]
    public = create_escrow(
        cfg.keys_dir, tmp_path / "late.key", ESCROW_PASSPHRASE, escrow_params(cfg)
    )
    # No restart: the same worker's next report is wrapped to the new key.
    after = file_case(bare, "Filed after the escrow key was created.")
    fingerprint = escrow_fingerprint(dearmor(PUBLIC_HEADER, public.read_text()))
    assert _escrow_wraps(bare, after) == [fingerprint]


def test_backfill_at_login_wraps_old_reports_audited_and_status_reaches_zero(
    bare: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff = StaffActions(bare)
    keeper = staff.create("keeper@example.org")
    old = [file_case(bare, f"Old report {n}.") for n in range(3)]
    cfg = bare.extensions["registry.config"]
    create_escrow(cfg.keys_dir, tmp_path / "late.key", ESCROW_PASSPHRASE, escrow_params(cfg))
    current = installed_escrow(cfg.keys_dir)
    with bare.app_context():
        status = escrow_status(db.session(), current.fingerprint)
    assert (status.reports, status.lacking, status.without_any) == (3, 3, 3)
    monkeypatch.setenv("REGISTRY_DATABASE_URL", cfg.database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(cfg.instance_dir))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(cfg.keys_dir))
    said = CliRunner().invoke(main, ["escrow", "status"])
    assert "3 reports; 3 lack a wrap to the current key." in said.output, said.output
    staff.login(english_client(bare), keeper)
    for public_id in old:
        assert _escrow_wraps(bare, public_id) == [current.fingerprint]
    with bare.app_context():
        session = db.session()
        events = session.scalars(
            select(AuditEvent.report_ref).where(AuditEvent.action == "case.escrow-wrapped")
        ).all()
        assert sorted(events) == sorted(old)
        assert escrow_status(session, current.fingerprint).lacking == 0
    said = CliRunner().invoke(main, ["escrow", "status"])
    assert "3 reports; 0 lack a wrap to the current key." in said.output, said.output
    assert "No report depends on an older escrow key." in said.output


def test_rotate_new_reports_use_the_new_key_old_ones_move_and_old_key_still_recovers(
    app: Flask, tmp_path: Path, cli_env: Path
) -> None:
    staff = StaffActions(app)
    keeper = staff.create("keeper@example.org")
    cfg = app.extensions["registry.config"]
    old_key = installed_escrow(cfg.keys_dir)
    before = file_case(app, "Filed under the first escrow key.")
    with app.app_context():
        # As stored before fingerprints were recorded.
        db.session().execute(update(KeyWrap).where(KeyWrap.escrow).values(escrow_key=None))
        db.session().commit()
    rotated = CliRunner().invoke(
        main,
        ["escrow", "rotate", "--out", str(tmp_path / "new.key"), "--passphrase-file", str(cli_env)],
    )
    assert rotated.exit_code == 0, rotated.output
    new_key = installed_escrow(cfg.keys_dir)
    assert new_key.fingerprint != old_key.fingerprint
    assert (cfg.keys_dir / f"escrow-{old_key.fingerprint}.pub").exists()
    # Rotation named the wraps made before fingerprints with the old key.
    assert _escrow_wraps(app, before) == [old_key.fingerprint]
    after = file_case(app, "Filed under the new escrow key.")
    assert _escrow_wraps(app, after) == [new_key.fingerprint]
    status = CliRunner().invoke(main, ["escrow", "status"])
    assert f"1 still depend on the older key {old_key.fingerprint}." in status.output
    # The old key still recovers what is wrapped to it (the new report is listed).
    offline = tmp_path / "offline"
    offline.mkdir()
    recovered = run_registry(
        "escrow",
        "recover",
        "--database",
        cfg.database_url,
        "--storage",
        str(tmp_path),
        "--escrow-key",
        str(tmp_path / "escrow.key"),
        "--passphrase-file",
        str(cli_env),
        "--out",
        str(offline / "out"),
        cwd=offline,
    )
    assert recovered.returncode == 1, recovered.stderr
    assert (offline / "out" / before / "report.json").exists()
    assert f"SKIPPED {after}: escrow wrap: only to another escrow key" in recovered.stderr
    # A key holder's login moves the old report to the new key.
    staff.login(english_client(app), keeper)
    assert _escrow_wraps(app, before) == sorted([old_key.fingerprint, new_key.fingerprint])
    status = CliRunner().invoke(main, ["escrow", "status"])
    assert "No report depends on an older escrow key." in status.output, status.output


def test_rewrap_skips_a_damaged_wrap_and_reports_it_at_the_end(
    app: Flask, tmp_path: Path, cli_env: Path
) -> None:
    good = [file_case(app, f"Report {n}.") for n in range(3)]
    with app.app_context():
        session = db.session()
        report_id = session.scalars(select(Report.id).where(Report.public_id == good[1])).one()
        wrapped = session.scalars(
            select(KeyWrap.wrapped).where(KeyWrap.report_id == report_id, KeyWrap.escrow)
        ).one()
        session.execute(
            update(KeyWrap)
            .where(KeyWrap.report_id == report_id, KeyWrap.escrow)
            .values(wrapped=wrapped[:-1] + bytes([wrapped[-1] ^ 1]))
        )
        session.commit()
    late = StaffActions(app).create("late@example.org")
    result = CliRunner().invoke(
        main,
        [
            "escrow",
            "rewrap",
            "--reviewer",
            late.email,
            "--all",
            "--escrow-key",
            str(tmp_path / "escrow.key"),
            "--passphrase-file",
            str(cli_env),
        ],
    )
    assert result.exit_code == 1, result.output
    assert f"SKIPPED {good[1]}: its escrow wrap is damaged." in result.output
    assert "2 reports re-wrapped for late@example.org." in result.output
    with app.app_context():
        count = db.session().scalar(
            select(func.count()).select_from(KeyWrap).where(KeyWrap.account_id == late.account_id)
        )
    assert count == 2
