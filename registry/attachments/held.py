"""Files kept across a report form that comes back with an error (issue 13, item 1).

A person attaches a photo, forgets the region and sends: the form comes
back with their text, and it must come back with their files too, or they
may send the report without the evidence.  The uploads are already sealed
in ``tmp/`` by then (:mod:`registry.attachments.upload`); instead of being
deleted when the request ends, each one is *held*:

- its blob moves to ``held/``, still ciphertext, dated midnight;
- its file key, id and sealed metadata (type, size, hashes, name) go into a
  *token*: a LOCAL envelope under the deployment's local key, written into
  the re-rendered page as a hidden field, and nowhere on the server.

The next try of the form sends the tokens back; each opens into the file,
taken back into ``tmp/`` under a lock exactly like a new upload, and the
report is stored with it.  A file the person ticks "remove" for, and every
held blob whose form is never sent, is deleted (the first at once, the
others by the sweep after a day: :mod:`registry.attachments.storage`).

WHY the key in the page and not on the server: a seized server then holds
only ciphertext that nobody can open, like the blob of an upload that died.
WHY a token cannot be forged or reused elsewhere: it is authenticated
encryption under a key only the server has, bound to its own context, and
it expires with its blob.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

from registry.attachments.service import Prepared
from registry.attachments.storage import BlobStore
from registry.attachments.upload import SealedUpload
from registry.crypto import CannotOpen, open_local, seal_local

CONTEXT = "held-upload/v1"
# A token is honoured for a day; the sweep deletes its blob after one to two.
HOLD_SECONDS = 24 * 3600


@dataclass(frozen=True)
class HeldFile:
    """What a token carries: where the sealed file is, its key and its sealed metadata."""

    blob: str
    key: bytes
    attachment_id: str
    name: str
    media_type: str
    size: int
    original_sha256: str
    scrubbed: bool
    stored_sha256: str | None


def hold(store: BlobStore, local_key: bytes, item: Prepared, *, now: float | None = None) -> str:
    """Move ``item``'s blob to ``held/`` and return the token that gives it back."""
    now = time.time() if now is None else now
    store.hold(item.upload.blob)
    payload = {
        "blob": item.upload.blob,
        "key": item.upload.key.hex(),
        "id": item.upload.attachment_id,
        "name": item.name,
        "type": item.media_type,
        "size": item.size,
        "sha256": item.original_sha256,
        "scrubbed": item.scrubbed,
        "stored_sha256": item.stored_sha256,
        "expires": int(now) + HOLD_SECONDS,
    }
    sealed = seal_local(local_key, json.dumps(payload).encode(), context=CONTEXT)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def open_token(local_key: bytes, token: str, *, now: float | None = None) -> HeldFile | None:
    """The held file of ``token``; None when forged, damaged or expired."""
    now = time.time() if now is None else now
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(open_local(local_key, sealed, context=CONTEXT))
        if now > payload["expires"]:
            return None
        stored = payload["stored_sha256"]
        return HeldFile(
            blob=str(payload["blob"]),
            key=bytes.fromhex(payload["key"]),
            attachment_id=str(payload["id"]),
            name=str(payload["name"]),
            media_type=str(payload["type"]),
            size=int(payload["size"]),
            original_sha256=str(payload["sha256"]),
            scrubbed=bool(payload["scrubbed"]),
            stored_sha256=None if stored is None else str(stored),
        )
    except (ValueError, TypeError, KeyError, CannotOpen):
        return None


def claim(store: BlobStore, held: HeldFile) -> Prepared | None:
    """Take the held file back for this request, as a prepared upload; None if it is gone."""
    try:
        incoming = store.claim_held(held.blob)
    except ValueError:  # not a blob name of ours
        return None
    if incoming is None:
        return None
    upload = SealedUpload.adopt(incoming, held.key, held.attachment_id, held.size)
    return Prepared(
        upload,
        held.name,
        held.media_type,
        held.original_sha256,
        held.size,
        held.scrubbed,
        stored_sha256=held.stored_sha256,
    )
