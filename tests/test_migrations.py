"""Migrations: empty → head on both databases, and models match the schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from registry.db import make_engine
from registry.models import Base


def test_models_match_migrated_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_all_tables_exist(database_url: str) -> None:
    engine = create_engine(database_url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} <= names


def test_sqlite_tables_have_rowids_exactly_where_the_models_say(sqlite_database_url: str) -> None:
    """``compare_metadata`` ignores table options, so WITHOUT ROWID is compared here."""
    engine = create_engine(sqlite_database_url)
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        options = inspector.get_table_options(table.name)
        with_rowid = options.get("sqlite_with_rowid", True)
        assert with_rowid == table.dialect_options["sqlite"]["with_rowid"], table.name
    engine.dispose()
