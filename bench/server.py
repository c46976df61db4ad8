"""gunicorn for the HTTP benchmarks: real default costs, 127.0.0.1 only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from config import ROOT
from registry.crypto import Argon2Params
from registry.keyring.escrow import create_escrow

# Ticks of /proc/<pid>/stat's utime and stime per second.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
# Only the offline escrow file's lock is cheap here; it plays no part in any request.
ESCROW_FILE_COST = Argon2Params(memory_kib=1024, iterations=1, lanes=4)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running gunicorn master and where its output goes."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGTERM, wait (bounded), SIGKILL the group if it hangs."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)

    def worker_pids(self) -> list[int]:
        """The worker processes: children of the master."""
        return sorted(
            pid for pid, fields in _statuses() if fields.get("PPid") == str(self.process.pid)
        )

    def worker_rss_mib(self) -> list[float]:
        """VmRSS of each worker process, in MiB."""
        sizes = []
        for _pid, fields in _statuses():
            if fields.get("PPid") == str(self.process.pid) and "VmRSS" in fields:
                sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
        return sorted(sizes)

    def worker_cpu_seconds(self) -> float:
        """CPU seconds (user + system) the workers have used so far."""
        ticks = 0
        for pid in self.worker_pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue  # the process ended while we looked
            # Fields after the command name (which may hold spaces), 1-based 14 and 15.
            rest = stat.rsplit(")", 1)[1].split()
            ticks += int(rest[11]) + int(rest[12])
        return ticks / CLOCK_TICKS


def _statuses() -> Iterator[tuple[int, dict[str, str]]]:
    """Every process's ``/proc/<pid>/status`` fields, values stripped."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue  # the process ended while we looked
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        yield int(status.parent.name), {key: value.strip() for key, value in fields.items()}


def start(
    database_url: str, folder: Path, workers: int = 2, settings: dict[str, str] | None = None
) -> Server:
    """Start gunicorn on ``database_url`` with an escrow key; wait until it answers.

    ``settings``: ``REGISTRY_*`` variables on top of the defaults.  A second
    server on the same ``folder`` shares the first one's keys and escrow.
    """
    keys = folder / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    escrow = folder / "escrow-private.key"
    if not escrow.exists():
        create_escrow(keys, escrow, "bench escrow passphrase", ESCROW_FILE_COST)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("REGISTRY_") and "proxy" not in key.lower()
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_INSTANCE_DIR": str(folder / "instance"),
            "REGISTRY_KEYS_DIR": str(keys),
            "REGISTRY_STORAGE_DIR": str(folder / "storage"),
            "REGISTRY_BASE_URL": f"http://127.0.0.1:{port}",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WORKERS": str(workers),
            **(settings or {}),
        }
    )
    log = folder / "gunicorn.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "registry.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(port, process, log)
    _wait_until_up(server)
    return server


def _wait_until_up(server: Server) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log.read_text(errors='replace')}")
        try:
            with opener.open(f"http://127.0.0.1:{server.port}/", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT} s")
