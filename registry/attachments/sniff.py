"""What a file really is, judged from its first bytes, from a short allowlist.

WHY magic bytes and never the file name or the browser's Content-Type: both
are chosen by whoever uploads, so a page (HTML, SVG) named ``photo.jpg``
would otherwise reach a reviewer's browser as an image it then renders as a
page.  Only types a reviewer needs and a browser shows passively are
accepted; everything else is refused.

Files in the ISO base media format (a ``ftyp`` box at offset 4) are told
apart by their brands:

* ``heic``, ``heix``, ``heim``, ``heis`` (major brand), or ``mif1`` / ``msf1``
  unless an AVIF brand is among the compatible ones: ``image/heic``;
* ``M4A``, ``M4B``, ``M4P``, ``F4A``, ``F4B`` (major brand): ``audio/mp4``;
* ``qt`` (major brand): ``video/quicktime``;
* the generic MP4 brands (``isom``, ``iso2``.., ``mp41``, ``mp42``, ``avc1``,
  ``M4V``, ...): ``video/mp4``.  An audio-only MP4 under a generic brand (some
  Android recorders) is therefore called video/mp4: telling audio from video
  means parsing the ``moov`` box, which may sit at the end of the file, and
  browsers play either through the same player.
"""

from __future__ import annotations

import codecs
import unicodedata

SNIFF_BYTES = 512
"""How many leading bytes :func:`sniff` needs (all of them if the file is shorter)."""

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/wav": ".wav",
    "audio/mp4": ".m4a",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
    "text/plain": ".txt",
}

MEDIA_TYPES = frozenset(_EXTENSIONS)
"""Every media type :func:`sniff` can return."""

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_AUDIO_MP4_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
_VIDEO_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9"}
    | {b"mp41", b"mp42", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"F4V ", b"dash", b"mmp4"}
)
_TEXT_CONTROLS_ALLOWED = frozenset("\t\n\r")


def sniff(head: bytes) -> str | None:
    """Return the media type of a file from its first :data:`SNIFF_BYTES` bytes, or None.

    ``head`` must be the first ``SNIFF_BYTES`` bytes of the file, or the
    whole file if it is shorter.  None means the file is not of an accepted
    type (or is empty) and must be refused.
    """
    for check in (_image, _pdf, _audio, _iso_media, _webm):
        media_type = check(head)
        if media_type is not None:
            return media_type
    # WHY text last: every binary format above would also have to be ruled
    # out by the text rules, and a signature is the stronger evidence.
    return "text/plain" if _is_plain_text(head) else None


def extension_for(media_type: str) -> str:
    """Return the file extension (with its dot) for a type :func:`sniff` returns.

    Raises ValueError for any other type.  WHY derive the extension from the
    sniffed type: a stored or downloaded name then never carries the
    uploader's extension (``.html``, ``.exe``) into a reviewer's machine.
    """
    try:
        return _EXTENSIONS[media_type]
    except KeyError:
        raise ValueError("not an accepted media type") from None


def _image(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return "image/webp"
    return None


def _pdf(head: bytes) -> str | None:
    # WHY only at offset 0: PDF readers accept the marker anywhere in the
    # first kilobyte, which is how polyglot files (a page that is also a
    # PDF) are built; a genuine PDF from any scanner or phone starts with it.
    return "application/pdf" if head.startswith(b"%PDF-") else None


def _audio(head: bytes) -> str | None:
    if head.startswith(b"OggS\x00"):
        # Ogg can also carry Theora video; phones and browsers record Opus or
        # Vorbis voice into it, so it is called audio.
        return "audio/ogg"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if _is_id3_tag(head):
        return "audio/mpeg"
    return "audio/mpeg" if _is_mpeg_audio_frame(head) else None


def _is_id3_tag(head: bytes) -> bool:
    # An ID3v2 tag (before the first frame of most MP3 files): "ID3", major
    # version 2 to 4, a revision byte that is never 0xFF, flags, and a size in
    # four bytes of seven bits each.
    return (
        len(head) >= 10
        and head.startswith(b"ID3")
        and head[3] in (2, 3, 4)
        and head[4] != 0xFF
        and all(byte < 0x80 for byte in head[6:10])
    )


def _is_mpeg_audio_frame(head: bytes) -> bool:
    # A bare MPEG audio frame header: 11 sync bits, then version, layer,
    # bitrate and sample rate, none of which may be the reserved value.
    # WHY check them all: two bytes of sync alone would match too much
    # arbitrary binary data (and AAC ADTS, which uses layer 0).
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate, sample_rate = head[2] >> 4, (head[2] >> 2) & 0b11
    return version != 0b01 and layer != 0b00 and bitrate != 0b1111 and sample_rate != 0b11


def _iso_media(head: bytes) -> str | None:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[:4], "big")
    # WHY refuse odd box sizes: a ftyp box is 16 bytes plus 4 per compatible
    # brand; anything else is not a file any camera or recorder wrote.
    if box_size < 16 or box_size % 4 != 0:
        return None
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    if major in _HEIC_BRANDS or (major in _HEIF_GENERIC_BRANDS and not compatible & _AVIF_BRANDS):
        return "image/heic"
    if major in _AUDIO_MP4_BRANDS:
        return "audio/mp4"
    if major == b"qt  ":
        return "video/quicktime"
    if major in _VIDEO_MP4_BRANDS:
        return "video/mp4"
    return None


def _webm(head: bytes) -> str | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    # The EBML header names its document type; only "webm" is accepted,
    # WHY: Matroska (.mkv) shares the header but browsers do not play it.
    position = head.find(b"\x42\x82", 4, 64)
    if position < 0 or position + 3 > len(head):
        return None
    size_byte = head[position + 2]
    # A one-byte EBML size has its top bit set; the low seven bits are the length.
    if not size_byte & 0x80:
        return None
    length = size_byte & 0x7F
    doc_type = head[position + 3 : position + 3 + length]
    return "video/webm" if doc_type.rstrip(b"\x00") == b"webm" else None


def _is_plain_text(head: bytes) -> bool:
    if not head:
        return False
    # WHY an incremental decoder: ``head`` may end in the middle of a
    # multi-byte character when the file is longer than SNIFF_BYTES; only
    # when ``head`` is the whole file must that last character be complete.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError:
        return False
    # WHY refuse NUL and other control characters: they mark binary data, and
    # a browser that second-guesses text/plain treats them as a sign of it.
    if any(unicodedata.category(c) == "Cc" and c not in _TEXT_CONTROLS_ALLOWED for c in text):
        return False
    # WHY refuse text that opens with "<": HTML, SVG and XML do, and a browser
    # that ignores the type (or a reviewer who saves and double-clicks the
    # file) would render it as an active page; a written account does not.
    return not text.lstrip("\ufeff \t\r\n").startswith("<")
