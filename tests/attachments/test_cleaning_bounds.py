"""Photo cleaning is bounded: planned from the headers, reduced or refused before decoding.

Speed and memory are measured by ``bench/cleaning.py``, never here; these
tests pin the decisions: what is reduced, to what size, what is refused
and why, and that the request's budget and the worker's slot are used.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from PIL import Image

from registry.attachments.imageplan import (
    FILE_LIMIT_MS,
    MIN_DEGRADED_PIXELS,
    OUTPUT_PIXELS,
    CleaningBudget,
    OverBudget,
    TooLarge,
)
from registry.attachments.jpeghead import read_frame
from registry.attachments.scrub import scrub_image
from registry.serving.slots import Busy, Slots
from tests.attachments.test_scrub import _exif, _png_header

GPS_IFD = 0x8825


def _jpeg(size: tuple[int, int], **options: object) -> bytes:
    """A JPEG of ``size`` (a gradient, cheap to encode) with a phone's EXIF."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=_exif(), quality=80, **options)
    return buffer.getvalue()


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 20, 20)).save(buffer, "PNG", exif=_exif())
    return buffer.getvalue()


def _jpeg_header(width: int, height: int, *, progressive: bool, scan_components: int = 3) -> bytes:
    """SOI, a frame header (4:2:0 YCbCr) and a scan header: no picture data at all."""
    frame_marker = b"\xff\xc2" if progressive else b"\xff\xc0"
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    scan = bytes([scan_components]) + b"\x01\x00\x02\x11\x03\x11"[: 2 * scan_components]
    scan += b"\x00\x3f\x00"
    return (
        b"\xff\xd8"
        + frame_marker
        + struct.pack(">H", len(frame) + 2)
        + frame
        + b"\xff\xda"
        + struct.pack(">H", len(scan) + 2)
        + scan
        + b"\xff\xd9"
    )


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_a_jpeg_beyond_the_output_bound_is_decoded_at_half_size() -> None:
    """13.4 megapixels: libjpeg decodes it at 1/2 scale, the result has no metadata left."""
    dirty = _jpeg((4200, 3200))
    assert OUTPUT_PIXELS < 4200 * 3200
    clean = scrub_image(dirty, "image/jpeg")
    assert _size(clean) == (2100, 1600)
    assert b"Exif" not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert image.getexif().get_ifd(GPS_IFD) == {}


def test_a_phone_photo_keeps_its_size() -> None:
    clean = scrub_image(_jpeg((4032, 3024)), "image/jpeg")
    assert _size(clean) == (4032, 3024)


def test_a_huge_png_that_is_a_tiny_file_is_refused_before_decoding() -> None:
    """7000 × 7000 pixels in a few hundred bytes: refused from the header, never decoded."""
    with pytest.raises(TooLarge):
        scrub_image(_png_header(7000, 7000), "image/png")


def test_a_progressive_jpeg_counts_its_whole_picture_buffer() -> None:
    """48 MP progressive keeps 144 MB of coefficients at any scale: refused from the headers.

    The same picture sequential (one scan) would be decoded at 1/2 scale;
    it gets that far, and only fails for lack of picture data.
    """
    progressive = _jpeg_header(8000, 6000, progressive=True)
    frame = read_frame(io.BytesIO(progressive))
    assert frame.buffers_whole_picture
    assert frame.coefficient_bytes() >= 8000 * 6000 * 3
    with pytest.raises(TooLarge):
        scrub_image(progressive, "image/jpeg")
    sequential = _jpeg_header(8000, 6000, progressive=False)
    assert read_frame(io.BytesIO(sequential)).coefficient_bytes() == 0
    with pytest.raises(ValueError, match="cannot be read"):
        scrub_image(sequential, "image/jpeg")


def test_components_in_separate_scans_count_as_buffered() -> None:
    one_component_scan = _jpeg_header(8000, 6000, progressive=False, scan_components=1)
    assert read_frame(io.BytesIO(one_component_scan)).buffers_whole_picture
    with pytest.raises(TooLarge):
        scrub_image(one_component_scan, "image/jpeg")


def test_a_short_budget_makes_a_jpeg_smaller_not_refused() -> None:
    budget = CleaningBudget(150)
    clean = scrub_image(_jpeg((4000, 3000)), "image/jpeg", budget=budget)
    assert _size(clean) == (2000, 1500)
    assert MIN_DEGRADED_PIXELS <= 2000 * 1500
    assert 0 <= budget.left < 150


def test_a_jpeg_is_not_made_smaller_than_legible() -> None:
    """At 1/4 it would keep 0.75 MP, less than the floor: refused instead."""
    with pytest.raises(OverBudget):
        scrub_image(_jpeg((4000, 3000)), "image/jpeg", budget=CleaningBudget(40))


def test_a_spent_budget_refuses_the_next_picture() -> None:
    budget = CleaningBudget(FILE_LIMIT_MS)
    scrub_image(_png((64, 64)), "image/png", budget=budget)
    assert budget.left < FILE_LIMIT_MS
    budget.spend(budget.left)
    with pytest.raises(OverBudget):
        scrub_image(_png((64, 64)), "image/png", budget=budget)


def test_too_large_and_over_budget_are_value_errors() -> None:
    """Callers that only know ValueError still refuse the file."""
    assert issubclass(TooLarge, ValueError)
    assert issubclass(OverBudget, ValueError)


@contextmanager
def _recording(entered: list[str]) -> Iterator[None]:
    entered.append("slot")
    yield


def test_pictures_are_decoded_inside_the_slot_and_refusals_never_wait() -> None:
    entered: list[str] = []
    scrub_image(_png((8, 8)), "image/png", slot=_recording(entered))
    assert entered == ["slot"]
    with pytest.raises(TooLarge):
        scrub_image(_png_header(7000, 7000), "image/png", slot=_recording(entered))
    assert entered == ["slot"]  # planned and refused without taking a slot


def test_busy_slots_pass_through_as_busy() -> None:
    with pytest.raises(Busy):
        scrub_image(_png((8, 8)), "image/png", slot=Slots(0, wait=0).hold())


def test_slots_bound_how_many_hold_at_once() -> None:
    slots = Slots(1, wait=0.01)
    with slots.hold(), pytest.raises(Busy), slots.hold():
        pass
    with slots.hold():
        pass  # free again
