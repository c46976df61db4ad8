"""Content sniffing: each accepted type from hand-made headers, and what must be refused."""

from __future__ import annotations

import pytest

from registry.attachments.sniff import MEDIA_TYPES, SNIFF_BYTES, extension_for, sniff


def _padded(head: bytes) -> bytes:
    """``head`` followed by binary filler up to SNIFF_BYTES, as a real file's first bytes."""
    return (head + bytes(range(256)) * 2)[:SNIFF_BYTES]


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    size = 16 + 4 * len(compatible)
    return size.to_bytes(4, "big") + b"ftyp" + major + b"\x00\x00\x02\x00" + b"".join(compatible)


EBML_WEBM = (
    b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
    b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02"
)
EBML_MKV = EBML_WEBM.replace(b"\x42\x82\x84webm", b"\x42\x82\x88matroska")

ACCEPTED = {
    "jpeg-jfif": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01", "image/jpeg"),
    "jpeg-exif": (b"\xff\xd8\xff\xe1\x1c\x45Exif\x00\x00MM", "image/jpeg"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    "webp-lossy": (b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", "image/webp"),
    "webp-lossless": (b"RIFF\x24\x00\x00\x00WEBPVP8L\x18\x00\x00\x00", "image/webp"),
    "webp-extended": (b"RIFF\x24\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00", "image/webp"),
    "heic": (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
    "heix": (_ftyp(b"heix", b"mif1", b"heix"), "image/heic"),
    "mif1-heic": (_ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
    "mp3-id3": (b"ID3\x04\x00\x00\x00\x00\x01\x21TIT2", "audio/mpeg"),
    "mp3-frame": (b"\xff\xfb\x90\x64\x00\x00", "audio/mpeg"),
    "mpeg2-layer3-frame": (b"\xff\xf3\x48\xc4\x00\x00", "audio/mpeg"),
    "ogg": (b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00", "audio/ogg"),
    "wav": (b"RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00", "audio/wav"),
    "m4a": (_ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio/mp4"),
    "mp4-isom": (_ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
    "mp4-mp42": (_ftyp(b"mp42", b"mp42", b"isom"), "video/mp4"),
    "quicktime": (_ftyp(b"qt  ", b"qt  "), "video/quicktime"),
    "webm": (EBML_WEBM, "video/webm"),
}


@pytest.mark.parametrize(("head", "expected"), list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_accepted_types(head: bytes, expected: str) -> None:
    assert sniff(_padded(head)) == expected
    assert expected in MEDIA_TYPES


@pytest.mark.parametrize(
    "text",
    [
        "Мяне затрымалі 12 жніўня каля метро.\n",
        "Line one\r\n\tindented line two\r\n",
        "\ufeffWith a byte-order mark",
        "Plain ASCII, but with 'quotes' & <b>a tag</b> later on",
    ],
)
def test_plain_text(text: str) -> None:
    assert sniff(text.encode("utf-8")) == "text/plain"


def test_text_cut_inside_a_character_at_the_sniff_limit() -> None:
    """The first 512 bytes of a longer file may end halfway through a character."""
    data = ("a" * (SNIFF_BYTES - 1) + "ж" * 10).encode("utf-8")
    assert sniff(data[:SNIFF_BYTES]) == "text/plain"


def test_short_text_with_an_incomplete_last_character_is_refused() -> None:
    """A whole file shorter than the limit must be complete UTF-8."""
    assert sniff("ж".encode()[:1]) is None
    assert sniff(b"abc\xd0") is None


REFUSED = {
    "empty": b"",
    "html": b"<html><body><script>alert(1)</script>",
    "html-doctype-after-space": b"  \n<!DOCTYPE html><html>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "svg-after-bom": b'\xef\xbb\xbf<svg xmlns="http://www.w3.org/2000/svg"/>',
    "xml": b'<?xml version="1.0"?><x/>',
    "elf": _padded(b"\x7fELF\x02\x01\x01\x00"),
    "zip-docx": _padded(b"PK\x03\x04\x14\x00\x06\x00\x08\x00"),
    "gif": _padded(b"GIF89a\x01\x00\x01\x00\x80\x00\x00"),
    "text-with-nul": b"hello\x00world",
    "text-with-escape": b"hello \x1b[31m red",
    "text-with-form-feed": b"page one\x0cpage two",
    "text-with-c1-control": "a\u0085b".encode(),
    "windows-1251": "Мяне затрымалі".encode("cp1251"),
    "riff-avi": _padded(b"RIFF\x24\x00\x00\x00AVI LIST"),
    "webp-unknown-chunk": _padded(b"RIFF\x24\x00\x00\x00WEBPABCD"),
    "pdf-marker-not-at-start": _padded(b"\x00\x01%PDF-1.7"),
    "avif": _padded(_ftyp(b"avif", b"mif1", b"avif")),
    "mif1-avif": _padded(_ftyp(b"mif1", b"mif1", b"avif", b"miaf")),
    "3gp": _padded(_ftyp(b"3gp4", b"3gp4", b"isom")),
    "ftyp-bad-size": _padded(b"\x00\x00\x00\x11ftypisom\x00\x00\x02\x00i"),
    "ftyp-too-short": b"\x00\x00\x00\x10ftypisom",
    "matroska": _padded(EBML_MKV),
    "ebml-no-doctype": _padded(b"\x1a\x45\xdf\xa3\x84\x42\x86\x81\x01"),
    "aac-adts": _padded(b"\xff\xf1\x50\x80\x02\x1f\xfc"),
    "mpeg-reserved-version": _padded(b"\xff\xeb\x90\x64"),
    "mpeg-bad-bitrate": _padded(b"\xff\xfb\xf0\x64"),
    "mpeg-reserved-sample-rate": _padded(b"\xff\xfb\x9c\x64"),
    "id3-bad-version": _padded(b"ID3\x09\x00\x00\x00\x00\x01\x21"),
    "id3-bad-size": _padded(b"ID3\x03\x00\x00\x80\x00\x01\x21"),
    "ogg-bad-version": _padded(b"OggS\x01\x02"),
}


@pytest.mark.parametrize("head", list(REFUSED.values()), ids=list(REFUSED))
def test_refused(head: bytes) -> None:
    assert sniff(head) is None


def test_name_and_client_type_are_not_consulted() -> None:
    """A file named report.pdf, sent as application/pdf, holding a PNG is a PNG.

    sniff takes no name or type at all; this records the promise.
    """
    assert sniff(_padded(ACCEPTED["png"][0])) == "image/png"


def test_only_the_leading_bytes_matter() -> None:
    """A signature must be at offset 0; the same bytes later do not count."""
    assert sniff(_padded(b"\x00" + ACCEPTED["jpeg-jfif"][0])) is None


@pytest.mark.parametrize(
    ("media_type", "extension"),
    [
        ("image/jpeg", ".jpg"),
        ("image/png", ".png"),
        ("image/webp", ".webp"),
        ("image/heic", ".heic"),
        ("application/pdf", ".pdf"),
        ("audio/mpeg", ".mp3"),
        ("audio/ogg", ".ogg"),
        ("audio/wav", ".wav"),
        ("audio/mp4", ".m4a"),
        ("video/mp4", ".mp4"),
        ("video/webm", ".webm"),
        ("video/quicktime", ".mov"),
        ("text/plain", ".txt"),
    ],
)
def test_extension_for(media_type: str, extension: str) -> None:
    assert extension_for(media_type) == extension


def test_every_media_type_has_an_extension() -> None:
    assert all(extension_for(media_type).startswith(".") for media_type in MEDIA_TYPES)
    assert len(MEDIA_TYPES) == 13


@pytest.mark.parametrize("media_type", ["text/html", "image/svg+xml", "image/JPEG", ""])
def test_extension_for_other_types_is_value_error(media_type: str) -> None:
    with pytest.raises(ValueError, match="media type"):
        extension_for(media_type)
