"""The results as rows of a markdown table, one column per backend."""

from __future__ import annotations

import argparse

from bench.inprocess import InProcessResult
from bench.load import LoadResult
from bench.stats import latency_cell, percentile

Rows = list[tuple[str, str]]


def inprocess_rows(a: InProcessResult) -> Rows:
    """Part a: ms per report, mean / p95 wall, and mean CPU of this process."""
    return [
        ("**a. in process** (ms: mean / p95, CPU mean)", ""),
        (f"seal + store one report (n={len(a.sealed.wall)})", a.sealed.summary()),
        (f"plain store, no crypto (n={len(a.plain.wall)})", a.plain.summary()),
        ("· receipt KDF (Argon2id 19 MiB, 2 passes)", a.kdf.summary()),
        ("· inbox key pair (ML-KEM-768 + X25519)", a.inbox_keypair.summary()),
        ("· seal 4 fields (narrative ~4 KB, 2 answers, inbox key)", a.seal.summary()),
        ("· wrap data key to 5 reviewers + escrow", a.wrap.summary()),
        ("· DB insert + commit (report, 4 fields, 6 wraps, 2 codes)", a.insert.summary()),
        ("· rest (validation and lookup queries, ORM): CPU", _rest_cpu(a)),
        ("sealing CPU: fields + wraps (budget ≤ 2 ms)", f"{a.seal.cpu_ms + a.wrap.cpu_ms:.2f}"),
        (
            "CPU per submission beyond the KDF (budget ≤ 5 ms): mean / p95, each "
            "submission less its own KDF",
            _beyond_kdf(a),
        ),
        (
            "· the same the old way: mean CPU of a submission less that of the KDF runs",
            f"{a.sealed.cpu_ms - a.kdf.cpu_ms:.2f}",
        ),
    ]


def _beyond(a: InProcessResult) -> list[float] | None:
    """Each submission's CPU seconds less those of its own KDF call (clocks.py)."""
    if len(a.sealed_kdf_cpu) != len(a.sealed.cpu) or not a.sealed.cpu:
        return None
    return [total - kdf for total, kdf in zip(a.sealed.cpu, a.sealed_kdf_cpu, strict=True)]


def _beyond_kdf(a: InProcessResult) -> str:
    beyond = _beyond(a)
    if beyond is None:
        return "—"
    mean = 1000 * sum(beyond) / len(beyond)
    return f"{mean:.2f} / {1000 * percentile(beyond, 0.95):.2f}"


def _rest_cpu(a: InProcessResult) -> str:
    """The CPU beyond the KDF less the other measured steps (the steps' own runs).

    WHY not "a submission less every step's separate runs": the KDF's runs
    vary by a few ms between runs, more than the rest itself, which then
    came out negative; each submission's own KDF clock takes that out.
    """
    beyond = _beyond(a)
    if beyond is None:
        return "—"
    steps = sum(p.cpu_ms for p in (a.inbox_keypair, a.seal, a.wrap, a.insert))
    return f"{1000 * sum(beyond) / len(beyond) - steps:.2f}"


def http_rows(
    args: argparse.Namespace,
    submitted: LoadResult,
    seeded: float,
    queue: LoadResult,
    cases: LoadResult,
    queue_after: LoadResult,
    rss: list[float],
) -> Rows:
    """Parts b and c: gunicorn with 2 workers, real default costs."""
    count = len(submitted.latencies)
    return [
        ("**b. HTTP submissions** (gunicorn, 2 workers)", ""),
        (
            f"submissions/s ({args.reports} reports, {args.clients} clients)",
            f"{count / submitted.seconds:.1f}" if submitted.seconds else "—",
        ),
        ("POST /report p50 / p95 ms", latency_cell(submitted.latencies)),
        ("failed submissions", str(submitted.failures)),
        (f"**c. with {args.rows:,} reports stored**", ""),
        (f"bulk insert of {args.rows:,} reports (s)", f"{seeded:.1f}"),
        (
            f"queue page p50 / p95 ms ({args.clients} reviewers × {args.queue_requests}; "
            "budget p95 ≤ 30)",
            latency_cell(queue.latencies),
        ),
        *(
            (f"· queue `{name}` p50 / p95 ms (n={len(values)})", latency_cell(values))
            for name, values in sorted(queue.by_kind.items())
        ),
        (
            f"case page p50 / p95 ms ({args.clients} reviewers × {args.case_requests}; "
            "budget p95 ≤ 30)",
            latency_cell(cases.latencies),
        ),
        (
            f"queue page p50 / p95 ms after the case pages ({args.clients} reviewers × "
            f"{len(queue_after.latencies) // max(args.clients, 1)}, each having opened "
            f"{args.case_requests} cases)",
            latency_cell(queue_after.latencies),
        ),
        (
            "failed page loads (queue + case)",
            str(queue.failures + cases.failures + queue_after.failures),
        ),
        (
            "worker RSS after the run, MiB (budget ≤ 200)",
            ", ".join(f"{size:.0f}" for size in rss) or "—",
        ),
    ]


def search_rows(args: argparse.Namespace, sealed: float, searches: LoadResult) -> Rows:
    """Part c, searches over HTTP: each opens up to 1,000 sealed cases of the reviewer."""
    return [
        (f"sealing the newest {args.wrapped:,} reports for the reviewers (s)", f"{sealed:.1f}"),
        (
            f"search page p50 / p95 ms ({args.clients} reviewers × {args.searches})",
            latency_cell(searches.latencies),
        ),
        *(
            (f"· search `{name}` p50 / p95 ms (n={len(values)})", latency_cell(values))
            for name, values in sorted(searches.by_kind.items())
        ),
        ("failed searches", str(searches.failures)),
    ]


def render(title: str, results: dict[str, Rows | str]) -> str:
    """A markdown table: one row per measurement, one column per backend."""
    names = list(results)
    labels: list[str] = []
    cells: dict[tuple[str, str], str] = {}
    for name, rows in results.items():
        if isinstance(rows, str):
            continue
        for label, value in rows:
            if label not in labels:
                labels.append(label)
            cells[(label, name)] = value
    lines = [
        title,
        "",
        "| measurement | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label in labels:
        values = []
        for name in names:
            result = results[name]
            values.append("skipped" if isinstance(result, str) else cells.get((label, name), ""))
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    lines.extend(
        f"\n**{name} skipped:** {why}" for name, why in results.items() if isinstance(why, str)
    )
    return "\n".join(lines)
