"""HPKE (RFC 9180) base mode, single shot, to a hybrid ML-KEM-768 + X25519 public key.

Envelope body: the HPKE output itself (encapsulated key, 1120 bytes, then
ciphertext and 16-byte tag).  The header, a label and the context are bound
through HPKE ``info``, since the single-shot API takes no associated data.

Messages sealed to a public key are padded (kind PADDED_MESSAGE, see
:mod:`registry.crypto.padding`); those stored before padding (kind
SUBMITTER_MESSAGE) still open.  Data key wraps are not padded: they are
always 32 bytes.
"""

from __future__ import annotations

import functools

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke

from registry.crypto.envelope import Kind, associated_data, body_of, header, kind_of
from registry.crypto.errors import CannotOpen
from registry.crypto.keys import load_private_key, load_public_key
from registry.crypto.padding import pad, unpad

DATA_KEY_LENGTH = 32

# WHY this suite: the hybrid KEM stays secure if either ML-KEM-768 (against a
# future quantum adversary recording today's traffic) or X25519 (against a
# flaw in the young lattice scheme) holds; ChaCha20-Poly1305 matches the AEAD
# used everywhere else in this package.
SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


# WHY a cache: building the library's key from our encoding costs about a
# fifth of a wrap, and every new report wraps to the same few reviewers and
# the escrow.  Only public keys are kept: nothing secret stays in memory.
_recipient_key = functools.lru_cache(maxsize=256)(load_public_key)


def _seal(plaintext: bytes, public_key: bytes, kind: Kind, *context: str) -> bytes:
    recipient = _recipient_key(public_key)
    # WHY info: it enters the HPKE key schedule, so an envelope opened with
    # another report id / purpose derives another key and fails.
    info = associated_data(kind, *context)
    return header(kind) + SUITE.encrypt(plaintext, recipient, info)


def _open(sealed: bytes, private_key: bytes, kind: Kind, *context: str) -> bytes:
    return _open_with(sealed, load_private_key(private_key), kind, *context)


def _open_with(
    sealed: bytes, recipient: hpke.MLKEM768X25519PrivateKey, kind: Kind, *context: str
) -> bytes:
    body = body_of(sealed, kind)
    info = associated_data(kind, *context)
    try:
        return SUITE.decrypt(body, recipient, info)
    except (InvalidTag, ValueError):
        # WHY "from None": no chained library error tells which check failed.
        raise CannotOpen() from None


def wrap_data_key(dek: bytes, public_key: bytes, *, report_id: str) -> bytes:
    """Wrap a 32-byte report data key to a reviewer's or escrow's public key.

    Raises ValueError if ``dek`` is not 32 bytes or ``public_key`` is malformed.
    """
    if len(dek) != DATA_KEY_LENGTH:
        raise ValueError("a data key is 32 bytes")
    return _seal(dek, public_key, Kind.WRAP, report_id)


def unwrap_data_key(wrapped: bytes, private_key: bytes, *, report_id: str) -> bytes:
    """Recover the data key wrapped for ``report_id``; CannotOpen on any failure."""
    return DataKeyUnwrapper(private_key).unwrap(wrapped, report_id=report_id)


class DataKeyUnwrapper:
    """Unwraps many data keys with one private key, which it builds once.

    Building the library's key from our 96-byte encoding (ML-KEM key
    generation from the seed) costs about as much as the HPKE decryption
    itself; a search that opens a thousand cases pays it once.
    """

    def __init__(self, private_key: bytes) -> None:
        """CannotOpen if ``private_key`` is malformed."""
        self._key = load_private_key(private_key)

    def __repr__(self) -> str:
        # WHY: an object printed in a log or a traceback must not show the key.
        return "DataKeyUnwrapper(...)"

    def unwrap(self, wrapped: bytes, *, report_id: str) -> bytes:
        """As :func:`unwrap_data_key`: the data key, or CannotOpen on any failure."""
        dek = _open_with(wrapped, self._key, Kind.WRAP, report_id)
        # WHY check even though authenticated: a wrap of something that is not
        # a data key is a bug upstream and must not be used as one.
        if len(dek) != DATA_KEY_LENGTH:
            raise CannotOpen()
        return dek


def seal_to_public_key(
    plaintext: bytes, public_key: bytes, *, report_id: str, purpose: str
) -> bytes:
    """Seal a message (e.g. a reply to the submitter) so only ``public_key``'s owner opens it.

    The message is padded to its size class.  Raises ValueError if
    ``public_key`` is malformed.
    """
    # WHY pad here too: messages both ways, attachment names and file keys go
    # through this function, and their lengths would otherwise be on disk.
    return _seal(pad(plaintext), public_key, Kind.PADDED_MESSAGE, report_id, purpose)


def open_with_private_key(
    sealed: bytes, private_key: bytes, *, report_id: str, purpose: str
) -> bytes:
    """Open a message made by :func:`seal_to_public_key`, padded or of the older kind.

    Raises CannotOpen on any failure.
    """
    # WHY the kind byte may choose: it is bound through HPKE ``info``, so a
    # relabelled envelope derives another key and fails to open.
    if kind_of(sealed) == Kind.PADDED_MESSAGE:
        return unpad(_open(sealed, private_key, Kind.PADDED_MESSAGE, report_id, purpose))
    return _open(sealed, private_key, Kind.SUBMITTER_MESSAGE, report_id, purpose)
