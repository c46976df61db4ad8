"""Where a submission's CPU beyond the receipt KDF goes: exact figure, then a profile.

``python -m bench.submit_profile [--count 300] [--backend sqlite|postgresql|both]``

Every submission is measured together with the CPU spent inside its own
``derive_receipt_keys`` call (``bench.clocks``: a timing wrapper put in
front of the name ``registry.intake.service`` calls, in this process only),
so "beyond the KDF" is exact per submission, as part a now reports it too.
The same wrappers time each step that ``submit_report`` calls by name
(:data:`STAGES`) and the session's commit; "rest" is what is left (building
the ORM objects, ``session.add``, the KDF slot).  Then the same number of
submissions again under cProfile with a CPU clock (``time.process_time``),
KDF included but on its own line, to list the hotspots in ms per submission.

Same database, report and recipients as part a: a fresh migrated database
with reference data, 5 reviewers and escrow, part a's report, real default
KDF costs.  cProfile slows the ORM code down ≈ 3× (the KDF, in C, hardly),
so its figures are for ranking; the exact figures are the unprofiled ones.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from bench import hotspots
from bench.backends import BACKEND_CHOICES, database, usable
from bench.clocks import KDF_NAME, stage_clocks
from bench.hotspots import Hotspot
from bench.inprocess import TODAY, _add_reviewers, report_input
from bench.stats import percentile
from config import Config
from registry.crypto import Argon2Params, generate_keypair
from registry.db import make_engine
from registry.intake.service import submit_report
from registry.keyring import SealingKeys
from registry.serving.memory import bound_malloc
from registry.serving.slots import KdfSlots

WARMUP = 5
# What submit_report calls by name, in order; none calls another of them.
STAGES = (
    "_check",
    "recipients",
    "new_receipt",
    KDF_NAME,
    "new_public_id",
    "new_data_key",
    "generate_keypair",
    "urgent_flags",
    "signing_public_key",
    "seal_answers",
    "seal_field",
    "wrap_data_key",
    "_insert_children",
)


@dataclass
class Exact:
    """Per-submission CPU seconds: the whole call and the part inside the receipt KDF."""

    total: list[float] = field(default_factory=list)
    kdf: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    # CPU seconds per submission in each stage (summed over its calls).
    stages: dict[str, list[float]] = field(default_factory=dict)

    @property
    def beyond(self) -> list[float]:
        """CPU beyond the KDF, per submission."""
        return [t - k for t, k in zip(self.total, self.kdf, strict=True)]


@dataclass
class BackendProfile:
    """All that was measured on one backend."""

    backend: str
    count: int
    exact: Exact
    profiled_total_ms: float = 0.0
    profiled_kdf_ms: float = 0.0
    hotspots: list[Hotspot] = field(default_factory=list)
    # The same functions ranked by the time spent in their own code.
    own: list[Hotspot] = field(default_factory=list)
    stats_file: Path | None = None


def run(backend: str, url: str, count: int, stats_file: Path | None, top: int) -> BackendProfile:
    """Measure ``count`` submissions, then profile ``count`` more, on the database ``url``."""
    cfg = Config()  # the real default costs, not the environment's
    params = Argon2Params(memory_kib=cfg.receipt_memory_kib, iterations=cfg.receipt_iterations)
    keys = SealingKeys(os.urandom(16), params, generate_keypair().public, KdfSlots(2, 5.0))
    data = report_input()
    exact = Exact()
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            _add_reviewers(session)
            for _ in range(WARMUP):
                submit_report(session, data, keys, today=TODAY)
            spent: dict[str, float] = {}
            with stage_clocks(spent, STAGES, session) as names:
                exact.stages = {name: [] for name in names}
                for _ in range(count):
                    spent.clear()
                    wall, cpu = time.perf_counter(), time.process_time()
                    submit_report(session, data, keys, today=TODAY)
                    exact.total.append(time.process_time() - cpu)
                    exact.wall.append(time.perf_counter() - wall)
                    for name in names:
                        exact.stages[name].append(spent.get(name, 0.0))
            exact.kdf = exact.stages[KDF_NAME]
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _ in range(count):
                submit_report(session, data, keys, today=TODAY)
            profiler.disable()
    finally:
        engine.dispose()
    result = BackendProfile(backend, count, exact, stats_file=stats_file)
    stats = pstats.Stats(profiler)
    if stats_file is not None:
        stats.dump_stats(stats_file)
    _hotspots(result, stats, count, top)
    return result


def _hotspots(result: BackendProfile, stats: pstats.Stats, count: int, top: int) -> None:
    spots = []
    for filename, function, spot in hotspots.read(stats, count):
        if function == "submit_report":
            result.profiled_total_ms = spot.cumulative_ms
        if function == KDF_NAME and "intake" not in filename:
            result.profiled_kdf_ms = max(result.profiled_kdf_ms, spot.cumulative_ms)
        spots.append(spot)
    result.hotspots, result.own = hotspots.ranked(spots, top)


def render(results: list[BackendProfile]) -> str:
    """Markdown: the exact figure per backend, then each backend's hotspots."""
    lines = [
        "| CPU ms per submission (n each) | " + " | ".join(r.backend for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]

    def row(label: str, cell: Callable[[BackendProfile], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")

    def ms(values: list[float]) -> str:
        return (
            f"{1000 * statistics.fmean(values):.2f} / {1000 * percentile(values, 0.5):.2f} / "
            f"{1000 * percentile(values, 0.95):.2f}"
        )

    row("submissions measured", lambda r: str(r.count))
    row("whole `submit_report`, mean / median / p95", lambda r: ms(r.exact.total))
    row("· inside the receipt KDF", lambda r: ms(r.exact.kdf))
    row("**beyond the KDF** (budget ≤ 5 ms)", lambda r: ms(r.exact.beyond))
    row("wall ms per submission, mean", lambda r: f"{1000 * statistics.fmean(r.exact.wall):.2f}")
    row(
        "under cProfile: whole / KDF / beyond",
        lambda r: (
            f"{r.profiled_total_ms:.2f} / {r.profiled_kdf_ms:.2f} / "
            f"{r.profiled_total_ms - r.profiled_kdf_ms:.2f}"
        ),
    )
    lines += [
        "",
        "**Steps of `submit_report`** (CPU ms per submission, mean; no profiler; "
        "each step as `registry.intake.service` calls it)",
        "",
        "| step | " + " | ".join(r.backend for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    names = list(dict.fromkeys(name for r in results for name in r.exact.stages))
    for name in names:
        row(f"`{name}`", _stage_cell(name))
    row(
        "rest: ORM objects, `session.add`, the KDF slot, the call itself",
        lambda r: f"{1000 * _rest(r.exact):.3f}",
    )
    for result in results:
        lines += hotspots.table(
            f"**{result.backend}: hotspots under cProfile** (CPU clock; ms per submission; "
            "cumulative includes callees, so nested lines overlap)",
            "submission",
            result.hotspots,
        )
        lines += hotspots.table(
            f"**{result.backend}: the same, by own time** (the function's own code, callees out)",
            "submission",
            result.own,
        )
    return "\n".join(lines)


def _stage_cell(name: str) -> Callable[[BackendProfile], str]:
    def cell(result: BackendProfile) -> str:
        values = result.exact.stages.get(name)
        return f"{1000 * statistics.fmean(values):.3f}" if values else "—"

    return cell


def _rest(exact: Exact) -> float:
    stages = sum(statistics.fmean(values) for values in exact.stages.values())
    return statistics.fmean(exact.total) - stages


def main() -> None:
    """Parse arguments, measure each backend, print markdown."""
    parser = argparse.ArgumentParser(prog="python -m bench.submit_profile", description=__doc__)
    parser.add_argument("--count", type=int, default=300, help="submissions measured, and profiled")
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default="both")
    parser.add_argument("--top", type=int, default=40, help="hotspots listed per backend")
    parser.add_argument("--stats", type=Path, help="folder for the pstats files (snakeviz etc.)")
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    parser.add_argument(
        "--worker-malloc",
        action="store_true",
        help="tune malloc as the gunicorn workers do (registry.serving.memory); part a does not",
    )
    args = parser.parse_args()
    if args.worker_malloc and not bound_malloc():
        parser.error("--worker-malloc: this C library has no mallopt")
    results = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sviedka-profile-") as tmp:
        for backend in usable(args.backend, notes):
            print(f"[profile] {backend}: {args.count} + {args.count} submissions", file=sys.stderr)
            stats_file = None
            if args.stats is not None:
                args.stats.mkdir(parents=True, exist_ok=True)
                stats_file = args.stats / f"submit-{backend.lower()}.pstats"
            with database(backend, Path(tmp) / backend.lower()) as url:
                results.append(run(backend, url, args.count, stats_file, args.top))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    malloc = "malloc tuned as in the workers" if args.worker_malloc else "glibc's default malloc"
    text = "\n\n".join([f"Measured {when}, {malloc}", render(results), *notes])
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
