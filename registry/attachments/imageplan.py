"""How much cleaning a photo will cost, decided from its headers alone.

WHY plan before decoding: the file's size says little about the work.  A
190 KB PNG of 7000 × 7000 zeros decodes to 196 MB and takes seconds; a
50 MB noisy JPEG costs half a second of entropy decoding at any scale; a
progressive JPEG keeps all its coefficients in memory.  Everything that
matters is in the headers: dimensions, mode, file size, JPEG layout.  So
each picture gets a plan (the scale to decode at, its estimated CPU time
and memory) and is refused, or a JPEG decoded smaller, BEFORE any pixel
buffer is allocated.

Bounds (the performance budget is measured by ``bench/cleaning.py``):

* every cleaned picture has at most :data:`OUTPUT_PIXELS` (12.6 MP, a
  phone's 4032 × 3024 fits whole); a larger JPEG is decoded at 1/2, 1/4 or
  1/8 scale by libjpeg itself (cheap, exact), other formats are refused;
* one picture: at most :data:`FILE_LIMIT_MS` estimated CPU milliseconds
  and :data:`MEMORY_LIMIT` estimated bytes;
* one request: at most its :class:`CleaningBudget`.  A JPEG that does not
  fit in what is left is decoded at a smaller scale while it keeps at
  least :data:`MIN_DEGRADED_PIXELS`; anything else that does not fit is
  refused (:class:`OverBudget`), with the form kept.

The estimates are CPU milliseconds on the 2-core reference machine, fitted
to worst cases (noise, rotation, progressive layout) so that they err on
the high side; see bench/README.md "Cleaning photos".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from registry.attachments.jpeghead import JpegFrame

if TYPE_CHECKING:
    # Only for annotations: the service imports this module, and must not
    # pull in Pillow for requests that clean no photo.
    from PIL import Image

MAX_PIXELS = 50_000_000
"""Largest picture looked at (50 megapixels; 48-megapixel phone cameras fit)."""
OUTPUT_PIXELS = 4096 * 3072
"""Largest cleaned picture (12.6 megapixels: evidence stays sharp, memory stays bounded)."""
MIN_DEGRADED_PIXELS = 2_000_000
"""A JPEG is made smaller for a request's budget only while it keeps this many pixels."""
FILE_LIMIT_MS = 1000
"""Estimated CPU milliseconds one picture may take."""
MEMORY_LIMIT = 94 * 1024 * 1024
"""Estimated bytes one picture may take while it is cleaned (the budget is 100 MiB).

A 12-megapixel phone photo held sideways (decoded, then turned: two
buffers of 4 bytes a pixel) is the common case that must fit: 93 MiB."""

_MB = 1_000_000
# Orientations (EXIF 0x0112) that turn or flip the picture: a second buffer.
TURNING_ORIENTATIONS = frozenset(range(2, 9))
# Bytes per pixel of Pillow's own buffers, by mode (RGB is stored as 4).
_BUFFER_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
# Samples per pixel written out, by mode (what filters and compressors chew).
_SAMPLES = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2, "I;16": 2, "I": 2, "RGB": 3}


@dataclass(frozen=True)
class _Costs:
    """Estimated milliseconds: per picture, per MB of samples decoded, per MB of file."""

    fixed: float
    per_sample_mb: float
    per_file_mb: float


# Fitted on the reference machine (bench/cleaning.py): JPEG decode, turn and
# encode of noisy photos; PNG decode plus filtering and deflating (the
# file's size stands for how little of it compresses); WebP's VP8 decode and
# encode, both dear per byte.
_COSTS = {
    "JPEG": _Costs(fixed=20, per_sample_mb=5, per_file_mb=17),
    "PNG": _Costs(fixed=20, per_sample_mb=13, per_file_mb=80),
    "WEBP": _Costs(fixed=20, per_sample_mb=18, per_file_mb=230),
}
# libjpeg's whole-picture coefficient buffer: milliseconds per MB of it.
_COEFFICIENT_MS_PER_MB = 3
# Turning or flipping the decoded picture: milliseconds per MB of samples.
_TURN_MS_PER_SAMPLE_MB = 2
# WebP decoding holds the file, libwebp's canvas and its copy and Pillow's
# image: about 20 bytes per pixel (measured).
_WEBP_DECODE_BYTES = 20
# An encoded JPEG or WebP (quality 92) takes at most about a byte a pixel
# (noise: 0.25 for JPEG); a PNG of noise a byte a sample.
_OUTPUT_BYTES_PER_PIXEL = {"JPEG": 1, "WEBP": 1}


class TooLarge(ValueError):
    """The picture cannot be cleaned within one picture's bounds (nor made smaller)."""

    def __init__(self) -> None:
        super().__init__("the picture is too large")


class OverBudget(ValueError):
    """The picture alone could be cleaned, but not in what the request has left."""

    def __init__(self) -> None:
        super().__init__("the pictures are too large together")


class CleaningBudget:
    """What one request may still spend on cleaning pictures (estimated ms)."""

    def __init__(self, total_ms: int) -> None:
        self.left = total_ms

    def allowance(self) -> int:
        """What the next picture may cost: what is left, at most one picture's limit."""
        return max(0, min(self.left, FILE_LIMIT_MS))

    def spend(self, ms: int) -> None:
        """Charge a planned picture (before it is decoded)."""
        self.left -= ms


@dataclass(frozen=True)
class Plan:
    """How one picture will be cleaned, and what it is expected to cost."""

    scale: int
    """1, 2, 4 or 8: the picture is decoded at 1/scale of its size (JPEG only)."""
    width: int
    height: int
    cost_ms: int
    memory: int
    turned_memory: int
    """The memory if the picture turns out to need turning after all."""

    @property
    def pixels(self) -> int:
        """Pixels of the decoded (and cleaned) picture."""
        return self.width * self.height


def plan_cleaning(
    image: Image.Image,
    image_format: str,
    file_size: int,
    frame: JpegFrame | None,
    *,
    turns: bool,
    allowance: int,
) -> Plan:
    """Choose how to clean ``image`` (opened, not loaded) within ``allowance`` ms.

    ``image_format`` is JPEG, PNG or WEBP (Pillow may call a JPEG "MPO");
    ``file_size`` is in bytes; ``frame`` is the JPEG's layout (None for other formats), ``turns``
    whether its EXIF orientation turns or flips it.  Raises
    :class:`TooLarge` if the picture cannot be cleaned within one picture's
    bounds, :class:`OverBudget` if it could, but not within ``allowance``.
    """
    width, height = image.size
    # WHY check before anything else: opening read only the header; the
    # pixel buffer is allocated by load(), which must not even start.
    if width * height > MAX_PIXELS:
        raise TooLarge()
    scales = (1, 2, 4, 8) if image_format == "JPEG" else (1,)
    plans = [_estimate(image, image_format, file_size, frame, s, turns=turns) for s in scales]
    fitting = [p for p in plans if p.pixels <= OUTPUT_PIXELS and p.memory <= MEMORY_LIMIT]
    if not fitting:
        raise TooLarge()
    # The largest picture that fits; smaller ones only while still legible.
    usable = [fitting[0], *(p for p in fitting[1:] if p.pixels >= MIN_DEGRADED_PIXELS)]
    for plan in usable:
        if plan.cost_ms <= allowance:
            return plan
    if any(plan.cost_ms <= FILE_LIMIT_MS for plan in usable):
        raise OverBudget()
    raise TooLarge()


def _estimate(
    image: Image.Image,
    image_format: str,
    file_size: int,
    frame: JpegFrame | None,
    scale: int,
    *,
    turns: bool,
) -> Plan:
    width, height = -(-image.width // scale), -(-image.height // scale)
    pixels = width * height
    samples = pixels * _SAMPLES.get(image.mode, 4)
    costs = _COSTS[image_format]
    coefficients = frame.coefficient_bytes() if frame is not None else 0
    cost = (
        costs.fixed
        + costs.per_sample_mb * samples / _MB
        + costs.per_file_mb * file_size / _MB
        + _COEFFICIENT_MS_PER_MB * coefficients / _MB
        + (_TURN_MS_PER_SAMPLE_MB * samples / _MB if turns else 0)
    )
    buffer = pixels * _BUFFER_BYTES.get(image.mode, 4)
    if image_format == "WEBP":
        held = pixels * _WEBP_DECODE_BYTES + file_size
    else:
        held = coefficients + buffer
    output = pixels * _OUTPUT_BYTES_PER_PIXEL.get(image_format, 0) or samples
    # Turning makes a second buffer while the first lives; it is gone before
    # the encoder writes its output.
    memory = held + max(buffer if turns else 0, output)
    return Plan(scale, width, height, round(cost), memory, held + max(buffer, output))
