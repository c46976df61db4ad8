"""What the queue's "news since my last visit" costs as a reviewer's openings pile up.

``python -m bench.fresh_news [--backend sqlite|postgresql|both] [--rows 100000]
[--openings 50,400,1000] [--cases 300] [--repeats 5]``

Every queue page asks for the ids of the cases with news for its reader
(``registry.review.attention.fresh_ids``), read from the reader's own
``case.opened`` events in the audit log.  Part c's HTTP queue pages run
before any case is opened, and its second round after only 50 openings
each, so this measures the query alone as the log grows: ``--rows`` bulk
reports (``bench.seed``), 4 reviewers, and for each figure of
``--openings`` that many events per reviewer spread over ``--cases``
cases (nine in ten openings, one in ten a change by staff), then the
reviewer's fresh ids, best and median of ``--repeats``.  The events are
written directly (their hashes are not a chain): only their columns
matter to the query.  On PostgreSQL, after ``ANALYZE``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from bench.backends import BACKEND_CHOICES, database, usable
from bench.seed import bulk_reports
from registry.db import make_engine
from registry.models import Account, AuditEvent, Report
from registry.review.attention import fresh_ids

REVIEWERS = 4
CHANGES = ("case.status", "case.noted")


def _accounts(engine: Engine) -> list[int]:
    with engine.begin() as conn:
        first = (conn.scalar(select(func.max(Account.id))) or 0) + 1
        ids = list(range(first, first + REVIEWERS))
        conn.execute(
            insert(Account),
            [{"id": i, "email": f"fresh{i}@bench.invalid", "role": "reviewer"} for i in ids],
        )
    return ids


def _add_events(engine: Engine, accounts: list[int], refs: list[str], count: int) -> None:
    """``count`` more events per reviewer, at random among ``refs``."""
    rng = random.Random(count)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        start = (conn.scalar(select(func.max(AuditEvent.id))) or 0) + 1
        rows = []
        for n in range(start, start + count * len(accounts)):
            who = accounts[n % len(accounts)]
            action = "case.opened" if rng.random() < 0.9 else rng.choice(CHANGES)
            rows.append(
                {
                    "id": n,
                    "at": at,
                    "actor": f"account:{who}",
                    "actor_id": who,
                    "action": action,
                    "report_ref": rng.choice(refs),
                    "prev_hash": n.to_bytes(32, "big"),
                    "hash": (n + 2**64).to_bytes(32, "big"),
                }
            )
        conn.execute(insert(AuditEvent), rows)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE audit_events"))


def run(url: str, openings: list[int], cases: int, repeats: int) -> list[tuple[int, float, float]]:
    """(openings per reviewer, best ms, median ms) of one reviewer's fresh ids."""
    engine = make_engine(url)
    try:
        accounts = _accounts(engine)
        with engine.connect() as conn:
            refs = list(conn.scalars(select(Report.public_id).order_by(Report.id).limit(cases)))
        results, done = [], 0
        for wanted in sorted(openings):
            _add_events(engine, accounts, refs, wanted - done)
            done = wanted
            times = []
            with engine.connect() as conn, Session(bind=conn) as session:
                for _ in range(repeats + 1):
                    began = time.perf_counter()
                    fresh_ids(session, accounts[0])
                    times.append((time.perf_counter() - began) * 1000)
            times = times[1:]  # the first prepares the statement
            results.append((wanted, min(times), statistics.median(times)))
        return results
    finally:
        engine.dispose()


def main() -> None:
    """Parse arguments, measure each backend, print a markdown table."""
    parser = argparse.ArgumentParser(prog="python -m bench.fresh_news", description=__doc__)
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default="both")
    parser.add_argument("--rows", type=int, default=100_000, help="bulk reports stored")
    parser.add_argument("--openings", default="50,400,1000", help="events per reviewer")
    parser.add_argument("--cases", type=int, default=300, help="cases the events fall on")
    parser.add_argument("--repeats", type=int, default=5, help="queries timed per figure")
    args = parser.parse_args()
    openings = [int(part) for part in args.openings.split(",")]
    notes: list[str] = []
    print(f"| events per reviewer ({args.rows:,} reports, {args.cases} cases) | best / median ms |")
    print("|---|---|")
    with tempfile.TemporaryDirectory(prefix="sviedka-fresh-") as tmp:
        for backend in usable(args.backend, notes):
            with database(backend, Path(tmp) / backend.lower()) as url:
                bulk_reports(url, args.rows)
                for count, best, median in run(url, openings, args.cases, args.repeats):
                    print(f"| {backend}, {count:,} | {best:.2f} / {median:.2f} |")
    print("\n".join(notes))


if __name__ == "__main__":
    main()
