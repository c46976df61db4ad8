"""Uploads sealed while they stream in: no plaintext byte touches the disk.

Werkzeug hands each file part of a multipart body to a "stream factory"
before reading it.  :class:`SealingRequest` answers with a
:class:`SealedUpload`, which seals every chunk under a fresh random key as
it arrives and writes only ciphertext into the blob store's ``tmp/``.  It
keeps the first bytes (for content sniffing), the size and the SHA-256 of
the original.  Whatever is not kept by the end of the request is deleted.

Each incoming blob stays locked from its creation until the request ends,
so the sweep of abandoned uploads (:mod:`registry.attachments.sweep`) never
takes a blob that is still streaming or waiting for its request to commit.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, BinaryIO

from flask import Request, current_app, g

from registry.attachments.sniff import SNIFF_BYTES
from registry.attachments.storage import BlobStore, IncomingBlob
from registry.attachments.sweep import IncomingSweeper
from registry.crypto import StreamInfo, StreamSealer
from registry.records.ids import new_public_id
from registry.serving.slots import Slots

# The stream is bound to its attachment id; the file key itself is bound to
# the report when it is sealed to the report's inbox key.
UPLOAD_CONTEXT = "upload"
# Requests that may carry files: only these get the large body limit.
UPLOAD_ENDPOINTS = frozenset({"intake.new_report", "followup.add_files"})


class SealedUpload:
    """A write-only file object that seals what Werkzeug writes into it."""

    def __init__(self, store: BlobStore, max_bytes: int, *, over_count: bool = False) -> None:
        self.key = os.urandom(32)
        self.attachment_id = new_public_id()
        self.incoming = store.new_incoming()
        self._sealer = StreamSealer(
            self.key, self.incoming.sink, report_id=UPLOAD_CONTEXT, attachment_id=self.attachment_id
        )
        self._max_bytes = max_bytes
        self.head = b""
        self.size = 0
        self.info: StreamInfo | None = None
        # Why a file is refused ("size", "count"), decided while it streams.
        # The rest of the body is still read, so the form comes back filled
        # in with a message instead of a bare error page.
        self.refused: str | None = "count" if over_count else None

    @classmethod
    def adopt(
        cls, incoming: IncomingBlob, key: bytes, attachment_id: str, size: int
    ) -> SealedUpload:
        """A finished upload taken back from ``held/`` (the form's earlier try)."""
        upload = cls.__new__(cls)
        upload.key = key
        upload.attachment_id = attachment_id
        upload.incoming = incoming
        upload.head = b""
        upload.size = size
        upload.refused = None
        upload._max_bytes = size
        # Finished long ago: nothing is sealed or written any more.
        upload.info = StreamInfo(plaintext_size=size, sha256_hex="", sealed_size=0)
        return upload

    @property
    def blob(self) -> str:
        """The name of the blob that holds this upload now."""
        return self.incoming.name

    def replace_blob(self, incoming: IncomingBlob) -> IncomingBlob:
        """Hold ``incoming`` (a finished, cleaned copy) instead; return the old blob."""
        old, self.incoming = self.incoming, incoming
        return old

    def write(self, data: bytes) -> int:
        """Seal ``data``; refuse the request once the file is too large."""
        self.size += len(data)
        if self.size > self._max_bytes and self.refused is None:
            self.refused = "size"
        if self.refused:
            return len(data)  # dropped unread; nothing of it is kept
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
        self._sealer.write(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        """Werkzeug rewinds a finished part: that is the end of the file."""
        self.finish()
        return 0

    def finish(self) -> StreamInfo:
        """Seal the last chunk and close the blob, dated midnight (idempotent)."""
        if self.info is None:
            self.info = self._sealer.finish()
            self.incoming.finish()
        return self.info

    def read(self, size: int = -1) -> bytes:
        """Nothing to read: the plaintext was never kept."""
        return b""

    def close(self) -> None:
        """Close the blob file (the request's end discards it unless kept)."""
        if not self.incoming.sink.closed:
            self.incoming.sink.close()

    def discard(self, store: BlobStore) -> None:
        """Delete the blob unless it was kept, then let go of its lock."""
        # Deleted before the lock is dropped: an unlocked blob is the sweep's.
        try:
            store.discard_incoming([self.blob])
        finally:
            self.incoming.release()


class SealingRequest(Request):
    """A request whose uploaded files are sealed on arrival."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> BinaryIO:
        cfg = current_app.extensions["registry.config"]
        uploads: list[SealedUpload] = g.setdefault("uploads", [])
        over_count = len(uploads) >= cfg.attachment_max_files
        upload = SealedUpload(blob_store(), cfg.attachment_max_bytes, over_count=over_count)
        uploads.append(upload)
        return upload  # type: ignore[return-value]


def track(upload: SealedUpload) -> None:
    """Have the end of this request delete ``upload`` unless kept or held, and unlock it."""
    uploads: list[SealedUpload] = g.setdefault("uploads", [])
    uploads.append(upload)


def blob_store() -> BlobStore:
    """The app's blob store."""
    store: BlobStore = current_app.extensions["registry.blobs"]
    return store


def allow_large_body() -> None:
    """Raise the body limit for the endpoints that accept files."""
    from flask import request

    # Only multipart bodies carry files; any other body keeps the small
    # limit, and each non-file part stays under MAX_FORM_MEMORY_SIZE.
    if request.endpoint in UPLOAD_ENDPOINTS and request.mimetype == "multipart/form-data":
        cfg = current_app.extensions["registry.config"]
        request.max_content_length = cfg.attachment_max_files * cfg.attachment_max_bytes + (
            2 * 1024 * 1024
        )


def discard_unkept(_exc: BaseException | None = None) -> None:
    """At the end of every request, delete incoming blobs nobody kept."""
    uploads: list[SealedUpload] = g.pop("uploads", [])
    store = blob_store()
    for upload in uploads:
        # Every one, whatever happens to the others: a lock left held would
        # keep its blob from the sweep for the life of the worker, and a
        # blob that could not be deleted here is unlocked, so swept later.
        with contextlib.suppress(OSError):
            upload.discard(store)


def image_slots() -> Slots:
    """This worker's bound on photos being cleaned at once."""
    slots: Slots = current_app.extensions["registry.image_slots"]
    return slots


def init_app(app: Any) -> None:
    """Install the sealing request class and the clean-up hooks."""
    cfg = app.extensions["registry.config"]
    store = BlobStore(cfg.storage_dir)
    store.ensure()
    app.extensions["registry.blobs"] = store
    # WHY a bound per worker: a decoded photo takes up to ~100 MB and a
    # second of a core; the upload threads must not clean dozens at once.
    app.extensions["registry.image_slots"] = Slots(
        cfg.image_clean_slots, cfg.image_clean_wait_seconds
    )
    sweeper = IncomingSweeper(store, cfg.incoming_sweep_seconds)
    # At start: the leftovers of a worker that died are swept by the one
    # that replaces it.
    sweeper.sweep_if_due()
    app.request_class = SealingRequest
    app.before_request_funcs.setdefault(None, []).insert(0, allow_large_body)
    app.before_request(sweeper.sweep_if_due)
    app.teardown_request(discard_unkept)
