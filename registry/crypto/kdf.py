"""Argon2id cost parameters and the one place that runs Argon2id."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

# WHY upper bounds: the parameters of a password lock are read from the
# envelope itself, so a tampered envelope could otherwise ask the server to
# allocate terabytes or run for hours before the tag check fails.
MAX_MEMORY_KIB = 4 * 1024 * 1024  # 4 GiB
MAX_ITERATIONS = 64
MAX_LANES = 16
MIN_SALT_LENGTH = 16
OUTPUT_LENGTH = 32

_PARAMS_FORMAT = ">III"
PARAMS_LENGTH = struct.calcsize(_PARAMS_FORMAT)


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost: memory in KiB, passes over memory, and parallel lanes.

    Raises ValueError on construction when outside the accepted bounds
    (1..16 lanes, 8 x lanes KiB .. 4 GiB of memory, 1..64 iterations).
    """

    memory_kib: int
    iterations: int
    lanes: int = 1

    def __post_init__(self) -> None:
        values = (self.memory_kib, self.iterations, self.lanes)
        if not all(type(value) is int for value in values):
            raise ValueError("Argon2 parameters are integers")
        if not 1 <= self.lanes <= MAX_LANES:
            raise ValueError("Argon2 lanes out of range")
        # 8 KiB per lane is Argon2's own minimum (RFC 9106 §3.1).
        if not 8 * self.lanes <= self.memory_kib <= MAX_MEMORY_KIB:
            raise ValueError("Argon2 memory out of range")
        if not 1 <= self.iterations <= MAX_ITERATIONS:
            raise ValueError("Argon2 iterations out of range")

    def encode(self) -> bytes:
        """Return the 12-byte big-endian encoding (memory, iterations, lanes)."""
        return struct.pack(_PARAMS_FORMAT, self.memory_kib, self.iterations, self.lanes)

    @classmethod
    def decode(cls, data: bytes) -> Argon2Params:
        """Parse :meth:`encode`'s output; ValueError if the length or any value is out of range."""
        # WHY check the length here: struct.error is no ValueError, and
        # callers that refuse bad input by catching ValueError would let it through.
        if len(data) != PARAMS_LENGTH:
            raise ValueError("Argon2 parameters are 12 bytes")
        memory_kib, iterations, lanes = struct.unpack(_PARAMS_FORMAT, data)
        return cls(memory_kib=memory_kib, iterations=iterations, lanes=lanes)


def argon2id(secret: bytes, *, salt: bytes, params: Argon2Params, label: bytes) -> bytes:
    """Derive 32 bytes from ``secret`` with Argon2id (RFC 9106).

    ``label`` goes into Argon2's associated-data input.  WHY: a password and a
    receipt that happen to be equal, under the same salt, still give
    unrelated keys.  Raises ValueError if ``salt`` is shorter than 16 bytes.
    """
    # WHY 16 bytes: RFC 9106 recommends 128-bit salts so precomputation
    # across deployments or accounts is useless.
    if len(salt) < MIN_SALT_LENGTH:
        raise ValueError("the salt must be at least 16 bytes")
    kdf = Argon2id(
        salt=salt,
        length=OUTPUT_LENGTH,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
        ad=label,
    )
    return kdf.derive(secret)
