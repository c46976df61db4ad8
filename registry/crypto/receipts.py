"""Receipts: the submitter's only way back to a report.

A receipt is 20 symbols of a 32-symbol alphabet (100 bits), shown as
``XXXX-XXXX-XXXX-XXXX-XXXX``.  From it, and nothing stored with the report,
come a lookup id (to find the row) and the submitter's key pair (to open
replies sealed to them).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from registry.crypto.errors import CannotOpen
from registry.crypto.kdf import Argon2Params, argon2id
from registry.crypto.keys import PRIVATE_KEY_LENGTH, KeyPair, keypair_from_seed
from registry.crypto.randomness import Rng, draw

# WHY Crockford's alphabet: no I, L, O or U, so a receipt copied by hand
# cannot be misread as another one (I/L look like 1, O like 0).
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_SYMBOLS = 20
GROUP_SIZE = 4
LOOKUP_ID_LENGTH = 32

# Read-back of common misreadings; U stays invalid (Crockford reserves it).
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " \t\r\n-")
_MAX_INPUT_LENGTH = 100
_ARGON2_LABEL = b"sviedka/v1/receipt"
_LOOKUP_INFO = b"sviedka/v1/receipt/lookup-id"
_KEYPAIR_INFO = b"sviedka/v1/receipt/keypair-seed"
_SIGNING_INFO = b"sviedka/v1/receipt/submitter-signing"
SIGNING_SEED_LENGTH = 32


def generate_receipt(rng: Rng | None = None) -> str:
    """Return a new random receipt, grouped as ``XXXX-XXXX-XXXX-XXXX-XXXX`` (100 bits)."""
    # WHY 100 bits: the receipt is the submitter's only credential and the
    # lookup id derived from it is stored, so it must resist offline guessing
    # even before Argon2's cost is counted.  One byte per symbol, low 5 bits
    # kept: 256 is a multiple of 32, so every symbol is exactly uniform.
    symbols = "".join(RECEIPT_ALPHABET[byte & 31] for byte in draw(rng, RECEIPT_SYMBOLS))
    return "-".join(
        symbols[start : start + GROUP_SIZE] for start in range(0, RECEIPT_SYMBOLS, GROUP_SIZE)
    )


def normalize_receipt(text: str) -> str | None:
    """Return the canonical 20-symbol form of a typed receipt, or None if malformed.

    Accepts lower case, spaces and dashes, and reads O as 0 and I or L as 1.
    """
    # WHY ASCII only, checked before upper-casing: Unicode case mapping would
    # turn "ß" into "SS" or "ı" into "I", accepting text no one was shown.
    if len(text) > _MAX_INPUT_LENGTH or not text.isascii():
        return None
    canonical = text.translate(_SEPARATORS).upper().translate(_CONFUSABLE)
    if len(canonical) != RECEIPT_SYMBOLS or any(c not in RECEIPT_ALPHABET for c in canonical):
        return None
    return canonical


@dataclass(frozen=True)
class ReceiptKeys:
    """What a receipt unlocks: the row's ``lookup_id``, the submitter's ``keypair``.

    And ``signing_seed``: the 32-byte Ed25519 seed that signs what the
    submitter sends (registry.crypto.statements).
    """

    lookup_id: bytes
    keypair: KeyPair
    signing_seed: bytes


def derive_receipt_keys(receipt: str, *, salt: bytes, params: Argon2Params) -> ReceiptKeys:
    """Derive the lookup id, submitter key pair and signing seed from a receipt.

    The receipt may be in any accepted form.  Raises CannotOpen if the
    receipt is malformed, ValueError if ``salt`` is shorter than 16 bytes.
    """
    canonical = normalize_receipt(receipt)
    if canonical is None:
        raise CannotOpen()
    # WHY Argon2id: every guess at a receipt against a stolen database costs
    # a full memory-hard derivation.  The salt is per deployment (a per-row
    # salt is impossible: the row is found through the derived lookup id).
    master = argon2id(canonical.encode("ascii"), salt=salt, params=params, label=_ARGON2_LABEL)
    # WHY HKDF-Expand with distinct labels: the stored lookup id and the
    # private key seed are independent, so the one reveals nothing of the other.
    lookup_id = HKDFExpand(hashes.SHA256(), LOOKUP_ID_LENGTH, _LOOKUP_INFO).derive(master)
    seed = HKDFExpand(hashes.SHA256(), PRIVATE_KEY_LENGTH, _KEYPAIR_INFO).derive(master)
    # WHY a third label rather than reusing the key pair's seed: the signing
    # key is independent of the decryption key (no key used for two jobs),
    # and the two outputs above stay byte-identical to the frozen vector.
    signing = HKDFExpand(hashes.SHA256(), SIGNING_SEED_LENGTH, _SIGNING_INFO).derive(master)
    return ReceiptKeys(lookup_id=lookup_id, keypair=keypair_from_seed(seed), signing_seed=signing)
