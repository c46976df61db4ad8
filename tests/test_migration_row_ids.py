"""Migrations 0007 and 0010 on a database holding rows from before them.

0007: existing rows get their position in the report from the old, counting
ids (the order they came in); PostgreSQL loses the id sequences.  0010: the
tables keyed by report become WITHOUT ROWID on SQLite, stored in key order
rather than the order reports came in.  Both go down and up again.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, inspect, text

from registry.db import make_engine
from registry.models.migrate import alembic_config
from tests.sqlite_file import RawFile

REPORT = (
    "INSERT INTO reports (id, public_id, status, urgent, region, received_on, language,"
    " lookup_id, submitter_public_key, inbox_public_key, consent_contact, consent_publish,"
    " consent_refer) VALUES (:id, :public_id, 'new', false, 'minsk-city', '2025-01-01', 'en',"
    " :lookup, :key, :key, 'receipt', false, false)"
)
MESSAGE = (
    "INSERT INTO messages (public_id, report_id, direction, created_on, staff_copy,"
    " submitter_copy) VALUES (:public_id, :report_id, 'to-staff', '2025-01-01', :x, :x)"
)
ATTACHMENT = (
    "INSERT INTO attachments (public_id, report_id, blob, sealed_key, sealed_meta, added_on)"
    " VALUES (:public_id, :report_id, :public_id, :x, :x, '2025-01-01')"
)
# Report of each message and file in the order they came (two cases
# interleaved), and the position 0007 must give it.
ARRIVALS = ((1, 1), (2, 1), (1, 2), (1, 3), (2, 2), (1, 4))
ID_SEQUENCES = {f"{t}_id_seq" for t in ("reports", "key_wraps", "messages", "attachments")}


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    server = database_url.rsplit("/", 1)[0]
    name = f"sviedka_0007_{secrets.token_hex(4)}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _positions(conn: Connection, table: str) -> list[tuple[str, int, int]]:
    rows = conn.execute(text(f"SELECT public_id, report_id, seq FROM {table}"))  # noqa: S608
    return sorted(tuple(row) for row in rows)


def _sequences(conn: Connection) -> set[str]:
    if conn.dialect.name != "postgresql":
        return set()
    return set(conn.scalars(text("SELECT sequence_name FROM information_schema.sequences")))


def test_existing_rows_keep_their_order(empty_url: str) -> None:
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "0006")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            for report_id in (1, 2):
                values = {"id": report_id, "public_id": f"R{report_id}", "key": b"k"}
                conn.execute(text(REPORT), {**values, "lookup": os.urandom(32)})
            for n, (report_id, _seq) in enumerate(ARRIVALS):
                for sql, prefix in ((MESSAGE, "M"), (ATTACHMENT, "A")):
                    conn.execute(
                        text(sql), {"public_id": f"{prefix}{n}", "report_id": report_id, "x": b"x"}
                    )
        command.upgrade(cfg, "0007")
        with engine.connect() as conn:
            for table, prefix in (("messages", "M"), ("attachments", "A")):
                # Per report, 1, 2, … in the order of arrival.
                assert _positions(conn, table) == [
                    (f"{prefix}{n}", report_id, seq) for n, (report_id, seq) in enumerate(ARRIVALS)
                ]
            # No counter left to hand out ids, or to tell how many rows were made.
            assert not _sequences(conn) & ID_SEQUENCES
        # Down (0006's code inserts without ids again) and up once more.
        command.downgrade(cfg, "0006")
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                assert _sequences(conn) >= ID_SEQUENCES
            conn.execute(text(MESSAGE), {"public_id": "M6", "report_id": 1, "x": b"x"})
        command.upgrade(cfg, "0007")
        with engine.connect() as conn:
            assert ("M6", 1, 5) in _positions(conn, "messages")
    finally:
        engine.dispose()


# Tables 0010 rebuilds WITHOUT ROWID on SQLite, with a row each to put in.
REBUILT = {
    "sealed_fields": "INSERT INTO sealed_fields (report_id, name, ciphertext) VALUES (:r, 'n', :x)",
    "report_violations": "INSERT INTO report_violations (report_id, code) VALUES (:r, 'torture')",
    "report_flags": "INSERT INTO report_flags (report_id, code) VALUES (:r, 'child')",
}
# Reports in the order they were filed: not the order of their ids.
FILED = (30, 10, 20)


def _stored_reports(path: str, table: str) -> list[object]:
    """Report ids of ``table``'s rows in the order its b-tree pages hold them."""
    pages = RawFile.open(path)
    try:
        return [values[0] for _rowid, values in pages.records(table)]
    finally:
        pages.conn.close()


def test_0010_stores_rows_in_key_order_not_filing_order(empty_url: str) -> None:
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "0009")
    sqlite = empty_url.startswith("sqlite")
    path = empty_url.removeprefix("sqlite:///")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            for report_id in FILED:
                values = {"id": report_id, "public_id": f"R{report_id}", "key": b"k"}
                conn.execute(text(REPORT), {**values, "lookup": os.urandom(32)})
                for sql in REBUILT.values():
                    # Long enough for overflow pages in a WITHOUT ROWID table.
                    conn.execute(text(sql), {"r": report_id, "x": os.urandom(3000)})
        with engine.connect() as conn:
            rows = {t: sorted(conn.execute(text(f"SELECT * FROM {t}"))) for t in REBUILT}  # noqa: S608
        if sqlite:
            # Before: rowid tables, stored in filing order.
            assert _stored_reports(path, "sealed_fields") == list(FILED)
        command.upgrade(cfg, "0010")
        engine.dispose()
        inspector = inspect(engine)
        for table in REBUILT:
            with engine.connect() as conn:
                assert sorted(conn.execute(text(f"SELECT * FROM {table}"))) == rows[table]  # noqa: S608
            if sqlite:
                assert inspector.get_table_options(table) == {"sqlite_with_rowid": False}
                assert _stored_reports(path, table) == sorted(FILED), table
        assert {i["name"] for i in inspector.get_indexes("report_violations")} == {
            "ix_report_violations_code"
        }
        # Down: rowid tables again, their rowids given in key order.
        command.downgrade(cfg, "0009")
        engine.dispose()
        with engine.connect() as conn:
            for table in REBUILT:
                assert sorted(conn.execute(text(f"SELECT * FROM {table}"))) == rows[table]  # noqa: S608
            if sqlite:
                by_rowid = conn.scalars(text("SELECT report_id FROM report_flags ORDER BY rowid"))
                assert list(by_rowid) == sorted(FILED)
        command.upgrade(cfg, "0010")
    finally:
        engine.dispose()
