"""Photo scrubbing: no location, camera, XMP, ICC or text data survives; pictures stay right."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from registry.attachments import scrub
from registry.attachments.scrub import MAX_PIXELS, UnsupportedImage, scrub_image

GPS_IFD = 0x8825
MAKE, MODEL, ORIENTATION, DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="53,54.0N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
PICTURE_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


def _exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: where (Minsk, 53.9 N), which camera, when, which way up."""
    exif = Image.Exif()
    exif[MAKE] = "Samsung"
    exif[MODEL] = "SM-A525F"
    exif[DATETIME] = "2020:08:10 23:41:07"
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (53.0, 54.0, 0.0), 3: "E", 4: (27.0, 33.0, 36.0)}
    return exif


def _two_colour(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue, so turning the picture shows."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image.convert(mode)


def _colour(image: Image.Image, xy: tuple[int, int]) -> str:
    """ "red", "blue" or "other": JPEG blurs colours a little, so only the dominant one counts."""
    pixel = image.convert("RGB").getpixel(xy)
    assert isinstance(pixel, tuple)
    red, _, blue = pixel[:3]
    return "red" if red > 200 > 60 > blue else "blue" if blue > 200 > 60 > red else "other"


def _encode(image: Image.Image, image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _dirty_jpeg(orientation: int = 1, mode: str = "RGB") -> bytes:
    return _encode(
        _two_colour(mode=mode),
        "JPEG",
        exif=_exif(orientation),
        xmp=XMP,
        icc_profile=ICC,
        comment=b"taken near Pushkinskaya",
    )


def _jpeg_markers(data: bytes) -> list[int]:
    """Markers of the segments before the picture data (SOS)."""
    markers, position = [], 2
    while data[position + 1] != 0xDA:
        markers.append(data[position + 1])
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return markers


def _png_chunks(data: bytes) -> list[bytes]:
    chunks, position = [], 8
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        chunks.append(data[position + 4 : position + 8])
        position += 12 + length
    return chunks


def _webp_chunks(data: bytes) -> list[bytes]:
    chunks, position = [], 12
    while position < len(data):
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        chunks.append(data[position : position + 4])
        position += 8 + length + (length & 1)
    return chunks


def _png_header(width: int, height: int) -> bytes:
    """A tiny PNG file that claims to be ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(64))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_jpeg_loses_location_camera_xmp_icc_and_comment() -> None:
    dirty = _dirty_jpeg()
    for marker in (b"Exif", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"Pushkinskaya"):
        assert marker in dirty  # the test photo really carries them
    clean = scrub_image(dirty, "image/jpeg")
    for marker in (b"Exif", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"Pushkinskaya"):
        assert marker not in clean
    assert set(_jpeg_markers(clean)) & {0xE1, 0xE2, 0xED, 0xFE} == set()
    with Image.open(io.BytesIO(clean)) as image:
        exif = image.getexif()
        assert image.format == "JPEG"
        assert GPS_IFD not in exif
        assert exif.get_ifd(GPS_IFD) == {}
        assert MAKE not in exif
        assert MODEL not in exif
        assert "icc_profile" not in image.info
        assert "comment" not in image.info
        assert "xmp" not in image.info


def test_jpeg_orientation_is_applied_to_the_pixels() -> None:
    """Orientation 6 (turn right to view): the left (red) half becomes the top."""
    clean = scrub_image(_dirty_jpeg(orientation=6), "image/jpeg")
    with Image.open(io.BytesIO(clean)) as image:
        assert image.size == (20, 40)
        assert ORIENTATION not in image.getexif()
        assert _colour(image, (10, 5)) == "red"
        assert _colour(image, (10, 35)) == "blue"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_keeps_the_right_dimensions(orientation: int) -> None:
    clean = scrub_image(_dirty_jpeg(orientation=orientation), "image/jpeg")
    with Image.open(io.BytesIO(clean)) as image:
        assert image.size == ((40, 20) if orientation < 5 else (20, 40))


@pytest.mark.parametrize("mode", ["L", "RGB", "CMYK"])
def test_jpeg_mode_is_kept(mode: str) -> None:
    clean = scrub_image(_dirty_jpeg(mode=mode), "image/jpeg")
    with Image.open(io.BytesIO(clean)) as image:
        assert image.mode == mode


def test_jpeg_depth_or_gain_map_images_are_dropped() -> None:
    """A multi-picture JPEG (MPO) keeps only its primary image, without the MPF index."""
    extra = Image.new("RGB", (40, 20), "green")
    dirty = _encode(_two_colour(), "MPO", save_all=True, append_images=[extra], exif=_exif())
    assert b"MPF" in dirty
    clean = scrub_image(dirty, "image/jpeg")
    assert b"MPF" not in clean
    assert clean.count(b"\xff\xd8") == 1
    with Image.open(io.BytesIO(clean)) as image:
        assert getattr(image, "n_frames", 1) == 1


def test_corrupt_exif_is_no_obstacle() -> None:
    """Pillow warns about corrupt EXIF (an error under -W error); it is discarded anyway."""
    plain = _encode(_two_colour(), "JPEG")
    corrupt = plain[:2] + b"\xff\xe1\x00\x10Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff" + plain[2:]
    clean = scrub_image(corrupt, "image/jpeg")
    assert b"Exif" not in clean


def test_png_loses_text_exif_icc_and_time() -> None:
    info = PngInfo()
    info.add_text("Comment", "53.9 N, 27.56 E")
    info.add_text("Location", "53.9 N, 27.56 E", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add(b"tIME", bytes([7, 228, 8, 10, 23, 41, 7]))
    dirty = _encode(_two_colour(), "PNG", pnginfo=info, exif=_exif(), icc_profile=ICC)
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"tIME"} <= set(_png_chunks(dirty))
    clean = scrub_image(dirty, "image/png")
    assert set(_png_chunks(clean)) <= PICTURE_CHUNKS
    assert b"53.9" not in clean
    with Image.open(io.BytesIO(clean)) as image, Image.open(io.BytesIO(dirty)) as original:
        assert image.tobytes() == original.tobytes()  # PNG stays lossless


def test_png_orientation_from_exif_is_applied() -> None:
    dirty = _encode(_two_colour(), "PNG", exif=_exif(orientation=8))
    with Image.open(io.BytesIO(scrub_image(dirty, "image/png"))) as image:
        assert image.size == (20, 40)


def test_png_palette_transparency_is_kept() -> None:
    picture = Image.new("P", (8, 8), 1)
    picture.putpalette([0, 0, 0, 255, 0, 0])
    dirty = _encode(picture, "PNG", transparency=1, pnginfo=_text("GPS", "53.9"))
    clean = scrub_image(dirty, "image/png")
    assert b"tRNS" in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert image.mode == "P"
        assert image.convert("RGBA").getpixel((0, 0)) == (255, 0, 0, 0)


def test_png_alpha_is_kept() -> None:
    picture = Image.new("RGBA", (8, 8), (10, 20, 30, 40))
    clean = scrub_image(_encode(picture, "PNG", pnginfo=_text("a", "b")), "image/png")
    with Image.open(io.BytesIO(clean)) as image:
        assert image.getpixel((3, 3)) == (10, 20, 30, 40)


def test_animated_png_becomes_its_first_frame() -> None:
    frames = [_two_colour(), Image.new("RGB", (40, 20), "green")]
    dirty = _encode(frames[0], "PNG", save_all=True, append_images=frames[1:])
    clean = scrub_image(dirty, "image/png")
    assert set(_png_chunks(clean)) <= PICTURE_CHUNKS  # no acTL, fcTL, fdAT


def test_webp_loses_exif_xmp_and_icc() -> None:
    dirty = _encode(_two_colour(), "WEBP", exif=_exif(orientation=6), xmp=XMP, icc_profile=ICC)
    assert {b"EXIF", b"XMP ", b"ICCP"} <= set(_webp_chunks(dirty))
    clean = scrub_image(dirty, "image/webp")
    assert set(_webp_chunks(clean)) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}
    assert b"http://ns.adobe.com" not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "WEBP"
        assert image.size == (20, 40)


def _text(key: str, value: str) -> PngInfo:
    info = PngInfo()
    info.add_text(key, value)
    return info


@pytest.mark.parametrize(
    ("width", "height"),
    [(100_000, 100_000), (8000, 7000), (7072, 7071)],
    ids=["far-beyond", "between-limit-and-twice", "just-beyond"],
)
def test_decompression_bomb_is_refused(width: int, height: int) -> None:
    assert width * height > MAX_PIXELS
    with pytest.raises(ValueError, match="too large"):
        scrub_image(_png_header(width, height), "image/png")


def test_size_check_does_not_rely_on_pillows_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ValueError, match="too large"):
        scrub_image(_png_header(8000, 7000), "image/png")


def test_pillows_limit_is_set_for_the_whole_process() -> None:
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS == 50_000_000


@pytest.mark.parametrize("media_type", ["image/jpeg", "image/png", "image/webp"])
@pytest.mark.parametrize(
    "data",
    [b"", b"not a picture at all", bytes(range(256)) * 4],
    ids=["empty", "text", "binary"],
)
def test_garbage_is_value_error(media_type: str, data: bytes) -> None:
    with pytest.raises(ValueError, match="cannot be read") as failure:
        scrub_image(data, media_type)
    assert not isinstance(failure.value, UnsupportedImage)


@pytest.mark.parametrize(
    ("image_format", "media_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png")]
)
def test_truncated_picture_is_value_error(image_format: str, media_type: str) -> None:
    whole = _encode(Image.effect_noise((64, 64), 50).convert("RGB"), image_format)
    with pytest.raises(ValueError, match="cannot be read"):
        scrub_image(whole[: len(whole) // 2], media_type)


def test_content_must_match_the_media_type() -> None:
    png = _encode(_two_colour(), "PNG")
    with pytest.raises(ValueError, match="cannot be read"):
        scrub_image(png, "image/jpeg")


@pytest.mark.parametrize(
    "media_type", ["image/heic", "application/pdf", "image/gif", "text/plain", "image/JPEG"]
)
def test_unsupported_types(media_type: str) -> None:
    with pytest.raises(UnsupportedImage):
        scrub_image(b"\x00\x00\x00\x18ftypheic", media_type)
    assert issubclass(UnsupportedImage, ValueError)


def test_metadata_left_in_the_output_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a Pillow release copy metadata over, scrub_image refuses to return it."""
    dirty = _dirty_jpeg()
    monkeypatch.setattr(scrub, "_reencode", lambda *_args: dirty)
    with pytest.raises(RuntimeError, match="metadata survived"):
        scrub_image(dirty, "image/jpeg")


@pytest.mark.parametrize(
    ("image_format", "dirty_options"),
    [
        ("JPEG", {"exif": _exif()}),
        ("JPEG", {"comment": b"c"}),
        ("JPEG", {"icc_profile": ICC}),
        ("PNG", {"pnginfo": _text("k", "v")}),
        ("PNG", {"icc_profile": ICC}),
        ("WEBP", {"exif": _exif()}),
        ("WEBP", {"xmp": XMP}),
    ],
)
def test_output_check_recognises_metadata(image_format: str, dirty_options: dict[str, Any]) -> None:
    clean = _encode(_two_colour(), image_format)
    dirty = _encode(_two_colour(), image_format, **dirty_options)
    assert not scrub._metadata_left(clean, image_format)
    assert scrub._metadata_left(dirty, image_format)
    assert scrub._metadata_left(clean + b"trailing", image_format)
    assert scrub._metadata_left(b"garbage", image_format)
