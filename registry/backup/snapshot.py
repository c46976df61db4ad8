"""A consistent snapshot of a running registry's database, and the blobs it names.

SQLite: the backup API copies the database, WAL included, in one step, so
the copy is one committed state however many requests write meanwhile.
PostgreSQL: a REPEATABLE READ transaction exports its snapshot, ``pg_dump
--snapshot`` dumps exactly that state, and the list of blobs is read in the
same transaction, so dump and list agree.

WHY the blob list comes from the snapshot, not from ``storage/``: a blob is
moved into place before its row commits (storage.BlobStore.keep_and_commit),
so every row in the snapshot has its blob on disk when the snapshot is
taken; blobs arriving later belong to rows the snapshot lacks, and are left
out.  A blob deleted after the snapshot (its report withdrawn or purged
meanwhile) is told apart from a missing one by the writer (writer.py).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import NullPool, Select, create_engine, make_url, select, text

from registry.attachments.storage import shred_file
from registry.models import Attachment, Report
from registry.packing.tarstream import Member

from . import layout

# The dump goes into the archive in parts of this size, each held in memory
# once: a tar member needs its size before its bytes, and the dump's size is
# known only at its end.  WHY not a temporary file: on PostgreSQL the
# database lives elsewhere; a dump on this disk would put it where it never was.
PART_BYTES = 8 * 1024 * 1024
READ_CHUNK = 64 * 1024
# How much of a tool's error output is kept for the message.
ERROR_TAIL = 2000


class SnapshotFailed(Exception):
    """The database could not be snapshotted (the message says why)."""


@dataclass
class Snapshot:
    """A taken snapshot: its backend, the blobs it names, its archive members."""

    backend: str
    # (report public id, blob name), in blob-name order: names are random,
    # so the archive's order says nothing of when a file arrived.
    blobs: list[tuple[str, str]]
    members: Callable[[], Iterator[Member]]
    # Parts of a PostgreSQL dump, counted as they are read (0 for SQLite).
    parts: int = 0


def _blob_query() -> Select[str, str]:
    return (
        select(Report.public_id, Attachment.blob)
        .join(Report, Report.id == Attachment.report_id)
        .order_by(Attachment.blob)
    )


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            yield chunk


@contextlib.contextmanager
def sqlite_snapshot(database: Path, staging_dir: Path) -> Iterator[Snapshot]:
    """Snapshot the SQLite file ``database`` into a temporary copy in ``staging_dir``.

    WHY a copy on disk, in the instance directory: the live database is in
    that directory already, byte for byte what the copy holds (sealed
    content, plain triage codes), so the copy reveals nothing the disk did
    not; it is 0600 and deleted when the backup ends.  A copy in memory
    would cost as much memory as the database is large.
    """
    if not database.is_file():
        raise SnapshotFailed(f"no database file at {database}")
    staging_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    copy = staging_dir / f".backup-{secrets.token_hex(8)}.sqlite3"
    os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        source = sqlite3.connect(database)
        target = sqlite3.connect(copy)
        try:
            # pages=-1 (the default): every page in one step, under one read
            # lock: one committed state, while writers go on in the WAL.
            source.backup(target)
            # A self-contained file (no WAL beside it) for any SQLite tool.
            target.execute("PRAGMA journal_mode=DELETE")
            blobs = _sqlite_blobs(target)
        finally:
            target.close()
            source.close()
        size = copy.stat().st_size
        member = Member(layout.DATABASE_SQLITE, size, lambda: _file_chunks(copy))
        yield Snapshot("sqlite", blobs, lambda: iter([member]))
    finally:
        # WHY shredded: the copy holds every sealed row as of now; its freed
        # blocks must not keep cases that retention or withdrawal delete later.
        shred_file(copy)


def _sqlite_blobs(connection: sqlite3.Connection) -> list[tuple[str, str]]:
    engine = create_engine("sqlite://", creator=lambda: connection, poolclass=NullPool)
    with engine.connect() as conn:
        rows = [(str(public_id), str(blob)) for public_id, blob in conn.execute(_blob_query())]
    return rows


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for ``url`` and the environment carrying its password.

    WHY the password in the environment: a command line is readable by
    every user of the machine (``ps``); the environment of a child is not.
    """
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def tool(name: str) -> str:
    """The path of a PostgreSQL client tool; :class:`SnapshotFailed` if it is not installed."""
    found = shutil.which(name)
    if found is None:
        raise SnapshotFailed(f"{name} is not installed (the PostgreSQL client tools are needed)")
    return found


def pipe(stream: IO[bytes] | None) -> IO[bytes]:
    """A child's pipe that ``subprocess.PIPE`` asked for (never None then)."""
    if stream is None:
        raise RuntimeError("no pipe to the child process")
    return stream


def in_memory(data: bytes) -> Callable[[], Iterator[bytes]]:
    """Chunks of a member held in memory: the one piece."""
    return lambda: iter([data])


class ErrorTail:
    """Drains a child's error output on a thread, keeping its end for the message."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._kept = b""
        self._stream = stream
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._kept = (self._kept + line)[-ERROR_TAIL:]

    def text(self) -> str:
        """What was kept (after the child ended)."""
        self._thread.join(5)
        return self._kept.decode("utf-8", "replace").strip()

    def close(self) -> None:
        """Close the pipe once the child has ended."""
        self._thread.join(5)
        self._stream.close()


@contextlib.contextmanager
def postgres_snapshot(url: str) -> Iterator[Snapshot]:
    """Snapshot the PostgreSQL database at ``url``; its dump is read as the archive asks."""
    pg_dump = tool("pg_dump")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as plain:
            conn = plain.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                exported = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
                blobs = [(str(p), str(b)) for p, b in conn.execute(_blob_query())]
                snapshot = Snapshot("postgresql", blobs, lambda: iter(()))
                snapshot.members = lambda: _dump_parts(pg_dump, url, exported, snapshot)
                # The exporting transaction stays open until the dump has
                # been read: pg_dump imports the snapshot it names.
                yield snapshot
    finally:
        engine.dispose()


def _dump_parts(pg_dump: str, url: str, exported: str, snapshot: Snapshot) -> Iterator[Member]:
    uri, env = libpq_target(url)
    # --no-owner, --no-privileges: the restore runs as whatever role the new
    # install uses.  Plain SQL: restored through psql in one transaction.
    command = [
        pg_dump,
        "--format=plain",
        "--no-owner",
        "--no-privileges",
        f"--snapshot={exported}",
        f"--dbname={uri}",
    ]
    process = subprocess.Popen(  # noqa: S603  (fixed tool, arguments from configuration)
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    output, errors = pipe(process.stdout), ErrorTail(pipe(process.stderr))
    try:
        while True:
            data = output.read(PART_BYTES)
            if not data and snapshot.parts:
                break
            name = layout.DATABASE_PART.format(snapshot.parts)
            yield Member(name, len(data), in_memory(data))
            snapshot.parts += 1
            if len(data) < PART_BYTES:
                break
        if process.wait() != 0:
            raise SnapshotFailed(f"pg_dump failed: {errors.text()}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        output.close()
        errors.close()
