"""``registry restore``: a backup onto an empty install, all of it or nothing.

One pass over the file.  Every member is checked (a closed list of names,
in order, sizes bounded) and staged: key files in memory, blobs in a
staging folder of the storage directory, a SQLite database in a staging
file beside the target's, a PostgreSQL dump fed to ``psql`` inside one
transaction.  Only when the whole file has decrypted (``age`` then has
authenticated every chunk, the last one included) and the manifest agrees
with what was read is anything applied: the transaction committed or the
SQLite copy written into place, the blobs moved, the keys written, and the
database migrated to the code's head (the backup may be older).  A wrong
key, a cut or changed file, or a non-empty target leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from pyrage import IdentityError, x25519

from registry.attachments.storage import BlobStore, midnight, shred_file
from registry.crypto import CannotOpen
from registry.models.migrate import upgrade

from . import layout
from .agedecrypt import DecryptedReader, WrongKey
from .snapshot import PART_BYTES, READ_CHUNK, ErrorTail, libpq_target, pipe, tool
from .target import check_empty, check_keys, sqlite_path
from .writer import MAX_KEY_FILE, Installation


class RestoreRefused(Exception):
    """The backup cannot be restored as asked (the message says why; nothing was written)."""


class RestoreFailed(Exception):
    """A tool failed while the backup was applied (the message says why)."""


@dataclass
class RestoreResult:
    """What a restore put in place."""

    database: str = ""
    blobs: int = 0
    keys: list[str] = field(default_factory=list)


def parse_identities(text: str) -> list[Any]:
    """The age identities of an identity file (``age-keygen`` output; comments skipped)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            found.append(x25519.Identity.from_str(line))
        except (IdentityError, ValueError):
            raise RestoreRefused(
                "the identity file holds a line that is not an age identity"
            ) from None
    if not found:
        raise RestoreRefused("the identity file holds no age identity")
    return found


def restore_backup(
    install: Installation,
    source: BinaryIO,
    *,
    escrow_private: bytes | None,
    identities: list[Any] | None,
    receipt_params: bytes | None,
) -> RestoreResult:
    """Restore the backup read from ``source`` onto the empty ``install``.

    Raises :class:`registry.backup.target.TargetNotEmpty`,
    :class:`RestoreRefused`, :class:`registry.backup.agedecrypt.WrongKey`,
    :class:`registry.backup.agedecrypt.Damaged` or
    :class:`registry.backup.layout.CorruptBackup`; in each case nothing of
    the backup was applied.
    """
    schema = check_empty(install.database_url, install.storage_dir)
    header, prefix = layout.read_header(source)
    if header is not None:
        if escrow_private is None:
            raise RestoreRefused(
                f"this backup is sealed to the escrow key {header.fingerprint}: give --escrow-key"
            )
        try:
            identities = [x25519.Identity.from_str(header.identity(escrow_private))]
        except (CannotOpen, IdentityError, ValueError):
            raise WrongKey() from None
    elif identities is None:
        raise RestoreRefused("this backup is encrypted to age recipients: give --identity")
    stage = _Stage(install, schema)
    try:
        with DecryptedReader(prefix, source, identities) as plain:
            buffered = io.BufferedReader(plain, READ_CHUNK)
            stage.read(buffered)
            # WHY read on to the end: tarfile stops at the archive's end
            # marker, but only the age file's last chunk proves that nothing
            # was cut; reading it raises Damaged if it is missing.
            while buffered.read(READ_CHUNK):
                pass
        return stage.apply(receipt_params)
    finally:
        stage.clean()


class _Stage:
    """Members read so far, checked and staged, not yet applied."""

    def __init__(self, install: Installation, schema: str | None) -> None:
        self.install = install
        self.schema = schema
        self.target = sqlite_path(install.database_url)
        self.keys: dict[str, bytes] = {}
        self.blob_dir = install.storage_dir / f".restore-{secrets.token_hex(8)}"
        self.blobs: list[str] = []
        self.database = ""
        self.parts = 0
        self.sqlite_copy: Path | None = None
        self.psql: _Psql | None = None
        self.manifest: layout.Manifest | None = None

    def read(self, plaintext: IO[bytes]) -> None:
        try:
            with tarfile.open(fileobj=plaintext, mode="r|") as archive:
                for info in archive:
                    self._member(archive, info)
        except tarfile.TarError as error:
            raise layout.CorruptBackup(f"not a backup archive ({error})") from None
        self._check_complete()

    def _member(self, archive: tarfile.TarFile, info: tarfile.TarInfo) -> None:
        if self.manifest is not None:
            raise layout.CorruptBackup("a member after the manifest")
        if info.isdir():
            if info.name.rstrip("/") + "/" not in layout.DIRECTORIES:
                raise layout.CorruptBackup(f"unexpected folder {info.name!r}")
            return
        if not info.isfile():
            raise layout.CorruptBackup(f"{info.name!r} is not a file")
        member = layout.classify(info.name)
        content = archive.extractfile(info)
        if content is None:
            raise layout.CorruptBackup(f"{info.name!r} has no content")
        if member.kind == "key":
            self._key(member.name, info.size, content)
            return
        if member.kind == "manifest":
            self.manifest = layout.Manifest.decode(_small(content, info.size, MAX_KEY_FILE))
            return
        if not self.database and member.kind in ("database", "part"):
            self._begin_database(member.kind)
        if member.kind == "database":
            self._sqlite(content)
        elif member.kind == "part":
            self._part(member.number, info.size, content)
        else:
            self._blob(member.name, content)

    def _key(self, name: str, size: int, content: IO[bytes]) -> None:
        if self.database or self.blobs or name in self.keys:
            raise layout.CorruptBackup("key files out of place")
        self.keys[name] = _small(content, size, MAX_KEY_FILE)

    def _begin_database(self, kind: str) -> None:
        if layout.SECRET_KEY not in self.keys:
            raise layout.CorruptBackup("no secret key before the database")
        # Checked before anything is written: another install's keys here
        # would leave the restored reports unopenable by receipt.
        check_keys(self.install.keys_dir, self.keys)
        self.database = "sqlite" if kind == "database" else "postgresql"
        if (self.target is None) != (self.database == "postgresql"):
            raise RestoreRefused(
                f"this backup holds a {self.database} database; "
                "configure a database of the same kind (REGISTRY_DATABASE_URL)"
            )
        if self.target is None:
            self.psql = _Psql(self.install.database_url, self.schema)

    def _sqlite(self, content: IO[bytes]) -> None:
        if self.sqlite_copy is not None:
            raise layout.CorruptBackup("two databases")
        target = self.target
        if target is None:
            raise layout.CorruptBackup("a SQLite database for a PostgreSQL install")
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # WHY beside the target: the restored database will live in that very
        # folder; the staging copy holds nothing the final file does not.
        self.sqlite_copy = target.parent / f".restore-{secrets.token_hex(8)}.sqlite3"
        _write_new(self.sqlite_copy, content)

    def _part(self, number: int, size: int, content: IO[bytes]) -> None:
        if number != self.parts or size > PART_BYTES or self.psql is None or self.blobs:
            raise layout.CorruptBackup("database parts out of order")
        self.parts += 1
        while chunk := content.read(READ_CHUNK):
            self.psql.write(chunk)

    def _blob(self, name: str, content: IO[bytes]) -> None:
        if not self.database or (self.blobs and name <= self.blobs[-1]):
            raise layout.CorruptBackup("blobs out of order")
        self.blob_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_new(self.blob_dir / name, content)
        self.blobs.append(name)

    def _check_complete(self) -> None:
        manifest = self.manifest
        if manifest is None:
            raise layout.CorruptBackup("the archive ends before its manifest")
        expected = (manifest.database, manifest.blobs, sorted(manifest.keys))
        if expected != (self.database, len(self.blobs), sorted(self.keys)):
            raise layout.CorruptBackup("the manifest does not match the archive")
        if self.database == "postgresql" and manifest.parts != self.parts:
            raise layout.CorruptBackup("database parts missing")

    def apply(self, receipt_params: bytes | None) -> RestoreResult:
        if self.psql is not None:
            self.psql.commit()
            self.psql = None
        elif self.sqlite_copy is not None and self.target is not None:
            _copy_sqlite(self.sqlite_copy, self.target)
        store = BlobStore(self.install.storage_dir)
        store.ensure()
        stamp = midnight()
        for name in self.blobs:
            os.replace(self.blob_dir / name, store.kept / name)
            # Dated the day of the restore, like every kept blob (promise 3).
            os.utime(store.kept / name, (stamp, stamp))
        self.install.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, data in self.keys.items():
            path = self.install.keys_dir / name
            if not path.exists():
                _write_new(path, io.BytesIO(data))
        upgrade(self.install.database_url, receipt_params=receipt_params)
        return RestoreResult(self.database, len(self.blobs), sorted(self.keys))

    def clean(self) -> None:
        if self.psql is not None:
            self.psql.abandon()
        if self.sqlite_copy is not None:
            shred_file(self.sqlite_copy)
        shutil.rmtree(self.blob_dir, ignore_errors=True)


def _small(content: IO[bytes], size: int, limit: int) -> bytes:
    if size > limit:
        raise layout.CorruptBackup("a key file or manifest too large")
    return content.read(size)


def _write_new(path: Path, content: IO[bytes]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        while chunk := content.read(READ_CHUNK):
            handle.write(chunk)


def _copy_sqlite(copy: Path, target: Path) -> None:
    """Write the staged database into ``target`` with SQLite's backup API.

    WHY not a rename: a target that exists (an install where ``registry
    init`` ran) may have a WAL beside it that a renamed file would be read
    with; the backup API replaces the target's content under its own lock.
    """
    source = sqlite3.connect(copy)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()


class _Psql:
    """``psql`` reading the dump inside one transaction that commits only when told."""

    def __init__(self, url: str, schema: str | None) -> None:
        uri, env = libpq_target(url)
        command = [
            tool("psql"),
            "--no-psqlrc",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={uri}",
            "--file=-",
        ]
        self.process = subprocess.Popen(  # noqa: S603  (fixed tool, arguments from configuration)
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.stdin = pipe(self.process.stdin)
        self.errors = ErrorTail(pipe(self.process.stderr))
        # WHY our own BEGIN and no COMMIT until the whole file is checked:
        # psql commits what it has read when its input ends, and a cut
        # backup would end it early.  Abandoned, the transaction rolls back.
        self.write(b"BEGIN;\n")
        if schema is not None:
            # An install where `registry init` ran: its empty tables go, in
            # the same transaction as the restore.
            quoted = '"' + schema.replace('"', '""') + '"'
            self.write(f"DROP SCHEMA {quoted} CASCADE;\nCREATE SCHEMA {quoted};\n".encode())

    def write(self, data: bytes) -> None:
        try:
            self.stdin.write(data)
        except BrokenPipeError:
            self.abandon()
            raise RestoreFailed(f"psql stopped: {self.errors.text()}") from None

    def commit(self) -> None:
        self.write(b"COMMIT;\n")
        with contextlib.suppress(BrokenPipeError):
            self.stdin.close()
        status = self.process.wait()
        self.errors.close()
        if status != 0:
            raise RestoreFailed(f"psql failed: {self.errors.text()}")

    def abandon(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(BrokenPipeError):
            self.stdin.close()
        self.errors.close()
