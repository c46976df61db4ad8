"""Migration 0011: the queue's indexes hold what its pages read, down and up again.

``ix_reports_by_id`` gains the public id and month the queue's table shows,
``ix_reports_month`` the facet columns, ``ix_case_mappings_proposal_code``
the report id.  Rows stored before are untouched either way.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from registry.db import make_engine
from registry.models.migrate import alembic_config
from registry.reforms.service import load_catalogue

FACETS = ["status", "region", "urgent", "language", "assignee_id", "place", "unit"]
AT_0010 = {
    ("reports", "ix_reports_by_id"): ["id", "received_on", *FACETS],
    ("reports", "ix_reports_month"): ["incident_month", "id"],
    ("case_mappings", "ix_case_mappings_proposal_code"): ["proposal_code"],
}
AT_0011 = {
    ("reports", "ix_reports_by_id"): ["id", "received_on", *FACETS, "public_id", "incident_month"],
    ("reports", "ix_reports_month"): ["incident_month", "id", *FACETS],
    ("case_mappings", "ix_case_mappings_proposal_code"): ["proposal_code", "report_id"],
}
REPORT = (
    "INSERT INTO reports (id, public_id, status, urgent, region, received_on, language,"
    " lookup_id, submitter_public_key, inbox_public_key, consent_contact, consent_publish,"
    " consent_refer, incident_month) VALUES (:id, :public_id, 'new', false, 'minsk-city',"
    " '2025-01-01', 'en', :lookup, :key, :key, 'receipt', false, false, '2020-08')"
)
MAPPING = (
    "INSERT INTO case_mappings (report_id, proposal_code, strength, sealed_rationale,"
    " created_at) VALUES (:report_id, :code, 'strong', :x, '2025-01-02')"
)


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    server = database_url.rsplit("/", 1)[0]
    name = f"sviedka_0011_{secrets.token_hex(4)}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _indexes(url: str) -> dict[tuple[str, str | None], list[str | None]]:
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return {
            (table, index["name"]): index["column_names"]
            for table in ("reports", "case_mappings")
            for index in inspector.get_indexes(table)
            if (table, index["name"]) in AT_0011
        }
    finally:
        engine.dispose()


def _rows(url: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [
                tuple(row)
                for row in conn.execute(
                    text(
                        "SELECT r.public_id, r.incident_month, m.proposal_code FROM reports r"
                        " JOIN case_mappings m ON m.report_id = r.id ORDER BY r.public_id"
                    )
                )
            ]
    finally:
        engine.dispose()


def test_0011_widens_the_queue_indexes_and_back(empty_url: str) -> None:
    config = alembic_config(empty_url)
    command.upgrade(config, "0010")
    assert _indexes(empty_url) == AT_0010
    engine = make_engine(empty_url)
    with Session(engine) as session:  # the catalogue's tables are the same at 0010
        load_catalogue(session)
        session.commit()
    with engine.begin() as conn:
        code = conn.scalar(text("SELECT code FROM reform_proposals ORDER BY code LIMIT 1"))
        for n in (1, 2):
            conn.execute(
                text(REPORT),
                {
                    "id": n,
                    "public_id": f"R{n}",
                    "lookup": os.urandom(32),
                    "key": os.urandom(16),
                },
            )
            conn.execute(text(MAPPING), {"report_id": n, "code": code, "x": os.urandom(16)})
    engine.dispose()
    before = _rows(empty_url)
    assert len(before) == 2

    command.upgrade(config, "0011")
    assert _indexes(empty_url) == AT_0011
    assert _rows(empty_url) == before

    command.downgrade(config, "0010")
    assert _indexes(empty_url) == AT_0010
    assert _rows(empty_url) == before
    command.upgrade(config, "head")
    assert _indexes(empty_url) == AT_0011
