"""``python -m bench.cleaning_probe FILE TYPE``: clean one picture, print CPU and memory.

Runs in a process of its own so that its peak RSS belongs to this one
picture: the upload is sealed into a blob store first (as the form does),
Pillow's codecs are warmed up on a tiny picture of the same type, then the
peak RSS (``VmHWM``) is reset and ``prepare`` cleans the file with the
default request budget.  Prints one JSON object.
"""

from __future__ import annotations

import gc
import io
import json
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from config import Config
from registry.attachments.imageplan import CleaningBudget
from registry.attachments.service import AttachmentRejected, CleaningLimits, prepare
from registry.attachments.storage import BlobStore
from registry.attachments.upload import SealedUpload
from registry.serving.slots import Slots

_PIECE = 64 * 1024
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _sealed(store: BlobStore, data: bytes) -> SealedUpload:
    upload = SealedUpload(store, len(data) + 1)
    for start in range(0, len(data), _PIECE):
        upload.write(data[start : start + _PIECE])
    return upload


def _limits() -> CleaningLimits:
    return CleaningLimits(CleaningBudget(Config().image_clean_budget_ms), Slots(1, 10.0))


def probe(path: Path, media_type: str) -> dict[str, object]:
    """Clean ``path`` once; CPU seconds, extra peak RSS (MiB) and the outcome."""
    with tempfile.TemporaryDirectory(prefix="sviedka-probe-") as tmp:
        store = BlobStore(Path(tmp))
        warm = io.BytesIO()
        Image.new("RGB", (16, 16)).save(warm, _FORMATS[media_type])
        prepare(_sealed(store, warm.getvalue()), "warm", store, cleaning=_limits())
        upload = _sealed(store, path.read_bytes())
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to VmRSS
        before = _kib("VmRSS")
        began_cpu, began = time.process_time(), time.perf_counter()
        try:
            prepared = prepare(upload, path.name, store, cleaning=_limits())
            outcome = _cleaned(store, prepared.upload.blob, prepared.upload.key, upload)
        except AttachmentRejected as refused:
            outcome = f"refused ({refused.reason})"
        return {
            "cpu": time.process_time() - began_cpu,
            "wall": time.perf_counter() - began,
            "extra_mib": (_kib("VmHWM") - before) / 1024,
            "outcome": outcome,
        }


def _cleaned(store: BlobStore, blob: str, key: bytes, upload: SealedUpload) -> str:
    from registry.attachments.upload import UPLOAD_CONTEXT
    from registry.crypto import open_stream

    with store.incoming_path(blob).open("rb") as sealed:
        data = b"".join(
            open_stream(key, sealed, report_id=UPLOAD_CONTEXT, attachment_id=upload.attachment_id)
        )
    with Image.open(io.BytesIO(data)) as image:
        return f"cleaned, {image.width}×{image.height}"


if __name__ == "__main__":
    print(json.dumps(probe(Path(sys.argv[1]), sys.argv[2])))
