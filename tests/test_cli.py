"""Operator commands: init, invite, escrow create."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import main
from registry.crypto import CannotOpen, unlock_private_key
from registry.keyring.armor import PRIVATE_HEADER, PUBLIC_HEADER, dearmor


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment in a temporary directory, configured through the environment."""
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("REGISTRY_BASE_URL", "http://registry.test")
    monkeypatch.setenv("REGISTRY_ESCROW_MEMORY_KIB", "64")
    monkeypatch.setenv("REGISTRY_ESCROW_ITERATIONS", "1")
    return tmp_path


def test_init_is_idempotent_and_prints_setup_link(env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    assert "http://registry.test/staff/invite/" in first.output
    assert "UNRECOVERABLE" in first.output
    assert (env / "instance" / "registry.sqlite3").exists()
    secret = env / "keys" / "secret.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    key = secret.read_bytes()
    second = runner.invoke(main, ["init"])
    assert second.exit_code == 0, second.output
    assert secret.read_bytes() == key  # key material is never replaced


def test_invite_prints_a_link(env: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["init"])
    result = runner.invoke(main, ["invite", "someone@example.org", "--role", "reviewer"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("http://registry.test/staff/invite/")
    assert runner.invoke(main, ["invite", "x@example.org", "--role", "king"]).exit_code != 0


def test_escrow_create_keeps_only_the_public_half(env: Path) -> None:
    runner = CliRunner()
    out = env / "offline" / "escrow.key"
    passphrase = env / "pass.txt"
    passphrase.write_text("a long escrow passphrase, really\n")
    result = runner.invoke(
        main, ["escrow", "create", "--out", str(out), "--passphrase-file", str(passphrase)]
    )
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert "OFFLINE" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    public = dearmor(PUBLIC_HEADER, (env / "keys" / "escrow.pub").read_text())
    assert len(public) == 1216
    locked = dearmor(PRIVATE_HEADER, out.read_text())
    assert len(unlock_private_key(locked, "a long escrow passphrase, really")) == 96
    with pytest.raises(CannotOpen):
        unlock_private_key(locked, "wrong passphrase")
    # Nothing private is left in keys/.
    assert sorted(p.name for p in (env / "keys").iterdir()) == ["escrow.pub"]
    again = runner.invoke(
        main,
        ["escrow", "create", "--out", str(env / "other.key"), "--passphrase-file", str(passphrase)],
    )
    assert again.exit_code == 1
    assert "already installed" in again.output


def test_escrow_create_refuses_a_short_passphrase(env: Path) -> None:
    passphrase = env / "pass.txt"
    passphrase.write_text("short")
    result = CliRunner().invoke(
        main,
        ["escrow", "create", "--out", str(env / "e.key"), "--passphrase-file", str(passphrase)],
    )
    assert result.exit_code == 2
    assert not (env / "keys" / "escrow.pub").exists()
