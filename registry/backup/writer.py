"""``registry backup``: a running registry's keys, database and blobs, encrypted as written.

The archive (docs/backup.md) is produced a member at a time
(registry.packing.tarstream) and encrypted with ``age`` while it is read
(registry.packing.agestream): nothing of it exists in the clear outside
this process's memory, except the SQLite copy explained in snapshot.py.

Member order: keys, database, blobs (by name), manifest.  Keys first, so a
restore can refuse a target holding another secret key before it writes
anything; the manifest last, so a restore knows the archive ended where
its writer ended it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from pyrage import x25519
from sqlalchemy import NullPool, create_engine, make_url, select
from sqlalchemy.engine import Engine

from registry.attachments.storage import is_blob_name
from registry.keyring.escrow import installed_escrow
from registry.models import Attachment
from registry.packing.agestream import encrypted
from registry.packing.tarstream import Member, tar_stream

from . import layout
from .snapshot import (
    READ_CHUNK,
    Snapshot,
    SnapshotFailed,
    in_memory,
    postgres_snapshot,
    sqlite_snapshot,
)

MAX_KEY_FILE = 64 * 1024


@dataclass(frozen=True)
class Installation:
    """Where a registry keeps what a backup holds (from its configuration)."""

    database_url: str
    storage_dir: Path
    keys_dir: Path
    instance_dir: Path


@dataclass
class BackupResult:
    """What a finished backup holds, and what it could not."""

    blobs: int = 0
    database: str = ""
    # Report public ids whose file the database names but storage lacks:
    # damage that was there before the backup (exit status 1).
    missing: list[str] = field(default_factory=list)
    # Files deleted after the snapshot, with their rows (a withdrawal or a
    # retention purge meanwhile): the backup holds rows the registry no
    # longer has, and a restore shows those files as missing.
    gone: list[str] = field(default_factory=list)


def escrow_recipient(keys_dir: Path) -> tuple[list[Any], bytes]:
    """A fresh age identity sealed to the escrow key: its recipient and the file header.

    Raises :class:`registry.keyring.escrow.NoEscrow` without ``keys/escrow.pub``.
    WHY a fresh identity per backup: the identity opens this backup only;
    it leaves this process sealed to the escrow key and nowhere else.
    """
    escrow = installed_escrow(keys_dir)
    identity = x25519.Identity.generate()
    header = layout.escrow_header(str(identity), escrow.public, escrow.fingerprint)
    return [identity.to_public()], header


def age_recipients(recipients: list[str]) -> list[Any]:
    """The pyrage recipients of ``age1…`` strings (already checked by the caller)."""
    return [x25519.Recipient.from_str(text) for text in recipients]


def write_backup(
    install: Installation, out: BinaryIO, recipients: list[Any], header: bytes, today: date
) -> BackupResult:
    """Write a backup of ``install`` to ``out``: ``header``, then the age file.

    Raises :class:`SnapshotFailed` (or ``PackFailed`` from the archive) when
    no complete backup could be written; ``out`` then holds an unfinished
    age file, which the caller deletes.
    """
    result = BackupResult()
    out.write(header)
    with _snapshot(install) as snapshot:
        result.database = snapshot.backend
        live = create_engine(install.database_url, poolclass=NullPool)
        try:
            members = _members(install, snapshot, live, result, today)
            for piece in encrypted(tar_stream(members, mtime=_midnight(today)), recipients):
                out.write(piece)
        finally:
            live.dispose()
    return result


def _midnight(today: date) -> int:
    # WHY the day only: entry times in the archive must not time the backup
    # (or anything else) to the second.
    return (today - date(1970, 1, 1)).days * 86400


def _snapshot(install: Installation) -> contextlib.AbstractContextManager[Snapshot]:
    url = make_url(install.database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database:
            raise SnapshotFailed("an in-memory SQLite database cannot be backed up")
        return sqlite_snapshot(Path(url.database), install.instance_dir)
    if url.get_backend_name() == "postgresql":
        return postgres_snapshot(install.database_url)
    raise SnapshotFailed(f"unsupported database {url.get_backend_name()}")


def _members(
    install: Installation, snapshot: Snapshot, live: Engine, result: BackupResult, today: date
) -> Iterator[Member]:
    keys = list(_key_members(install.keys_dir))
    yield from keys
    yield from snapshot.members()
    blobs = install.storage_dir / "blobs"
    for public_id, blob in snapshot.blobs:
        member = _blob_member(blobs, blob)
        if member is not None:
            result.blobs += 1
            yield member
        elif _still_named(live, blob):
            result.missing.append(public_id)
        else:
            result.gone.append(public_id)
    manifest = layout.Manifest(
        snapshot.backend,
        snapshot.parts,
        result.blobs,
        tuple(member.path.rsplit("/", 1)[1] for member in keys),
        today.isoformat(),
    ).encode()
    yield Member(layout.MANIFEST, len(manifest), lambda: iter([manifest]))


def _key_members(keys_dir: Path) -> Iterator[Member]:
    secret = keys_dir / layout.SECRET_KEY
    if not secret.is_file():
        raise SnapshotFailed(f"no {secret}: without it no receipt opens after a restore")
    names = [layout.SECRET_KEY] + sorted(
        entry.name
        for entry in os.scandir(keys_dir)
        if entry.is_file(follow_symlinks=False) and layout.PUBLIC_KEY_FILE.fullmatch(entry.name)
    )
    for name in names:
        data = (keys_dir / name).read_bytes()
        if len(data) > MAX_KEY_FILE:
            raise SnapshotFailed(f"{keys_dir / name} is too large for a key file")
        yield Member(f"{layout.KEY_DIR}/{name}", len(data), in_memory(data))


def _blob_member(blobs: Path, name: str) -> Member | None:
    """The member of a kept blob, opened now (a deletion after this does not cut it)."""
    if not is_blob_name(name):
        # A tampered row must not name a path; counted as missing.
        return None
    try:
        handle = (blobs / name).open("rb")
    except FileNotFoundError:
        return None
    size = os.fstat(handle.fileno()).st_size

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(READ_CHUNK):
                yield chunk

    return Member(f"{layout.BLOB_DIR}/{name}", size, chunks)


def _still_named(live: Engine, blob: str) -> bool:
    """Whether the live database still names ``blob`` (else it went after the snapshot)."""
    with live.connect() as conn:
        found = conn.execute(select(Attachment.id).where(Attachment.blob == blob)).first()
    return found is not None
