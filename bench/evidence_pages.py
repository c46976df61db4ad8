"""Public evidence pages over HTTP with 100,000 reports stored (issue 11, budgets b and c).

Budgets: ``/evidence`` ≥ 1,000 requests/s on 2 gunicorn workers; each public
page ≤ 50 KB including its SVG (charts and the map are inline in the HTML).

The database is part c's (:func:`bench.seed.bulk_reports`, skewed plain
columns, half the verified and closed cases mapped to proposals), with half
of the closed cases closed as substantiated (as ``bench.evidence_build``
does), and ``--summaries`` approved public summaries of consenting verified
mapped cases (their text 300-1,500 characters, Cyrillic, the service's
maximum), so proposal pages show summaries as they would.  One snapshot is
published (:func:`registry.evidence.snapshots.publish`); then gunicorn with
2 workers (:func:`bench.server.start`, ``gunicorn.conf.py``).

The language comes from the app's own mechanism: each language's ``lang``
cookie is got from ``/lang/<code>`` (the switcher link) and sent back, and
every page is checked to be in that language (``<html lang="…">``).

1. Sizes (budget c): every page the snapshot publishes (``/evidence``, every
   ``/evidence/proposal/<code>`` and ``/evidence/unit/<code>`` whose
   population is in the snapshot) in be, ru and en, one after the other; the
   largest body per kind of page, which page, and how much of it is SVG.
   These are the first requests, so their latency is that of a page
   rendered now (a worker's cache is empty): reported as "first fetch".
2. Throughput (budget b): ``--clients`` threads with ``http.client``, each
   sending ``--requests`` GETs (every loop bounded by a count), languages
   and codes in turn, for each kind of page: full pages (200, body read),
   then with ``If-None-Match`` carrying the page's ETag (304).  Whether the
   connection is kept alive is whatever the server says (``gunicorn.conf.py``
   sets ``keepalive = 0``: every request is a new TCP connection, and the
   table says which was seen).  Requests/s is the count over the wall time
   of the run; the workers' CPU (``/proc/<pid>/stat``) per request, and the
   load generator's own CPU, show where the two cores went.

``python -m bench.evidence_pages`` runs it on both backends;
``python -m bench --evidence-only`` runs it after ``bench.evidence_build``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from bench.backends import POSTGRESQL, SQLITE, database, pg_problem
from bench.evidence_build import TODAY, K, substantiate_half_of_closed
from bench.report import Rows, render
from bench.seed import bulk_reports
from bench.server import CLOCK_TICKS, Server, start
from bench.stats import latency_cell, percentile
from registry.db import make_engine
from registry.evidence import figures, pages, snapshots
from registry.models import CaseMapping, CaseSummary, Report, SnapshotSummary

LANGUAGES = ("be", "ru", "en")
KINDS = ("index", "proposal", "unit")
BUDGET_RPS = 1_000
BUDGET_BYTES = 50 * 1024
# Above this one-minute load average the two cores were busy with other work.
BUSY_LOAD = 1.5
SVG = re.compile(rb"<svg\b.*?</svg>", re.DOTALL)
WORDS = (
    "Затрыманага",
    "збілі",
    "у",
    "пастарунку",
    "пасля",
    "мірнага",
    "пратэсту;",
    "медыцынскую",
    "дапамогу",
    "не",
    "аказалі",
    "некалькі",
    "сутак.",
    "Скаргу",
    "пракуратура",
    "не",
    "разгледзела.",
)


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> float:
    """The one-minute load average (what ``uptime`` prints first)."""
    return os.getloadavg()[0]


def _load_note(load: float) -> str:
    return f"load {load:.2f}" + (" — BUSY, > 1.5" if load > BUSY_LOAD else "")


# --- The database ----------------------------------------------------------------


def add_summaries(database_url: str, count: int, seed: int = 23) -> int:
    """Give ``count`` verified mapped cases consent and an approved public summary.

    Return how many.  The texts are made-up words of the service's length
    range (at most 1,500 characters), so a proposal page carries as many
    bytes of summaries as real ones would.
    """
    if count <= 0:
        return 0
    rng = random.Random(seed)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            mapped = select(CaseMapping.report_id).distinct()
            candidates = sorted(
                session.scalars(select(Report.id).where(figures.verified(), Report.id.in_(mapped)))
            )
            chosen = rng.sample(candidates, min(count, len(candidates)))
            session.execute(
                update(Report).where(Report.id.in_(chosen)).values(consent_publish=True)
            )
            session.execute(
                insert(CaseSummary),
                [
                    {
                        "report_id": report_id,
                        "text": _summary_text(rng),
                        "written_on": TODAY,
                        "approved_on": TODAY,
                    }
                    for report_id in chosen
                ],
            )
            session.commit()
    finally:
        engine.dispose()
    return len(chosen)


def _summary_text(rng: random.Random) -> str:
    target = rng.randint(300, 1_500)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < target:
        words.append(rng.choice(WORDS))
        if rng.random() < 0.03:
            words.append("\n")
    return " ".join(words)[:1_500].strip()


@dataclass
class Published:
    """The published snapshot: what it counts, and the pages it has."""

    reports: int
    verified: int
    summaries: int
    payload_bytes: int
    proposals: list[str]
    units: list[str]


def publish(database_url: str) -> Published:
    """Publish one snapshot (as a coordinator's button does) and list its pages."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            reports = session.scalar(select(func.count()).select_from(Report)) or 0
            verified = (
                session.scalar(select(func.count()).select_from(Report).where(figures.verified()))
                or 0
            )
            row = snapshots.publish(session, account_id=None, k=K, today=TODAY)
            session.commit()
            snap = pages.read(snapshots.payload_of(row))
            summaries = session.scalar(
                select(func.count())
                .select_from(SnapshotSummary)
                .where(SnapshotSummary.snapshot_id == row.id)
            )
            payload_bytes = len(row.payload.encode())
    finally:
        engine.dispose()
    # Every population in the snapshot has a page (views.proposal / views.unit).
    proposals = [p.code for p in snap.populations.values() if p.kind == "proposal" and p.code]
    units = [p.code for p in snap.populations.values() if p.kind == "unit" and p.code]
    return Published(reports, verified, summaries or 0, payload_bytes, proposals, units)


# --- HTTP ------------------------------------------------------------------------


def language_cookies(port: int) -> dict[str, str]:
    """Each language's ``Cookie`` header, as the switcher link ``/lang/<code>`` sets it."""
    found = {}
    for lang in LANGUAGES:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", f"/lang/{lang}?next=/evidence")
            answer = conn.getresponse()
            answer.read()
            cookies = [
                header.split(";", 1)[0]
                for header in answer.headers.get_all("Set-Cookie") or []
                if header.startswith("lang=")
            ]
            if answer.status != 303 or cookies != [f"lang={lang}"]:
                raise RuntimeError(f"/lang/{lang}: HTTP {answer.status}, cookies {cookies}")
            found[lang] = cookies[0]
        finally:
            conn.close()
    return found


@dataclass(frozen=True)
class Request:
    """One GET: its path, language and extra headers."""

    path: str
    lang: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Run:
    """One timed load run: latencies, statuses, wall time, CPU and connections."""

    label: str
    expect: int
    load: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    client_cpu: float = 0.0
    worker_cpu: float = 0.0
    # Every process's CPU on the machine meanwhile (/proc/stat), seconds.
    machine_cpu: float = 0.0
    kept_alive: int = 0
    closed: int = 0
    body_bytes: int = 0

    @property
    def rate(self) -> float:
        """Requests answered as expected per second of wall time."""
        return self.statuses[self.expect] / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        """Requests that did not answer with the expected status (or not at all)."""
        return sum(n for status, n in self.statuses.items() if status != self.expect)


def machine_busy() -> float:
    """CPU seconds every process on the machine has used since boot (``/proc/stat``).

    The load average counts this benchmark's own threads too; the difference
    between this and the workers' and the load generator's CPU over a run is
    what everything else (PostgreSQL's server included) took meanwhile.
    """
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks[:8]) - idle) / CLOCK_TICKS


def hammer(
    server: Server,
    cookies: dict[str, str],
    todo: list[list[Request]],
    label: str,
    expect: int,
) -> Run:
    """Each client thread sends its own list of GETs in order; time them all."""
    run, lock = Run(label, expect, load=load_average()), threading.Lock()

    def client(requests: list[Request]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        kept = closed = size = 0
        for one in requests:
            headers = {"Cookie": cookies[one.lang], **dict(one.headers)}
            began = time.perf_counter()
            try:
                conn.request("GET", one.path, headers=headers)
                answer = conn.getresponse()
                body = answer.read()
            except (OSError, http.client.HTTPException):
                statuses[0] += 1
                conn.close()
                continue
            latencies.append(time.perf_counter() - began)
            statuses[answer.status] += 1
            size += len(body)
            # http.client reconnects by itself after a "Connection: close".
            if answer.will_close:
                closed += 1
            else:
                kept += 1
        conn.close()
        with lock:
            run.latencies.extend(latencies)
            run.statuses.update(statuses)
            run.kept_alive += kept
            run.closed += closed
            run.body_bytes += size

    threads = [threading.Thread(target=client, args=(requests,)) for requests in todo]
    cpu, worker_cpu, machine = time.process_time(), server.worker_cpu_seconds(), machine_busy()
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - began
    run.client_cpu = time.process_time() - cpu
    run.worker_cpu = server.worker_cpu_seconds() - worker_cpu
    run.machine_cpu = machine_busy() - machine
    return run


@dataclass(frozen=True)
class Page:
    """One page as fetched once: its size, the SVG in it, its headers and latency."""

    kind: str
    path: str
    lang: str
    status: int
    bytes: int
    svg_bytes: int
    svgs: int
    summaries: int
    etag: str
    cache_control: str
    seconds: float


def fetch_all(port: int, cookies: dict[str, str], paths: dict[str, list[str]]) -> list[Page]:
    """Every page of every kind in every language, once, one after the other."""
    found = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for lang in LANGUAGES:
            for kind, kind_paths in paths.items():
                for path in kind_paths:
                    began = time.perf_counter()
                    conn.request("GET", path, headers={"Cookie": cookies[lang]})
                    answer = conn.getresponse()
                    body = answer.read()
                    seconds = time.perf_counter() - began
                    if answer.status != 200 or f'<html lang="{lang}"'.encode() not in body:
                        raise RuntimeError(f"{path} ({lang}): HTTP {answer.status}")
                    svgs = SVG.findall(body)
                    found.append(
                        Page(
                            kind,
                            path,
                            lang,
                            answer.status,
                            len(body),
                            sum(len(s) for s in svgs),
                            len(svgs),
                            body.count(b'<article class="summary"'),
                            answer.headers.get("ETag", ""),
                            answer.headers.get("Cache-Control", ""),
                            seconds,
                        )
                    )
    finally:
        conn.close()
    return found


def _spread(requests: list[Request], clients: int, per_client: int) -> list[list[Request]]:
    """``clients`` lists of ``per_client`` requests, cycling through ``requests``."""
    return [
        [requests[(c * 7 + n) % len(requests)] for n in range(per_client)] for c in range(clients)
    ]


@dataclass
class PagesCosts:
    """Everything measured on one backend."""

    published: Published
    start_load: float = 0.0
    seeded_s: float = 0.0
    publish_s: float = 0.0
    pages: list[Page] = field(default_factory=list)
    size_load: float = 0.0
    runs: list[Run] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)


def run(database_url: str, folder: Path, args: argparse.Namespace, costs: PagesCosts) -> None:
    """The sizes pass, then the load runs, on a gunicorn with 2 workers."""
    server = start(database_url, folder)
    try:
        cookies = language_cookies(server.port)
        paths = {
            "index": ["/evidence"],
            "proposal": [f"/evidence/proposal/{c}" for c in costs.published.proposals],
            "unit": [f"/evidence/unit/{c}" for c in costs.published.units],
        }
        _log(f"c. every page in be/ru/en ({sum(map(len, paths.values())) * 3} pages)")
        costs.size_load = load_average()
        costs.pages = fetch_all(server.port, cookies, paths)
        etags = {(p.path, p.lang): p.etag for p in costs.pages}
        for kind in KINDS:
            full = [Request(path, lang) for path in paths[kind] for lang in LANGUAGES]
            if not full:
                continue
            again = [
                Request(r.path, r.lang, (("If-None-Match", etags[(r.path, r.lang)]),)) for r in full
            ]
            # Warm: every page rendered and kept by both workers (with no
            # keep-alive, whichever worker is free accepts each request).
            hammer(server, cookies, _spread(full, args.clients, 4 * len(full)), "warm", 200)
            for label, requests, expect in (
                (f"{kind} 200", full, 200),
                (f"{kind} 304 (If-None-Match)", again, 304),
            ):
                _log(f"b. {label}: {args.clients} clients × {args.requests}")
                costs.runs.append(
                    hammer(
                        server,
                        cookies,
                        _spread(requests, args.clients, args.requests),
                        label,
                        expect,
                    )
                )
        costs.rss = server.worker_rss_mib()
    finally:
        server.stop()


def measure(backend: str, folder: Path, args: argparse.Namespace) -> Rows:
    """A database of its own: seed, publish, serve, measure."""
    start_load = load_average()
    with database(backend, folder) as url:
        _log(f"{backend}: evidence pages: inserting {args.rows:,} reports")
        began = time.perf_counter()
        bulk_reports(url, args.rows)
        substantiate_half_of_closed(url)
        summaries = add_summaries(url, args.summaries)
        seeded = time.perf_counter() - began
        _log(f"{backend}: evidence pages: publishing a snapshot ({summaries} summaries)")
        began = time.perf_counter()
        published = publish(url)
        costs = PagesCosts(published, start_load, seeded, time.perf_counter() - began)
        run(url, folder, args, costs)
    return rows(costs, args)


# --- The table -----------------------------------------------------------------


def _largest(found: list[Page], kind: str) -> Page | None:
    of_kind = [p for p in found if p.kind == kind]
    return max(of_kind, key=lambda p: p.bytes) if of_kind else None


def rows(costs: PagesCosts, args: argparse.Namespace) -> Rows:
    """Table rows: sizes per kind of page, then each load run."""
    pub = costs.published
    found: Rows = [
        (
            f"**evidence pages over HTTP** ({pub.reports:,} reports, {pub.verified:,} verified, "
            f"{pub.summaries} public summaries; gunicorn, 2 workers)",
            "",
        ),
        (
            "one-minute load average before this backend began (others' work; the "
            "loads below also count this benchmark's own threads)",
            _load_note(costs.start_load),
        ),
        (
            "pages the snapshot publishes (index / proposal / unit, × be ru en)",
            f"1 / {len(pub.proposals)} / {len(pub.units)}",
        ),
        (
            "stored snapshot payload (KB); publishing it (s)",
            f"{pub.payload_bytes / 1024:.0f}; {costs.publish_s:.1f}",
        ),
        (
            f"**c. largest page per kind, bytes (budget ≤ {BUDGET_BYTES:,} = 50 KB, SVG "
            "inline)**; one-minute load average before",
            _load_note(costs.size_load),
        ),
    ]
    for kind in KINDS:
        page = _largest(costs.pages, kind)
        if page is None:
            found.append((f"· {kind}: largest page", "—"))
            continue
        verdict = "within" if page.bytes <= BUDGET_BYTES else "**OVER**"
        of_kind = [p for p in costs.pages if p.kind == kind]
        over = sum(p.bytes > BUDGET_BYTES for p in of_kind)
        found.append(
            (
                f"· {kind}: largest page (of {len(of_kind)}), bytes; SVG and case summaries in it",
                f"{page.bytes:,} ({verdict}) `{page.path}` {page.lang}; "
                f"{page.svgs} SVG, {page.svg_bytes:,} B; {page.summaries} summaries",
            )
        )
        found.append(
            (
                f"· {kind}: median page, bytes; pages over 50 KB",
                f"{int(percentile([float(p.bytes) for p in of_kind], 0.5)):,}; {over}",
            )
        )
        found.append((f"· {kind}: Cache-Control seen", _controls(of_kind)))
    first = [p.seconds for p in costs.pages]
    found.append(
        (
            f"first fetch of each page (rendered now), p50 / p95 ms (n={len(first)})",
            latency_cell(first),
        )
    )
    found.append(
        (
            f"**b. load: {args.clients} client threads × {args.requests} GETs, "
            f"http.client** (budget /evidence ≥ {BUDGET_RPS:,} req/s)",
            "",
        )
    )
    for one in costs.runs:
        done = len(one.latencies) or 1
        connections = (
            "kept alive"
            if one.closed == 0
            else "new connection per request (server: Connection: close)"
            if one.kept_alive == 0
            else f"{one.kept_alive} kept alive, {one.closed} closed"
        )
        found.append(
            (
                f"{one.label}: req/s; p50 / p95 ms; one-minute load average before",
                f"{one.rate:,.0f}; {latency_cell(one.latencies)}; {_load_note(one.load)}"
                + (f"; **{one.failures} failed** {dict(one.statuses)}" if one.failures else ""),
            )
        )
        others = one.machine_cpu - one.worker_cpu - one.client_cpu
        found.append(
            (
                f"· {one.label}: CPU s over the run's wall s: gunicorn workers (ms per "
                "request), load generator, everything else on the machine; connections",
                f"{one.worker_cpu:.1f} ({1000 * one.worker_cpu / done:.2f}), "
                f"{one.client_cpu:.1f}, {others:.1f} of {one.seconds:.1f} s; {connections}",
            )
        )
    found.append(
        ("worker RSS after the runs, MiB", ", ".join(f"{s:.0f}" for s in costs.rss) or "—")
    )
    return found


def _controls(found: list[Page]) -> str:
    seen = Counter(p.cache_control or "(none)" for p in found)
    return "; ".join(f"`{value}` ×{n}" for value, n in seen.most_common())


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench.evidence_pages``."""
    found = argparse.ArgumentParser(prog="python -m bench.evidence_pages", description=__doc__)
    found.add_argument("--rows", type=int, default=100_000, help="reports stored")
    found.add_argument("--clients", type=int, default=4, help="client threads")
    found.add_argument("--requests", type=int, default=2_000, help="GETs per client and run")
    found.add_argument(
        "--summaries", type=int, default=60, help="approved public summaries (consenting cases)"
    )
    found.add_argument(
        "--backend", choices=(SQLITE, POSTGRESQL), help="only this backend (default: both)"
    )
    found.add_argument("--out", type=Path, help="also write the table to this file")
    return found


def table(args: argparse.Namespace) -> str:
    """Run on the chosen backends; return the markdown table."""
    results: dict[str, Rows | str] = {}
    with tempfile.TemporaryDirectory(prefix="sviedka-bench-evidence-") as tmp:
        if args.backend in (None, SQLITE):
            results[SQLITE] = measure(SQLITE, Path(tmp) / "sqlite", args)
        if args.backend in (None, POSTGRESQL):
            problem = pg_problem()
            results[POSTGRESQL] = problem or measure(POSTGRESQL, Path(tmp) / "postgresql", args)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return render(f"Measured {when} (evidence pages, budgets b and c)", results)


def main(argv: list[str] | None = None) -> str:
    """Parse ``argv``, run, print (and return) the table."""
    args = parser().parse_args(argv)
    found = table(args)
    print(found)
    if args.out:
        args.out.write_text(found + "\n", encoding="utf-8")
    return found


if __name__ == "__main__":
    main()
