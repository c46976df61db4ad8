"""What a maintenance job is, what it is given, and what it answers.

A job is a name and a function ``run(ctx) -> JobOutcome``.  The function
does its work in its own transaction(s) and says how many things it
removed; the runner (:mod:`registry.maintenance.runner`) prints the counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from config import Config
from registry.attachments.storage import BlobStore


@dataclass(frozen=True)
class JobOutcome:
    """What one job did.

    ``count`` is how many things it removed (0: nothing to do).  ``note``,
    when set, is shown in the summary instead of ``"<name> <count>"``.
    ``shrunk`` names the tables that lost rows, so that the database job
    that runs last can VACUUM exactly those on PostgreSQL.
    """

    count: int
    note: str | None = None
    shrunk: frozenset[str] = frozenset()


@dataclass
class JobContext:
    """Everything a job may use: configuration, database, blob store, the run's time.

    ``shrunk`` collects the tables that lost rows in this run, from the
    outcomes of the jobs that ran before.
    """

    cfg: Config
    engine: Engine
    store: BlobStore
    now: datetime
    shrunk: set[str] = field(default_factory=set)

    def session(self) -> Session:
        """A new database session on the run's engine (the job commits or rolls back)."""
        return Session(self.engine)


@dataclass(frozen=True)
class Job:
    """One maintenance job: the name the summary and errors use, and its function."""

    name: str
    run: Callable[[JobContext], JobOutcome]
