"""Uploads sealed while they stream in: no plaintext byte touches the disk.

Werkzeug hands each file part of a multipart body to a "stream factory"
before reading it.  :class:`SealingRequest` answers with a
:class:`SealedUpload`, which seals every chunk under a fresh random key as
it arrives and writes only ciphertext into the blob store's ``tmp/``.  It
keeps the first bytes (for content sniffing), the size and the SHA-256 of
the original.  Whatever is not kept by the end of the request is deleted.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from flask import Request, current_app, g

from registry.attachments.sniff import SNIFF_BYTES
from registry.attachments.storage import BlobStore
from registry.crypto import StreamInfo
from registry.crypto.stream import StreamSealer
from registry.ids import new_public_id

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
        self.blob, self._sink = store.new_incoming()
        self._sealer = StreamSealer(
            self.key, self._sink, report_id=UPLOAD_CONTEXT, attachment_id=self.attachment_id
        )
        self._max_bytes = max_bytes
        self.head = b""
        self.size = 0
        self.info: StreamInfo | None = None
        # Why a file is refused ("size", "count"), decided while it streams.
        # The rest of the body is still read, so the form comes back filled
        # in with a message instead of a bare error page.
        self.refused: str | None = "count" if over_count else None

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
        """Seal the last chunk and close the blob (idempotent)."""
        if self.info is None:
            self.info = self._sealer.finish()
            self._sink.close()
        return self.info

    def read(self, size: int = -1) -> bytes:
        """Nothing to read: the plaintext was never kept."""
        return b""

    def close(self) -> None:
        """Close the blob file (the request's end discards it unless kept)."""
        if not self._sink.closed:
            self._sink.close()


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
    for upload in uploads:
        upload.close()
    blob_store().discard_incoming(u.blob for u in uploads)


def init_app(app: Any) -> None:
    """Install the sealing request class and the clean-up hooks."""
    cfg = app.extensions["registry.config"]
    store = BlobStore(cfg.storage_dir)
    store.ensure()
    app.extensions["registry.blobs"] = store
    app.request_class = SealingRequest
    app.before_request_funcs.setdefault(None, []).insert(0, allow_large_body)
    app.teardown_request(discard_unkept)
