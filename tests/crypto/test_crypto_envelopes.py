"""Every envelope kind: round trip, wrong key, tamper, truncation, context and kind confusion."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from registry.crypto import CannotOpen
from registry.crypto.envelope import Kind

if TYPE_CHECKING:
    from conftest import EnvelopeCase

KIND_OF = {
    "field": Kind.PADDED_FIELD,
    "legacy-field": Kind.FIELD,
    "wrap": Kind.WRAP,
    "message": Kind.PADDED_MESSAGE,
    "legacy-message": Kind.SUBMITTER_MESSAGE,
    "password": Kind.PASSWORD_LOCK,
    "session": Kind.SESSION,
    "local": Kind.LOCAL,
    "totp-seed": Kind.TOTP_SEED,
    "enrolment": Kind.ENROLMENT,
}


def _flip(data: bytes, position: int, mask: int = 0x01) -> bytes:
    return data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]


def test_round_trip(case: EnvelopeCase) -> None:
    assert case.open(case.envelope) == case.plaintext


def test_header_is_version_1_and_kind(case: EnvelopeCase) -> None:
    assert case.envelope[:2] == bytes([1, KIND_OF[case.name]])


def test_sealing_twice_differs(rebuild: Callable[[], EnvelopeCase]) -> None:
    """Fresh randomness per seal: equal plaintexts never give equal envelopes."""
    assert rebuild().envelope != rebuild().envelope


def test_wrong_key(case: EnvelopeCase) -> None:
    with pytest.raises(CannotOpen):
        case.wrong_key(case.envelope)


def test_tamper_every_byte_of_region(case: EnvelopeCase, region: str) -> None:
    positions = case.region(region)
    assert len(positions) > 0
    for position in positions:
        with pytest.raises(CannotOpen):
            case.open(_flip(case.envelope, position))


def test_tamper_high_bits_of_region(case: EnvelopeCase, region: str) -> None:
    for position in case.region(region):
        with pytest.raises(CannotOpen):
            case.open(_flip(case.envelope, position, 0x80))


def test_truncation_to_every_shorter_length(case: EnvelopeCase) -> None:
    for length in range(len(case.envelope)):
        with pytest.raises(CannotOpen):
            case.open(case.envelope[:length])


def test_extension(case: EnvelopeCase) -> None:
    with pytest.raises(CannotOpen):
        case.open(case.envelope + b"\x00")


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_version(case: EnvelopeCase, version: int) -> None:
    with pytest.raises(CannotOpen):
        case.open(bytes([version]) + case.envelope[1:])


def test_context_swap(case: EnvelopeCase, swap: str) -> None:
    with pytest.raises(CannotOpen):
        case.context_swaps[swap](case.envelope)


def test_kind_confusion(case: EnvelopeCase, other: EnvelopeCase) -> None:
    """An envelope handed to another kind's opener does not open, header as-is or rewritten."""
    with pytest.raises(CannotOpen):
        other.open(case.envelope)
    relabelled = case.envelope[:1] + bytes([KIND_OF[other.name]]) + case.envelope[2:]
    with pytest.raises(CannotOpen):
        other.open(relabelled)
    # and the original opener refuses the relabelled envelope too
    with pytest.raises(CannotOpen):
        case.open(relabelled)


def test_garbage_of_every_kind_header(case: EnvelopeCase) -> None:
    """A right header followed by zeros of the right length still fails."""
    with pytest.raises(CannotOpen):
        case.open(case.envelope[:2] + bytes(len(case.envelope) - 2))
