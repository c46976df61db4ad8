"""Files sent to the bot: held in memory only while they are sealed, never on disk in the clear.

A file is downloaded from the Bot API into a ``bytearray``, sealed at once
into the blob store's ``tmp/`` exactly as a web upload is (the same
:class:`~registry.attachments.upload.SealedUpload` and the same
:func:`~registry.attachments.service.prepare`: type sniffed from the bytes,
photos cleaned when the person chose it, custody hash of the original),
and the buffer is overwritten with zeros.  The sealed blob stays locked by
this process until the report is stored or the conversation ends; if the
process dies, the kernel drops the lock and the sweep removes the blob,
which nobody can open (its key lived only in this process's memory).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from telegram import Message

from registry.attachments.imageplan import CleaningBudget
from registry.attachments.service import CleaningLimits, Prepared, prepare
from registry.attachments.upload import SealedUpload, blob_store, image_slots
from registry.runtime import config

# Telegram lets bots download files of at most 20 MB from its own Bot API
# server (a self-hosted telegram-bot-api server lifts it).
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024
# Written into the sealer a piece at a time, as a web upload arrives.
_PIECE = 64 * 1024


@dataclass(frozen=True)
class Incoming:
    """A file attached to a message, as Telegram describes it (before download)."""

    file_id: str
    name: str
    size: int | None


def incoming_file(message: Message) -> Incoming | None:
    """The file a message carries (the largest size of a photo), if any."""
    if message.photo:
        largest = message.photo[-1]
        return Incoming(largest.file_id, "photo.jpg", largest.file_size)
    for kind, default in (
        (message.document, "document"),
        (message.video, "video.mp4"),
        (message.audio, "audio"),
        (message.voice, "voice.ogg"),
        (message.video_note, "video.mp4"),
        (message.animation, "animation.mp4"),
    ):
        if kind is not None:
            # A file name the person's device gave, sealed with the file;
            # the Bot API's own path is never kept.
            name = getattr(kind, "file_name", None) or default
            return Incoming(kind.file_id, name, kind.file_size)
    return None


def seal_file(app: Flask, data: bytearray, name: str, *, clean_photos: bool) -> Prepared:
    """Seal ``data`` into the blob store and check it like a web upload; wipe ``data``.

    Raises AttachmentRejected (the reason a person is told) or Busy (no
    cleaning slot freed up in time).  On any failure the sealed blob is
    deleted and its lock released.
    """
    with app.app_context():
        cfg, store = config(), blob_store()
        upload = SealedUpload(store, cfg.attachment_max_bytes)
        try:
            view = memoryview(data)
            for start in range(0, len(view), _PIECE):
                upload.write(bytes(view[start : start + _PIECE]))
            view.release()
            cleaning = (
                CleaningLimits(CleaningBudget(cfg.image_clean_budget_ms), image_slots())
                if clean_photos
                else None
            )
            return prepare(upload, name, store, cleaning=cleaning)
        except BaseException:
            upload.discard(store)
            raise
        finally:
            # WHY: the plaintext must not linger in the process's memory
            # (a core file, swap) once it is sealed.
            data[:] = bytes(len(data))


def discard(app: Flask, files: list[Prepared]) -> None:
    """Let go of a conversation's files: delete blobs still incoming, drop their locks.

    After the report is stored its blobs were moved into place, so only the
    locks go (as at the end of a web request).
    """
    if not files:
        return
    with app.app_context():
        store = blob_store()
        for item in files:
            item.upload.discard(store)
    files.clear()
