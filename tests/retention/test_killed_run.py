"""A retention run killed with SIGKILL mid-case leaves no half-deleted case; the next run finishes.

The run is a real process, killed from inside by a wrapper (test code in the
child only) on the audit event of its second case: after that case's rows
were deleted, before its transaction committed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from config import Config
from registry import db
from registry.attachments.storage import BlobStore
from registry.models import KeyWrap, Report, SealedField
from registry.retention.purge import purge_due
from tests.retention.cases import closed_case

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 4)
CHILD = """
import os, signal, sys
from datetime import date
from pathlib import Path
from sqlalchemy.orm import Session
from config import TestingConfig
from registry import audit
from registry.attachments.storage import BlobStore
from registry.db import make_engine
from registry.retention import purge

url, storage, today = sys.argv[1], Path(sys.argv[2]), date.fromisoformat(sys.argv[3])
real, seen = audit.record, []

def record(db, **event):
    stored = real(db, **event)
    if event.get("action") == purge.PURGED:
        seen.append(event)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    return stored

audit.record = record
cfg = TestingConfig.for_paths(storage / "instance", storage / "keys", url)
with Session(make_engine(url)) as session:
    purge.purge_due(session, cfg, BlobStore(storage), today=today)
"""


def _state(app: Flask) -> dict[str, tuple[bool, int, int]]:
    """Per case: whether it is marked purged, its sealed fields, its key wraps."""
    with app.app_context():
        session = db.session()
        found = {}
        for report in session.scalars(select(Report)):
            fields = session.scalar(
                select(func.count())
                .select_from(SealedField)
                .where(SealedField.report_id == report.id)
            )
            wraps = session.scalar(
                select(func.count()).select_from(KeyWrap).where(KeyWrap.report_id == report.id)
            )
            found[report.public_id] = (report.purged_on is not None, fields or 0, wraps or 0)
        session.rollback()
        return found


def test_a_killed_run_leaves_whole_cases_and_the_next_run_finishes(
    app: Flask, tmp_path: Path
) -> None:
    cfg: Config = app.extensions["registry.config"]
    store: BlobStore = app.extensions["registry.blobs"]
    with app.app_context():
        session = db.session()
        for _ in range(3):
            closed_case(session, closed_on=date(2020, 1, 1))
        session.commit()
    db_url = cfg.database_url
    run = subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
        [sys.executable, "-c", CHILD, db_url, str(tmp_path / "child"), TODAY.isoformat()],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()[-2000:]
    state = sorted(_state(app).values())
    # One case purged whole, the one killed mid-transaction and the last untouched.
    assert state == [(False, 1, 1), (False, 1, 1), (True, 0, 0)]
    with app.app_context():
        result = purge_due(db.session(), cfg, store, today=TODAY)
    assert len(result.purged) == 2
    assert result.failed == []
    assert sorted(_state(app).values()) == [(True, 0, 0)] * 3
