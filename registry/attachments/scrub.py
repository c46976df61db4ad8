"""Photos with their location and camera data removed, before they are sealed.

A phone photo carries EXIF (GPS position, time, camera make, model, serial
number), XMP (often the same again, plus editing history), an ICC colour
profile (which can name the device), comments and, in PNG, text chunks.  Any
of these can identify the person who took the picture or where they stood.

WHY re-encode instead of deleting known tags: a decoded picture is only
pixels, so whatever metadata format exists now or later, including ones no
one thought to delete, cannot survive a fresh encode.  The cost is one lossy
generation for JPEG and WebP (quality 92, not visible at screen size).

Pillow cannot decode HEIC (iPhone photos), so :func:`scrub_image` raises
:class:`UnsupportedImage` for it; the form tells the person to send the
photo as JPEG instead.

Cleaning is bounded: before any pixel is decoded, the headers decide how
much it will cost (:mod:`registry.attachments.imageplan`); a large JPEG is
decoded at a reduced scale, and a picture too costly is refused.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, BinaryIO

from PIL import Image, ImageOps

from registry.attachments.imageplan import (
    FILE_LIMIT_MS,
    MAX_PIXELS,
    MEMORY_LIMIT,
    TURNING_ORIENTATIONS,
    CleaningBudget,
    Plan,
    TooLarge,
    plan_cleaning,
)
from registry.attachments.jpeghead import read_frame

__all__ = ["MAX_PIXELS", "QUALITY", "UnsupportedImage", "scrub_image"]

# WHY set Pillow's own limit too: any code in this process that opens an
# image then stops at the same size (Pillow warns above the limit and
# refuses above twice it); the default (~89 megapixels) is far too generous
# for a worker with a memory budget of a few hundred megabytes.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

QUALITY = 92
# WHY the fastest settings that keep the picture: a PNG is deflated at
# level 1 (level 6 took six times as long on a noisy 16-megapixel picture,
# for a file a third smaller) and a WebP encoded with method 0 (half the
# time of the default at the same quality).
_PNG_COMPRESS_LEVEL = 1
_WEBP_METHOD = 0
_ORIENTATION = 0x0112

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_JPEG_MODES = ("L", "RGB", "CMYK")


class UnsupportedImage(ValueError):
    """The media type is not one :func:`scrub_image` can clean (HEIC, or not an image).

    A ValueError, so callers that only check for bad input still refuse the
    file; catch this one first to tell the person what to do instead.
    """


def scrub_image(
    source: bytes | BinaryIO,
    media_type: str,
    *,
    budget: CleaningBudget | None = None,
    slot: AbstractContextManager[object] | None = None,
) -> bytes:
    """Return the picture in ``source`` re-encoded without any metadata.

    ``source`` is the file's bytes or a seekable binary file; ``media_type``
    is the sniffed type (image/jpeg, image/png or image/webp; the result
    has the same type).  EXIF orientation is applied to the pixels first,
    so the picture still looks the right way up.  Only the primary image is
    kept: JPEG depth and HDR gain maps (which carry metadata of their own)
    are dropped, and an animated PNG or WebP becomes its first frame.  A
    JPEG larger than the output bound comes back decoded at 1/2, 1/4 or 1/8
    of its size.

    The picture is planned from its headers first and charged to
    ``budget`` (the request's; without one, only one picture's bounds
    apply); then it is decoded while holding ``slot`` (entered only after
    the plan, so a refusal never waits; whatever ``slot`` raises, such as
    Busy, passes through).

    Raises UnsupportedImage for any other media type (HEIC included);
    imageplan.TooLarge (a ValueError) if the picture has too many pixels or
    would cost too much on its own; imageplan.OverBudget (a ValueError) if
    it does not fit in what ``budget`` has left; ValueError if ``source`` is
    not a decodable picture of ``media_type`` or is truncated.
    """
    image_format = _FORMATS.get(media_type)
    if image_format is None:
        raise UnsupportedImage("location data cannot be removed from this type of file")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    budget = budget or CleaningBudget(FILE_LIMIT_MS)
    with _refusals():
        try:
            frame = read_frame(stream) if image_format == "JPEG" else None
        except ValueError:
            raise ValueError("the picture cannot be read") from None
        stream.seek(0)
        # WHY name the one format to try: Pillow would otherwise try every
        # decoder it has on hostile bytes, and a PNG sent as "image/jpeg" is
        # refused rather than cleaned under the wrong type.
        image = Image.open(stream, formats=[image_format])
    with image:
        if frame is not None and image.size != (frame.width, frame.height):
            # WHY: the plan's memory bound rests on the header walked here
            # being the one Pillow decodes.
            raise ValueError("the picture cannot be read")
        with _refusals():
            plan = plan_cleaning(
                image, image_format, size, frame, turns=_turns(image), allowance=budget.allowance()
            )
        budget.spend(plan.cost_ms)
        with slot or nullcontext(), _refusals():
            cleaned = _reencode(image, image_format, plan)
    if _metadata_left(cleaned, image_format):
        # WHY check the output's bytes: should a Pillow release start copying
        # metadata into new files, scrubbing must fail loudly, not leak GPS.
        raise RuntimeError("metadata survived re-encoding")
    return cleaned


@contextmanager
def _refusals() -> Iterator[None]:
    """Turn everything Pillow raises on hostile input into ValueError."""
    try:
        with warnings.catch_warnings():
            # WHY ignore Pillow's other warnings: they are about metadata that
            # is about to be discarded (corrupt EXIF, odd MPO headers); and so
            # the outcome is the same with and without `-W error`.
            warnings.simplefilter("ignore")
            # WHY make the size warning an error: Pillow only warns between
            # MAX_IMAGE_PIXELS and twice that; decoding must not even start.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge() from None
    except ValueError:
        raise
    except Exception as error:
        # WHY catch everything: on hostile input Pillow's decoders raise many
        # types (OSError, SyntaxError, struct.error, EOFError, ...); each one
        # means this picture cannot be cleaned, so it is refused.
        raise ValueError("the picture cannot be read") from error


def _turns(image: Image.Image) -> bool:
    """Whether the EXIF read with the header turns or flips the picture."""
    # WHY not image.getexif(): for a PNG it decodes the whole picture first.
    raw = image.info.get("exif")
    if not isinstance(raw, bytes):
        return False
    exif = Image.Exif()
    try:
        exif.load(raw)
    except Exception:  # corrupt EXIF: nothing will be turned by it either
        return False
    return exif.get(_ORIENTATION, 1) in TURNING_ORIENTATIONS


def _reencode(image: Image.Image, image_format: str, plan: Plan) -> bytes:
    if plan.scale > 1:
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale directly (cheap, exact).
        wanted = (max(image.width // plan.scale, 1), max(image.height // plan.scale, 1))
        image.draft(image.mode, wanted)
    # WHY check again: the decoder must produce the size that was planned,
    # or the plan's memory bound means nothing.
    if image.width * image.height > plan.pixels:
        raise TooLarge()
    image.load()
    turning = image.getexif().get(_ORIENTATION, 1) in TURNING_ORIENTATIONS
    if turning and plan.memory < plan.turned_memory and plan.turned_memory > MEMORY_LIMIT:
        # The orientation was stored after the picture data (PNG): turning
        # would take a second buffer the plan did not allow for.
        raise TooLarge()
    transparency = image.info.get("transparency")
    # WHY in place: no second full-size copy when nothing needs turning.
    ImageOps.exif_transpose(image, in_place=True)
    # WHY clear info: Pillow's JPEG writer copies the comment, and its PNG
    # writer the ICC profile, from the image's own info into the output.
    image.info.clear()
    options: dict[str, Any] = {}
    if image_format == "PNG":
        options["compress_level"] = _PNG_COMPRESS_LEVEL
        if transparency is not None:
            # A transparent colour or palette entries are part of the picture.
            options["transparency"] = transparency
    if image_format in ("JPEG", "WEBP"):
        options["quality"] = QUALITY
    if image_format == "WEBP":
        options["method"] = _WEBP_METHOD
    output: Image.Image = image
    if image_format == "JPEG" and image.mode not in _JPEG_MODES:
        output = image.convert("RGB")
    buffer = io.BytesIO()
    output.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _metadata_left(data: bytes, image_format: str) -> bool:
    """True if the encoded ``data`` holds anything but picture data (or cannot be walked)."""
    if image_format == "JPEG":
        return _jpeg_metadata_left(data)
    if image_format == "PNG":
        return _png_metadata_left(data)
    return _webp_metadata_left(data)


def _jpeg_metadata_left(data: bytes) -> bool:
    # Walk the marker segments up to the start of the picture data (SOS).
    # Allowed application segments: APP0 "JFIF" and APP14 "Adobe" (colour
    # transform flags, written for CMYK); EXIF, XMP, ICC (APP1, APP2, ...)
    # and comments (COM) are not.
    if not data.startswith(b"\xff\xd8"):
        return True
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return True
        marker = data[position + 1]
        if marker == 0xDA:
            # After SOS only picture data follows; an encoder's single scan
            # ends with the only EOI marker (0xFF 0xD9 cannot occur inside
            # it), and nothing may come after that.
            return data.find(b"\xff\xd9", position) != len(data) - 2
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        segment = data[position + 4 : position + 2 + length]
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            jfif = marker == 0xE0 and segment.startswith(b"JFIF\x00")
            adobe = marker == 0xEE and segment.startswith(b"Adobe")
            if not (jfif or adobe):
                return True
        position += 2 + length
    return True


_PNG_PICTURE_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"})


def _png_metadata_left(data: bytes) -> bool:
    # Every chunk must be picture data; text (tEXt, zTXt, iTXt), EXIF (eXIf),
    # ICC (iCCP), time (tIME) and anything else are not.
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return True
    position = 8
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        chunk_type = data[position + 4 : position + 8]
        if chunk_type not in _PNG_PICTURE_CHUNKS:
            return True
        position += 12 + length
        if chunk_type == b"IEND":
            return position != len(data)
    return True


_WEBP_PICTURE_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH"})


def _webp_metadata_left(data: bytes) -> bool:
    # Every RIFF chunk must be picture data; EXIF, "XMP " and ICCP are not.
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return True
    position = 12
    while position + 8 <= len(data):
        chunk_type = data[position : position + 4]
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        if chunk_type not in _WEBP_PICTURE_CHUNKS:
            return True
        position += 8 + length + (length & 1)  # chunks are padded to even sizes
    return position != len(data)
