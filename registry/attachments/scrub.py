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
"""

from __future__ import annotations

import io
import warnings
from typing import Any

from PIL import Image, ImageOps

MAX_PIXELS = 50_000_000
"""Largest picture accepted (50 megapixels; 48-megapixel phone cameras fit)."""

# WHY set Pillow's own limit too: any code in this process that opens an
# image then stops at the same size (Pillow warns above the limit and
# refuses above twice it); the default (~89 megapixels) is far too generous
# for a worker with a memory budget of a few hundred megabytes.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

QUALITY = 92

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_JPEG_MODES = ("L", "RGB", "CMYK")


class UnsupportedImage(ValueError):
    """The media type is not one :func:`scrub_image` can clean (HEIC, or not an image).

    A ValueError, so callers that only check for bad input still refuse the
    file; catch this one first to tell the person what to do instead.
    """


def scrub_image(data: bytes, media_type: str) -> bytes:
    """Return the picture in ``data`` re-encoded without any metadata.

    ``media_type`` is the sniffed type (image/jpeg, image/png or image/webp;
    the result has the same type).  EXIF orientation is applied to the
    pixels first, so the picture still looks the right way up.  Only the
    primary image is kept: JPEG depth and HDR gain maps (which carry
    metadata of their own) are dropped, and an animated PNG or WebP becomes
    its first frame.

    Raises UnsupportedImage for any other media type (HEIC included), and
    ValueError if ``data`` is not a decodable picture of ``media_type``, is
    truncated, or has more than MAX_PIXELS pixels.
    """
    image_format = _FORMATS.get(media_type)
    if image_format is None:
        raise UnsupportedImage("location data cannot be removed from this type of file")
    try:
        with warnings.catch_warnings():
            # WHY ignore Pillow's other warnings: they are about metadata that
            # is about to be discarded (corrupt EXIF, odd MPO headers); and so
            # the outcome is the same with and without `-W error`.
            warnings.simplefilter("ignore")
            # WHY make the size warning an error: Pillow only warns between
            # MAX_IMAGE_PIXELS and twice that; decoding must not even start.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            cleaned = _reencode(data, image_format)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError("the picture is too large") from error
    except ValueError:
        raise
    except Exception as error:
        # WHY catch everything: on hostile input Pillow's decoders raise many
        # types (OSError, SyntaxError, struct.error, EOFError, ...); each one
        # means this picture cannot be cleaned, so it is refused.
        raise ValueError("the picture cannot be read") from error
    if _metadata_left(cleaned, image_format):
        # WHY check the output's bytes: should a Pillow release start copying
        # metadata into new files, scrubbing must fail loudly, not leak GPS.
        raise RuntimeError("metadata survived re-encoding")
    return cleaned


def _reencode(data: bytes, image_format: str) -> bytes:
    # WHY name the one format to try: Pillow would otherwise try every
    # decoder it has on hostile bytes, and a PNG sent as "image/jpeg" is
    # refused rather than cleaned under the wrong type.
    with Image.open(io.BytesIO(data), formats=[image_format]) as image:
        # WHY check before load(): opening reads only the header; the pixel
        # buffer (up to 4 bytes per pixel) is allocated by load().  This
        # check holds even if warning filters are changed by another thread.
        if image.width * image.height > MAX_PIXELS:
            raise ValueError("the picture is too large")
        image.load()
        transparency = image.info.get("transparency")
        # WHY in place: no second full-size copy when nothing needs turning.
        ImageOps.exif_transpose(image, in_place=True)
        # WHY clear info: Pillow's JPEG writer copies the comment, and its PNG
        # writer the ICC profile, from the image's own info into the output.
        image.info.clear()
        options: dict[str, Any] = {}
        if image_format == "PNG" and transparency is not None:
            # A transparent colour or palette entries are part of the picture.
            options["transparency"] = transparency
        if image_format in ("JPEG", "WEBP"):
            options["quality"] = QUALITY
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
