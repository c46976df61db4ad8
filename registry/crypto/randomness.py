"""Injectable randomness: every function that draws random bytes takes ``rng``."""

from __future__ import annotations

import os
from collections.abc import Callable

Rng = Callable[[int], bytes]
"""A source of randomness: called with a byte count, returns that many bytes."""


def draw(rng: Rng | None, length: int) -> bytes:
    """Return ``length`` bytes from ``rng``, or from the OS CSPRNG when ``rng`` is None.

    WHY the length check: a broken injected source that returns too few bytes
    would otherwise silently produce short nonces or weak keys.
    """
    # WHY os.urandom: the kernel CSPRNG is the only production source; ``rng``
    # exists so tests can make outputs reproducible.
    data = os.urandom(length) if rng is None else rng(length)
    if not isinstance(data, bytes) or len(data) != length:
        raise ValueError("the random source returned the wrong number of bytes")
    return data
