"""What a JPEG's headers say about the memory its decoding will take.

A sequential JPEG whose first scan holds every component is decoded a row
of blocks at a time.  Any other (progressive, or components in separate
scans) makes libjpeg keep the coefficients of the WHOLE picture at full
size, 2 bytes per sample, whatever scale it is asked to decode at: a
50-megapixel progressive photo takes 150 MB (300 MB without chroma
subsampling) before a single pixel is produced.  Pillow does not say which
kind a file is, so the segments up to the first scan are read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

# Start-of-frame markers (SOF0..SOF15 except DHT, JPG and DAC).
_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
# Markers that stand alone, without a length: TEM, RST0..RST7.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_SOS, _EOI = 0xDA, 0xD9
BLOCK_BYTES = 64 * 2  # one 8×8 block of 16-bit coefficients
_MAX_STRAY_BYTES = 1024


@dataclass(frozen=True)
class JpegFrame:
    """The picture's size, sampling and how its data is laid out in scans."""

    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]
    """(horizontal, vertical) sampling factor of each component."""
    progressive: bool
    first_scan_components: int

    @property
    def buffers_whole_picture(self) -> bool:
        """Whether decoding keeps every coefficient of the picture in memory."""
        return self.progressive or self.first_scan_components < len(self.sampling)

    def coefficient_bytes(self) -> int:
        """Memory of the whole-picture coefficient buffer (0 if none is needed)."""
        if not self.buffers_whole_picture:
            return 0
        h_max = max(h for h, _ in self.sampling)
        v_max = max(v for _, v in self.sampling)
        total = 0
        for h, v in self.sampling:
            width = -(-self.width * h // h_max)
            height = -(-self.height * v // v_max)
            # libjpeg pads every component to whole MCUs (up to 8 × max factor).
            blocks_across = -(-width // (8 * h)) * h
            blocks_down = -(-height // (8 * v)) * v
            total += blocks_across * blocks_down * BLOCK_BYTES
        return total


def read_frame(source: BinaryIO) -> JpegFrame:
    """Read segments from the start of ``source`` to the first scan.

    Raises ValueError if the file ends first, or a segment is malformed.
    Reads at most one segment (< 64 KiB) at a time.
    """
    if source.read(2) != b"\xff\xd8":
        raise ValueError("not a JPEG")
    frame: tuple[int, int, tuple[tuple[int, int], ...], bool] | None = None
    while True:
        marker = _next_marker(source)
        if marker in _STANDALONE:
            continue
        if marker == _EOI:
            raise ValueError("no picture data")
        length = int.from_bytes(_exactly(source, 2), "big")
        if length < 2:
            raise ValueError("bad segment length")
        body = _exactly(source, length - 2)
        if marker in _FRAMES:
            frame = _frame(body, progressive=marker in _PROGRESSIVE)
        elif marker == _SOS:
            if frame is None or not body:
                raise ValueError("scan before frame")
            width, height, sampling, progressive = frame
            return JpegFrame(width, height, sampling, progressive, body[0])


def _frame(body: bytes, *, progressive: bool) -> tuple[int, int, tuple[tuple[int, int], ...], bool]:
    if len(body) < 6:
        raise ValueError("short frame header")
    height = int.from_bytes(body[1:3], "big")
    width = int.from_bytes(body[3:5], "big")
    count = body[5]
    if not width or not height or not count or len(body) < 6 + 3 * count:
        raise ValueError("bad frame header")
    sampling = tuple((body[7 + 3 * i] >> 4, body[7 + 3 * i] & 0x0F) for i in range(count))
    if any(not 1 <= factor <= 4 for pair in sampling for factor in pair):
        raise ValueError("bad sampling factor")
    return width, height, sampling, progressive


def _next_marker(source: BinaryIO) -> int:
    # A few stray bytes between segments are skipped, as libjpeg does, and
    # 0xFF fill bytes may precede the marker code.  WHY a bound: these are
    # read a byte at a time, and megabytes of them would cost seconds here.
    for _ in range(_MAX_STRAY_BYTES):
        if _exactly(source, 1) == b"\xff":
            break
    else:
        raise ValueError("no marker")
    for _ in range(_MAX_STRAY_BYTES):
        byte = _exactly(source, 1)
        if byte != b"\xff":
            return byte[0]
    raise ValueError("no marker")


def _exactly(source: BinaryIO, count: int) -> bytes:
    data = source.read(count)
    if len(data) != count:
        raise ValueError("truncated JPEG header")
    return data
