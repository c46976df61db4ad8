"""The framing of a backup file and the names inside its archive (docs/backup.md).

A backup is an ``age`` file holding a tar archive.  Encrypted to ``age``
recipients (``--to``), the file is exactly that ``age`` file: stock ``age
-d`` opens it.  Encrypted to the escrow key (the default), a short header
comes first::

    "sviedka-backup/v1\\n"                   18 bytes, ASCII
    escrow key fingerprint, 16 hex + "\\n"    17 bytes
    N                                        4 bytes, big-endian
    sealed identity                          N bytes: PADDED_MESSAGE envelope
    the age file                             to that identity's recipient

The sealed identity is a fresh ``age`` X25519 identity (``AGE-SECRET-KEY-1…``)
made for this backup only, sealed to the escrow public key with HPKE
(registry.crypto.seal_to_public_key; report id ``sviedka-backup``, purpose
``backup-identity``).  WHY not the archive under HPKE directly: HPKE here is
single-shot (the whole plaintext in memory); ``age`` streams, and the
stock tool can open the archive once the identity is out.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from typing import BinaryIO

from registry.crypto import CannotOpen, open_with_private_key, seal_to_public_key

MAGIC = b"sviedka-backup/v1\n"
AGE_MAGIC = b"age-encryption.org/v1\n"
# WHY a context that is no report id: a report id is 12 symbols of the
# receipt alphabet, so an identity sealed for a backup can never be taken
# for a message of a report, nor the other way round (HPKE ``info``).
SEAL_CONTEXT = "sviedka-backup"
SEAL_PURPOSE = "backup-identity"
FORMAT = 1
# Bounds for reading a header someone else may have made.
MAX_SEALED = 4096

ROOT = "sviedka-backup"
DATABASE_SQLITE = f"{ROOT}/database.sqlite3"
DATABASE_PART = f"{ROOT}/database/part-{{:05d}}.sql"
BLOB_DIR = f"{ROOT}/storage/blobs"
KEY_DIR = f"{ROOT}/keys"
MANIFEST = f"{ROOT}/manifest.json"
DIRECTORIES = {f"{ROOT}/", f"{ROOT}/database/", f"{ROOT}/storage/", f"{BLOB_DIR}/", f"{KEY_DIR}/"}
SECRET_KEY = "secret.key"  # noqa: S105  (a file name, not a secret)
# Public key files of keys/ that a backup carries: escrow.pub,
# escrow-<fingerprint>.pub, signing.pub, …  WHY only *.pub and secret.key:
# an operator may have left the escrow PRIVATE file in keys/; a backup that
# carried it would hold the key that opens every report beside the reports.
PUBLIC_KEY_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}\.pub")
_PART = re.compile(re.escape(ROOT) + r"/database/part-(\d{5})\.sql")
_BLOB = re.compile(re.escape(BLOB_DIR) + r"/([0-9a-f]{32})")
_KEY = re.compile(re.escape(KEY_DIR) + r"/(secret\.key|[A-Za-z0-9][A-Za-z0-9_-]{0,62}\.pub)")


class CorruptBackup(Exception):
    """The file is not a backup this code wrote, or it was cut or changed."""


@dataclass(frozen=True)
class MemberName:
    """What an archive member is: ``kind`` is database, part, blob, key or manifest."""

    kind: str
    name: str = ""
    number: int = 0


def classify(path: str) -> MemberName:
    """The kind of the member at ``path``; :class:`CorruptBackup` for any other path.

    WHY a closed list: a backup file can be made by anyone holding the
    escrow public key, so no path from it is trusted to name a place on disk.
    """
    if path == DATABASE_SQLITE:
        return MemberName("database")
    if path == MANIFEST:
        return MemberName("manifest")
    if match := _PART.fullmatch(path):
        return MemberName("part", number=int(match.group(1)))
    if match := _BLOB.fullmatch(path):
        return MemberName("blob", match.group(1))
    if match := _KEY.fullmatch(path):
        return MemberName("key", match.group(1))
    raise CorruptBackup(f"unexpected member {path!r}")


@dataclass(frozen=True)
class Manifest:
    """The archive's last member: what came before it, to be checked on restore."""

    database: str  # "sqlite" or "postgresql"
    parts: int
    blobs: int
    keys: tuple[str, ...]
    day: str

    def encode(self) -> bytes:
        """The manifest as JSON."""
        return json.dumps(
            {
                "format": FORMAT,
                "database": self.database,
                "database_parts": self.parts,
                "blobs": self.blobs,
                "keys": list(self.keys),
                "day": self.day,
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        """Parse a manifest; :class:`CorruptBackup` if it is not one."""
        try:
            raw = json.loads(data)
            manifest = cls(
                str(raw["database"]),
                int(raw["database_parts"]),
                int(raw["blobs"]),
                tuple(str(name) for name in raw["keys"]),
                str(raw["day"]),
            )
            ok = raw["format"] == FORMAT and manifest.database in ("sqlite", "postgresql")
        except (ValueError, KeyError, TypeError) as error:
            raise CorruptBackup("unreadable manifest") from error
        if not ok:
            raise CorruptBackup("unknown backup format")
        return manifest


def escrow_header(identity: str, escrow_public: bytes, fingerprint: str) -> bytes:
    """The header of a backup sealed to the escrow key (see the module doc)."""
    sealed = seal_to_public_key(
        identity.encode("ascii"), escrow_public, report_id=SEAL_CONTEXT, purpose=SEAL_PURPOSE
    )
    return MAGIC + fingerprint.encode("ascii") + b"\n" + struct.pack(">I", len(sealed)) + sealed


@dataclass(frozen=True)
class EscrowHeader:
    """A parsed escrow header: which escrow key, and the sealed identity."""

    fingerprint: str
    sealed: bytes

    def identity(self, escrow_private: bytes) -> str:
        """The age identity; :class:`registry.crypto.CannotOpen` for another escrow key."""
        text = open_with_private_key(
            self.sealed, escrow_private, report_id=SEAL_CONTEXT, purpose=SEAL_PURPOSE
        )
        try:
            return text.decode("ascii")
        except UnicodeDecodeError:
            raise CannotOpen() from None


def read_header(stream: BinaryIO) -> tuple[EscrowHeader | None, bytes]:
    """Read the start of a backup: its escrow header (None for a plain age file).

    Returns the header and the bytes read past it that belong to the age file.
    """
    start = stream.read(len(MAGIC))
    if start != MAGIC:
        if not AGE_MAGIC.startswith(start[: len(AGE_MAGIC)]) or len(start) < len(MAGIC):
            raise CorruptBackup("not a backup file")
        return None, start
    line = stream.read(17)
    size = stream.read(4)
    if len(line) != 17 or not line.endswith(b"\n") or len(size) != 4:
        raise CorruptBackup("cut header")
    (length,) = struct.unpack(">I", size)
    if length > MAX_SEALED:
        raise CorruptBackup("header too long")
    sealed = stream.read(length)
    if len(sealed) != length:
        raise CorruptBackup("cut header")
    try:
        fingerprint = line[:16].decode("ascii")
    except UnicodeDecodeError:
        raise CorruptBackup("bad fingerprint") from None
    return EscrowHeader(fingerprint, sealed), b""
