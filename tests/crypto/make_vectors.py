"""Write the frozen known-answer vectors of the registry's own envelope formats.

Run once, from the project root::

    .venv/bin/python tests/crypto/make_vectors.py

It writes ``tests/crypto/vectors/registry-envelopes.json``, which is checked
in and read by ``test_crypto_vectors.py``.  The file is append-only: this
script keeps every vector already in it byte for byte and only adds vectors
whose names are missing.  WHY: the vectors stand for envelopes already
stored in deployments and in backups that recovery tools must open.  When a
format changes, bump the envelope version or add a kind
(``registry.crypto.envelope``; padding added the kinds PADDED_FIELD and
PADDED_MESSAGE), keep the old opener, and add a vector under a new name;
never regenerate an old one to make the test pass.  To add one: write its
builder, add it to ``BUILDERS`` under a new name, run the script, and
check the diff of the JSON file only adds.

Every input is fixed.  The random bytes a sealing function draws come from
a fixed SHAKE-256 stream per vector, and the bytes actually drawn are
stored with the vector, so the test can feed them back and check that
sealing reproduces the envelope exactly.  HPKE draws its ephemeral key
inside ``cryptography``, which takes no random source: those vectors are
checked by opening only.  Argon2id costs are the smallest allowed (8 KiB,
one pass) so the test stays fast; the costs travel in the envelope.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry.crypto import (
    Argon2Params,
    EnrolmentSecrets,
    derive_receipt_keys,
    lock_private_key,
    recovery_code_tag,
    seal_enrolment,
    seal_field,
    seal_for_session,
    seal_local,
    seal_to_public_key,
    seal_totp_seed,
    second_factor_key,
    sign_statement,
    signing_public_key,
    wrap_data_key,
)
from registry.crypto.keys import keypair_from_seed
from registry.crypto.stream import seal_stream
from registry.records.texts import encode_answers
from registry.records.vocabulary import ANSWERS

OUTPUT = Path(__file__).parent / "vectors" / "registry-envelopes.json"
ABOUT = (
    "Frozen known-answer vectors of Sviedka's envelope formats (registry/crypto). "
    "Bytes are hex. 'rng' is the randomness the sealing function drew, in order. "
    "Append-only: when a format changes, bump the envelope version and add a vector; "
    "never regenerate an existing one. Written by tests/crypto/make_vectors.py."
)
CHEAP = Argon2Params(memory_kib=8, iterations=1)
REPORT = "R7Q2MKX4P9TB"
RECIPIENT_SEED = bytes(range(96))
Vector = dict[str, Any]


class RecordingRng:
    """A fixed pseudo-random source (SHAKE-256 of a label) that keeps what it gave."""

    def __init__(self, label: str) -> None:
        self._label = f"sviedka envelope vectors/{label}".encode()
        self.drawn = b""

    def __call__(self, length: int) -> bytes:
        """Return the next ``length`` bytes of the stream."""
        start = len(self.drawn)
        self.drawn = hashlib.shake_256(self._label).digest(start + length)
        return self.drawn[start:]


def _fixed(label: str, length: int) -> bytes:
    return hashlib.shake_256(f"sviedka vector input/{label}".encode()).digest(length)


def _keypair() -> Vector:
    return {
        "seed": RECIPIENT_SEED.hex(),
        "public_key": keypair_from_seed(RECIPIENT_SEED).public.hex(),
    }


def _field() -> Vector:
    rng, key = RecordingRng("field"), _fixed("field key", 32)
    plaintext = "Назвы, імёны і месца: the narrative, sealed.".encode()
    envelope = seal_field(key, plaintext, report_id=REPORT, field="narrative", rng=rng)
    return {
        "key": key.hex(),
        "report_id": REPORT,
        "field": "narrative",
        "plaintext": plaintext.hex(),
        "rng": rng.drawn.hex(),
        "envelope": envelope.hex(),
    }


def _wrap() -> Vector:
    data_key = _fixed("wrapped data key", 32)
    public = keypair_from_seed(RECIPIENT_SEED).public
    return {
        "recipient_private_key": RECIPIENT_SEED.hex(),
        "report_id": REPORT,
        "plaintext": data_key.hex(),
        "envelope": wrap_data_key(data_key, public, report_id=REPORT).hex(),
    }


def _to_public_key(purpose: str, text: str) -> Callable[[], Vector]:
    def build() -> Vector:
        public = keypair_from_seed(RECIPIENT_SEED).public
        plaintext = text.encode()
        envelope = seal_to_public_key(plaintext, public, report_id=REPORT, purpose=purpose)
        return {
            "recipient_private_key": RECIPIENT_SEED.hex(),
            "report_id": REPORT,
            "purpose": purpose,
            "plaintext": plaintext.hex(),
            "envelope": envelope.hex(),
        }

    return build


def _password_lock() -> Vector:
    rng = RecordingRng("password-lock")
    private_key = _fixed("locked private key", 96)
    # Composed "ä" and "ö": the opener must normalise to NFC as the sealer did.
    password = "pässwörd Свядок 7"
    envelope = lock_private_key(private_key, password, params=CHEAP, rng=rng)
    return {
        "password": password,
        "memory_kib": CHEAP.memory_kib,
        "iterations": CHEAP.iterations,
        "lanes": CHEAP.lanes,
        "plaintext": private_key.hex(),
        "rng": rng.drawn.hex(),
        "envelope": envelope.hex(),
    }


def _session() -> Vector:
    rng = RecordingRng("session")
    private_key, secret = _fixed("session private key", 96), _fixed("session secret", 32)
    session_ref = hashlib.sha256(b"session id").digest()
    envelope = seal_for_session(private_key, secret, session_ref=session_ref, rng=rng)
    return {
        "session_secret": secret.hex(),
        "session_ref": session_ref.hex(),
        "plaintext": private_key.hex(),
        "rng": rng.drawn.hex(),
        "envelope": envelope.hex(),
    }


def _local() -> Vector:
    rng, key = RecordingRng("local"), _fixed("local key", 32)
    plaintext = b"follow-up cookie secret"
    envelope = seal_local(key, plaintext, context="followup", rng=rng)
    return {
        "key": key.hex(),
        "context": "followup",
        "plaintext": plaintext.hex(),
        "rng": rng.drawn.hex(),
        "envelope": envelope.hex(),
    }


def _stream(label: str, size: int) -> Callable[[], Vector]:
    def build() -> Vector:
        rng, key = RecordingRng(label), _fixed("stream key", 32)
        plaintext = _fixed(f"{label} plaintext", size)
        sink = io.BytesIO()
        info = seal_stream(
            key,
            io.BytesIO(plaintext),
            sink,
            report_id=REPORT,
            attachment_id="A4TQ9MZ2K7XW",
            chunk_size=1024,
            rng=rng,
        )
        return {
            "key": key.hex(),
            "report_id": REPORT,
            "attachment_id": "A4TQ9MZ2K7XW",
            "chunk_size": 1024,
            "plaintext": plaintext.hex(),
            "sha256": info.sha256_hex,
            "rng": rng.drawn.hex(),
            "envelope": sink.getvalue().hex(),
        }

    return build


def _receipt() -> Vector:
    salt = _fixed("deployment receipt salt", 16)
    receipt = "7XK2-M9QT-4BHW-ZP3R-0CNA"
    keys = derive_receipt_keys(receipt, salt=salt, params=CHEAP)
    return {
        "receipt": receipt,
        # As a person may type it: lower case, spaces, O for 0.
        "typed": "7xk2 m9qt 4bhw zp3r ocna",
        "salt": salt.hex(),
        "memory_kib": CHEAP.memory_kib,
        "iterations": CHEAP.iterations,
        "lanes": CHEAP.lanes,
        "lookup_id": keys.lookup_id.hex(),
        "private_key": keys.keypair.private.hex(),
        "public_key_sha256": hashlib.sha256(keys.keypair.public).hexdigest(),
    }


def _padded_field(label: str, field: str, plaintext: bytes) -> Callable[[], Vector]:
    def build() -> Vector:
        rng, key = RecordingRng(label), _fixed("field key", 32)
        envelope = seal_field(key, plaintext, report_id=REPORT, field=field, rng=rng)
        return {
            "key": key.hex(),
            "report_id": REPORT,
            "field": field,
            "plaintext": plaintext.hex(),
            "rng": rng.drawn.hex(),
            "envelope": envelope.hex(),
        }

    return build


# A new report's one sealed record of its texts (registry.records.texts).
RECORD_TEXTS = {
    "narrative": "Нас збілі ў аўтобусе; «they said nothing».",
    "when_exact": "9 August 2020, about 23:00",
    "contact": "Signal +375 29 000 00 00",
}


def _answers_record() -> Vector:
    vector = _padded_field("answers-record", ANSWERS, encode_answers(RECORD_TEXTS))()
    return {**vector, "texts": RECORD_TEXTS}


ACCOUNT_REF = "account/7"
FACTOR_PRIVATE_KEY = bytes(range(96, 192))


def _totp_seed() -> Vector:
    rng = RecordingRng("totp-seed")
    factor_key = second_factor_key(FACTOR_PRIVATE_KEY)
    seed = _fixed("totp seed", 20)
    envelope = seal_totp_seed(factor_key, seed, account_ref=ACCOUNT_REF, rng=rng)
    return {
        "private_key": FACTOR_PRIVATE_KEY.hex(),
        "factor_key": factor_key.hex(),
        "account_ref": ACCOUNT_REF,
        "plaintext": seed.hex(),
        "rng": rng.drawn.hex(),
        "envelope": envelope.hex(),
    }


def _enrolment() -> Vector:
    rng = RecordingRng("enrolment")
    secret = _fixed("browser secret", 32)
    opened = EnrolmentSecrets(
        totp_seed=_fixed("enrolment seed", 20), factor_key=_fixed("enrolment factor key", 32)
    )
    envelope = seal_enrolment(secret, opened, account_ref=ACCOUNT_REF, rng=rng)
    return {
        "browser_secret": secret.hex(),
        "account_ref": ACCOUNT_REF,
        "factor_key": opened.factor_key.hex(),
        "totp_seed": opened.totp_seed.hex(),
        "rng": rng.drawn.hex(),
        "envelope": envelope.hex(),
    }


def _recovery_code() -> Vector:
    factor_key = second_factor_key(FACTOR_PRIVATE_KEY)
    digest = hashlib.sha256(b"sviedka vector input/recovery code").digest()
    return {
        "private_key": FACTOR_PRIVATE_KEY.hex(),
        "factor_key": factor_key.hex(),
        "account_ref": ACCOUNT_REF,
        "code_digest": digest.hex(),
        # A tag is stored and compared, never opened: it is the "envelope".
        "envelope": recovery_code_tag(factor_key, digest, account_ref=ACCOUNT_REF).hex(),
    }


def _receipt_signing() -> Vector:
    """The signing key of the same receipt as ``receipt-v1`` (added with statements)."""
    salt = _fixed("deployment receipt salt", 16)
    receipt = "7XK2-M9QT-4BHW-ZP3R-0CNA"
    keys = derive_receipt_keys(receipt, salt=salt, params=CHEAP)
    return {
        "receipt": receipt,
        "salt": salt.hex(),
        "memory_kib": CHEAP.memory_kib,
        "iterations": CHEAP.iterations,
        "lanes": CHEAP.lanes,
        "signing_seed": keys.signing_seed.hex(),
        "signing_public_key": signing_public_key(keys.signing_seed).hex(),
    }


def _statement() -> Vector:
    seed = _fixed("statement signing seed", 32)
    digest = hashlib.sha256(b"sviedka vector input/statement content").digest()
    item = {"report_id": REPORT, "kind": "file", "item_id": "A4KD9QX2MZ7P"}
    return {
        "signing_seed": seed.hex(),
        "public_key": signing_public_key(seed).hex(),
        **item,
        "digest": digest.hex(),
        # Ed25519 is deterministic: signing again gives these bytes exactly.
        "envelope": sign_statement(seed, digest=digest, **item).hex(),
    }


# name -> (what the vector pins, builder).  Names never change meaning.
BUILDERS: dict[str, tuple[str, Callable[[], Vector]]] = {
    "keypair-v1": ("KEYPAIR", _keypair),
    "field-v1": ("FIELD", _field),
    "wrap-v1": ("WRAP", _wrap),
    "inbox-message-v1": ("SUBMITTER_MESSAGE", _to_public_key("inbox:M3KD8QZ1TX6V", "Dodam…")),
    "submitter-reply-v1": (
        "SUBMITTER_MESSAGE",
        _to_public_key("submitter:M7PW2RZ9KD4Q", "Мы атрымалі ваша паведамленне."),
    ),
    "password-lock-v1": ("PASSWORD_LOCK", _password_lock),
    "session-v1": ("SESSION", _session),
    "local-v1": ("LOCAL", _local),
    "stream-v1": ("STREAM", _stream("stream", 2500)),
    "stream-chunk-boundary-v1": ("STREAM", _stream("stream-boundary", 2048)),
    "stream-empty-v1": ("STREAM", _stream("stream-empty", 0)),
    "receipt-v1": ("RECEIPT", _receipt),
    "padded-field-v1": (
        "PADDED_FIELD",
        _padded_field("padded-field", "note:N4KD7QX2MZ9P", b"Ask the lawyer Ales."),
    ),
    # 252 bytes: the longest text of the smallest class (256 with the prefix).
    "padded-field-class-boundary-v1": (
        "PADDED_FIELD",
        _padded_field("padded-field-boundary", "answers", _fixed("boundary text", 252)),
    ),
    "padded-field-empty-v1": ("PADDED_FIELD", _padded_field("padded-field-empty", "f", b"")),
    "answers-record-v1": ("PADDED_FIELD", _answers_record),
    "padded-message-v1": (
        "PADDED_MESSAGE",
        _to_public_key("inbox:M3KD8QZ1TX6V", "Дадам: the badge was 4711."),
    ),
    "totp-seed-v1": ("TOTP_SEED", _totp_seed),
    "enrolment-v1": ("ENROLMENT", _enrolment),
    "recovery-code-v1": ("RECOVERY_CODE", _recovery_code),
    "receipt-signing-v1": ("RECEIPT_SIGNING", _receipt_signing),
    "statement-v1": ("STATEMENT", _statement),
}


def main() -> int:
    """Add the missing vectors to OUTPUT; never touch the ones already there."""
    existing: list[Vector] = []
    if OUTPUT.exists():
        existing = json.loads(OUTPUT.read_text(encoding="utf-8"))["vectors"]
    have = {vector["name"] for vector in existing}
    added = [
        {"name": name, "pins": pins, **build()}
        for name, (pins, build) in BUILDERS.items()
        if name not in have
    ]
    if not added:
        print(f"{OUTPUT}: all {len(existing)} vectors present, nothing written")
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    document = {"about": ABOUT, "vectors": existing + added}
    OUTPUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUTPUT}: added {', '.join(vector['name'] for vector in added)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
