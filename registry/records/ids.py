"""Random public identifiers (reports, messages, files)."""

from __future__ import annotations

import secrets

from registry.crypto import RECEIPT_ALPHABET

PUBLIC_ID_LENGTH = 12


def new_public_id() -> str:
    """12 symbols of the receipt alphabet: 60 random bits, not sequential.

    Random rather than counting up, so an id says nothing about how many
    reports exist or in which order they came.
    """
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))
