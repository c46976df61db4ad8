"""``python -m bench``: Sviedka's benchmarks on SQLite and PostgreSQL, side by side.

a. in process: seal+store vs plain store, and the breakdown of a submission;
b. HTTP: concurrent submissions through gunicorn (2 workers);
c. HTTP: queue pages (filters, counts, sorts), searches and case pages with 100,000
   reports stored, worker memory; in process: uncached counts and search cost;
d. HTTP: submissions with a 5 MiB file, and worker memory while 5 / 50 MiB stream in;
e. HTTP: GET / while 200 slow clients hang on, and one upload at Tor speed (25 KB/s);
f. cleaning photos: each worst case alone (CPU, memory), and ten in one request (HTTP);
g. in process, once: one report sealed by Sviedka, by GPG (as SecureDrop) and with NaCl
   sealed boxes (as GlobaLeaks), side by side (``--peers-only`` runs only this).

Real default KDF costs throughout (``Config()``); every request goes to
127.0.0.1; every loop is bounded by a count.  Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    cleaning,
    evidence_build,
    evidence_pages,
    inprocess,
    load,
    peers,
    queue_search,
    slow_clients,
    uploads,
)
from bench.backends import POSTGRESQL, SQLITE, database, pg_problem
from bench.report import Rows, http_rows, inprocess_rows, render, search_rows
from bench.seed import bulk_reports, seal_newest, staff_ids
from bench.server import start
from bench.staff import enrol_reviewer
from bench.workload import case_paths, queue_paths, search_paths

REVIEWERS = 5
# Queue pages per reviewer after the case pages (part c).
QUEUE_AFTER = 50


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(backend: str, folder: Path, args: argparse.Namespace) -> Rows:
    """Every measurement on one backend."""
    rows = measure_inprocess(backend, folder, args)
    rows.extend(measure_pages(backend, folder, args))
    rows.extend(measure_uploads(backend, folder, args))
    rows.extend(measure_slow(backend, folder, args))
    rows.extend(measure_cleaning(backend, folder, args))
    return rows


def measure_pages(backend: str, folder: Path, args: argparse.Namespace) -> Rows:
    """Parts b and c: submissions over HTTP, then the staff pages over them."""
    rows: Rows = []
    with database(backend, folder / "http") as url:
        server = start(url, folder / "http")
        try:
            _log(f"{backend}: enrolling {REVIEWERS} reviewers over HTTP")
            reviewers = [enrol_reviewer(url, server.port) for _ in range(REVIEWERS)]
            _log(f"{backend}: b. {args.reports} submissions by {args.clients} clients")
            submitted = load.submissions(server.port, args.reports, args.clients)
            _log(f"{backend}: c. inserting {args.rows:,} reports")
            began = time.perf_counter()
            bulk_reports(url, args.rows, assignees=staff_ids(url))
            seeded = time.perf_counter() - began
            _log(f"{backend}: c. sealing the newest {args.wrapped:,} for the reviewers")
            began = time.perf_counter()
            seal_newest(url, args.wrapped)
            sealed = time.perf_counter() - began
            clients = reviewers[: args.clients]
            _log(f"{backend}: c. queue pages")
            # Every queue page shows its total, also when a filter matches nothing.
            queue = load.fetch(
                clients, queue_paths(len(clients), args.queue_requests), 'id="total"'
            )
            _log(f"{backend}: c. searches")
            searches = load.fetch(
                clients, search_paths(len(clients), args.searches), 'id="searched"'
            )
            _log(f"{backend}: c. case pages")
            cases = load.fetch(
                clients, case_paths(url, len(clients), args.case_requests), 'id="narrative"'
            )
            # The queue again, now that each reviewer has opened cases: its
            # "news since my last visit" is read from those openings.
            _log(f"{backend}: c. queue pages after the case pages")
            queue_after = load.fetch(
                clients, queue_paths(len(clients), QUEUE_AFTER, seed=12), 'id="total"'
            )
            rss = server.worker_rss_mib()
        finally:
            server.stop()
        _log(f"{backend}: c. counts, sorts and search in process")
        costs = queue_search.run(url, args.cold_repeats, args.searches)
    rows.extend(http_rows(args, submitted, seeded, queue, cases, queue_after, rss))
    rows.extend(search_rows(args, sealed, searches))
    rows.extend(queue_search.rows(costs))
    return rows


def measure_inprocess(backend: str, folder: Path, args: argparse.Namespace) -> Rows:
    """Part a alone: a submission in process and where its time goes."""
    _log(f"{backend}: a. in process")
    with database(backend, folder / "inprocess") as url:
        return inprocess_rows(inprocess.run(url, args.sealed, args.plain, args.kdf))


def measure_cleaning(backend: str, folder: Path, args: argparse.Namespace) -> Rows:
    """Part f on its own server; the pictures are made once for both backends."""
    with database(backend, folder / "cleaning") as url:
        server = start(url, folder / "cleaning")
        try:
            _log(f"{backend}: f. cleaning photos (worst cases alone, then ten per request)")
            probes, tens = cleaning.run(server, folder.parent / "pictures")
        finally:
            server.stop()
    return cleaning.rows(probes, tens)


def measure_slow(backend: str, folder: Path, args: argparse.Namespace) -> Rows:
    """Part e on its own server: nothing else runs while slow clients hang on."""
    with database(backend, folder / "slow") as url:
        server = start(url, folder / "slow")
        try:
            _log(
                f"{backend}: e. {args.slow_clients} slow clients, "
                f"one {args.tor_upload_mib:g} MiB upload at 25 KB/s"
            )
            result = slow_clients.run(
                server, args.tor_upload_mib, args.slow_clients, args.quiet_pages
            )
        finally:
            server.stop()
    return slow_clients.rows(result)


def measure_uploads(backend: str, folder: Path, args: argparse.Namespace) -> Rows:
    """Part d on its own server, so part b's posts do not count against the rate limit."""
    with database(backend, folder / "uploads") as url:
        server = start(url, folder / "uploads")
        try:
            _log(f"{backend}: d. enrolling {REVIEWERS} reviewers over HTTP")
            for _ in range(REVIEWERS):
                enrol_reviewer(url, server.port).close()
            _log(f"{backend}: d. uploads ({args.upload_reports} reports × 2, one file each size)")
            result = uploads.run(
                server,
                url,
                args.upload_reports,
                args.clients,
                args.upload_mib,
                (args.upload_mib, args.big_upload_mib),
            )
        finally:
            server.stop()
    return uploads.rows(result, args.upload_reports, args.clients)


def main() -> None:
    """Parse arguments, run both backends, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sealed", type=int, default=40, help="in-process sealed submissions")
    parser.add_argument("--plain", type=int, default=200, help="plain stores and breakdown runs")
    parser.add_argument("--kdf", type=int, default=10, help="receipt KDF runs")
    parser.add_argument("--reports", type=int, default=100, help="HTTP submissions")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (≤ 5)")
    parser.add_argument("--rows", type=int, default=100_000, help="reports stored for part c")
    parser.add_argument("--queue-requests", type=int, default=200, help="queue pages per client")
    parser.add_argument("--case-requests", type=int, default=50, help="case pages per client")
    parser.add_argument(
        "--wrapped", type=int, default=5_000, help="c: newest reports sealed for the reviewers"
    )
    parser.add_argument("--searches", type=int, default=9, help="c: searches per client")
    parser.add_argument(
        "--cold-repeats",
        type=int,
        default=10,
        help="c: in-process snapshot builds and pages per order (counts: 10 times as many)",
    )
    parser.add_argument(
        "--upload-reports", type=int, default=40, help="d: submissions without and with a file"
    )
    parser.add_argument("--upload-mib", type=int, default=5, help="d: file size of the load")
    parser.add_argument("--big-upload-mib", type=int, default=50, help="d: the one big upload")
    parser.add_argument("--uploads-only", action="store_true", help="run part d only")
    parser.add_argument(
        "--tor-upload-mib",
        type=float,
        default=2,
        help="e: size of the upload sent at 25 KB/s (50 takes 35 minutes)",
    )
    parser.add_argument("--slow-clients", type=int, default=200, help="e: slow connections")
    parser.add_argument("--quiet-pages", type=int, default=200, help="e: GET / without them")
    parser.add_argument("--slow-only", action="store_true", help="run part e only")
    parser.add_argument("--cleaning-only", action="store_true", help="run part f only")
    parser.add_argument("--inprocess-only", action="store_true", help="run part a only")
    parser.add_argument(
        "--pages-only", action="store_true", help="run parts b and c only (the staff pages)"
    )
    parser.add_argument(
        "--peer-runs", type=int, default=200, help="g: reports sealed by each way of sealing"
    )
    parser.add_argument(
        "--peers-only", action="store_true", help="run part g only (no database; ≈ 15 s)"
    )
    parser.add_argument(
        "--evidence-only",
        action="store_true",
        help=(
            "only issue 11's evidence budgets with --rows reports: snapshot builds "
            "(bench.evidence_build), then public pages over HTTP (bench.evidence_pages)"
        ),
    )
    parser.add_argument(
        "--evidence-requests",
        type=int,
        default=2_000,
        help="--evidence-only: GETs per client thread and kind of page",
    )
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    if args.evidence_only:
        _print(_evidence(args), args.out)
        return
    args.clients = min(args.clients, REVIEWERS)
    # Bounded so that part d stays a few seconds long.
    args.upload_reports = min(args.upload_reports, 55)
    if args.peers_only:
        _print(_title() + "\n\n" + _peers(args), args.out)
        return
    run = measure_uploads if args.uploads_only else measure
    if args.slow_only:
        run = measure_slow
    if args.cleaning_only:
        run = measure_cleaning
    if args.inprocess_only:
        run = measure_inprocess
    if args.pages_only:
        run = measure_pages
    results: dict[str, Rows | str] = {}
    with tempfile.TemporaryDirectory(prefix="sviedka-bench-") as tmp:
        results[SQLITE] = run(SQLITE, Path(tmp) / "sqlite", args)
        problem = pg_problem()
        if problem:
            _log(f"!!! PostgreSQL does not answer ({problem}): its column is SKIPPED !!!")
            results[POSTGRESQL] = problem
        else:
            results[POSTGRESQL] = run(POSTGRESQL, Path(tmp) / "postgresql", args)
    table = render(_title(), results)
    if run is measure:
        table += "\n\n" + _peers(args)
    _print(table, args.out)


def _peers(args: argparse.Namespace) -> str:
    """Part g, once (no database): the same report sealed by Sviedka and by peers' tools."""
    _log(f"g. one report sealed {args.peer_runs} times each: Sviedka, GPG, NaCl")
    return peers.render(peers.run(args.peer_runs))


def _evidence(args: argparse.Namespace) -> str:
    """Issue 11's budgets a-c: snapshot builds, then the public pages (sizes, req/s)."""
    rows = ["--rows", str(args.rows)]
    builds = evidence_build.table(evidence_build.parser().parse_args(rows))
    served = evidence_pages.table(
        evidence_pages.parser().parse_args(
            [*rows, "--clients", str(args.clients), "--requests", str(args.evidence_requests)]
        )
    )
    return f"{_title()}\n\n{builds}\n\n{served}"


def _title() -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Measured {when} on {platform.node()} ({platform.machine()}, {_cores()} cores)"


def _print(table: str, out: Path | None) -> None:
    print(table)
    if out:
        out.write_text(table + "\n", encoding="utf-8")


def _cores() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
