"""The one versioned envelope format shared by every sealed value.

Layout of every envelope::

    version (1 byte, = 1) || kind (1 byte) || body

The body depends on the kind (see the module that seals it).  The two header
bytes are never trusted on their own: they are always part of the associated
data (AEAD) or of the HPKE ``info``, together with a domain-separation label
``sviedka/v1/<kind>`` and the caller's context (report id, field name, ...).
"""

from __future__ import annotations

import struct
from enum import IntEnum

from registry.crypto.errors import CannotOpen

VERSION = 1
"""The only envelope version this code writes or reads."""

HEADER_LENGTH = 2


class Kind(IntEnum):
    """What an envelope holds; one value per sealing function pair."""

    FIELD = 1
    WRAP = 2
    SUBMITTER_MESSAGE = 3
    PASSWORD_LOCK = 4
    SESSION = 5
    LOCAL = 6
    STREAM = 7
    TOTP_SEED = 8
    ENROLMENT = 9
    RECOVERY_CODE = 10
    # WHY new kinds rather than a changed FIELD / SUBMITTER_MESSAGE: stored
    # values of the old kinds must keep opening (nobody can re-seal them
    # without the report's key), and the kind byte tells the opener which
    # layout to expect.  Both hold a padded plaintext (registry.crypto.padding).
    PADDED_FIELD = 11
    PADDED_MESSAGE = 12
    # An Ed25519 signature by the receipt-derived key over one submitter
    # item (registry.crypto.statements); not sealed, only signed.
    STATEMENT = 13


def _label(kind: Kind) -> bytes:
    # WHY a label per kind: the same key bytes used for two jobs (say, a DEK
    # and a session secret) still cannot open each other's envelopes.
    return f"sviedka/v{VERSION}/{kind.name.lower().replace('_', '-')}".encode("ascii")


def header(kind: Kind) -> bytes:
    """Return the two header bytes (version, kind) that start an envelope of ``kind``."""
    return bytes((VERSION, kind))


def kind_of(envelope: bytes) -> Kind | None:
    """The kind named by a version-1 header of ``envelope``, or ``None``.

    For choosing an opener (e.g. a value stored before its format changed),
    never for trusting: the opener authenticates the header again.
    """
    if len(envelope) < HEADER_LENGTH or envelope[0] != VERSION:
        return None
    try:
        return Kind(envelope[1])
    except ValueError:
        return None


def body_of(envelope: bytes, kind: Kind) -> bytes:
    """Check the header of ``envelope`` and return what follows it.

    Raises CannotOpen when the envelope is too short, has an unknown version,
    or is of another kind.
    """
    # WHY reject other kinds up front: a FIELD ciphertext handed to the LOCAL
    # opener must fail even if, by mistake, the same key was used for both.
    if len(envelope) < HEADER_LENGTH or envelope[:HEADER_LENGTH] != header(kind):
        raise CannotOpen()
    return envelope[HEADER_LENGTH:]


def _encode_item(item: bytes | str) -> bytes:
    data = item.encode("utf-8") if isinstance(item, str) else bytes(item)
    # WHY a length prefix: ("a|b", "c") and ("a", "b|c") must not encode alike,
    # or a ciphertext could be moved between rows whose ids merely re-split.
    return struct.pack(">I", len(data)) + data


def associated_data(kind: Kind, *context: bytes | str) -> bytes:
    """Encode label, header and ``context`` unambiguously for use as AD or HPKE info.

    Each item is length-prefixed (4 bytes, big-endian); strings are UTF-8.
    The number of items is fixed by each kind, so the encoding is injective.
    """
    items: tuple[bytes | str, ...] = (_label(kind), header(kind), *context)
    return b"".join(_encode_item(item) for item in items)
