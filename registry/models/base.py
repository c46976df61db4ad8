"""Declarative base and shared column types."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, MetaData, Table, insert, inspect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names so Alembic migrations are identical on
# SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {bytes: LargeBinary}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# Primary keys of rows a submitter's action creates (reports, their key
# wraps, messages, attachments) and every column that refers to a report.
# 64-bit on PostgreSQL to hold random ids; on SQLite it must stay spelled
# INTEGER, the only spelling that makes the primary key the rowid (which is
# 64-bit already).
RowId = BigInteger().with_variant(Integer(), "sqlite")


# Table options of the tables keyed by (report id, something) whose rows a
# submitter's action writes (sealed fields, violation codes, flags).
#
# WHY: a SQLite table whose primary key is not a single INTEGER column keeps
# a hidden rowid that counts up (largest + 1), and stores its rows in rowid
# order: a seized file would list reports in the order they were filed and
# put a report's rows between rows staff wrote (a coded violation), whose
# times the audit log keeps to the second.  A WITHOUT ROWID table has no
# such counter and stores its rows in primary-key order, which leads with
# the report's random id and so says nothing about time (promise 12).
# PostgreSQL ignores the option; what its heap still tells is in README.md.
# Migration 0010 rebuilt the existing tables this way.
NO_ROWID = {"sqlite_with_rowid": False}


def random_row_id() -> int:
    """A random primary key in [1, 2**62]: says nothing about when a row was made.

    WHY: sequential ids interleave rows a submitter creates with rows staff
    create (key wraps of a grant, replies), whose times the audit log keeps
    to the second; an id between two of those would date a submitter's
    action to within minutes, where only the day may be kept (promise 3).
    62 bits keep ids positive on a signed 64-bit column with room to spare;
    two equal ids among even ten million rows have a chance of ~1e-5
    (birthday bound n**2 / 2**63), and a clash would only fail that one
    insert on the primary key, never overwrite a row.
    """
    return secrets.randbits(62) + 1


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


def table_of(model: type[Base]) -> Table:
    """The table a model class maps, for Core statements on it.

    WHY Core on hot paths: an insert into the mapped class goes through the
    ORM's bulk path, and an added object through the unit of work; for the
    few rows a submission or a case opening writes, either cost more CPU
    than the statement itself (bench.submit_profile, bench.page_profile).
    """
    return cast(Table, model.__table__)


def insert_now(db: Session, row: Base) -> None:
    """Insert ``row`` with one Core statement, at once, outside the unit of work.

    Only the attributes set on ``row`` are written; the columns' defaults
    fill the others in the database row (not on ``row``, which stays a
    transient copy for the caller: give it every value it will read back,
    its primary key included).  A constraint violation raises here.
    """
    table = table_of(type(row))
    state = inspect(row).dict
    db.execute(insert(table), [{c.key: state[c.key] for c in table.columns if c.key in state}])
