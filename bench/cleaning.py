"""Part f: cleaning photos, one worst case at a time and ten in one request.

1. Each worst case (``cleaning_cases.py``) is cleaned once in a process of
   its own (``cleaning_probe.py``): CPU seconds and extra peak RSS of that
   one picture, and what became of it.  Budget: ≤ 1 s CPU and ≤ 100 MiB
   extra RSS per accepted picture.
2. Through gunicorn (2 workers, real defaults), the public form is posted
   once per case with TEN copies of the picture and "Remove location and
   camera data" ticked; the POST's wall time, the workers' CPU time during
   it and their peak RSS (``VmHWM``, reset before) are read.  Budget: ≤ 5 s
   per request.  A request over the budget is refused as a whole (422,
   form kept), so its time is what was spent before the refusal.  The same
   request is also sent with the box unticked: the difference in worker
   CPU is what cleaning cost, the rest is receiving and sealing the body.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.cleaning_cases import Case, made
from bench.client import Client, csrf_token, timed_post
from bench.report import Rows
from bench.server import Server
from bench.uploads import _form_fields, _max_mib, multipart, worker_pids
from config import ROOT

COPIES = 10
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Probe:
    """One picture cleaned alone."""

    case: Case
    cpu: float
    extra_mib: float
    outcome: str


@dataclass
class Ten:
    """One request with ten copies of a picture (and the same without cleaning)."""

    case: Case
    outcome: str
    seconds: float
    worker_cpu: float
    peak_mib: float
    uncleaned_cpu: float = 0.0


def probe(case: Case, path: Path) -> Probe:
    """Clean ``path`` in a fresh process; what it cost."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.cleaning_probe", str(path), case.media_type],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(done.stdout)
    return Probe(case, figures["cpu"], figures["extra_mib"], figures["outcome"])


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def _outcome(status: int, page: str) -> str:
    if status == 200 and 'id="receipt"' in page:
        return f"stored ({COPIES} files)"
    if "too large together" in page:
        return f"{status}: refused, request budget"
    if "too large a picture" in page:
        return f"{status}: refused, picture too large"
    if "very busy" in page:
        return f"{status}: busy"
    return f"{status}: other"


def ten_in_one(server: Server, case: Case, data: bytes, *, clean: bool = True) -> Ten:
    """POST the form with ten copies of ``data``; time, worker CPU and peak RSS."""
    client = Client(server.port, {"Accept-Language": "en"})
    try:
        form = client.get("/report")
        files = [(f"photo{i}", data) for i in range(COPIES)]
        fields = [
            f for f in _form_fields(csrf_token(form.body)) if clean or f[0] != "remove_metadata"
        ]
        body, content_type = multipart(fields, files)
        headers = {
            "Content-Type": content_type,
            "Accept-Language": "en",
            "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items()),
        }
    finally:
        client.close()
    pids = worker_pids(server)
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM
    before_rss, before_cpu = _max_mib(pids, "VmRSS"), _cpu_seconds(pids)
    status, page, seconds = timed_post(server.port, "/report", body, headers, timeout=300)
    return Ten(
        case,
        _outcome(status, page),
        seconds,
        _cpu_seconds(pids) - before_cpu,
        _max_mib(pids, "VmHWM") - before_rss,
    )


def run(server: Server, pictures: Path) -> tuple[list[Probe], list[Ten]]:
    """Part e on a running server; the pictures are made (once) in ``pictures``."""
    cases = made(pictures)
    probes = [probe(case, path) for case, path in cases]
    tens = []
    for case, path in cases:
        data = path.read_bytes()
        ten = ten_in_one(server, case, data)
        ten.uncleaned_cpu = ten_in_one(server, case, data, clean=False).worker_cpu
        tens.append(ten)
    return probes, tens


def rows(probes: list[Probe], tens: list[Ten]) -> Rows:
    """Part e as table rows."""
    out: Rows = [("**f. cleaning photos, one alone** (budget ≤ 1 s CPU, ≤ 100 MiB extra RSS)", "")]
    for p in probes:
        out.append(
            (
                f"{p.case.label}: CPU s, extra MiB",
                f"{p.cpu:.2f} s, {p.extra_mib:.0f} MiB; {p.outcome}",
            )
        )
    out.append(("**f. ten in one request** (gunicorn; budget ≤ 5 s of cleaning)", ""))
    for t in tens:
        out.append(
            (
                f"10 × {t.case.label}: POST s; worker CPU s (cleaning ≈); peak +MiB",
                f"{t.seconds:.2f} s; {t.worker_cpu:.2f} s "
                f"(≈ {max(t.worker_cpu - t.uncleaned_cpu, 0):.2f} s); +{t.peak_mib:.0f} MiB; "
                f"{t.outcome}",
            )
        )
    return out
