"""Where a queue page's and a case page's time goes: exact figures, then a profile.

``python -m bench.page_profile [--rows 100000] [--count 200] [--backend sqlite|postgresql|both]``

Part c's pages served in this process, with no HTTP server and no other
client, so what is left is the app's own cost per page: a fresh migrated
database, 5 reviewers enrolled through the app's services (invite,
password, TOTP, at the real default costs), a few reports submitted through
``submit_report`` with the app's sealing keys (the case pages open these,
as part c opens the ones part b submitted), then ``bench.seed``'s bulk rows
(``--rows``) and the newest ``--wrapped`` sealed for the reviewers.  One
reviewer logs in through the real login form of a Flask test client.

Then ``--count`` queue pages over part c's filter mixes
(``bench.workload.queue_paths``) and ``--count`` case pages, each timed by
the wall clock (``time.perf_counter``) and this process's CPU clock
(``time.process_time``), with the SQL statements each page sent (a
``before_cursor_execute`` listener on the app's engine).  Then the same
pages again under cProfile with the CPU clock: the top functions by
cumulative and by own time, in ms per page.  cProfile slows Python code
down ≈ 2-3×, so its figures are for ranking; the exact ones are unprofiled.

PostgreSQL runs on the same 2 cores: its CPU is not in this process's
clock, but its round trips are in the wall time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from bench import hotspots
from bench.backends import BACKEND_CHOICES, database, usable
from bench.hotspots import Hotspot
from bench.inprocess import TODAY, report_input
from bench.seed import bulk_reports, seal_newest, staff_ids
from bench.server import ESCROW_FILE_COST
from bench.staff import PASSWORD, _code, enrol_in_process
from bench.stats import percentile
from bench.workload import case_paths, queue_paths
from config import Config
from registry import create_app, db, runtime
from registry.intake.service import submit_report
from registry.keyring.escrow import create_escrow
from registry.models import Account, Role

REVIEWERS = 5
WARMUP = 20
KINDS = ("queue", "case")


@dataclass
class Pages:
    """Per page of one kind: wall and CPU seconds, SQL statements."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)


@dataclass
class KindProfile:
    """One kind of page on one backend: exact figures and hotspots."""

    pages: Pages = field(default_factory=Pages)
    profiled_ms: float = 0.0
    hotspots: list[Hotspot] = field(default_factory=list)
    own: list[Hotspot] = field(default_factory=list)


@dataclass
class BackendProfile:
    """All that was measured on one backend."""

    backend: str
    count: int
    rows: int
    kinds: dict[str, KindProfile] = field(default_factory=dict)


def _app(url: str, folder: Path) -> Flask:
    """The app as gunicorn builds it: real default costs, an escrow key, own folders."""
    keys = folder / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    create_escrow(keys, folder / "escrow-private.key", "bench escrow passphrase", ESCROW_FILE_COST)
    cfg = Config(
        database_url=url,
        instance_dir=folder / "instance",
        keys_dir=keys,
        storage_dir=folder / "storage",
    )
    return create_app(cfg)


def _enrol(app: Flask, number: int) -> tuple[str, bytes]:
    """One reviewer through the invite's services (as the invite pages call them)."""
    email = f"bench-reviewer-{number}@example.org"
    return email, enrol_in_process(app, email, Role.REVIEWER)


def _login(app: Flask, email: str, secret: bytes) -> FlaskClient:
    """A test client logged in through the real login form."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/staff/login").get_data(as_text=True)
    token = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    with app.app_context():
        account = db.session().query(Account).filter_by(email=email).one()
        last = account.totp_last_step or 0
    step = max(int(time.time() // 30), last + 1)
    answer = client.post(
        "/staff/login",
        data={
            "csrf_token": token,
            "email": email,
            "password": PASSWORD,
            "code": _code(secret, step),
        },
    )
    if answer.status_code != 303:
        raise RuntimeError(f"log in: HTTP {answer.status_code}")
    return client


def _submit(app: Flask, count: int) -> None:
    """``count`` really sealed reports (inbox key included), as the public form stores them."""
    with app.app_context():
        session, keys = db.session(), runtime.sealing_keys()
        for _ in range(count):
            submit_report(session, report_input(), keys, today=TODAY)
        session.commit()


@contextmanager
def _counting(app: Flask) -> Iterator[list[int]]:
    """A one-item list holding the number of SQL statements sent while the body runs."""
    seen = [0]

    def count(*_args: Any) -> None:
        seen[0] += 1

    with app.app_context():
        engine = db.engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _get(client: FlaskClient, path: str, marker: str) -> None:
    answer = client.get(path)
    if answer.status_code != 200 or marker not in answer.get_data(as_text=True):
        raise RuntimeError(f"{path}: HTTP {answer.status_code} or no {marker!r}")


MARKERS = {"queue": 'id="total"', "case": 'id="narrative"'}


def run(backend: str, url: str, folder: Path, args: argparse.Namespace) -> BackendProfile:
    """Seed ``url``, log a reviewer in, time and profile both kinds of page."""
    app = _app(url, folder)
    print(f"[profile] {backend}: enrolling {REVIEWERS} reviewers", file=sys.stderr)
    people = [_enrol(app, number) for number in range(REVIEWERS)]
    _submit(app, args.submitted)
    print(f"[profile] {backend}: {args.rows:,} rows, {args.wrapped:,} sealed", file=sys.stderr)
    bulk_reports(url, args.rows, assignees=staff_ids(url))
    seal_newest(url, args.wrapped)
    client = _login(app, *people[0])
    paths = {
        "queue": queue_paths(1, args.count + WARMUP)[0],
        "case": case_paths(url, 1, args.count + WARMUP)[0],
    }
    result = BackendProfile(backend, args.count, args.rows)
    for kind in KINDS:
        print(f"[profile] {backend}: {args.count} {kind} pages ×2", file=sys.stderr)
        marker, warm, measured = MARKERS[kind], paths[kind][:WARMUP], paths[kind][WARMUP:]
        for path in warm:
            _get(client, path, marker)
        profile = result.kinds[kind] = KindProfile()
        with _counting(app) as seen:
            for path in measured:
                before = seen[0]
                wall, cpu = time.perf_counter(), time.process_time()
                _get(client, path, marker)
                profile.pages.cpu.append(time.process_time() - cpu)
                profile.pages.wall.append(time.perf_counter() - wall)
                profile.pages.statements.append(seen[0] - before)
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for path in measured:
            _get(client, path, marker)
        profiler.disable()
        stats = pstats.Stats(profiler)
        if args.stats is not None:
            args.stats.mkdir(parents=True, exist_ok=True)
            stats.dump_stats(args.stats / f"{kind}-{backend.lower()}.pstats")
        _hotspots(profile, stats, args.count, args.top)
    with app.app_context():
        db.engine().dispose()
    return result


def _hotspots(profile: KindProfile, stats: pstats.Stats, count: int, top: int) -> None:
    profile.profiled_ms = 1000 * vars(stats)["total_tt"] / count
    spots = [spot for _file, _function, spot in hotspots.read(stats, count)]
    profile.hotspots, profile.own = hotspots.ranked(spots, top)


def render(results: list[BackendProfile]) -> str:
    """Markdown: per kind of page and backend, the exact figures; then the hotspots."""
    lines = [
        "| per page (n each, one client, in process) | "
        + " | ".join(r.backend for r in results)
        + " |",
        "|---|" + "---|" * len(results),
    ]

    def row(label: str, cell: Callable[[BackendProfile], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")

    def ms(values: list[float]) -> str:
        return (
            f"{1000 * statistics.fmean(values):.2f} / {1000 * percentile(values, 0.5):.2f} / "
            f"{1000 * percentile(values, 0.95):.2f}"
        )

    def of(kind: str, pick: Callable[[Pages], list[float]]) -> Callable[[BackendProfile], str]:
        return lambda r: ms(pick(r.kinds[kind].pages))

    row("reports stored", lambda r: f"{r.rows:,}")
    for kind in KINDS:
        row(f"**{kind}** pages measured", lambda r: str(r.count))
        row("· wall ms mean / p50 / p95", of(kind, lambda p: p.wall))
        row("· CPU ms mean / p50 / p95", of(kind, lambda p: p.cpu))
        row(
            "· SQL statements mean / max",
            lambda r, k=kind: (  # type: ignore[misc]
                f"{statistics.fmean(r.kinds[k].pages.statements):.1f} / "
                f"{max(r.kinds[k].pages.statements)}"
            ),
        )
        row("· CPU ms under cProfile", lambda r, k=kind: f"{r.kinds[k].profiled_ms:.2f}")  # type: ignore[misc]
    for result in results:
        for kind in KINDS:
            profile = result.kinds[kind]
            lines += hotspots.table(
                f"**{result.backend}, {kind} page: hotspots under cProfile** (CPU clock; "
                "ms per page; cumulative includes callees, so nested lines overlap)",
                "page",
                profile.hotspots,
            )
            lines += hotspots.table(
                f"**{result.backend}, {kind} page: by own time** (callees out)",
                "page",
                profile.own,
            )
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, measure each backend, print markdown."""
    parser = argparse.ArgumentParser(prog="python -m bench.page_profile", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="bulk reports stored")
    parser.add_argument("--wrapped", type=int, default=5_000, help="newest sealed for reviewers")
    parser.add_argument("--submitted", type=int, default=20, help="reports the case pages open")
    parser.add_argument("--count", type=int, default=200, help="pages of each kind, and profiled")
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default="both")
    parser.add_argument("--top", type=int, default=30, help="hotspots listed per page kind")
    parser.add_argument("--stats", type=Path, help="folder for the pstats files (snakeviz etc.)")
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    args = parser.parse_args()
    results = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sviedka-pages-") as tmp:
        for backend in usable(args.backend, notes):
            folder = Path(tmp) / backend.lower()
            with database(backend, folder / "db") as url:
                results.append(run(backend, url, folder, args))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n\n".join([f"Measured {when}", render(results), *notes])
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
