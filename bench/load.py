"""Concurrent HTTP load from a few client threads, bounded in count."""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.client import Client, csrf_token
from bench.inprocess import ANSWERS, NARRATIVE_TEXT

# Status recorded for a request that got no answer at all; a negative status
# is an answer whose page lacked what it should show.
ERROR = 0
RECEIPT = re.compile(r'<p class="receipt" id="receipt"><code>[A-Z0-9-]+</code></p>')


@dataclass
class LoadResult:
    """Latencies (seconds) of the measured requests, their statuses, and the wall time."""

    latencies: list[float] = field(default_factory=list)
    # Latencies by kind of request (see ``kind``), for a breakdown.
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        """Measured requests that did not answer 200."""
        return sum(n for status, n in self.statuses.items() if status != 200)


# Query arguments whose value varies between requests of one kind, and its placeholder.
PLACEHOLDERS = {
    "page": "K",
    "region": "R",
    "violation": "V",
    "place": "P",
    "unit": "U",
    "proposal": "X",
    "from": "D",
    "to": "D",
}


def kind(path: str) -> str:
    """``path`` with its varying values generalised, e.g. ``?region=R&page=K``."""
    for name, placeholder in PLACEHOLDERS.items():
        path = re.sub(rf"([?&]{name})=[^&]+", rf"\1={placeholder}", path)
    path = re.sub(r"q=%[^&]+", "q=W", path)
    return re.sub(r"/review/case/\w+", "/review/case/ID", path)


def _run(workers: list[threading.Thread]) -> float:
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start


def submissions(port: int, total: int, clients: int) -> LoadResult:
    """``total`` reports through the public form by ``clients`` threads (POST latency)."""
    result, lock = LoadResult(), threading.Lock()
    remaining = [total]

    def citizen() -> None:
        client = Client(port, {"Accept-Language": "be"})
        fields = [
            ("narrative", NARRATIVE_TEXT),
            ("region", "minsk-city"),
            ("month", "08"),
            ("year", "2020"),
            ("violations", "torture"),
            ("violations", "detention-conditions"),
            *ANSWERS.items(),
        ]
        while True:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            try:
                form = client.get("/report")
                answer = client.post("/report", [("csrf_token", csrf_token(form.body)), *fields])
            except (OSError, RuntimeError, http.client.HTTPException):
                with lock:
                    result.statuses[ERROR] += 1
                continue
            ok = answer.status == 200 and RECEIPT.search(answer.body) is not None
            with lock:
                result.latencies.append(answer.seconds)
                result.statuses[answer.status if ok else -answer.status] += 1
        client.close()

    result.seconds = _run([threading.Thread(target=citizen) for _ in range(clients)])
    return result


def fetch(clients: list[Client], paths: list[list[str]], marker: str) -> LoadResult:
    """Each client GETs its own list of paths in order; a page must contain ``marker``."""
    result, lock = LoadResult(), threading.Lock()

    def reviewer(client: Client, todo: list[str]) -> None:
        for path in todo:
            try:
                answer = client.get(path)
            except (OSError, http.client.HTTPException):
                with lock:
                    result.statuses[ERROR] += 1
                continue
            ok = answer.status == 200 and marker in answer.body
            with lock:
                result.latencies.append(answer.seconds)
                result.by_kind.setdefault(kind(path), []).append(answer.seconds)
                result.statuses[answer.status if ok else -answer.status] += 1

    workers = [
        threading.Thread(target=reviewer, args=(client, todo))
        for client, todo in zip(clients, paths, strict=True)
    ]
    result.seconds = _run(workers)
    return result
