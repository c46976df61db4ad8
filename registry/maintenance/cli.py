"""``registry maintain``: every maintenance job once, or ``--loop`` for ``make run``.

Exit status: 0 when every job succeeded or another run held the lock
(that run does the work); 1 when a job failed (named on stderr, the other
jobs still ran) or the lock could not be asked for (database down); 2 for
unusable configuration.  Output is counts only (README "Maintenance").
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click
from sqlalchemy import Engine

from config import Config
from registry.attachments.storage import BlobStore
from registry.cli_common import config_or_exit
from registry.db import make_engine
from registry.maintenance.framework import JobContext
from registry.maintenance.jobs import JOBS
from registry.maintenance.lock import exclusive
from registry.maintenance.runner import run_once
from registry.models.base import utcnow
from registry.retention.rules import check_config as check_retention

ALREADY_RUNNING = "maintain: another run holds the lock; it does the work, nothing done here."


def run_and_report(
    cfg: Config,
    engine: Engine,
    *,
    quiet_when_idle: bool = False,
    stop: threading.Event | None = None,
) -> int:
    """One locked run of every job; print the summary; return the exit status."""
    stopping = stop or threading.Event()
    try:
        with exclusive(engine, cfg.instance_dir) as taken:
            if not taken:
                if not quiet_when_idle:
                    click.echo(ALREADY_RUNNING)
                return 0
            ctx = JobContext(cfg=cfg, engine=engine, store=BlobStore(cfg.storage_dir), now=utcnow())
            report = run_once(ctx, JOBS, should_stop=stopping.is_set)
    except Exception as error:  # the lock itself failed: the database is unreachable
        click.echo(f"maintain: the run lock failed: {type(error).__name__}", err=True)
        return 1
    for name, error_type in report.failures:
        click.echo(f"maintain: job {name} failed: {error_type}", err=True)
    if not (quiet_when_idle and report.idle):
        click.echo(report.summary())
    return 0 if report.ok else 1


@click.command("maintain")
@click.option(
    "--loop",
    is_flag=True,
    help="Keep running: once every REGISTRY_MAINTAIN_EVERY_SECONDS until stopped (make run).",
)
def maintain(loop: bool) -> None:
    """Run every maintenance job once: sweeps, expired staff rows, WAL checkpoint or VACUUM."""
    # The retention job deletes by these settings: a misspelt disposition
    # must stop the run (one line naming the variable), as it stops the site.
    cfg = config_or_exit(check_retention)
    engine = make_engine(cfg.database_url)
    try:
        if not loop:
            sys.exit(run_and_report(cfg, engine))
        _loop(cfg, engine)
    finally:
        engine.dispose()


def _loop(cfg: Config, engine: Engine) -> None:
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        # WHY finish the current job rather than die: each job is its own
        # transaction, so dying would be safe too, but a clean end lets the
        # advisory lock and the connection go at once.
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"maintain: running every {cfg.maintain_every_seconds} s", err=True)
    while not stop.is_set():
        # Quiet when there was nothing to do: make run's terminal is shared
        # with the site's.  A failure is never quiet, and never ends the loop
        # (the database may be back next time).
        run_and_report(cfg, engine, quiet_when_idle=True, stop=stop)
        stop.wait(cfg.maintain_every_seconds)
