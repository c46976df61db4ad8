"""Reading a SQLite database's pages directly, as someone holding the file would.

A plain ``SELECT`` may read a covering index instead of the table, and
says nothing about where rows sit; these helpers walk the b-tree pages
themselves (https://sqlite.org/fileformat2.html, section 1.6) to see the
order rows are stored in.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``at``: (value, offset after it)."""
    value = 0
    for n in range(8):
        byte = data[at + n]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + n + 1
    return (value << 8) | data[at + 8], at + 9


_INT_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def _record(payload: bytes) -> list[object]:
    """The leading columns of a record whose bytes are all in ``payload``."""
    header_end, at = _varint(payload, 0)
    kinds = []
    while at < header_end:
        kind, at = _varint(payload, at)
        kinds.append(kind)
    values: list[object] = []
    at = header_end
    for kind in kinds:
        if kind in _INT_SIZES:
            size = _INT_SIZES[kind]
        elif kind >= 12:
            size = (kind - 12) // 2
        else:  # NULL, the constants 0 and 1, and floats (none here but as 8 bytes)
            size = 8 if kind == 7 else 0
        if at + size > len(payload):
            break  # the rest lies on overflow pages
        raw = payload[at : at + size]
        if kind in _INT_SIZES:
            values.append(int.from_bytes(raw, "big", signed=True))
        elif kind >= 12:
            values.append(raw.decode() if kind % 2 else raw)
        else:
            values.append({0: None, 8: 0, 9: 1}.get(kind, raw))
        at += size
    return values


@dataclass
class RawFile:
    """A database's pages, and a connection to it for reading its schema.

    The pages are ``conn.serialize()``: the bytes of the file with its WAL
    folded in, page for page as a copy of the disk would hold them.
    """

    conn: sqlite3.Connection
    data: bytes

    @classmethod
    def open(cls, path: str) -> RawFile:
        """Connect to the database file at ``path`` and take its pages."""
        conn = sqlite3.connect(path)
        return cls(conn, conn.serialize())

    def has_rowid(self, table: str) -> bool:
        """Whether ``table`` is an ordinary (rowid) table."""
        (sql,) = self.conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        return not str(sql).rstrip().upper().endswith("WITHOUT ROWID")

    def key(self, table: str) -> list[str]:
        """The primary-key columns of ``table``, in key order."""
        info = self.conn.execute(f"PRAGMA table_info({table})").fetchall()
        return [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]]

    def records(self, table: str) -> list[tuple[int | None, list[object]]]:
        """(rowid or None, leading columns) of every row, in stored order."""
        (root,) = self.conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        found: list[tuple[int | None, list[object]]] = []
        self._walk(int(root), found)
        return found

    def _walk(self, page: int, found: list[tuple[int | None, list[object]]]) -> None:
        size = int.from_bytes(self.data[16:18], "big") or 65536
        usable = size - self.data[20]
        base = (page - 1) * size
        head = base + (100 if page == 1 else 0)
        kind, cells = self.data[head], int.from_bytes(self.data[head + 3 : head + 5], "big")
        leaf = kind in (10, 13)
        pointers = head + (8 if leaf else 12)
        for n in range(cells):
            cell = base + int.from_bytes(self.data[pointers + 2 * n : pointers + 2 * n + 2], "big")
            if not leaf:
                self._walk(int.from_bytes(self.data[cell : cell + 4], "big"), found)
                cell += 4
            if kind == 5:
                continue  # a table's interior cell holds only a rowid bound
            length, at = _varint(self.data, cell)
            rowid = None
            if kind == 13:
                rowid, at = _varint(self.data, at)
            # How much of the payload is on this page (file format 1.6).
            most = usable - 35 if kind == 13 else (usable - 12) * 64 // 255 - 23
            least = (usable - 12) * 32 // 255 - 23
            local = least + (length - least) % (usable - 4)
            local = length if length <= most else (local if local <= most else least)
            found.append((rowid, _record(self.data[at : at + local])))
        if not leaf:
            self._walk(int.from_bytes(self.data[head + 8 : head + 12], "big"), found)
