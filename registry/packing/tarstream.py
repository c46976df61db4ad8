"""A tar archive produced a piece at a time, pulled by its reader.

``tarfile`` in stream mode (``w|``) pushes into a file object, and copies a
whole member in one call; the age encryptor (registry.packing.agestream)
pulls its input instead.  So the members are laid out here as a generator:
each header is ``tarfile.TarInfo.tobuf`` (POSIX pax, UTF-8 names: what
``tarfile`` itself writes), then the member's chunks as they come, then the
padding; the end is tarfile's two zero blocks and its record padding.
Nothing is held but the chunk in hand, whatever the size of a member.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE


class MemberSizeChanged(Exception):
    """A member's content was longer or shorter than its header said (the pack is cut)."""


@dataclass(frozen=True)
class Member:
    """One member: its path, size, and a callable giving its content in chunks."""

    path: str
    size: int
    chunks: Callable[[], Iterator[bytes]]
    mode: int = 0o600


def _directory(path: str, mtime: int) -> bytes:
    info = tarfile.TarInfo(path)
    info.type = tarfile.DIRTYPE
    info.mode = 0o700
    info.mtime = mtime
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def tar_stream(members: Iterable[Member], *, mtime: int) -> Generator[bytes, None, None]:
    """The bytes of a tar archive of ``members``, in order, a piece at a time.

    Parent directories are written before their first member.  ``mtime``
    dates every entry (a day, not the moment of export: the pack must not
    time the coordinator's work to the second).  A member whose content
    differs from its declared size raises :class:`MemberSizeChanged`:
    the archive, and the encrypted pack around it, is then left unfinished,
    which every reader reports as an error.
    """
    written = 0
    seen: set[str] = set()
    for member in members:
        parts = member.path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directory = "/".join(parts[:depth]) + "/"
            if directory not in seen:
                seen.add(directory)
                header = _directory(directory, mtime)
                written += len(header)
                yield header
        info = tarfile.TarInfo(member.path)
        info.size = member.size
        info.mode = member.mode
        info.mtime = mtime
        header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        written += len(header)
        yield header
        sent = 0
        chunks = member.chunks()
        try:
            for chunk in chunks:
                sent += len(chunk)
                if sent > member.size:
                    raise MemberSizeChanged(member.path)
                yield chunk
        finally:
            # Closed at once, also when the stream is abandoned: a member
            # reading a file closes it now, not when it is collected.
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if sent != member.size:
            raise MemberSizeChanged(member.path)
        written += sent
        padding = -sent % BLOCK
        if padding:
            written += padding
            yield bytes(padding)
    end = 2 * BLOCK
    end += -(written + end) % RECORD
    yield bytes(end)
