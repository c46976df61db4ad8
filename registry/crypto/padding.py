"""Padding of sealed texts to a few size classes, so that a length says little.

WHY: an AEAD ciphertext is exactly as long as its plaintext plus a constant,
so a seized disk read every answer's length, and from which rows existed
which questions were answered (promise 12 in docs/threat-model.md; layout
in docs/envelopes.md).  Padded, a length only says which size class the
text fell into.

Encoding (inside the AEAD, so it is authenticated like the text)::

    length of the text (4 bytes, big-endian) || text || zero bytes

The whole encoding is padded to the smallest size class that holds it:

    256 B, 1 KiB, 4 KiB, 16 KiB, then every multiple of 16 KiB.

WHY these classes: nearly every text the registry seals is a short note, a
message, a key, or an account of a few paragraphs (a typical account with
its answers is 2 to 8 KB of UTF-8), and classes four times apart split them
only into "short", "a few lines", "a page", "several pages".  Above 16 KiB
the classes grow linearly, not by doubling: the longest sealed value (a full
report: 50,000 characters of account and up to 70,000 of answers and
contact, at most ~480 KB of UTF-8, so about 30 classes) then wastes at most
16 KiB instead of up to half of its size, and what a class still tells about
those few very long accounts (their length to within 16 KiB) says nothing of
which questions were answered.  The cost: every text takes at least 256
bytes; a longer one below 16 KiB at most four times its size; above that, at
most 16 KiB more.

The opener accepts any padded length whose prefix and zero tail are
consistent, not only today's classes: the classes can be retuned later
without a new envelope kind and without making stored values unreadable.
"""

from __future__ import annotations

import struct

from registry.crypto.errors import CannotOpen

LENGTH_PREFIX = 4
SMALL_CLASSES = (256, 1024, 4096, 16384)
"""The size classes below :data:`LARGE_STEP`, in bytes of padded plaintext."""
LARGE_STEP = 16384
"""Above the last small class, padded plaintexts are multiples of this."""
MAX_TEXT = 2**32 - 1


def padded_size(length: int) -> int:
    """The padded size (prefix included) of a text of ``length`` bytes."""
    needed = LENGTH_PREFIX + length
    for size in SMALL_CLASSES:
        if needed <= size:
            return size
    return -(-needed // LARGE_STEP) * LARGE_STEP


def pad(text: bytes) -> bytes:
    """``text`` with its length prefix, padded with zeros to its size class.

    Raises ValueError if ``text`` is longer than a 4-byte length can say.
    """
    if len(text) > MAX_TEXT:
        raise ValueError("the text is too long to pad")
    size = padded_size(len(text))
    return struct.pack(">I", len(text)) + text + bytes(size - LENGTH_PREFIX - len(text))


def unpad(padded: bytes) -> bytes:
    """The text inside ``padded`` (made by :func:`pad`); CannotOpen if malformed.

    Only a bug (or a forged key) gets here with a malformed value: the
    padded bytes were authenticated before this is called.
    """
    if len(padded) < LENGTH_PREFIX:
        raise CannotOpen()
    (length,) = struct.unpack(">I", padded[:LENGTH_PREFIX])
    end = LENGTH_PREFIX + length
    # WHY insist on a zero tail: the encoding is then one-to-one, so two
    # different padded values can never yield the same text.
    if end > len(padded) or padded[end:].count(0) != len(padded) - end:
        raise CannotOpen()
    return padded[LENGTH_PREFIX:end]
