"""An independent reader of Sviedka's envelopes, written from docs/envelopes.md alone.

It imports nothing from ``registry``: only the standard library and the
``cryptography`` primitives the document names.  It opens (or recomputes)
every frozen vector in ``tests/crypto/vectors/registry-envelopes.json`` and,
where the vector records the random bytes drawn, seals again and compares
the bytes.  If this reader needs a fact the document does not give, the
document is incomplete: fix the document, then the reader.

A vector that pins a format this reader does not know fails the test, so a
new envelope kind cannot be added without describing it in the document.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

VECTORS = Path(__file__).resolve().parents[1] / "crypto" / "vectors" / "registry-envelopes.json"
Vector = dict[str, Any]

# docs/envelopes.md, "Header and kinds".
VERSION = 0x01
KINDS = {
    "FIELD": 1,
    "WRAP": 2,
    "SUBMITTER_MESSAGE": 3,
    "PASSWORD_LOCK": 4,
    "SESSION": 5,
    "LOCAL": 6,
    "STREAM": 7,
    "TOTP_SEED": 8,
    "ENROLMENT": 9,
    "RECOVERY_CODE": 10,
    "PADDED_FIELD": 11,
    "PADDED_MESSAGE": 12,
    "STATEMENT": 13,
}
NONCE, TAG, KEY = 12, 16, 32
# "Primitives and parameters": the HPKE suite.
SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
ENC_LENGTH = 1120
# "Argon2id parameter encoding": bounds checked before Argon2 runs.
MAX_LANES, MAX_MEMORY_KIB, MAX_ITERATIONS = 16, 4 * 1024 * 1024, 64
# "STREAM".
STREAM_HEADER = 22
MIN_CHUNK, MAX_CHUNK = 1024, 4 * 1024 * 1024
# "Receipt keys".
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class Unreadable(Exception):
    """The reader refuses the input (any cause)."""


# ---------------------------------------------------------------- binding


def lp(item: bytes) -> bytes:
    """``LP(x) = u32be(len(x)) || x``."""
    return struct.pack(">I", len(item)) + item


def label(kind: str) -> bytes:
    """``"sviedka/v1/"`` and the kind's name, lower case, ``_`` as ``-``."""
    return b"sviedka/v1/" + kind.lower().replace("_", "-").encode("ascii")


def header(kind: str) -> bytes:
    """Version byte and kind byte."""
    return bytes((VERSION, KINDS[kind]))


def bind(kind: str, *items: bytes | str) -> bytes:
    """``LP(label) || LP(header) || LP(item_1) || ...``; strings as UTF-8."""
    encoded = [item.encode("utf-8") if isinstance(item, str) else item for item in items]
    return b"".join(lp(part) for part in (label(kind), header(kind), *encoded))


def body(envelope: bytes, kind: str) -> bytes:
    """What follows the header, after checking version and kind."""
    if envelope[:2] != header(kind):
        raise Unreadable("header")
    return envelope[2:]


# ---------------------------------------------------------------- primitives


def hkdf(ikm: bytes, info: bytes, *, salt: bytes | None = None, length: int = 32) -> bytes:
    """HKDF-SHA256; no salt means RFC 5869's 32 zero bytes."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """The HKDF expand step alone."""
    return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(prk)


def argon2id(secret: bytes, salt: bytes, params: tuple[int, int, int], x: bytes) -> bytes:
    """Argon2id v0x13, 32 bytes, associated data ``x``; params = (memory KiB, passes, lanes)."""
    memory, iterations, lanes = params
    kdf = Argon2id(
        salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=memory, ad=x
    )
    return kdf.derive(secret)


def decode_params(data: bytes) -> tuple[int, int, int]:
    """The 12-byte Argon2id parameters, refused when out of bounds."""
    if len(data) != 12:
        raise Unreadable("params")
    memory, iterations, lanes = struct.unpack(">III", data)
    if not (
        1 <= lanes <= MAX_LANES
        and 8 * lanes <= memory <= MAX_MEMORY_KIB
        and 1 <= iterations <= MAX_ITERATIONS
    ):
        raise Unreadable("params")
    return memory, iterations, lanes


def unpad(padded: bytes) -> bytes:
    """The text in ``u32be(n) || text || zeros``."""
    if len(padded) < 4:
        raise Unreadable("padding")
    (length,) = struct.unpack(">I", padded[:4])
    end = 4 + length
    if end > len(padded) or any(padded[end:]):
        raise Unreadable("padding")
    return padded[4:end]


def pad_length(text_length: int) -> int:
    """The size class of a text (256, 1 KiB, 4 KiB, 16 KiB, then multiples of 16 KiB)."""
    needed = 4 + text_length
    for size in (256, 1024, 4096, 16384):
        if needed <= size:
            return size
    return -(-needed // 16384) * 16384


# ---------------------------------------------------------------- AEAD envelopes


def open_aead(
    key: bytes, envelope: bytes, kind: str, context: tuple[bytes | str, ...], preamble: int = 0
) -> bytes:
    """``header || preamble || nonce || ciphertext || tag``; AD = bind(kind, preamble, *context)."""
    rest = body(envelope, kind)
    if len(rest) < preamble + NONCE + TAG:
        raise Unreadable("short")
    pre, nonce = rest[:preamble], rest[preamble : preamble + NONCE]
    sealed = rest[preamble + NONCE :]
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, sealed, bind(kind, pre, *context))
    except InvalidTag:
        raise Unreadable("tag") from None


def seal_aead(
    key: bytes,
    plaintext: bytes,
    kind: str,
    context: tuple[bytes | str, ...],
    nonce: bytes,
    preamble: bytes = b"",
) -> bytes:
    """The sealing side, with a given nonce (to compare with recorded vectors)."""
    ad = bind(kind, preamble, *context)
    return header(kind) + preamble + nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, ad)


def password_key(password: str, salt: bytes, params: tuple[int, int, int]) -> bytes:
    """The PASSWORD_LOCK key: Argon2id of the NFC password."""
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    return argon2id(secret, salt, params, b"sviedka/v1/password-lock")


def unlock(envelope: bytes, password: str) -> bytes:
    """Open a PASSWORD_LOCK: params and salt from the preamble, then the AEAD."""
    rest = body(envelope, "PASSWORD_LOCK")
    if len(rest) < 28 + NONCE + TAG:
        raise Unreadable("short")
    params = decode_params(rest[:12])
    key = password_key(password, rest[12:28], params)
    private = open_aead(key, envelope, "PASSWORD_LOCK", (), preamble=28)
    if len(private) != 96:
        raise Unreadable("key length")
    return private


def factor_key(private: bytes) -> bytes:
    """HKDF of the 96-byte private key, info ``sviedka/v1/factor-key``."""
    return hkdf(private, b"sviedka/v1/factor-key")


# ---------------------------------------------------------------- HPKE envelopes


def load_private(private: bytes) -> hpke.MLKEM768X25519PrivateKey:
    """ML-KEM-768 seed (64) || X25519 private (32)."""
    if len(private) != 96:
        raise Unreadable("private key")
    return hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(private[:64]),
        x25519.X25519PrivateKey.from_private_bytes(private[64:]),
    )


def public_of(private: bytes) -> bytes:
    """ML-KEM-768 encapsulation key (1184) || X25519 public (32)."""
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(private[:64])
    x_key = x25519.X25519PrivateKey.from_private_bytes(private[64:96])
    return mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()


def open_hpke(private: bytes, envelope: bytes, kind: str, context: tuple[str, ...]) -> bytes:
    """HPKE base mode, single shot; info = bind(kind, *context), no preamble item."""
    rest = body(envelope, kind)
    if len(rest) < ENC_LENGTH + TAG:
        raise Unreadable("short")
    try:
        return SUITE.decrypt(rest, load_private(private), bind(kind, *context))
    except (InvalidTag, ValueError):
        raise Unreadable("hpke") from None


def open_message(private: bytes, envelope: bytes, report_id: str, purpose: str) -> bytes:
    """A message sealed to a public key, of either kind, chosen by the (authenticated) kind byte."""
    if envelope[:2] == header("PADDED_MESSAGE"):
        return unpad(open_hpke(private, envelope, "PADDED_MESSAGE", (report_id, purpose)))
    return open_hpke(private, envelope, "SUBMITTER_MESSAGE", (report_id, purpose))


def open_field(dek: bytes, envelope: bytes, report_id: str, field: str) -> bytes:
    """A sealed field of either kind."""
    if envelope[:2] == header("PADDED_FIELD"):
        return unpad(open_aead(dek, envelope, "PADDED_FIELD", (report_id, field)))
    return open_aead(dek, envelope, "FIELD", (report_id, field))


# ---------------------------------------------------------------- STREAM


def stream_nonce(counter: int, last: bool) -> bytes:
    """11-byte big-endian counter and the last-chunk flag."""
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def stream_subkey(key: bytes, salt: bytes, report_id: str, attachment_id: str) -> bytes:
    """HKDF(file key, salt, info = bind(STREAM, report id, attachment id))."""
    return hkdf(key, bind("STREAM", report_id, attachment_id), salt=salt)


def open_stream(key: bytes, blob: bytes, report_id: str, attachment_id: str) -> bytes:
    """Open a whole blob, block by block, deciding "last" from where the data ends."""
    head = blob[:STREAM_HEADER]
    if len(head) != STREAM_HEADER or head[:2] != header("STREAM"):
        raise Unreadable("header")
    (chunk_size,) = struct.unpack(">I", head[18:22])
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise Unreadable("chunk size")
    cipher = ChaCha20Poly1305(stream_subkey(key, head[2:18], report_id, attachment_id))
    block, position, counter, parts = chunk_size + TAG, STREAM_HEADER, 0, []
    while True:
        current = blob[position : position + block]
        position += len(current)
        last = len(current) < block or position == len(blob)
        try:
            parts.append(cipher.decrypt(stream_nonce(counter, last), current, head))
        except (InvalidTag, ValueError):
            raise Unreadable("chunk") from None
        if last:
            return b"".join(parts)
        counter += 1


def seal_stream(
    key: bytes, plaintext: bytes, report_id: str, attachment_id: str, chunk_size: int, salt: bytes
) -> bytes:
    """The sealing side: full chunks, then a last one (empty only for an empty file)."""
    head = header("STREAM") + salt + struct.pack(">I", chunk_size)
    cipher = ChaCha20Poly1305(stream_subkey(key, salt, report_id, attachment_id))
    chunks = [plaintext[i : i + chunk_size] for i in range(0, len(plaintext), chunk_size)] or [b""]
    sealed = [
        cipher.encrypt(stream_nonce(i, i == len(chunks) - 1), chunk, head)
        for i, chunk in enumerate(chunks)
    ]
    return head + b"".join(sealed)


# ---------------------------------------------------------------- receipts, codes, statements


def normalise_receipt(text: str) -> str:
    """The canonical 20 symbols of a typed receipt."""
    if len(text) > 100 or not text.isascii():
        raise Unreadable("receipt")
    for separator in " \t\r\n-":
        text = text.replace(separator, "")
    canonical = text.upper().replace("O", "0").replace("I", "1").replace("L", "1")
    if len(canonical) != 20 or any(symbol not in ALPHABET for symbol in canonical):
        raise Unreadable("receipt")
    return canonical


def receipt_keys(
    receipt: str, salt: bytes, params: tuple[int, int, int]
) -> tuple[bytes, bytes, bytes]:
    """Lookup id, 96-byte submitter private key, 32-byte signing seed."""
    master = argon2id(
        normalise_receipt(receipt).encode("ascii"), salt, params, b"sviedka/v1/receipt"
    )
    return (
        hkdf_expand(master, b"sviedka/v1/receipt/lookup-id", 32),
        hkdf_expand(master, b"sviedka/v1/receipt/keypair-seed", 96),
        hkdf_expand(master, b"sviedka/v1/receipt/submitter-signing", 32),
    )


def recovery_tag(factor: bytes, account_ref: str, code_digest: bytes) -> bytes:
    """``01 0A || HMAC-SHA256(code key, bind(RECOVERY_CODE, account ref, code digest))``."""
    code_key = hkdf(factor, b"sviedka/v1/recovery-code-key")
    message = bind("RECOVERY_CODE", account_ref, code_digest)
    return header("RECOVERY_CODE") + hmac.new(code_key, message, hashlib.sha256).digest()


def ed25519_public(seed: bytes) -> bytes:
    """The 32-byte public key of an Ed25519 seed."""
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def verify_statement(public: bytes, statement: bytes, item: tuple[str, str, str, bytes]) -> bool:
    """Ed25519 over bind(STATEMENT, report id, item kind, item id, digest)."""
    if len(statement) != 66 or statement[:2] != header("STATEMENT"):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(statement[2:], bind("STATEMENT", *item))
    except (InvalidSignature, ValueError):
        return False
    return True


# ---------------------------------------------------------------- the vectors


def _load() -> list[Vector]:
    vectors: list[Vector] = json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]
    return vectors


ALL = _load()


def _h(vector: Vector, key: str) -> bytes:
    return bytes.fromhex(vector[key])


def _params(vector: Vector) -> tuple[int, int, int]:
    return vector["memory_kib"], vector["iterations"], vector["lanes"]


def _check_header(vector: Vector) -> bytes:
    envelope = _h(vector, "envelope")
    assert envelope[:2] == header(vector["pins"])
    return envelope


def check_keypair(vector: Vector) -> None:
    assert public_of(_h(vector, "seed")) == _h(vector, "public_key")


def check_field(vector: Vector) -> None:
    envelope = _check_header(vector)
    key, plaintext = _h(vector, "key"), _h(vector, "plaintext")
    assert open_field(key, envelope, vector["report_id"], vector["field"]) == plaintext
    context = (vector["report_id"], vector["field"])
    nonce = _h(vector, "rng")
    sealed_text = plaintext
    if vector["pins"] == "PADDED_FIELD":
        assert len(envelope) == 2 + NONCE + pad_length(len(plaintext)) + TAG
        sealed_text = struct.pack(">I", len(plaintext)) + plaintext
        sealed_text += bytes(pad_length(len(plaintext)) - len(sealed_text))
    assert seal_aead(key, sealed_text, vector["pins"], context, nonce) == envelope
    if "texts" in vector:
        # The `answers` record: compact UTF-8 JSON of the texts given.
        assert json.loads(plaintext.decode("utf-8")) == vector["texts"]


def check_sealed_to_public_key(vector: Vector) -> None:
    envelope = _check_header(vector)
    private = _h(vector, "recipient_private_key")
    if vector["pins"] == "WRAP":
        data_key = open_hpke(private, envelope, "WRAP", (vector["report_id"],))
        assert len(data_key) == 32
        assert data_key == _h(vector, "plaintext")
        return
    opened = open_message(private, envelope, vector["report_id"], vector["purpose"])
    assert opened == _h(vector, "plaintext")


def check_password_lock(vector: Vector) -> None:
    envelope = _check_header(vector)
    password, plaintext = vector["password"], _h(vector, "plaintext")
    decomposed = unicodedata.normalize("NFD", password)
    assert decomposed != password
    for typed in (password, decomposed):
        assert unlock(envelope, typed) == plaintext
    drawn = _h(vector, "rng")
    salt, nonce = drawn[:16], drawn[16:]
    params = _params(vector)
    preamble = struct.pack(">III", *params) + salt
    key = password_key(password, salt, params)
    assert seal_aead(key, plaintext, "PASSWORD_LOCK", (), nonce, preamble) == envelope


def check_session(vector: Vector) -> None:
    envelope = _check_header(vector)
    secret, ref = _h(vector, "session_secret"), _h(vector, "session_ref")
    plaintext = open_aead(secret, envelope, "SESSION", (ref,))
    assert plaintext == _h(vector, "plaintext")
    assert seal_aead(secret, plaintext, "SESSION", (ref,), _h(vector, "rng")) == envelope


def check_local(vector: Vector) -> None:
    envelope = _check_header(vector)
    key, context = _h(vector, "key"), (vector["context"],)
    plaintext = open_aead(key, envelope, "LOCAL", context)
    assert plaintext == _h(vector, "plaintext")
    assert seal_aead(key, plaintext, "LOCAL", context, _h(vector, "rng")) == envelope


def check_stream(vector: Vector) -> None:
    envelope = _check_header(vector)
    key, plaintext = _h(vector, "key"), _h(vector, "plaintext")
    ids = (vector["report_id"], vector["attachment_id"])
    opened = open_stream(key, envelope, *ids)
    assert opened == plaintext
    assert hashlib.sha256(opened).hexdigest() == vector["sha256"]
    assert struct.unpack(">I", envelope[18:22])[0] == vector["chunk_size"]
    salt = _h(vector, "rng")
    assert seal_stream(key, plaintext, *ids, vector["chunk_size"], salt) == envelope


def check_receipt(vector: Vector) -> None:
    for typed in (vector["receipt"], vector["typed"]):
        lookup, private, _signing = receipt_keys(typed, _h(vector, "salt"), _params(vector))
        assert lookup == _h(vector, "lookup_id")
        assert private == _h(vector, "private_key")
        assert hashlib.sha256(public_of(private)).hexdigest() == vector["public_key_sha256"]


def check_receipt_signing(vector: Vector) -> None:
    _lookup, _private, signing = receipt_keys(
        vector["receipt"], _h(vector, "salt"), _params(vector)
    )
    assert signing == _h(vector, "signing_seed")
    assert ed25519_public(signing) == _h(vector, "signing_public_key")


def check_statement(vector: Vector) -> None:
    envelope = _check_header(vector)
    seed, public = _h(vector, "signing_seed"), _h(vector, "public_key")
    item = (vector["report_id"], vector["kind"], vector["item_id"], _h(vector, "digest"))
    assert ed25519_public(seed) == public
    assert verify_statement(public, envelope, item)
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(bind("STATEMENT", *item))
    assert header("STATEMENT") + signature == envelope


def check_totp_seed(vector: Vector) -> None:
    envelope = _check_header(vector)
    factor = factor_key(_h(vector, "private_key"))
    assert factor == _h(vector, "factor_key")
    seed_key = hkdf(factor, b"sviedka/v1/totp-seed-key")
    context = (vector["account_ref"],)
    seed = open_aead(seed_key, envelope, "TOTP_SEED", context)
    assert seed == _h(vector, "plaintext")
    assert seal_aead(seed_key, seed, "TOTP_SEED", context, _h(vector, "rng")) == envelope


def check_enrolment(vector: Vector) -> None:
    envelope = _check_header(vector)
    key = hkdf(_h(vector, "browser_secret"), b"sviedka/v1/enrolment-key")
    context = (vector["account_ref"],)
    plaintext = open_aead(key, envelope, "ENROLMENT", context)
    assert plaintext[:32] == _h(vector, "factor_key")
    assert plaintext[32:] == _h(vector, "totp_seed")
    assert seal_aead(key, plaintext, "ENROLMENT", context, _h(vector, "rng")) == envelope


def check_recovery_code(vector: Vector) -> None:
    envelope = _check_header(vector)
    factor = factor_key(_h(vector, "private_key"))
    assert factor == _h(vector, "factor_key")
    assert recovery_tag(factor, vector["account_ref"], _h(vector, "code_digest")) == envelope
    assert len(envelope) == 34


CHECKS: dict[str, Callable[[Vector], None]] = {
    "KEYPAIR": check_keypair,
    "FIELD": check_field,
    "PADDED_FIELD": check_field,
    "WRAP": check_sealed_to_public_key,
    "SUBMITTER_MESSAGE": check_sealed_to_public_key,
    "PADDED_MESSAGE": check_sealed_to_public_key,
    "PASSWORD_LOCK": check_password_lock,
    "SESSION": check_session,
    "LOCAL": check_local,
    "STREAM": check_stream,
    "RECEIPT": check_receipt,
    "RECEIPT_SIGNING": check_receipt_signing,
    "STATEMENT": check_statement,
    "TOTP_SEED": check_totp_seed,
    "ENROLMENT": check_enrolment,
    "RECOVERY_CODE": check_recovery_code,
}


@pytest.mark.parametrize("vector", [pytest.param(v, id=v["name"]) for v in ALL])
def test_the_documented_reader_opens_every_vector(vector: Vector) -> None:
    check = CHECKS.get(vector["pins"])
    if check is None:
        pytest.fail(
            f"vector {vector['name']!r} pins {vector['pins']}, a format this reader does not "
            "know: describe it in docs/envelopes.md, then teach this reader from the document"
        )
    check(vector)


def test_every_kind_byte_has_a_vector_this_reader_checks() -> None:
    pinned = {vector["pins"] for vector in ALL}
    assert set(KINDS) <= pinned
    assert pinned <= set(CHECKS)


# ---------------------------------------------------------------- the reader refuses


def _vector(name: str) -> Vector:
    return next(vector for vector in ALL if vector["name"] == name)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


def test_the_reader_refuses_what_it_must() -> None:
    """The reader is not trivially accepting: every check the document asks for bites."""
    field = _vector("padded-field-v1")
    key, envelope = _h(field, "key"), _h(field, "envelope")
    where = (field["report_id"], field["field"])
    for index in (0, 1, 5, len(envelope) - 1):
        with pytest.raises(Unreadable):
            open_field(key, _flip(envelope, index), *where)
    with pytest.raises(Unreadable):
        open_field(key, envelope, field["report_id"], "note:OTHER")
    # Relabelled as the older kind: the header is in the associated data.
    with pytest.raises(Unreadable):
        open_field(key, header("FIELD") + envelope[2:], *where)

    wrap = _vector("wrap-v1")
    private, wrapped = _h(wrap, "recipient_private_key"), _h(wrap, "envelope")
    with pytest.raises(Unreadable):
        open_hpke(private, wrapped, "WRAP", ("R7Q2MKX4P9TC",))
    with pytest.raises(Unreadable):
        open_hpke(private, _flip(wrapped, 100), "WRAP", (wrap["report_id"],))

    stream = _vector("stream-chunk-boundary-v1")
    key, blob = _h(stream, "key"), _h(stream, "envelope")
    ids = (stream["report_id"], stream["attachment_id"])
    block = stream["chunk_size"] + TAG
    for cut in (STREAM_HEADER + block, len(blob) - 1):
        with pytest.raises(Unreadable):
            open_stream(key, blob[:cut], *ids)
    with pytest.raises(Unreadable):
        open_stream(key, blob + bytes(TAG), *ids)
    swapped = blob[:STREAM_HEADER] + blob[STREAM_HEADER + block :] + blob[STREAM_HEADER:][:block]
    with pytest.raises(Unreadable):
        open_stream(key, swapped, *ids)

    lock = _vector("password-lock-v1")
    with pytest.raises(Unreadable):
        unlock(_h(lock, "envelope"), lock["password"] + " ")
    absurd = header("PASSWORD_LOCK") + struct.pack(">III", 2**31, 1, 1) + _h(lock, "envelope")[14:]
    with pytest.raises(Unreadable):
        unlock(absurd, lock["password"])

    with pytest.raises(Unreadable):
        unpad(b"\x00\x00\x00\x02ab\x00\x01")
    with pytest.raises(Unreadable):
        normalise_receipt("7XK2-M9QT-4BHW-ZP3R-0CNU")
