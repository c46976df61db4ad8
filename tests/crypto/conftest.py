"""Fixtures for the crypto tests, and envelope cases: one per envelope kind.

Each case knows how to open its envelope with the right key and context, with
a wrong key, and with each wrong context, and where its byte regions lie, so
that the tamper, truncation and confusion tests run over every kind.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import pytest

from registry.crypto import (
    Argon2Params,
    EnrolmentSecrets,
    KeyPair,
    aead,
    lock_private_key,
    open_enrolment,
    open_field,
    open_for_session,
    open_local,
    open_totp_seed,
    open_with_private_key,
    seal_enrolment,
    seal_field,
    seal_for_session,
    seal_local,
    seal_to_public_key,
    seal_totp_seed,
    unlock_private_key,
    unwrap_data_key,
    wrap_data_key,
)
from registry.crypto.envelope import Kind
from registry.crypto.hpke_wrap import _seal as hpke_seal
from registry.crypto.keys import keypair_from_seed

Opener = Callable[[bytes], bytes]

# WHY the same 32 bytes for the DEK, the session secret and the local key:
# kind confusion must then be caught by the envelope header and label, not
# merely because the keys happen to differ.
SHARED_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
CHEAP = Argon2Params(memory_kib=8, iterations=1)
KEYPAIR = keypair_from_seed(bytes(range(96)))
OTHER_KEYPAIR = keypair_from_seed(bytes(range(100, 196)))
REPORT = "R-7Q2M"
SESSION_REF = b"\x01" * 32
PASSWORD = "correct horse battery staple"

TAG = 16
NONCE = 12
HPKE_ENC = 1120


def counter_rng(start: int = 0) -> Callable[[int], bytes]:
    """A deterministic stand-in for os.urandom: successive byte values from ``start``."""
    counter = itertools.count(start)

    def rng(length: int) -> bytes:
        return bytes(next(counter) % 256 for _ in range(length))

    return rng


@dataclass(frozen=True)
class EnvelopeCase:
    """One sealed envelope and every way to (try to) open it."""

    name: str
    plaintext: bytes
    envelope: bytes
    open: Opener
    wrong_key: Opener
    context_swaps: dict[str, Opener]
    # name -> (start, end); ``end`` may be negative (counted from the end)
    regions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def region(self, name: str) -> range:
        """Byte positions of region ``name`` in the envelope."""
        start, end = self.regions[name]
        return range(start, end if end > 0 else len(self.envelope) + end)


def _aead_regions(preamble: dict[str, int] | None = None) -> dict[str, tuple[int, int]]:
    regions = {"header": (0, 2)}
    offset = 2
    for name, length in (preamble or {}).items():
        regions[name] = (offset, offset + length)
        offset += length
    regions["nonce"] = (offset, offset + NONCE)
    regions["ciphertext"] = (offset + NONCE, -TAG)
    regions["tag"] = (-TAG, 0)
    return regions


HPKE_REGIONS = {
    "header": (0, 2),
    "enc": (2, 2 + HPKE_ENC),
    "ciphertext": (2 + HPKE_ENC, -TAG),
    "tag": (-TAG, 0),
}


def _field() -> EnvelopeCase:
    plaintext = b"Officer's badge number, in full"
    return EnvelopeCase(
        name="field",
        plaintext=plaintext,
        envelope=seal_field(SHARED_KEY, plaintext, report_id=REPORT, field="narrative"),
        open=lambda e: open_field(SHARED_KEY, e, report_id=REPORT, field="narrative"),
        wrong_key=lambda e: open_field(OTHER_KEY, e, report_id=REPORT, field="narrative"),
        context_swaps={
            "report_id": lambda e: open_field(
                SHARED_KEY, e, report_id="R-OTHER", field="narrative"
            ),
            "field": lambda e: open_field(SHARED_KEY, e, report_id=REPORT, field="location"),
        },
        regions=_aead_regions(),
    )


def _legacy_field() -> EnvelopeCase:
    """A field of the older, unpadded kind, as stored before padding: it still opens."""
    plaintext = b"Officer's badge number, in full"
    case = _field()
    legacy = aead.seal(
        SHARED_KEY, plaintext, kind=Kind.FIELD, context=(REPORT, "narrative"), rng=None
    )
    return EnvelopeCase(
        name="legacy-field",
        plaintext=plaintext,
        envelope=legacy,
        open=case.open,
        wrong_key=case.wrong_key,
        context_swaps=case.context_swaps,
        regions=_aead_regions(),
    )


def _wrap() -> EnvelopeCase:
    return EnvelopeCase(
        name="wrap",
        plaintext=SHARED_KEY,
        envelope=wrap_data_key(SHARED_KEY, KEYPAIR.public, report_id=REPORT),
        open=lambda e: unwrap_data_key(e, KEYPAIR.private, report_id=REPORT),
        wrong_key=lambda e: unwrap_data_key(e, OTHER_KEYPAIR.private, report_id=REPORT),
        context_swaps={
            "report_id": lambda e: unwrap_data_key(e, KEYPAIR.private, report_id="R-OTHER"),
        },
        regions=HPKE_REGIONS,
    )


def _message() -> EnvelopeCase:
    plaintext = b"We have received your report."

    def opener(private: bytes, report_id: str = REPORT, purpose: str = "reply") -> Opener:
        return lambda e: open_with_private_key(e, private, report_id=report_id, purpose=purpose)

    return EnvelopeCase(
        name="message",
        plaintext=plaintext,
        envelope=seal_to_public_key(plaintext, KEYPAIR.public, report_id=REPORT, purpose="reply"),
        open=opener(KEYPAIR.private),
        wrong_key=opener(OTHER_KEYPAIR.private),
        context_swaps={
            "report_id": opener(KEYPAIR.private, report_id="R-OTHER"),
            "purpose": opener(KEYPAIR.private, purpose="status"),
        },
        regions=HPKE_REGIONS,
    )


def _legacy_message() -> EnvelopeCase:
    """A message of the older, unpadded kind, as stored before padding: it still opens."""
    plaintext = b"We have received your report."
    case = _message()
    return EnvelopeCase(
        name="legacy-message",
        plaintext=plaintext,
        envelope=hpke_seal(plaintext, KEYPAIR.public, Kind.SUBMITTER_MESSAGE, REPORT, "reply"),
        open=case.open,
        wrong_key=case.wrong_key,
        context_swaps=case.context_swaps,
        regions=HPKE_REGIONS,
    )


def _password() -> EnvelopeCase:
    return EnvelopeCase(
        name="password",
        plaintext=KEYPAIR.private,
        envelope=lock_private_key(KEYPAIR.private, PASSWORD, params=CHEAP),
        open=lambda e: unlock_private_key(e, PASSWORD),
        wrong_key=lambda e: unlock_private_key(e, PASSWORD + "!"),
        # A password lock has no caller context; its params and salt are
        # covered by the tamper test on the "params" and "salt" regions.
        context_swaps={},
        regions=_aead_regions({"params": 12, "salt": 16}),
    )


def _session() -> EnvelopeCase:
    return EnvelopeCase(
        name="session",
        plaintext=KEYPAIR.private,
        envelope=seal_for_session(KEYPAIR.private, SHARED_KEY, session_ref=SESSION_REF),
        open=lambda e: open_for_session(e, SHARED_KEY, session_ref=SESSION_REF),
        wrong_key=lambda e: open_for_session(e, OTHER_KEY, session_ref=SESSION_REF),
        context_swaps={
            "session_ref": lambda e: open_for_session(e, SHARED_KEY, session_ref=b"\x02" * 32),
        },
        regions=_aead_regions(),
    )


def _local() -> EnvelopeCase:
    plaintext = b"JBSWY3DPEHPK3PXP0000"
    return EnvelopeCase(
        name="local",
        plaintext=plaintext,
        envelope=seal_local(SHARED_KEY, plaintext, context="totp-secret"),
        open=lambda e: open_local(SHARED_KEY, e, context="totp-secret"),
        wrong_key=lambda e: open_local(OTHER_KEY, e, context="totp-secret"),
        context_swaps={
            "context": lambda e: open_local(SHARED_KEY, e, context="recovery-code"),
        },
        regions=_aead_regions(),
    )


ACCOUNT = "account/7"
SEED = bytes(range(200, 220))


def _totp_seed() -> EnvelopeCase:
    def opener(key: bytes, account_ref: str = ACCOUNT) -> Opener:
        return lambda e: open_totp_seed(key, e, account_ref=account_ref)

    return EnvelopeCase(
        name="totp-seed",
        plaintext=SEED,
        envelope=seal_totp_seed(SHARED_KEY, SEED, account_ref=ACCOUNT),
        open=opener(SHARED_KEY),
        wrong_key=opener(OTHER_KEY),
        context_swaps={"account_ref": opener(SHARED_KEY, "account/8")},
        regions=_aead_regions(),
    )


def _enrolment() -> EnvelopeCase:
    def opener(secret: bytes, account_ref: str = ACCOUNT) -> Opener:
        def open_(envelope: bytes) -> bytes:
            opened = open_enrolment(secret, envelope, account_ref=account_ref)
            return opened.factor_key + opened.totp_seed

        return open_

    sealed = EnrolmentSecrets(totp_seed=SEED, factor_key=OTHER_KEY)
    return EnvelopeCase(
        name="enrolment",
        plaintext=OTHER_KEY + SEED,
        envelope=seal_enrolment(SHARED_KEY, sealed, account_ref=ACCOUNT),
        open=opener(SHARED_KEY),
        wrong_key=opener(OTHER_KEY),
        context_swaps={"account_ref": opener(SHARED_KEY, "account/8")},
        regions=_aead_regions(),
    )


BUILDERS: dict[str, Callable[[], EnvelopeCase]] = {
    "field": _field,
    "legacy-field": _legacy_field,
    "wrap": _wrap,
    "message": _message,
    "legacy-message": _legacy_message,
    "password": _password,
    "session": _session,
    "local": _local,
    "totp-seed": _totp_seed,
    "enrolment": _enrolment,
}
AEAD_REGIONS = ("header", "nonce", "ciphertext", "tag")
REGION_NAMES: dict[str, tuple[str, ...]] = {
    "field": AEAD_REGIONS,
    "legacy-field": AEAD_REGIONS,
    "wrap": tuple(HPKE_REGIONS),
    "message": tuple(HPKE_REGIONS),
    "legacy-message": tuple(HPKE_REGIONS),
    "password": ("header", "params", "salt", "nonce", "ciphertext", "tag"),
    "session": AEAD_REGIONS,
    "local": AEAD_REGIONS,
    "totp-seed": AEAD_REGIONS,
    "enrolment": AEAD_REGIONS,
}
SWAP_NAMES: dict[str, tuple[str, ...]] = {
    "field": ("report_id", "field"),
    "legacy-field": ("report_id", "field"),
    "wrap": ("report_id",),
    "message": ("report_id", "purpose"),
    "legacy-message": ("report_id", "purpose"),
    "password": (),
    "session": ("session_ref",),
    "local": ("context",),
    "totp-seed": ("account_ref",),
    "enrolment": ("account_ref",),
}


SAME_OPENER = {
    "field": "legacy-field",
    "legacy-field": "field",
    "message": "legacy-message",
    "legacy-message": "message",
}


@cache
def build(name: str) -> EnvelopeCase:
    """The case ``name``, built once per test run."""
    return BUILDERS[name]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run envelope tests over every kind (and every region / swap / other kind)."""
    names = metafunc.fixturenames
    if "case_name" not in names:
        return
    if "region" in names:
        pairs = [(c, r) for c in BUILDERS for r in REGION_NAMES[c]]
        metafunc.parametrize(("case_name", "region"), pairs, ids=[f"{c}-{r}" for c, r in pairs])
    elif "swap" in names:
        pairs = [(c, s) for c in BUILDERS for s in SWAP_NAMES[c]]
        metafunc.parametrize(("case_name", "swap"), pairs, ids=[f"{c}-{s}" for c, s in pairs])
    elif "other_name" in names:
        # A padded kind and its older kind share one opener on purpose (both
        # layouts must open); relabelling between them is tested in
        # test_crypto_padding.py.
        pairs = [(c, o) for c in BUILDERS for o in BUILDERS if o != c and SAME_OPENER.get(c) != o]
        metafunc.parametrize(
            ("case_name", "other_name"), pairs, ids=[f"{c}-as-{o}" for c, o in pairs]
        )
    else:
        metafunc.parametrize("case_name", list(BUILDERS))


@pytest.fixture
def case(case_name: str) -> EnvelopeCase:
    """The envelope case selected by ``case_name``."""
    return build(case_name)


@pytest.fixture
def other(other_name: str) -> EnvelopeCase:
    """Another kind's envelope case, for the kind-confusion tests."""
    return build(other_name)


@pytest.fixture
def rebuild(case_name: str) -> Callable[[], EnvelopeCase]:
    """Seal the case ``case_name`` afresh (new randomness) each call."""
    return BUILDERS[case_name]


@pytest.fixture
def keypair() -> KeyPair:
    """A fixed, seed-derived key pair."""
    return KEYPAIR


@pytest.fixture
def other_keypair() -> KeyPair:
    """A second fixed key pair, unrelated to ``keypair``."""
    return OTHER_KEYPAIR


@pytest.fixture
def make_rng() -> Callable[[int], Callable[[int], bytes]]:
    """Factory of deterministic random sources: ``make_rng(start)``."""
    return counter_rng
