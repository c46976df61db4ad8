"""Instructions per staff page under callgrind: a figure that noise does not move.

``python -m bench.instructions [--backend sqlite|postgresql|both] [--pages 30]``

The HTTP figures of part c move by a fifth from one run to the next on a
shared two-core machine, more than most single changes to a page.
``valgrind --tool=callgrind`` counts the instructions a process executes
instead, the same count each run (within 0.5 % here) whatever else the
machine does, so two versions of the code can be compared one change at a
time.  It counts this process only: PostgreSQL's own work and the kernel's
are not in it, and neither is time spent waiting.

Each backend and kind of page runs in a child process under callgrind with
instrumentation off; the child seeds a small database (a few reports
submitted with the app's sealing keys, then ``--rows`` bulk rows), logs a
reviewer in (password hashing at a trivial cost: it is not measured), serves
each page twice to warm every cache, then turns instrumentation on
(``callgrind_control -i on``), serves ``--pages`` pages of part c's mix
(``bench.workload``) through a Flask test client, and turns it off.  The
figure is the instructions collected divided by the pages.  Needs Debian's
``valgrind`` (``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flask import Flask

from bench import page_profile
from bench.backends import POSTGRESQL, SQLITE, database, pg_problem
from bench.seed import bulk_reports, seal_newest, staff_ids
from bench.server import ESCROW_FILE_COST
from bench.workload import case_paths, queue_paths
from config import ROOT, Config
from registry import create_app, db
from registry.keyring.escrow import create_escrow

KINDS = ("case", "queue")
BACKENDS = {"sqlite": SQLITE, "postgresql": POSTGRESQL}
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def _app(url: str, folder: Path) -> Flask:
    """The app as page_profile builds it, with a trivial password cost (login is not measured)."""
    keys = folder / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    create_escrow(keys, folder / "escrow-private.key", "bench escrow passphrase", ESCROW_FILE_COST)
    return create_app(
        Config(
            database_url=url,
            instance_dir=folder / "instance",
            keys_dir=keys,
            storage_dir=folder / "storage",
            password_memory_kib=64,
            password_iterations=1,
        )
    )


def _toggle(on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
        check=True,
        capture_output=True,
    )
    time.sleep(0.2)  # callgrind reads the request between basic blocks


def child(name: str, kind: str, pages: int, rows: int) -> None:
    """Runs under callgrind: seed, log in, warm up, count ``pages`` pages of ``kind``."""
    page_profile._app = _app  # noqa: SLF001
    with tempfile.TemporaryDirectory(prefix="sviedka-instr-") as tmp:
        folder = Path(tmp)
        with database(BACKENDS[name], folder / "db") as url:
            app = page_profile._app(url, folder)  # noqa: SLF001
            people = [page_profile._enrol(app, number) for number in range(2)]  # noqa: SLF001
            page_profile._submit(app, 5)  # noqa: SLF001
            bulk_reports(url, rows, assignees=staff_ids(url))
            seal_newest(url, 50)
            client = page_profile._login(app, *people[0])  # noqa: SLF001
            paths = queue_paths(1, pages)[0] if kind == "queue" else case_paths(url, 1, pages)[0]
            marker = page_profile.MARKERS[kind]
            for path in paths * 2:
                page_profile._get(client, path, marker)  # noqa: SLF001
            _toggle(True)
            for path in paths:
                page_profile._get(client, path, marker)  # noqa: SLF001
            _toggle(False)
            with app.app_context():
                db.engine().dispose()


def measure(name: str, kind: str, pages: int, rows: int) -> float:
    """Millions of instructions per page of ``kind`` on backend ``name`` (sqlite, postgresql)."""
    with tempfile.TemporaryDirectory(prefix="sviedka-callgrind-") as tmp:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={tmp}/callgrind.out",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            name,
            kind,
            str(pages),
            str(rows),
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run failed:\n{done.stderr[-2000:]}")
    return int(found.group(1)) / pages / 1e6


def main() -> None:
    """Parse arguments; print a markdown table of instructions per page."""
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pages", type=int, default=30, help="pages of each kind counted")
    parser.add_argument("--rows", type=int, default=300, help="bulk reports stored")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, kind, pages, rows = args.child
        child(name, kind, int(pages), int(rows))
        return
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in names and (problem := pg_problem()):
        print(f"**{POSTGRESQL} skipped:** {problem}", file=sys.stderr)
        names.remove("postgresql")
    lines = [
        "| M instructions per page (callgrind, in process) | "
        + " | ".join(BACKENDS[n] for n in names)
        + " |",
        "|---|" + "---|" * len(names),
    ]
    for kind in KINDS:
        cells = [f"{measure(n, kind, args.pages, args.rows):.2f}" for n in names]
        lines.append(f"| {kind} page ({args.pages} pages) | " + " | ".join(cells) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
