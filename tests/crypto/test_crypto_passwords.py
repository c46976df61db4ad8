"""Private keys locked under a password with Argon2id."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from registry.crypto import Argon2Params, CannotOpen, lock_private_key, unlock_private_key
from registry.crypto.keys import keypair_from_seed

CHEAP = Argon2Params(memory_kib=8, iterations=1)
PRIVATE = keypair_from_seed(bytes(range(96))).private
PASSWORD = "correct horse battery staple"
MakeRng = Callable[[int], Callable[[int], bytes]]

PARAMS_AT = slice(2, 14)


def _with_params(locked: bytes, memory_kib: int, iterations: int, lanes: int) -> bytes:
    return locked[:2] + struct.pack(">III", memory_kib, iterations, lanes) + locked[14:]


def test_round_trip() -> None:
    locked = lock_private_key(PRIVATE, PASSWORD, params=CHEAP)
    assert unlock_private_key(locked, PASSWORD) == PRIVATE


def test_params_travel_in_the_envelope() -> None:
    """Costs can be raised later: each envelope opens with the costs it was made with."""
    old = lock_private_key(PRIVATE, PASSWORD, params=CHEAP)
    new = lock_private_key(PRIVATE, PASSWORD, params=Argon2Params(16, 2, 2))
    assert old[PARAMS_AT] == struct.pack(">III", 8, 1, 1)
    assert new[PARAMS_AT] == struct.pack(">III", 16, 2, 2)
    assert unlock_private_key(old, PASSWORD) == unlock_private_key(new, PASSWORD)


@pytest.mark.parametrize("password", ["", "Correct horse battery staple", PASSWORD + " "])
def test_wrong_password(password: str) -> None:
    locked = lock_private_key(PRIVATE, PASSWORD, params=CHEAP)
    with pytest.raises(CannotOpen):
        unlock_private_key(locked, password)


def test_unicode_password_is_normalized() -> None:
    composed, decomposed = "caf\u00e9 \u0436", "cafe\u0301 \u0436"
    locked = lock_private_key(PRIVATE, composed, params=CHEAP)
    assert unlock_private_key(locked, decomposed) == PRIVATE


def test_salt_is_fresh_per_lock() -> None:
    first = lock_private_key(PRIVATE, PASSWORD, params=CHEAP)
    second = lock_private_key(PRIVATE, PASSWORD, params=CHEAP)
    assert first[14:30] != second[14:30]


def test_rng_injectable(make_rng: MakeRng) -> None:
    first = lock_private_key(PRIVATE, PASSWORD, params=CHEAP, rng=make_rng(0))
    second = lock_private_key(PRIVATE, PASSWORD, params=CHEAP, rng=make_rng(0))
    assert first == second
    assert first[14:30] == bytes(range(16))  # salt first, then the nonce
    assert first[30:42] == bytes(range(16, 28))


@pytest.mark.parametrize(
    ("memory_kib", "iterations", "lanes"),
    [(16, 1, 1), (8, 2, 1), (16, 1, 2), (9, 1, 1)],
)
def test_tampered_params_cannot_open(memory_kib: int, iterations: int, lanes: int) -> None:
    """Plausible but different params: the derived key and the AD both differ."""
    locked = lock_private_key(PRIVATE, PASSWORD, params=CHEAP)
    with pytest.raises(CannotOpen):
        unlock_private_key(_with_params(locked, memory_kib, iterations, lanes), PASSWORD)


@pytest.mark.parametrize(
    ("memory_kib", "iterations", "lanes"),
    [
        # Each of these would run for minutes or exhaust memory if derived:
        # the test finishing at all shows the guard refused them first.
        (8 * 1024, 1_000_000, 1),
        (2**32 - 1, 1, 1),
        (4 * 1024 * 1024 + 1, 1, 1),
        (1024 * 1024, 65, 1),
        (2**32 - 1, 2**32 - 1, 2**32 - 1),
        # and plainly invalid ones
        (8, 0, 1),
        (8, 1, 0),
        (7, 1, 1),
        (16, 1, 4),
        (1024, 1, 17),
    ],
)
def test_absurd_params_refused_before_argon2(memory_kib: int, iterations: int, lanes: int) -> None:
    locked = lock_private_key(PRIVATE, PASSWORD, params=CHEAP)
    with pytest.raises(CannotOpen):
        unlock_private_key(_with_params(locked, memory_kib, iterations, lanes), PASSWORD)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"memory_kib": 7, "iterations": 1},
        {"memory_kib": 4 * 1024 * 1024 + 1, "iterations": 1},
        {"memory_kib": 8, "iterations": 0},
        {"memory_kib": 8, "iterations": 65},
        {"memory_kib": 8, "iterations": 1, "lanes": 0},
        {"memory_kib": 8, "iterations": 1, "lanes": 2},
        {"memory_kib": 1024, "iterations": 1, "lanes": 17},
        {"memory_kib": 8.0, "iterations": 1},
        {"memory_kib": True, "iterations": 1},
    ],
)
def test_argon2_params_bounds(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="Argon2"):
        Argon2Params(**kwargs)


def test_argon2_params_upper_bounds_accepted() -> None:
    Argon2Params(memory_kib=4 * 1024 * 1024, iterations=64, lanes=16)


def test_lock_only_private_keys() -> None:
    with pytest.raises(ValueError, match="96 bytes"):
        lock_private_key(b"short", PASSWORD, params=CHEAP)
