"""The sweeps: abandoned uploads and forgotten held files go, live ones stay."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from config import TestingConfig
from registry.attachments.storage import BlobStore
from registry.db import make_engine
from registry.maintenance.framework import JobContext
from registry.maintenance.jobs import JOBS
from registry.maintenance.runner import run_once
from registry.models.base import utcnow

FILE_JOBS = [job for job in JOBS if job.name in ("tmp", "held")]


def _blob(folder: Path, *, days_old: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / secrets.token_hex(16)
    path.write_bytes(b"ciphertext")
    when = path.stat().st_mtime - days_old * 86400
    os.utime(path, (when, when))
    return path


def test_dead_uploads_and_old_held_files_go_live_ones_stay(tmp_path: Path) -> None:
    cfg = TestingConfig.for_paths(tmp_path / "instance", tmp_path / "keys")
    store = BlobStore(cfg.storage_dir)
    store.ensure()
    engine = make_engine(cfg.database_url)  # the file jobs never connect
    dead = _blob(store.incoming)
    live = store.new_incoming()  # an upload still streaming: this process holds its lock
    live.sink.write(b"half an upload")
    forgotten = _blob(store.held, days_old=3)
    waiting = _blob(store.held)

    def run() -> str:
        ctx = JobContext(cfg=cfg, engine=engine, store=store, now=utcnow())
        report = run_once(ctx, FILE_JOBS)
        assert report.ok
        return report.summary()

    try:
        assert run().startswith("maintain: tmp 1, held 1 (")
        assert not dead.exists()
        assert not forgotten.exists()
        assert live.path.exists()
        assert waiting.exists()
        assert run().startswith("maintain: nothing to do; tmp 0, held 0 (")
        live.release()  # the upload's process is gone: its blob is now the sweep's
        assert run().startswith("maintain: tmp 1, held 0 (")
        assert not live.path.exists()
    finally:
        live.release()
        engine.dispose()
