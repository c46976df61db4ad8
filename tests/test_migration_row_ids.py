"""Migration 0007 on a database holding messages and files from before it.

Existing rows get their position in the report from the old, counting ids
(the order they came in); PostgreSQL loses the id sequences; and the
migration goes down and up again.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, text

from registry.db import make_engine
from registry.migrate import alembic_config

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
