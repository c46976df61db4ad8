"""``make run`` starts the maintenance loop beside gunicorn and stops it with gunicorn.

The real recipe runs, with stand-ins for the programs it starts (so the
test takes a second and writes nothing in the checkout): a recipe that
forgot the loop, or left it running after the site stopped, fails here.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from config import ROOT

# Each stand-in logs how it was called; the background ones run until TERM.
FAKE_REGISTRY = """#!/bin/sh
echo "registry $*" >> "$FAKE_LOG"
case "$1" in maintain|telegram)
    trap 'echo "stopped: $1" >> "$FAKE_LOG"; exit 0' TERM
    while :; do sleep 0.05; done;;
esac
"""
# gunicorn serves until the helpers are up, then "stops" (as on Ctrl-C).
FAKE_GUNICORN = """#!/bin/sh
want=$(printf '%s' "$FAKE_WANT" | wc -w)
for _ in $(seq 100); do
    [ "$(grep -c '^registry \\(maintain\\|telegram\\)' "$FAKE_LOG")" -ge "$want" ] && break
    sleep 0.05
done
echo "gunicorn $*" >> "$FAKE_LOG"
"""


def _fake_bin(tmp_path: Path) -> Path:
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, body in (
        ("registry", FAKE_REGISTRY),
        ("gunicorn", FAKE_GUNICORN),
        ("pybabel", "#!/bin/sh\n"),
    ):
        (fake / name).write_text(body)
        (fake / name).chmod(stat.S_IRWXU)
    (fake / "stamp").touch()  # newer than pyproject.toml: nothing to install
    return fake


@pytest.mark.parametrize("token", ["", "123:abc"])
def test_make_run_starts_maintenance_beside_gunicorn_and_stops_it(
    tmp_path: Path, token: str
) -> None:
    fake, log = _fake_bin(tmp_path), tmp_path / "calls.log"
    log.touch()
    helpers = ["maintain", "telegram"] if token else ["maintain"]
    env = {
        **os.environ,
        "FAKE_LOG": str(log),
        "FAKE_WANT": " ".join(helpers),
        "REGISTRY_TELEGRAM_TOKEN": token,
    }
    run = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "run", f"BIN={fake}", f"STAMP={fake / 'stamp'}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "registry init"
    assert "registry maintain --loop" in calls
    assert ("registry telegram run" in calls) == bool(token)
    assert any(call.startswith("gunicorn ") for call in calls)
    # Every helper was stopped when gunicorn ended, before make returned.
    stopped = sorted(call for call in calls if call.startswith("stopped: "))
    assert stopped == sorted(f"stopped: {name}" for name in helpers)
