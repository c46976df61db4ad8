"""``registry maintain``: one line, exit status, the lock, a failing job, the loop."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import Config
from registry.cli import main
from registry.db import make_engine
from registry.maintenance.lock import exclusive
from registry.models import Invite
from registry.models.base import utcnow

REGISTRY = Path(sys.executable).parent / "registry"
SUMMARY = re.compile(
    r"maintain: (nothing to do; )?sessions \d+, invites \d+, recovery codes \d+, "
    r"login throttle \d+, tmp \d+, held \d+, retention \d+, orphan blobs \d+, "
    r"notices \d+( \(\d+ to retry\))?, (wal ok|wal busy|vacuum \d+ tables) \(\d+\.\d\d s\)"
)


def _expired_invites(engine: Engine, count: int = 1) -> None:
    with Session(engine) as db, db.begin():
        for _ in range(count):
            db.add(
                Invite(
                    token_hash=os.urandom(32),
                    email=f"{os.urandom(4).hex()}@example.org",
                    role="reviewer",
                    expires_at=utcnow() - timedelta(days=2),
                )
            )


def _invites(engine: Engine) -> int:
    with Session(engine) as db:
        return db.scalar(select(func.count()).select_from(Invite)) or 0


def test_one_summary_line_and_exit_0(engine: Engine, command_env: dict[str, str]) -> None:
    _expired_invites(engine, 2)
    result = CliRunner().invoke(main, ["maintain"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert SUMMARY.fullmatch(lines[0]), lines[0]
    assert ", invites 2, " in lines[0]
    again = CliRunner().invoke(main, ["maintain"])
    assert again.exit_code == 0
    assert again.stdout.startswith("maintain: nothing to do; ")


def test_a_second_run_while_one_holds_the_lock_does_nothing(
    cfg: Config, engine: Engine, command_env: dict[str, str]
) -> None:
    _expired_invites(engine)
    # The held lock is the first run's: another connection (PostgreSQL) or
    # another open file (flock) than the command's.
    with exclusive(engine, cfg.instance_dir) as taken:
        assert taken
        result = CliRunner().invoke(main, ["maintain"])
    assert result.exit_code == 0
    assert result.stdout.startswith("maintain: another run holds the lock")
    assert _invites(engine) == 1  # untouched: the holder does the work
    after = CliRunner().invoke(main, ["maintain"])
    assert after.exit_code == 0
    assert ", invites 1, " in after.stdout


def test_a_failing_job_is_named_and_the_others_still_run(
    cfg: Config, engine: Engine, command_env: dict[str, str]
) -> None:
    _expired_invites(engine)
    incoming = cfg.storage_dir / "tmp"
    shutil.rmtree(incoming)
    incoming.write_bytes(b"")  # a file where the uploads folder should be
    result = CliRunner().invoke(main, ["maintain"])
    assert result.exit_code == 1
    assert result.stderr == "maintain: job tmp failed: NotADirectoryError\n"
    assert ", invites 1, " in result.stdout
    assert ", tmp FAILED, held 0, " in result.stdout
    assert _invites(engine) == 0


def test_the_loop_works_at_once_and_stops_cleanly_on_sigterm(sqlite_app: Flask) -> None:
    # The loop is the same on both backends (the lock and the jobs are
    # tested on both above): one process start is enough.
    cfg: Config = sqlite_app.extensions["registry.config"]
    engine = make_engine(cfg.database_url)
    _expired_invites(engine)
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": cfg.database_url,
        "REGISTRY_INSTANCE_DIR": str(cfg.instance_dir),
        "REGISTRY_KEYS_DIR": str(cfg.keys_dir),
        "REGISTRY_STORAGE_DIR": str(cfg.storage_dir),
        "REGISTRY_MAINTAIN_EVERY_SECONDS": "60",
    }
    try:
        with subprocess.Popen(
            [str(REGISTRY), "maintain", "--loop"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as process:
            _stopped_cleanly(process, engine)
    finally:
        engine.dispose()


def _stopped_cleanly(process: subprocess.Popen[str], engine: Engine) -> None:
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the first run starts at once
        assert SUMMARY.fullmatch(first.strip())
        assert ", invites 1, " in first
        assert _invites(engine) == 0
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert process.wait(10) == 0
        assert time.monotonic() - started < 5  # it does not sleep out its minute
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("command", "setting"),
    [("maintain", "duplikate=3"), ("init", "duplicate=0")],
)
def test_a_bad_disposition_period_refuses_in_one_line(
    tmp_path: Path, command: str, setting: str
) -> None:
    """maintain deletes by it, init starts `make run`: one line naming it, nothing made."""
    result = CliRunner().invoke(
        main,
        [command],
        env={
            "REGISTRY_INSTANCE_DIR": str(tmp_path / "instance"),
            "REGISTRY_KEYS_DIR": str(tmp_path / "keys"),
            "REGISTRY_RETENTION_BY_DISPOSITION": setting,
        },
    )
    assert result.exit_code == 2
    assert result.output.startswith("registry: REGISTRY_RETENTION_BY_DISPOSITION: ")
    assert result.output.count("\n") == 1
    assert not (tmp_path / "instance").exists()
    assert not (tmp_path / "keys").exists()
