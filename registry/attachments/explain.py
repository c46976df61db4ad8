"""Messages about files, in the person's language."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import ngettext

from config import Config
from registry.attachments.imageplan import CleaningBudget
from registry.attachments.service import AttachmentRejected, CleaningLimits, Prepared, prepare
from registry.attachments.storage import BlobStore
from registry.attachments.upload import SealedUpload, image_slots


def files_hint(cfg: Config) -> str:
    """The hint under the file field, with this deployment's limits."""
    hint: str = ngettext(
        "Up to %(num)d file, up to %(size)s MB: a photo, PDF, audio, video or plain "
        "text. Files are encrypted as they arrive.",
        "Up to %(num)d files, up to %(size)s MB each: photos, PDF, audio, video or plain "
        "text. Files are encrypted as they arrive.",
        cfg.attachment_max_files,
        size=cfg.attachment_max_bytes // (1024 * 1024),
    )
    return hint


def rejection(bad: AttachmentRejected, cfg: Config) -> str:
    """Why a file was refused, and that the person must choose files again."""
    reasons = {
        "size": _(
            "“%(name)s” is larger than %(size)s MB.",
            name=bad.name,
            size=cfg.attachment_max_bytes // (1024 * 1024),
        ),
        "count": ngettext(
            "Only %(num)d file can be sent at once.",
            "Only %(num)d files can be sent at once.",
            cfg.attachment_max_files,
        ),
        "empty": _("“%(name)s” is empty.", name=bad.name),
        "type": _(
            "“%(name)s” is not a photo, PDF, audio, video or plain text file.", name=bad.name
        ),
        "image": _("“%(name)s” could not be read as a picture.", name=bad.name),
        "too-large": _(
            "“%(name)s” is too large a picture for its location data to be removed here. "
            "Send a smaller copy (for example a screenshot or a JPEG), or untick “Remove "
            "location and camera data”.",
            name=bad.name,
        ),
        "budget": _(
            "The photos are too large together for their location data to be removed in one "
            "go (“%(name)s” did not fit). Send fewer photos at a time: more files can be "
            "added later with the receipt.",
            name=bad.name,
        ),
        "uncleanable": _(
            "Location data cannot be removed from “%(name)s” (HEIC format). Send it as JPEG "
            "(for example as a screenshot), or untick “Remove location and camera data”.",
            name=bad.name,
        ),
    }
    return " ".join(
        [
            reasons.get(bad.reason, _("A file could not be accepted.")),
            _("Nothing was stored. Your text is kept; please choose the files again."),
        ]
    )


def busy_cleaning() -> str:
    """Why files were not added when the worker was too busy to clean photos."""
    message: str = _(
        "The site is very busy right now and could not remove the location data from the "
        "photos. Nothing was stored; please choose the files again in a minute."
    )
    return message


def prepared_files(field_name: str, store: BlobStore, *, remove_metadata: bool) -> list[Prepared]:
    """Check every file of a multipart field; raise on the first refused one.

    Photos are cleaned (when ``remove_metadata``) within one budget for the
    whole request, so ten large photos cost a worker no more than a few
    seconds; raises Busy when the worker's cleaning slots stay taken.
    """
    cfg = current_app.extensions["registry.config"]
    cleaning = (
        CleaningLimits(CleaningBudget(cfg.image_clean_budget_ms), image_slots())
        if remove_metadata
        else None
    )
    files = []
    for storage in request.files.getlist(field_name):
        upload = storage.stream
        if not isinstance(upload, SealedUpload):
            continue
        if not storage.filename and upload.size == 0:
            continue  # the field was left empty
        files.append(prepare(upload, storage.filename or "", store, cleaning=cleaning))
    return files
