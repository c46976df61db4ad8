"""The two database backends: a SQLite file and a fresh PostgreSQL database."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from registry.db import make_engine
from registry.models.migrate import upgrade
from registry.reforms.service import load_catalogue
from registry.taxonomy.service import load_vocabularies

SQLITE = "SQLite"
POSTGRESQL = "PostgreSQL"
# A ``--backend`` option's choices, for :func:`usable`.
BACKEND_CHOICES = ("sqlite", "postgresql", "both")


def usable(choice: str, notes: list[str]) -> Iterator[str]:
    """The backends a ``--backend`` choice names that can run here (``both``: SQLite first).

    A backend that cannot run (PostgreSQL absent) is skipped with a note in ``notes``.
    """
    named = {"sqlite": [SQLITE], "postgresql": [POSTGRESQL]}.get(choice, [SQLITE, POSTGRESQL])
    for backend in named:
        if backend == POSTGRESQL and (problem := pg_problem()):
            notes.append(f"**{POSTGRESQL} skipped:** {problem}")
            continue
        yield backend


PG_ADMIN_URL = os.environ.get(
    "REGISTRY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pg_problem() -> str | None:
    """Why PostgreSQL cannot be used, or ``None`` when it answers."""
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means "no PostgreSQL here"
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A new, migrated database with reference data; PostgreSQL's is dropped afterwards."""
    if backend == SQLITE:
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / 'registry.sqlite3'}"
        _prepare(url)
        yield url
        return
    name = f"sviedka_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        _prepare(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _prepare(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            load_vocabularies(session)
            load_catalogue(session)
            session.commit()
    finally:
        engine.dispose()
