"""Incoming blobs of dead uploads are swept; live ones never are.

A live upload (streaming, or finished and waiting for its request to
commit) holds a lock on its blob; a process that dies loses its locks.  The
sweep runs when a worker starts and then every ``incoming_sweep_seconds``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from config import ROOT, TestingConfig
from registry import create_app, db
from registry.attachments.storage import BlobStore
from registry.attachments.upload import SealedUpload
from tests.helpers import english_client

# A process that starts an upload and stays alive until it is killed.
_UPLOADER = """
import sys, time
from pathlib import Path
from registry.attachments.storage import BlobStore
blob = BlobStore(Path(sys.argv[1])).new_incoming()
blob.sink.write(b"half an upload")
blob.sink.flush()
print(blob.name, flush=True)
time.sleep(120)
"""


def _store(app: Flask) -> BlobStore:
    store: BlobStore = app.extensions["registry.blobs"]
    return store


def _leftover(store: BlobStore) -> Path:
    """What a killed process leaves in tmp/: a blob nobody holds."""
    path = store.incoming / secrets.token_hex(16)
    path.write_bytes(b"sealed bytes of an upload that never finished")
    return path


@pytest.fixture
def restart(app: Flask) -> Iterator[Callable[..., Flask]]:
    """Start another app (a worker) on ``app``'s storage, optionally with changed settings."""
    made: list[Flask] = []

    def start(**changes: object) -> Flask:
        cfg: TestingConfig = app.extensions["registry.config"]
        made.append(create_app(cfg.with_overrides(**changes)))
        return made[-1]

    yield start
    for other in made:
        with other.app_context():
            db.engine().dispose()


def test_a_dead_uploads_blob_is_swept_at_start(app: Flask, restart: Callable[..., Flask]) -> None:
    leftover = _leftover(_store(app))
    restart()
    assert not leftover.exists()


def test_a_live_upload_is_never_swept(app: Flask, restart: Callable[..., Flask]) -> None:
    store = _store(app)
    streaming = store.new_incoming()
    streaming.sink.write(b"the first bytes of a slow upload")
    waiting = SealedUpload(store, 1024)
    waiting.write(b"finished, its request not yet committed")
    waiting.finish()
    restart()
    assert streaming.path.exists()
    assert store.incoming_path(waiting.blob).exists()
    assert store.sweep_incoming() == 0
    # Once the request ends (and had not kept them), they are gone or the sweep's.
    waiting.discard(store)
    streaming.release()
    assert not store.incoming_path(waiting.blob).exists()
    assert store.sweep_incoming() == 1
    assert not streaming.path.exists()


def test_locks_hold_across_processes_until_the_holder_dies(app: Flask) -> None:
    store = _store(app)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    uploader = subprocess.Popen(
        [sys.executable, "-c", _UPLOADER, str(store.root)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert uploader.stdout is not None
        name = uploader.stdout.readline().strip()
        assert store.sweep_incoming() == 0
        assert store.incoming_path(name).exists()
    finally:
        uploader.kill()
        uploader.wait(timeout=30)
        if uploader.stdout is not None:
            uploader.stdout.close()
    assert store.sweep_incoming() == 1
    assert not store.incoming_path(name).exists()


def test_a_periodic_sweep_happens_without_a_restart(restart: Callable[..., Flask]) -> None:
    worker = restart(incoming_sweep_seconds=0)
    leftover = _leftover(_store(worker))
    english_client(worker).get("/")
    assert not leftover.exists()


def test_requests_sweep_at_most_every_interval(restart: Callable[..., Flask]) -> None:
    worker = restart(incoming_sweep_seconds=3600)
    leftover = _leftover(_store(worker))
    english_client(worker).get("/")
    assert leftover.exists()


def test_only_blob_names_are_swept(app: Flask, restart: Callable[..., Flask]) -> None:
    other = _store(app).incoming / "not-a-blob"
    other.write_bytes(b"")
    restart()
    assert other.exists()


def test_a_finished_incoming_blob_carries_no_time_of_day(app: Flask) -> None:
    store = _store(app)
    upload = SealedUpload(store, 1024)
    upload.write(b"a whole file")
    upload.finish()
    stat = store.incoming_path(upload.blob).stat()
    assert int(stat.st_mtime) % 86400 == 0
    assert int(stat.st_atime) % 86400 == 0
    upload.discard(store)


def test_a_cleaned_copy_is_held_and_dated_like_the_upload(app: Flask) -> None:
    """The cleaned photo's blob replaces the upload's, locked and at midnight too."""
    from registry.attachments.imageplan import CleaningBudget
    from registry.attachments.service import CleaningLimits, prepare
    from registry.serving.slots import Slots
    from tests.attachments.test_cleaning_flow import _photo

    store = _store(app)
    upload = SealedUpload(store, 1024 * 1024)
    upload.write(_photo())
    first = upload.blob
    limits = CleaningLimits(CleaningBudget(1000), Slots(1, wait=0))
    prepared = prepare(upload, "a.jpg", store, cleaning=limits)
    assert prepared.scrubbed
    assert upload.blob != first
    assert not store.incoming_path(first).exists()
    assert int(store.incoming_path(upload.blob).stat().st_mtime) % 86400 == 0
    assert store.sweep_incoming() == 0
    upload.discard(store)
    assert list(store.incoming.iterdir()) == []
