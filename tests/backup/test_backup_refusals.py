"""Bad input: a wrong key, a cut or changed file, a target that is not empty, a missing blob.

Every refused restore leaves the target exactly as it was: no key, no
file, no table.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from pyrage import x25519
from sqlalchemy import select

from registry import db
from registry.keyring.escrow import create_escrow
from registry.models import Attachment, Report
from registry.runtime import escrow_params
from tests.backup.support import Target, a_file, escrow_args, registry, source_env
from tests.helpers import ESCROW_PASSPHRASE, english_client, submit_and_locate


@pytest.fixture
def backup_file(app: Flask, tmp_path: Path) -> Path:
    """An escrow-sealed backup of a registry holding one report with a file."""
    submit_and_locate(app, english_client(app), files=a_file("refusals"))
    out = tmp_path / "registry.backup"
    result = registry(["backup", "--out", str(out)], source_env(app))
    assert result.exit_code == 0, result.output
    return out


def _restore(target: Target, backup: Path, *args: str) -> tuple[int, str]:
    result = registry(["restore", str(backup), *args], target.env)
    return result.exit_code, result.output


def test_wrong_keys_and_damaged_files_change_nothing(
    app: Flask, backup_file: Path, target: Target, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    create_escrow(
        other / "keys",
        tmp_path / "other-escrow.key",
        ESCROW_PASSPHRASE,
        escrow_params(app.extensions["registry.config"]),
    )
    wrong_escrow = ["--escrow-key", str(tmp_path / "other-escrow.key"), *escrow_args(tmp_path)[2:]]
    status, output = _restore(target, backup_file, *wrong_escrow)
    assert status == 1
    assert "this key does not open this backup" in output

    identity = tmp_path / "identity.txt"
    identity.write_text(f"{x25519.Identity.generate()}\n")
    status, output = _restore(target, backup_file, "--identity", str(identity))
    assert status == 2
    assert "sealed to the escrow key" in output

    data = backup_file.read_bytes()
    damaged = {
        "cut in half": data[: len(data) // 2],
        "last bytes cut": data[:-20],
        "a byte flipped": data[:-600] + bytes([data[-600] ^ 1]) + data[-599:],
        "no header": data[:10],
    }
    for what, content in damaged.items():
        path = tmp_path / "damaged.backup"
        path.write_bytes(content)
        status, output = _restore(target, path, *escrow_args(tmp_path))
        assert status == 1, what
        assert "nothing written" in output, what
        assert target.is_untouched(), what

    assert target.is_untouched()
    status, output = _restore(target, backup_file, *escrow_args(tmp_path))
    assert status == 0, output


def test_age_backup_refuses_another_identity(app: Flask, target: Target, tmp_path: Path) -> None:
    mine, theirs = x25519.Identity.generate(), x25519.Identity.generate()
    out = tmp_path / "age.backup"
    result = registry(["backup", "--out", str(out), "--to", str(mine.to_public())], source_env(app))
    assert result.exit_code == 0, result.output
    identity = tmp_path / "theirs.txt"
    identity.write_text(f"{theirs}\n")
    status, output = _restore(target, out, "--identity", str(identity))
    assert status == 1
    assert "does not open" in output
    status, output = _restore(target, out, *escrow_args(tmp_path))
    assert status == 2
    assert "give --identity" in output
    assert target.is_untouched()


def test_a_target_that_is_not_empty_refuses(
    app: Flask, backup_file: Path, target: Target, tmp_path: Path
) -> None:
    # The registry itself: it holds a report.
    result = registry(["restore", str(backup_file), *escrow_args(tmp_path)], source_env(app))
    assert result.exit_code == 2
    assert "holds 1 reports" in result.output

    # An install that made a secret key of its own.
    target.cfg.keys_dir.mkdir(parents=True)
    (target.cfg.keys_dir / "secret.key").write_bytes(bytes(32))
    status, output = _restore(target, backup_file, *escrow_args(tmp_path))
    assert status == 2
    assert "differs from the backup's" in output
    assert not list(target.cfg.storage_dir.rglob("*.*"))

    # An install with a file in storage.
    (target.cfg.keys_dir / "secret.key").unlink()
    (target.cfg.storage_dir / "blobs").mkdir(parents=True)
    (target.cfg.storage_dir / "blobs" / ("0" * 32)).write_bytes(b"x")
    status, output = _restore(target, backup_file, *escrow_args(tmp_path))
    assert status == 2
    assert "holds files" in output


def test_a_missing_blob_is_reported(app: Flask, tmp_path: Path) -> None:
    public_id = submit_and_locate(app, english_client(app), files=a_file("missing"))
    submit_and_locate(app, english_client(app), files=a_file("kept"))
    cfg = app.extensions["registry.config"]
    with app.app_context():
        blob = (
            db.session()
            .scalars(
                select(Attachment.blob)
                .join(Report, Report.id == Attachment.report_id)
                .where(Report.public_id == public_id)
            )
            .one()
        )
    out = tmp_path / "missing.backup"
    (cfg.storage_dir / "blobs" / blob).unlink()
    result = registry(["backup", "--out", str(out)], source_env(app))
    assert result.exit_code == 1
    assert f"MISSING: a file of report {public_id} is not in storage." in result.output
    assert "1 files." in result.output
    assert out.exists()
