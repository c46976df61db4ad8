"""The escrow rewrap offline: export on the server, rewrap with the escrow key offline, import.

The middle step runs as a separate process with no REGISTRY_* settings, no
database and no instance directory: what the offline machine has.  The
escrow private key never comes near the server's commands (issue 12,
point 3, and hole c moved offline).
"""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import func, select

from registry import db, runtime
from registry.auth import service as auth
from registry.cli import main
from registry.crypto import CannotOpen, unwrap_data_key
from registry.keyring.escrow import installed_escrow, open_escrow_file
from registry.models import AuditEvent, HeldAccess, KeyWrap, Report, Role
from registry.people.service import reset_person
from registry.records.access import NoAccess, data_key_for
from registry.review.triage import revoke
from tests.escrow.conftest import file_case, run_registry
from tests.helpers import (
    ESCROW_PASSPHRASE,
    ESCROW_PRIVATE,
    Staff,
    StaffActions,
    private_key_of,
)

NEW_PASSWORD = "a second life passphrase 2026"


@pytest.fixture
def cli_env(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The server's CLI pointed at ``app``'s database and keys; returns the passphrase file.

    The commands run in ``tmp_path``: the files they write stay there.
    """
    cfg = app.extensions["registry.config"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGISTRY_DATABASE_URL", cfg.database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(cfg.instance_dir))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(cfg.keys_dir))
    # The test costs, as the app has them: a key made by `escrow rotate` is
    # locked with these, and each offline opening would otherwise pay the
    # default 1 GiB Argon2id (seconds per command, nothing more tested).
    monkeypatch.setenv("REGISTRY_ESCROW_MEMORY_KIB", str(cfg.escrow_memory_kib))
    monkeypatch.setenv("REGISTRY_ESCROW_ITERATIONS", str(cfg.escrow_iterations))
    (tmp_path / "pass.txt").write_text(ESCROW_PASSPHRASE + "\n")
    return tmp_path / "pass.txt"


def _server(*args: str) -> Result:
    return CliRunner().invoke(main, ["escrow", *args])


def _offline(
    tmp_path: Path, export: Path, name: str, *, key: Path | None = None, passphrase: Path
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``rewrap-offline`` in a fresh process and an empty folder, with no deployment at all."""
    machine = tmp_path / f"offline-{name}"
    machine.mkdir()
    (machine / "wraps.json").write_bytes(export.read_bytes())
    result = run_registry(
        "escrow",
        "rewrap-offline",
        "--in",
        "wraps.json",
        "--escrow-key",
        str(key or tmp_path / ESCROW_PRIVATE),
        "--passphrase-file",
        str(passphrase),
        "--out",
        "rewrapped.json",
        cwd=machine,
    )
    # Nothing of a deployment appeared where it ran (no instance/, no keys/).
    made = sorted(p.name for p in machine.iterdir())
    assert made in (["wraps.json"], ["rewrapped.json", "wraps.json"]), made
    return result, machine / "rewrapped.json"


def _reset_and_reenrol(app: Flask, admin: Staff, person: Staff) -> Staff:
    """An administrator resets ``person``; they enrol again with a new password and key pair."""
    staff = StaffActions(app)
    with app.app_context():
        session, cfg = db.session(), runtime.config()
        token = reset_person(
            session,
            admin_id=admin.account_id,
            account_id=person.account_id,
            valid_for=timedelta(hours=1),
        )
        invite = auth.find_invite(session, token)
        enrolment = auth.choose_password(
            session,
            invite,
            email=person.email,
            password=NEW_PASSWORD,
            params=runtime.password_params(cfg),
            browser_secret=None,
        )
        secret = auth.enrolment_totp_secret(enrolment.account, enrolment.browser_secret)
        auth.confirm_totp(
            session,
            invite,
            enrolment.account,
            staff.next_code(secret, None),
            browser_secret=enrolment.browser_secret,
        )
        session.commit()
    return Staff(person.email, NEW_PASSWORD, person.role, secret, person.account_id)


def _escrow_private(tmp_path: Path, name: str = ESCROW_PRIVATE) -> bytes:
    return open_escrow_file((tmp_path / name).read_text(), ESCROW_PASSPHRASE)


def _data_key(app: Flask, public_id: str, person: Staff) -> bytes | None:
    """The report's data key as ``person`` opens it, or None when they hold no key of it."""
    key = private_key_of(app, person)
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report).where(Report.public_id == public_id)).one()
        try:
            return data_key_for(session, report, person.account_id, key)
        except NoAccess:
            return None
        finally:
            session.rollback()


def _escrow_data_key(app: Flask, tmp_path: Path, public_id: str) -> bytes:
    private = _escrow_private(tmp_path)
    with app.app_context():
        wraps = db.session().scalars(
            select(KeyWrap.wrapped)
            .join(Report, Report.id == KeyWrap.report_id)
            .where(Report.public_id == public_id, KeyWrap.escrow)
        )
        return unwrap_data_key(next(iter(wraps)), private, report_id=public_id)


def _events(app: Flask, action: str) -> list[tuple[str, str | None, str | None]]:
    with app.app_context():
        rows = db.session().execute(
            select(AuditEvent.actor, AuditEvent.report_ref, AuditEvent.detail)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _revoke(app: Flask, coordinator: Staff, grantee: Staff, public_id: str) -> None:
    """``coordinator`` revokes ``grantee``'s access to the report (as the case page does)."""
    key = private_key_of(app, coordinator)
    with app.app_context():
        session = db.session()
        report = session.scalars(select(Report).where(Report.public_id == public_id)).one()
        revoke(
            session,
            report,
            account_id=coordinator.account_id,
            private_key=key,
            grantee_id=grantee.account_id,
        )
        session.commit()


def _cases_in(path: Path) -> list[str]:
    return sorted(report["case"] for report in json.loads(path.read_text())["reports"])


def test_round_trip_gives_back_exactly_what_was_held_then_everything(
    app: Flask, tmp_path: Path, cli_env: Path
) -> None:
    staff = StaffActions(app)
    admin = staff.create("admin@example.org", role=Role.ADMIN)
    coordinator = staff.create("coord@example.org", role=Role.COORDINATOR)
    reviewer = staff.create("forgetful@example.org")
    kept = sorted(file_case(app, f"Kept case {n}.") for n in range(2))
    revoked = file_case(app, "Revoked case.")
    renewed = _reset_and_reenrol(app, admin, reviewer)
    # Revoked after the reset, while the person held no wrap: the held
    # record loses it, and no rewrap may give it back.
    _revoke(app, coordinator, reviewer, revoked)
    assert all(_data_key(app, case, renewed) is None for case in [*kept, revoked])

    exported = _server("export-wraps", "--for", "Forgetful@example.org", "--out", "held.json")
    assert exported.exit_code == 0, exported.output
    assert "2 reports' escrow wraps for forgetful@example.org" in exported.output
    assert _cases_in(Path("held.json")) == kept
    offline, rewrapped = _offline(tmp_path, Path("held.json"), "held", passphrase=cli_env)
    assert offline.returncode == 0, offline.stderr
    assert "2 report keys rewrapped to forgetful@example.org" in offline.stdout
    imported = _server("import-wraps", str(rewrapped))
    assert imported.exit_code == 0, imported.output
    assert "2 wraps imported for forgetful@example.org" in imported.output
    assert "0 already present; 0 skipped." in imported.output

    for case in kept:
        assert _data_key(app, case, renewed) == _escrow_data_key(app, tmp_path, case)
    assert _data_key(app, revoked, renewed) is None
    rewrapped_events = _events(app, "case.escrow-rewrapped")
    expected = [("system", case, f"account:{reviewer.account_id}") for case in kept]
    assert sorted(rewrapped_events, key=str) == sorted(expected, key=str)
    with app.app_context():
        held = db.session().scalar(
            select(func.count())
            .select_from(HeldAccess)
            .where(HeldAccess.account_id == reviewer.account_id)
        )
    assert held == 0  # the record of what they held has done its job

    # The same file again: nothing changes, nothing fails.
    again = _server("import-wraps", str(rewrapped))
    assert again.exit_code == 0, again.output
    assert "0 wraps imported" in again.output
    assert "2 already present" in again.output
    assert len(_events(app, "case.escrow-rewrapped")) == 2

    # --everything: the operator's deliberate choice gives the rest as well.
    everything = _server(
        "export-wraps", "--for", reviewer.email, "--everything", "--out", "all.json"
    )
    assert everything.exit_code == 0, everything.output
    assert _cases_in(Path("all.json")) == [revoked]  # all they still lack
    offline, rewrapped = _offline(tmp_path, Path("all.json"), "all", passphrase=cli_env)
    assert offline.returncode == 0, offline.stderr
    assert _server("import-wraps", str(rewrapped)).exit_code == 0
    for case in [*kept, revoked]:
        assert _data_key(app, case, renewed) == _escrow_data_key(app, tmp_path, case)


def test_import_skips_a_case_revoked_since_the_export_and_refuses_a_changed_key(
    app: Flask, tmp_path: Path, cli_env: Path
) -> None:
    staff = StaffActions(app)
    admin = staff.create("admin@example.org", role=Role.ADMIN)
    coordinator = staff.create("coord@example.org", role=Role.COORDINATOR)
    reviewer = staff.create("twice@example.org")
    kept = file_case(app, "Held through two resets.")
    revoked = file_case(app, "Revoked between export and import.")
    renewed = _reset_and_reenrol(app, admin, reviewer)
    assert _server("export-wraps", "--for", reviewer.email, "--out", "w.json").exit_code == 0
    assert _cases_in(Path("w.json")) == sorted([kept, revoked])
    offline, rewrapped = _offline(tmp_path, Path("w.json"), "one", passphrase=cli_env)
    assert offline.returncode == 0, offline.stderr
    _revoke(app, coordinator, reviewer, revoked)
    imported = _server("import-wraps", str(rewrapped))
    assert imported.exit_code == 1
    assert (
        f"SKIPPED {revoked}: no longer held by the person (revoked since the export)."
        in imported.output
    )
    assert "1 wraps imported for twice@example.org" in imported.output
    assert _data_key(app, kept, renewed) == _escrow_data_key(app, tmp_path, kept)
    assert _data_key(app, revoked, renewed) is None
    assert [event[1] for event in _events(app, "case.escrow-rewrapped")] == [kept]

    # Reset again before importing the same file: its wraps are to a key now lost.
    latest = _reset_and_reenrol(app, admin, reviewer)
    refused = _server("import-wraps", str(rewrapped))
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        "This account's key changed since the export (reset again?): export and rewrap again."
    )
    assert _data_key(app, kept, latest) is None
    assert len(_events(app, "case.escrow-rewrapped")) == 1
    with app.app_context():
        # Still recorded as held: a fresh export gives it back.
        held = db.session().scalar(
            select(func.count())
            .select_from(HeldAccess)
            .where(HeldAccess.account_id == reviewer.account_id)
        )
    assert held == 1
    # Export refusals are one line too.
    nobody = _server("export-wraps", "--for", "nobody@example.org", "--out", "x.json")
    assert nobody.exit_code == 1
    assert nobody.output.strip() == (
        "No active account has this email (has the person re-enrolled yet?)."
    )
    assert not Path("x.json").exists()


def test_after_rotate_wraps_move_offline_and_the_new_key_alone_recovers(
    app: Flask, tmp_path: Path, cli_env: Path
) -> None:
    StaffActions(app).create("keeper@example.org")
    cfg = app.extensions["registry.config"]
    before = file_case(app, "Filed under the first escrow key.")
    rotated = _server(
        "rotate", "--out", str(tmp_path / "new.key"), "--passphrase-file", str(cli_env)
    )
    assert rotated.exit_code == 0, rotated.output
    new = installed_escrow(cfg.keys_dir)
    after = file_case(app, "Filed under the new escrow key.")
    assert "1 still depend on the older key" in _server("status").output

    exported = _server("export-wraps", "--to-escrow", "--out", "move.json")
    assert exported.exit_code == 0, exported.output
    assert f"1 reports' escrow wraps for the escrow key {new.fingerprint}" in exported.output
    assert _cases_in(Path("move.json")) == [before]  # `after` already has one
    # The new key cannot open wraps to the old one: one line, nothing written.
    wrong, wrong_out = _offline(
        tmp_path, Path("move.json"), "new", key=tmp_path / "new.key", passphrase=cli_env
    )
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == (
        "This escrow key opens none of the wraps in this file (the wrong key, or every wrap "
        "damaged)."
    )
    assert not wrong_out.exists()
    offline, rewrapped = _offline(tmp_path, Path("move.json"), "old", passphrase=cli_env)
    assert offline.returncode == 0, offline.stderr
    imported = _server("import-wraps", str(rewrapped))
    assert imported.exit_code == 0, imported.output
    assert f"1 wraps imported for the escrow key {new.fingerprint}" in imported.output
    status = _server("status")
    assert "No report depends on an older escrow key." in status.output, status.output
    assert "0 lack a wrap to the current key." in status.output
    assert _events(app, "case.escrow-wrapped") == [("system", before, f"escrow:{new.fingerprint}")]
    assert "1 already present" in _server("import-wraps", str(rewrapped)).output

    # The new key alone, offline, brings back the report filed before the rotation.
    machine = tmp_path / "recovery"
    machine.mkdir()
    recovered = run_registry(
        "escrow",
        "recover",
        "--database",
        cfg.database_url,
        "--storage",
        str(cfg.storage_dir),
        "--escrow-key",
        str(tmp_path / "new.key"),
        "--passphrase-file",
        str(cli_env),
        "--out",
        str(machine / "out"),
        cwd=machine,
    )
    assert recovered.returncode == 0, recovered.stderr
    for case, narrative in (
        (before, "Filed under the first escrow key."),
        (after, "Filed under the new escrow key."),
    ):
        report = json.loads((machine / "out" / case / "report.json").read_text())
        assert report["texts"]["narrative"] == narrative


def test_a_damaged_wrap_is_listed_the_rest_done_and_a_wrong_passphrase_is_one_line(
    app: Flask, tmp_path: Path, cli_env: Path
) -> None:
    cases = sorted(file_case(app, f"Report {n}.") for n in range(3))
    late = StaffActions(app).create("late@example.org")
    assert (
        _server("export-wraps", "--for", late.email, "--everything", "--out", "w.json").exit_code
        == 0
    )
    document = json.loads(Path("w.json").read_text())
    damaged = document["reports"][1]
    wrapped = bytearray(base64.b64decode(damaged["wraps"][0]["wrapped"]))
    wrapped[-1] ^= 1
    damaged["wraps"][0]["wrapped"] = base64.b64encode(bytes(wrapped)).decode()
    Path("w.json").write_text(json.dumps(document))

    (tmp_path / "wrong.txt").write_text("not the escrow passphrase at all\n")
    wrong, wrong_out = _offline(
        tmp_path, Path("w.json"), "wrong", passphrase=tmp_path / "wrong.txt"
    )
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "Wrong passphrase (or a damaged key file)."
    assert not wrong_out.exists()

    offline, rewrapped = _offline(tmp_path, Path("w.json"), "good", passphrase=cli_env)
    assert offline.returncode == 1
    assert offline.stderr.strip() == f"SKIPPED {damaged['case']}: its escrow wrap is damaged."
    assert "2 report keys rewrapped to late@example.org" in offline.stdout
    assert "1 skipped" in offline.stdout
    imported = _server("import-wraps", str(rewrapped))
    assert imported.exit_code == 1
    assert f"SKIPPED {damaged['case']}: its escrow wrap is damaged." in imported.output
    assert "2 wraps imported for late@example.org" in imported.output
    for case in cases:
        expected = None if case == damaged["case"] else _escrow_data_key(app, tmp_path, case)
        assert _data_key(app, case, late) == expected

    # A wrap changed on the way back is listed, not inserted.
    third = StaffActions(app).create("third@example.org")
    _server("export-wraps", "--for", third.email, "--everything", "--out", "t.json")
    offline, rewrapped = _offline(tmp_path, Path("t.json"), "third", passphrase=cli_env)
    document = json.loads(rewrapped.read_text())
    changed = document["wraps"][0]
    changed["wrapped"] = base64.b64encode(base64.b64decode(changed["wrapped"])[:-1]).decode()
    rewrapped.write_text(json.dumps(document))
    imported = _server("import-wraps", str(rewrapped))
    assert imported.exit_code == 1
    assert f"SKIPPED {changed['case']}: its rewrapped wrap changed on the way" in imported.output
    assert _data_key(app, changed["case"], third) is None
    # Not a wraps file at all: one line, exit 2.
    Path("junk.json").write_text("{}")
    junk = _server("import-wraps", "junk.json")
    assert (junk.exit_code, junk.output.strip()) == (2, "junk.json: not a wraps file.")


def test_the_files_hold_no_secret(app: Flask, tmp_path: Path, cli_env: Path) -> None:
    cases = [file_case(app, f"Report {n}.") for n in range(2)]
    late = StaffActions(app).create("late@example.org")
    assert (
        _server("export-wraps", "--for", late.email, "--everything", "--out", "w.json").exit_code
        == 0
    )
    offline, rewrapped = _offline(tmp_path, Path("w.json"), "one", passphrase=cli_env)
    assert offline.returncode == 0, offline.stderr
    escrow_private = _escrow_private(tmp_path)
    locked_file = (tmp_path / ESCROW_PRIVATE).read_text()
    data_keys = [_escrow_data_key(app, tmp_path, case) for case in cases]
    secrets = [escrow_private, *data_keys]
    for path in (Path("w.json"), rewrapped):
        raw = path.read_bytes()
        text = raw.decode()
        # Neither the locked escrow file nor any key, in any of the usual spellings.
        assert "".join(locked_file.splitlines()[1:])[:64] not in text
        for secret in secrets:
            assert secret not in raw
            assert secret.hex() not in text
            assert base64.b64encode(secret).decode()[:40] not in text
    # The exported wraps open with the escrow key only: not with the person's key.
    person_key = private_key_of(app, late)
    for report in json.loads(Path("w.json").read_text())["reports"]:
        (wrap,) = report["wraps"]
        wrapped = base64.b64decode(wrap["wrapped"])
        with pytest.raises(CannotOpen):
            unwrap_data_key(wrapped, person_key, report_id=report["case"])
        assert unwrap_data_key(wrapped, escrow_private, report_id=report["case"]) in data_keys
    # The rewrapped ones open with the person's key only: not with the escrow key.
    for wrap in json.loads(rewrapped.read_text())["wraps"]:
        wrapped = base64.b64decode(wrap["wrapped"])
        with pytest.raises(CannotOpen):
            unwrap_data_key(wrapped, escrow_private, report_id=wrap["case"])
        assert unwrap_data_key(wrapped, person_key, report_id=wrap["case"]) in data_keys
