"""Receipts: generation, normalization and the keys derived from them."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from registry.crypto import (
    RECEIPT_ALPHABET,
    Argon2Params,
    CannotOpen,
    derive_receipt_keys,
    generate_receipt,
    normalize_receipt,
)
from registry.crypto.keys import public_key_of

SALT = bytes(range(16))
CHEAP = Argon2Params(memory_kib=8, iterations=1)
MakeRng = Callable[[int], Callable[[int], bytes]]
GROUPED = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$")


def test_alphabet() -> None:
    assert len(RECEIPT_ALPHABET) == 32
    assert len(set(RECEIPT_ALPHABET)) == 32
    assert not set("ILOU") & set(RECEIPT_ALPHABET)
    assert RECEIPT_ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_generate_shape() -> None:
    receipt = generate_receipt()
    assert GROUPED.match(receipt)
    assert set(receipt.replace("-", "")) <= set(RECEIPT_ALPHABET)


@pytest.mark.parametrize("value", range(32))
def test_each_symbol_carries_five_bits(value: int) -> None:
    """20 symbols, each a bijection of 5 random bits: 100 bits in total."""
    receipt = generate_receipt(lambda n: bytes([value]) * n)
    assert receipt.replace("-", "") == RECEIPT_ALPHABET[value] * 20


def test_generate_is_deterministic_with_rng_and_random_without(make_rng: MakeRng) -> None:
    assert generate_receipt(make_rng(0)) == generate_receipt(make_rng(0))
    assert generate_receipt(make_rng(0)) == "0123-4567-89AB-CDEF-GHJK"
    assert len({generate_receipt() for _ in range(100)}) == 100


def test_generated_receipt_round_trips() -> None:
    receipt = generate_receipt()
    assert normalize_receipt(receipt) == receipt.replace("-", "")


@pytest.mark.parametrize(
    "typed",
    [
        "0123-4567-89AB-CDEF-GHJK",
        "0123456789ABCDEFGHJK",
        "0123 4567 89ab cdef ghjk",
        "  o123-4567-89ab-cdef-ghjk\n",
        "O123--4567 - 89AB-CDEF-GHJK",
        "0123-4567-89AB-CDEF-GHJK".lower(),
        "\t0123 4567\t89AB CDEF GHJK ",
    ],
)
def test_normalize_accepts_sloppy_typing(typed: str) -> None:
    assert normalize_receipt(typed) == "0123456789ABCDEFGHJK"


def test_normalize_maps_confusables() -> None:
    assert normalize_receipt("OOOO-IIII-LLLL-oooo-illi") == "00001111111100001111"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "-",
        "0123-4567-89AB-CDEF-GHJ",  # 19 symbols
        "0123-4567-89AB-CDEF-GHJKM",  # 21 symbols
        "0123-4567-89AB-CDEF-GHJU",  # U is not a symbol
        "0123-4567-89AB-CDEF-GHJ*",
        "0123_4567_89AB_CDEF_GHJK",
        "0123-4567-89AB-CDEF-GHJ\u00df",  # ß would upper-case to SS
        "0123-4567-89AB-CDEF-GHJ\u0131",  # dotless i would upper-case to I
        "\uff10123-4567-89AB-CDEF-GHJK",  # full-width digit
        "0" * 20 + " " * 200,
    ],
)
def test_normalize_rejects_malformed(typed: str) -> None:
    assert normalize_receipt(typed) is None


def test_derive_is_deterministic_and_form_independent() -> None:
    keys = derive_receipt_keys("0123-4567-89AB-CDEF-GHJK", salt=SALT, params=CHEAP)
    assert keys == derive_receipt_keys("0123-4567-89AB-CDEF-GHJK", salt=SALT, params=CHEAP)
    assert keys == derive_receipt_keys("o123 4567 89ab cdef ghjk", salt=SALT, params=CHEAP)
    assert len(keys.lookup_id) == 32
    assert len(keys.keypair.private) == 96
    assert public_key_of(keys.keypair.private) == keys.keypair.public


def test_lookup_id_and_seed_are_independent() -> None:
    keys = derive_receipt_keys(generate_receipt(), salt=SALT, params=CHEAP)
    assert keys.lookup_id not in keys.keypair.private
    assert keys.lookup_id[:16] not in keys.keypair.private


def test_different_receipts_different_keys() -> None:
    receipts = {generate_receipt() for _ in range(20)}
    derived = [derive_receipt_keys(r, salt=SALT, params=CHEAP) for r in receipts]
    assert len({d.lookup_id for d in derived}) == len(receipts)
    assert len({d.keypair.public for d in derived}) == len(receipts)


def test_one_symbol_changes_everything() -> None:
    a = derive_receipt_keys("0123-4567-89AB-CDEF-GHJK", salt=SALT, params=CHEAP)
    b = derive_receipt_keys("0123-4567-89AB-CDEF-GHJM", salt=SALT, params=CHEAP)
    assert a.lookup_id != b.lookup_id
    assert a.keypair.private != b.keypair.private


def test_salt_and_params_matter() -> None:
    receipt = generate_receipt()
    base = derive_receipt_keys(receipt, salt=SALT, params=CHEAP)
    assert derive_receipt_keys(receipt, salt=bytes(16), params=CHEAP).lookup_id != base.lookup_id
    other_params = Argon2Params(memory_kib=16, iterations=1)
    assert derive_receipt_keys(receipt, salt=SALT, params=other_params).lookup_id != (
        base.lookup_id
    )


def test_receipt_kdf_is_separated_from_password_kdf() -> None:
    """The same string as a password and as a receipt derives unrelated keys."""
    from registry.crypto.kdf import argon2id

    receipt = "0123456789ABCDEFGHJK"
    keys = derive_receipt_keys(receipt, salt=SALT, params=CHEAP)
    as_password = argon2id(
        receipt.encode(), salt=SALT, params=CHEAP, label=b"sviedka/v1/password-lock"
    )
    assert as_password not in (keys.lookup_id, keys.keypair.private[:32])


@pytest.mark.parametrize("receipt", ["", "not a receipt", "0123-4567-89AB-CDEF-GHJU"])
def test_derive_rejects_malformed(receipt: str) -> None:
    with pytest.raises(CannotOpen):
        derive_receipt_keys(receipt, salt=SALT, params=CHEAP)


def test_derive_rejects_short_salt() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        derive_receipt_keys(generate_receipt(), salt=bytes(15), params=CHEAP)
