"""Whether an install is empty enough to restore a backup onto.

WHY refuse rather than merge: a restore replaces the database whole.  Onto
an install that already holds reports, accounts or files it would destroy
them, or leave blobs no row names; onto one with another ``secret.key``
every receipt of the install's own reports would stop opening.  So the
target must hold no report, no account and no file, and any key file it
already has must be the backup's own.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import NullPool, create_engine, func, inspect, make_url, select, text

from registry.models import Account, Report

# Where a registry keeps files under its storage directory (BlobStore).
STORAGE_FOLDERS = ("blobs", "held", "tmp")


class TargetNotEmpty(Exception):
    """The target install holds something a restore would destroy; the message says what."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL, None for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database:
        raise TargetNotEmpty("an in-memory SQLite database cannot be restored into")
    return Path(url.database)


def check_empty(database_url: str, storage_dir: Path) -> str | None:
    """Refuse a target whose database or storage holds anything (see :func:`check_database`)."""
    schema = check_database(database_url)
    check_storage(storage_dir)
    return schema


def check_storage(storage_dir: Path) -> None:
    """Refuse a storage directory that holds any file."""
    for folder in STORAGE_FOLDERS:
        path = storage_dir / folder
        if not path.is_dir():
            continue
        with os.scandir(path) as entries:
            holds_files = any(True for _ in entries)
        if holds_files:
            raise TargetNotEmpty(f"{path} holds files; restore only onto an empty install")


def check_database(database_url: str) -> str | None:
    """Refuse a database holding a report or an account.

    Returns, on PostgreSQL, the schema to empty first when it holds tables
    (an install where ``registry init`` already ran); None otherwise.
    """
    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        return None
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            for model, what in ((Report, "reports"), (Account, "accounts")):
                if model.__tablename__ in tables:
                    count = conn.scalar(select(func.count()).select_from(model)) or 0
                    if count:
                        raise TargetNotEmpty(
                            f"the target database holds {count} {what}; "
                            "restore only onto an empty install"
                        )
            if path is None and tables:
                return str(conn.scalar(text("SELECT current_schema()")))
    finally:
        engine.dispose()
    return None


def check_keys(keys_dir: Path, keys: dict[str, bytes]) -> None:
    """Refuse a key file in ``keys_dir`` that differs from the backup's copy of it."""
    for name, data in keys.items():
        path = keys_dir / name
        if path.exists() and path.read_bytes() != data:
            raise TargetNotEmpty(
                f"{path} exists and differs from the backup's: this install made keys of "
                "its own. Restore onto an install whose keys directory is empty."
            )
