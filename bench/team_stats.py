"""Part h, in process: the team's statistics page with 100,000 reports (issue 11).

``python -m bench.team_stats`` (both databases; ``--rows``, ``--requests``).
Budget: ``/review/stats`` p95 ≤ 100 ms.

The database is part c's: :func:`bench.seed.bulk_reports` (skewed plain
columns), plus messages for :data:`CONVERSED` of the reports (1-4 each,
alternating sides, the first reply 0-60 days after receipt; sealed copies
stand in as random bytes of a short message's size), so the reply and
waiting figures have rows to group.

A coordinator logged in through the real login form (real default costs,
``Config()``) asks for the page through Flask's test client, the whole
request timed: session and account, the filter choices, the figures, ten
charts and the template.  The worker's first page builds its statistics
snapshot (registry.review.stats.StatsIndex): timed apart, and the build
alone three times.  Then every filter combination in turn, ``--requests``
pages in all, twice: with every chart drawn afresh (the chart cache
cleared before each page: figures not seen before), and again with the
charts kept (the same figures asked for again, as between two snapshot
refreshes); and the figures alone (``registry.review.stats.team_stats``)
per combination, so the table shows where the time goes.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bench.backends import POSTGRESQL, SQLITE, database, pg_problem
from bench.report import Rows, render
from bench.seed import _statistics, bulk_reports
from bench.server import ESCROW_FILE_COST
from bench.staff import PASSWORD, enrol_in_process
from bench.stats import Samples
from config import Config
from registry import create_app, db
from registry.db import make_engine
from registry.evidence import charts
from registry.keyring.escrow import create_escrow
from registry.models import Direction, Message, ReformProposal, Report, Role
from registry.review.queue import QueueFilters
from registry.review.stats import build, team_stats

CONVERSED = 0.3
BATCH = 5_000
# Sealed copies of a short message (padded envelope), random stand-ins.
COPY_BYTES = 600
COMBINATIONS: dict[str, str] = {
    "no filter": "",
    "status=new": "status=new",
    "status=new, region=minsk-city": "status=new&region=minsk-city",
    "region=gomel": "region=gomel",
    "violation=torture (45 %)": "violation=torture",
    "violation=life (rare)": "violation=life",
    "place=street, unit=omon": "place=street&unit=omon",
    "proposal (first in the catalogue)": "proposal={proposal}",
    "received 2025-01-01..2025-06-30": "from=2025-01-01&to=2025-06-30",
}


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def seed_messages(database_url: str, share: float = CONVERSED, seed: int = 11) -> int:
    """Give ``share`` of the reports a conversation; return how many messages."""
    rng = random.Random(seed)
    engine = make_engine(database_url)
    written = 0
    try:
        with Session(engine) as session:
            reports = session.execute(select(Report.id, Report.received_on)).all()
        chosen = [r for r in reports if rng.random() < share]
        with engine.begin() as conn:
            rows: list[dict[str, Any]] = []
            for report_id, received_on in chosen:
                day = received_on + timedelta(days=rng.randint(0, 60))
                # Most conversations start with a staff reply; some with the submitter.
                staff_first = rng.random() < 0.8
                for seq in range(1, rng.randint(1, 4) + 1):
                    staff_turn = (seq % 2 == 1) == staff_first
                    rows.append(
                        {
                            "id": rng.getrandbits(62) + 1,
                            "public_id": secrets.token_hex(6),
                            "report_id": report_id,
                            "seq": seq,
                            "direction": (
                                Direction.TO_SUBMITTER if staff_turn else Direction.TO_STAFF
                            ).value,
                            "created_on": day,
                            "staff_copy": os.urandom(COPY_BYTES),
                            "submitter_copy": os.urandom(COPY_BYTES),
                        }
                    )
                    day += timedelta(days=rng.randint(0, 14))
                if len(rows) >= BATCH:
                    conn.execute(insert(Message), rows)
                    written += len(rows)
                    rows = []
            if rows:
                conn.execute(insert(Message), rows)
                written += len(rows)
    finally:
        engine.dispose()
    _statistics(database_url)
    return written


def _coordinator(app: Flask) -> tuple[str, bytes]:
    """An enrolled coordinator (real password cost): email and TOTP secret."""
    email = f"coordinator-{secrets.token_hex(4)}@example.org"
    return email, enrol_in_process(app, email, Role.COORDINATOR)


def _logged_in(app: Flask) -> FlaskClient:
    email, secret = _coordinator(app)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/staff/login").get_data(as_text=True)
    token = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    code = TOTP(secret, 6, SHA1(), 30).generate(time.time()).decode()  # noqa: S303
    answer = client.post(
        "/staff/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD, "code": code},
    )
    if answer.status_code != 303:
        raise RuntimeError(f"login: HTTP {answer.status_code}")
    return client


@dataclass
class StatsCosts:
    """Samples of the page and of the figures alone, by filter combination."""

    reports: int = 0
    messages: int = 0
    first: Samples = field(default_factory=Samples)
    builds: Samples = field(default_factory=Samples)
    pages: dict[str, Samples] = field(default_factory=dict)
    cold: dict[str, Samples] = field(default_factory=dict)
    figures: dict[str, Samples] = field(default_factory=dict)
    page_bytes: int = 0

    def all_pages(self, cold: bool = False) -> Samples:
        """Every timed page, whatever its filters (``cold``: charts drawn afresh)."""
        merged = Samples()
        for samples in (self.cold if cold else self.pages).values():
            merged.wall.extend(samples.wall)
            merged.cpu.extend(samples.cpu)
        return merged


def _paths(proposal: str) -> dict[str, str]:
    return {
        label: "/review/stats" + ("?" + query.format(proposal=proposal) if query else "")
        for label, query in COMBINATIONS.items()
    }


def _page(client: FlaskClient, path: str) -> int:
    answer = client.get(path)
    if answer.status_code != 200 or 'id="total"' not in answer.get_data(as_text=True):
        raise RuntimeError(f"{path}: HTTP {answer.status_code}")
    return len(answer.get_data())


def run(database_url: str, folder: Path, requests: int, messages: int) -> StatsCosts:
    """Time the page on a database already seeded with reports and messages."""
    keys = folder / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    create_escrow(keys, folder / "escrow-private.key", "bench escrow passphrase", ESCROW_FILE_COST)
    cfg = Config(
        database_url=database_url,
        instance_dir=folder / "instance",
        keys_dir=keys,
        storage_dir=folder / "storage",
    )
    app = create_app(cfg)
    costs = StatsCosts(messages=messages)
    client = _logged_in(app)
    with app.app_context():
        proposal = (
            db.session().scalars(select(ReformProposal.code).order_by(ReformProposal.code)).first()
        )
    paths = _paths(proposal or "")
    with costs.first.timing():
        costs.page_bytes = _page(client, paths["no filter"])
    rounds = max(requests // len(paths), 1)
    for label in paths:
        costs.pages[label] = Samples()
        costs.cold[label] = Samples()
    # Charts drawn afresh for every page: a filter combination, or figures,
    # not seen before (each page's ten charts cost pygal 5-7 ms each).
    for _ in range(rounds):
        for label, path in paths.items():
            charts._drawn.cache_clear()
            with costs.cold[label].timing():
                _page(client, path)
    # Pages asked for again with the same figures: their charts are kept.
    for path in paths.values():
        _page(client, path)
    for _ in range(rounds):
        for label, path in paths.items():
            with costs.pages[label].timing():
                _page(client, path)
    today = datetime.now(UTC).date()
    with app.app_context():
        snapshot = costs.builds.run(3, partial(build, db.engine(), 0.0))[-1]
        costs.reports = snapshot.reports.size
        for label, query in COMBINATIONS.items():
            filters = _filters(query.format(proposal=proposal or ""))
            costs.figures[label] = samples = Samples()
            samples.run(rounds, partial(team_stats, snapshot, filters, today))
        db.engine().dispose()
    return costs


def _filters(query: str) -> QueueFilters:
    args = dict(pair.split("=", 1) for pair in query.split("&") if pair)
    received = {
        "received_from": args.pop("from", None),
        "received_to": args.pop("to", None),
    }
    dates = {
        name: datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).date()
        for name, value in received.items()
        if value
    }
    return QueueFilters(**args, **dates)  # type: ignore[arg-type]


def rows(costs: StatsCosts) -> Rows:
    """Table rows: the page p50 / p95 overall and by filters, the figures alone."""
    merged, cold = costs.all_pages(), costs.all_pages(cold=True)
    found: Rows = [
        (
            f"**h. /review/stats in process** ({costs.reports:,} reports, "
            f"{costs.messages:,} messages)",
            "",
        ),
        (
            f"/review/stats p50 / p95 ms, charts kept (n={len(merged.wall)}; budget p95 ≤ 100)",
            _p50_p95(merged),
        ),
        (
            f"/review/stats p50 / p95 ms, every chart drawn afresh (n={len(cold.wall)})",
            _p50_p95(cold),
        ),
        ("· first page of a worker (builds its snapshot), ms", f"{costs.first.mean_ms:.0f}"),
        ("· statistics snapshot build (ms mean / p95, CPU; n=3)", costs.builds.summary()),
        ("· page size, KB (10 charts and their tables)", f"{costs.page_bytes / 1024:.1f}"),
    ]
    for label, samples in costs.pages.items():
        found.append((f"· page, charts kept, {label} (ms p50 / p95)", _p50_p95(samples)))
    for label, samples in costs.cold.items():
        found.append((f"· page, charts afresh, {label} (ms p50 / p95)", _p50_p95(samples)))
    for label, samples in costs.figures.items():
        found.append((f"· figures alone, {label} (ms mean / p95, CPU)", samples.summary()))
    return found


def _p50_p95(samples: Samples) -> str:
    return f"{samples.p_ms(0.5):.1f} / {samples.p_ms(0.95):.1f}"


def measure(backend: str, folder: Path, args: argparse.Namespace) -> Rows:
    """Seed a database on ``backend`` and time the page."""
    with database(backend, folder) as url:
        _log(f"{backend}: h. inserting {args.rows:,} reports")
        bulk_reports(url, args.rows)
        _log(f"{backend}: h. messages for {CONVERSED:.0%} of them")
        messages = seed_messages(url)
        _log(f"{backend}: h. {args.requests} stats pages")
        return rows(run(url, folder, args.requests, messages))


def main() -> None:
    """Both backends, side by side."""
    parser = argparse.ArgumentParser(prog="python -m bench.team_stats", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="reports stored")
    parser.add_argument("--requests", type=int, default=270, help="stats pages timed")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    results: dict[str, Rows | str] = {}
    # The one-minute load average (``uptime``) before each backend: the
    # machine has 2 cores and other work may share them.
    loads: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sviedka-bench-stats-") as tmp:
        loads.append(f"{SQLITE} {os.getloadavg()[0]:.2f}")
        results[SQLITE] = measure(SQLITE, Path(tmp) / "sqlite", args)
        problem = pg_problem()
        if not problem:
            loads.append(f"{POSTGRESQL} {os.getloadavg()[0]:.2f}")
        results[POSTGRESQL] = problem or measure(POSTGRESQL, Path(tmp) / "postgresql", args)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = render(
        f"Measured {when} (part h, /review/stats; load average at the start: {', '.join(loads)})",
        results,
    )
    print(table)
    if args.out:
        args.out.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
