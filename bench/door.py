"""The accept door (``registry.serving.door``) on and off, in turns, on one database.

``python -m bench.door [--backend sqlite|postgresql|both] [--rows 100000] [--rounds 6]
[--case 30] [--queue 60] [--submissions 60]``

On a shared two-core machine one run of part c moves by a quarter from the
next, more than the door changes; so this compares the two settings in
turns, on one database, where the machine's drift falls on both alike.

Part c's setup once per backend: 5 reviewers enrolled over HTTP, 100
submissions, ``--rows`` bulk reports and the newest 5,000 sealed for the
reviewers.  Then two gunicorns with 2 workers each on that database and the
same keys: one with the default (``REGISTRY_SERVE_ACCEPT_GRACE_SECONDS`` 0.1,
the door), one with 0 (no door: every worker takes every connection).  Each
round runs on the doorless server first, then on the door's, one server
busy at a time: case pages (4 reviewers × ``--case``, part c's mix), queue
pages (4 × ``--queue``) and ``--submissions`` by 4 clients.  The table gives,
per setting, the median over the rounds of each round's p50 and p95, the
workers' CPU per request (``/proc/<pid>/stat``), and in how many rounds the
door's p95 was the lower.  The doorless server runs each round first, so
the door's queue pages follow more openings (``bench.fresh_news``): a
handicap for the door, not a help.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bench import load
from bench.backends import BACKEND_CHOICES, database, usable
from bench.client import Client
from bench.seed import bulk_reports, seal_newest, staff_ids
from bench.server import Server, start
from bench.staff import enrol_reviewer
from bench.stats import percentile
from bench.workload import case_paths, queue_paths

SETTINGS = {"no door": "0", "door (0.1 s)": "0.1"}
KINDS = ("case", "queue", "submission")
CLIENTS = 4


@dataclass
class Round:
    """One kind of request on one server in one round."""

    p50: float
    p95: float
    cpu_ms: float


@dataclass
class Rounds:
    """Every round of one backend, by setting and kind."""

    by: dict[tuple[str, str], list[Round]] = field(default_factory=dict)


def _log(message: str) -> None:
    print(f"[door {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _measure(server: Server, run: Callable[[], load.LoadResult]) -> Round:
    before = server.worker_cpu_seconds()
    result = run()
    if result.failures:
        raise RuntimeError(f"{result.failures} requests failed")
    spent = server.worker_cpu_seconds() - before
    latencies = result.latencies
    return Round(
        p50=percentile(latencies, 0.5) * 1000,
        p95=percentile(latencies, 0.95) * 1000,
        cpu_ms=spent / len(latencies) * 1000,
    )


def run(backend: str, folder: Path, args: argparse.Namespace) -> Rounds:
    """Set up once, then alternate the two servers for ``args.rounds`` rounds."""
    rounds = Rounds()
    with database(backend, folder) as url:
        servers = {
            name: start(url, folder, settings={"REGISTRY_SERVE_ACCEPT_GRACE_SECONDS": grace})
            for name, grace in SETTINGS.items()
        }
        try:
            first = servers["no door"]
            _log(f"{backend}: enrolling reviewers, 100 submissions, {args.rows:,} reports")
            reviewers = [enrol_reviewer(url, first.port) for _ in range(5)][:CLIENTS]
            load.submissions(first.port, 100, CLIENTS)
            bulk_reports(url, args.rows, assignees=staff_ids(url))
            seal_newest(url, 5000)
            # The same sessions on both servers: they live in the database.
            clients = {
                name: [Client(server.port, dict(c.headers), dict(c.cookies)) for c in reviewers]
                for name, server in servers.items()
            }
            for name in servers:  # warm both: facet snapshots, caches
                load.fetch(clients[name], queue_paths(CLIENTS, 5, seed=99), 'id="total"')
                load.fetch(clients[name], case_paths(url, CLIENTS, 5, seed=98), 'id="narrative"')
            for number in range(args.rounds):
                _log(f"{backend}: round {number + 1} of {args.rounds}")
                cases = case_paths(url, CLIENTS, args.case, seed=13 + number)
                queues = queue_paths(CLIENTS, args.queue, seed=11 + number)
                for name, server in servers.items():
                    mine = clients[name]
                    measured = {
                        "case": _measure(
                            server, partial(load.fetch, mine, cases, 'id="narrative"')
                        ),
                        "queue": _measure(server, partial(load.fetch, mine, queues, 'id="total"')),
                        "submission": _measure(
                            server,
                            partial(load.submissions, server.port, args.submissions, CLIENTS),
                        ),
                    }
                    for kind, result in measured.items():
                        rounds.by.setdefault((name, kind), []).append(result)
        finally:
            for server in servers.values():
                server.stop()
    return rounds


def render(results: dict[str, Rounds]) -> str:
    """One markdown table: a row per setting and kind, a column per backend."""
    backends = list(results)
    lines = [
        "| median over rounds | " + " | ".join(backends) + " |",
        "|---|" + "---|" * len(backends),
    ]
    for kind in KINDS:
        for name in SETTINGS:
            cells = []
            for backend in backends:
                got = results[backend].by[(name, kind)]
                cells.append(
                    f"{statistics.median(r.p50 for r in got):.1f} / "
                    f"{statistics.median(r.p95 for r in got):.1f} ms, "
                    f"CPU {statistics.median(r.cpu_ms for r in got):.1f} ms"
                )
            lines.append(
                f"| {kind}, {name}: p50 / p95, worker CPU per request | " + " | ".join(cells) + " |"
            )
        wins = []
        for backend in backends:
            pairs = zip(
                results[backend].by[("no door", kind)],
                results[backend].by[("door (0.1 s)", kind)],
                strict=True,
            )
            outcomes = [door.p95 < without.p95 for without, door in pairs]
            wins.append(f"{sum(outcomes)} of {len(outcomes)}")
        lines.append(
            f"| {kind}: rounds in which the door's p95 was lower | " + " | ".join(wins) + " |"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, measure each backend, print markdown."""
    parser = argparse.ArgumentParser(prog="python -m bench.door", description=__doc__)
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default="both")
    parser.add_argument("--rows", type=int, default=100_000, help="bulk reports stored")
    parser.add_argument("--rounds", type=int, default=6, help="turns of both servers")
    parser.add_argument("--case", type=int, default=30, help="case pages per reviewer per turn")
    parser.add_argument("--queue", type=int, default=60, help="queue pages per reviewer per turn")
    parser.add_argument("--submissions", type=int, default=60, help="submissions per turn")
    args = parser.parse_args()
    results: dict[str, Rounds] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sviedka-door-") as tmp:
        for backend in usable(args.backend, notes):
            results[backend] = run(backend, Path(tmp) / backend.lower(), args)
    print(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("\n\n".join([render(results), *notes]))


if __name__ == "__main__":
    main()
