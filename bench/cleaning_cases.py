"""The worst-case pictures of part e, made once per run (deterministic sizes).

Each is a picture a hostile or unlucky submitter can send with "Remove
location and camera data" ticked: decompression bombs, the largest JPEG
accepted, noise (which neither decoders nor compressors can shortcut),
a phone photo held sideways (decoded, then turned: two buffers), a
progressive JPEG (libjpeg buffers all its coefficients).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image


@dataclass(frozen=True)
class Case:
    """One worst case: a label, the file's media type and how to make it."""

    label: str
    media_type: str
    make: Callable[[], bytes]

    @property
    def slug(self) -> str:
        """A file name for the made picture."""
        return "".join(c if c.isalnum() else "-" for c in self.label.lower())[:60]


def _encode(image: Image.Image, image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def _photo_like(size: tuple[int, int]) -> Image.Image:
    """Smooth random shapes, like a photo: noise at 1/8 scale, enlarged."""
    small = Image.effect_noise((max(size[0] // 8, 1), max(size[1] // 8, 1)), 60)
    return small.convert("RGB").resize(size, Image.Resampling.BILINEAR)


def _noise(size: tuple[int, int]) -> Image.Image:
    bands = [Image.effect_noise(size, 100) for _ in range(3)]
    return Image.merge("RGB", bands)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(64)))
        + chunk(b"IEND", b"")
    )


def _turned_phone_photo() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # turn right to view: held upright
    return _encode(_photo_like((4032, 3024)), "JPEG", quality=92, exif=exif)


CASES = (
    Case(
        "PNG 7000×7000, all zeros (~140 KB)",
        "image/png",
        lambda: _encode(Image.new("RGB", (7000, 7000)), "PNG"),
    ),
    Case(
        "PNG 40000×40000, header only (~100 B)",
        "image/png",
        lambda: _png_header_only(40_000, 40_000),
    ),
    Case(
        "PNG 3500×3500, all zeros (largest such PNG taken)",
        "image/png",
        lambda: _encode(Image.new("RGB", (3500, 3500)), "PNG"),
    ),
    Case(
        "PNG 1900×1900, noise (about the largest such PNG taken)",
        "image/png",
        lambda: _encode(_noise((1900, 1900)), "PNG"),
    ),
    Case(
        "JPEG 50 MP (8160×6120), photo-like",
        "image/jpeg",
        lambda: _encode(_photo_like((8160, 6120)), "JPEG", quality=92),
    ),
    Case(
        "JPEG 50 MP (8160×6120), noise (~47 MB)",
        "image/jpeg",
        lambda: _encode(_noise((8160, 6120)), "JPEG", quality=90),
    ),
    Case("JPEG 12 MP phone photo, EXIF-turned", "image/jpeg", _turned_phone_photo),
    Case(
        "JPEG 12 MP, progressive",
        "image/jpeg",
        lambda: _encode(_photo_like((4032, 3024)), "JPEG", quality=92, progressive=True),
    ),
    Case(
        "WebP 16383×16383, all black",
        "image/webp",
        lambda: _encode(Image.new("RGB", (16383, 16383)), "WEBP", quality=50),
    ),
    Case(
        "WebP 4096×4096, photo-like",
        "image/webp",
        lambda: _encode(_photo_like((4096, 4096)), "WEBP", quality=90),
    ),
    Case(
        "WebP 1920×1440, noise",
        "image/webp",
        lambda: _encode(_noise((1920, 1440)), "WEBP", quality=92),
    ),
)


def made(folder: Path) -> list[tuple[Case, Path]]:
    """Every case's picture as a file in ``folder`` (made once, then reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for case in CASES:
        path = folder / case.slug
        if not path.exists():
            path.write_bytes(case.make())
        files.append((case, path))
    return files
