"""Every maintenance job, in the order ``registry maintain`` runs them.

How to add a job: write a function ``run(ctx: JobContext) -> JobOutcome``
in the module of the feature it serves (it takes what it needs from
``ctx``: ``ctx.session()``, ``ctx.cfg``, ``ctx.store``, ``ctx.now``; it
commits its own transaction; a job run twice in a row finds nothing to
do the second time and returns ``JobOutcome(0)``; it names the tables it
deleted rows from in ``JobOutcome.shrunk`` so they are vacuumed), then
add ``Job("<name>", <function>)`` to :data:`JOBS` at the registration point
marked below.  The summary line shows ``<name> <count>``.  Counts only:
nothing about a submitter or a case may be in a note.
"""

from __future__ import annotations

from datetime import timedelta

from registry.auth.sessions import Timeouts
from registry.maintenance import accounts
from registry.maintenance.database import checkpoint_sqlite, vacuum_postgresql
from registry.maintenance.framework import Job, JobContext, JobOutcome
from registry.notices.sending import send_due
from registry.retention.purge import TABLES_TOUCHED, purge_due, sweep_orphan_blobs


def _sessions(ctx: JobContext) -> JobOutcome:
    timeouts = Timeouts.from_config(ctx.cfg)
    with ctx.session() as db, db.begin():
        count = accounts.delete_expired_sessions(db, timeouts, ctx.now)
    return JobOutcome(count, shrunk=_if(count, "staff_sessions"))


def _invites(ctx: JobContext) -> JobOutcome:
    with ctx.session() as db, db.begin():
        count = accounts.delete_spent_invites(db, ctx.now)
    return JobOutcome(count, shrunk=_if(count, "invites"))


def _recovery_codes(ctx: JobContext) -> JobOutcome:
    with ctx.session() as db, db.begin():
        count = accounts.delete_spent_recovery_codes(db)
    return JobOutcome(count, shrunk=_if(count, "recovery_codes"))


def _login_throttle(ctx: JobContext) -> JobOutcome:
    forget_after = timedelta(hours=ctx.cfg.login_forget_hours)
    with ctx.session() as db, db.begin():
        count = accounts.delete_stale_throttle_rows(db, forget_after, ctx.now)
    return JobOutcome(count, shrunk=_if(count, "login_throttles"))


def _tmp(ctx: JobContext) -> JobOutcome:
    # The web workers sweep too (registry.attachments.sweep), but only while
    # requests arrive: an idle site after a crash would keep its leftovers.
    # File locks decide what is safe to delete, so both may run at once.
    return JobOutcome(ctx.store.sweep_incoming())


def _held(ctx: JobContext) -> JobOutcome:
    return JobOutcome(ctx.store.sweep_held())


def _database(ctx: JobContext) -> JobOutcome:
    if ctx.engine.dialect.name == "sqlite":
        done = checkpoint_sqlite(ctx.engine)
        return JobOutcome(0, note="wal ok" if done else "wal busy")
    vacuumed = vacuum_postgresql(ctx.engine, ctx.shrunk)
    return JobOutcome(len(vacuumed), note=f"vacuum {len(vacuumed)} tables")


class RetentionFailed(RuntimeError):
    """Some cases due for deletion could not be purged (the next run tries again)."""


def _retention(ctx: JobContext) -> JobOutcome:
    with ctx.session() as db:
        result = purge_due(db, ctx.cfg, ctx.store, today=ctx.now.date())
    if result.failed:
        # The runner names the job on stderr and exits non-zero; counts only.
        raise RetentionFailed(f"{len(result.failed)} cases")
    count = len(result.purged)
    return JobOutcome(count, shrunk=TABLES_TOUCHED if count else frozenset())


def _orphan_blobs(ctx: JobContext) -> JobOutcome:
    # Blobs whose rows a purge (or withdrawal) committed away but whose
    # deletion a killed run never reached.
    with ctx.session() as db:
        return JobOutcome(sweep_orphan_blobs(db, ctx.store))


def _notices(ctx: JobContext) -> JobOutcome:
    # Sends (and waits on the mail server) here only, never in a request.
    with ctx.session() as db:
        result = send_due(db, ctx.cfg, now=ctx.now)
    retry = f"notices {result.sent} ({result.failed} to retry)" if result.failed else None
    return JobOutcome(result.sent, note=retry)


def _if(count: int, table: str) -> frozenset[str]:
    return frozenset({table}) if count else frozenset()


# Deleting jobs first, the database job last: it vacuums what they shrank.
DATABASE = Job("database", _database)

JOBS: list[Job] = [
    Job("sessions", _sessions),
    Job("invites", _invites),
    Job("recovery codes", _recovery_codes),
    Job("login throttle", _login_throttle),
    Job("tmp", _tmp),
    Job("held", _held),
    Job("retention", _retention),
    Job("orphan blobs", _orphan_blobs),
    Job("notices", _notices),
    DATABASE,
]
