"""Evidence packs: the serving process's memory while a 200 MB pack streams (issue 12).

``python -m bench.pack_memory [--cases 20] [--megabytes 200]``

Seeds a throwaway SQLite registry (testing KDF costs) with ``--cases``
consenting reports carrying ``--megabytes`` of files in total (one file
each, random bytes behind a PDF header), registers a partner with a fresh
age key, and downloads the pack as a coordinator through the app (Werkzeug
client, unbuffered: the body is pulled piece by piece as a server would
send it, and thrown away).  Measured: the peak RSS of this process during
the request above its RSS just before (Linux ``VmHWM``, reset through
``/proc/self/clear_refs``), and the time.  Budget: at most +50 MB.  Finally
the pack's size is compared with the files' (age adds 16 bytes per 64 KiB).
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import re
import tempfile
import time
from datetime import date
from pathlib import Path

import pyrage
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bench.client import csrf_token
from bench.staff import PASSWORD, _code, enrol_in_process
from config import TestingConfig
from registry import create_app, db
from registry.models import Report, Role
from registry.models.migrate import upgrade
from registry.referral.partners import add_partner
from registry.reforms.service import load_catalogue
from registry.taxonomy.service import load_vocabularies

BUDGET_MB = 50.0


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    # Writing 5 resets VmHWM to the current RSS (Linux 4.0 and later).
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def _app(root: Path) -> Flask:
    url = f"sqlite:///{root / 'registry.sqlite3'}"
    upgrade(url)
    app = create_app(TestingConfig.for_paths(root / "instance", root / "keys", url))
    with app.app_context():
        session = db.session()
        load_vocabularies(session)
        load_catalogue(session)
        session.commit()
    return app


def _submit(client: FlaskClient, size: int) -> None:
    page = client.get("/report").get_data(as_text=True)
    body = b"%PDF-1.7\n" + os.urandom(size - 9)
    response = client.post(
        "/report",
        data={
            "csrf_token": csrf_token(page),
            "narrative": "Bench narrative: they beat us in the bus.",
            "region": "minsk-city",
            "violations": ["torture"],
            "consent_refer": "y",
            "files": [(io.BytesIO(body), "evidence.pdf")],
        },
    )
    assert response.status_code == 200, response.status_code


def _login(app: Flask, email: str, secret: bytes) -> FlaskClient:
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    response = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(page),
            "email": email,
            "password": PASSWORD,
            "code": _code(secret, int(time.time() // 30)),
        },
    )
    assert response.status_code == 303, response.status_code
    return client


def run(cases: int, megabytes: int) -> None:
    """Seed, download once, print the figures."""
    with tempfile.TemporaryDirectory(prefix="pack-bench-") as folder:
        root = Path(folder)
        app = _app(root)
        secret = enrol_in_process(app, "coordinator@bench.test", Role.COORDINATOR)
        size = megabytes * 1024 * 1024 // cases
        started = time.perf_counter()
        for _ in range(cases):
            _submit(app.test_client(), size)
        seeding = time.perf_counter() - started
        print(f"seeded {cases} cases, {megabytes} MB of files in {seeding:.1f} s")
        identity = pyrage.x25519.Identity.generate()
        with app.app_context():
            session = db.session()
            partner = add_partner(
                session,
                name="Bench partner",
                contact="",
                recipients=str(identity.to_public()),
                account_id=None,
                today=date.today(),
            )
            session.commit()
            partner_id = partner.id
            ids = list(session.scalars(select(Report.public_id)))
        client = _login(app, "coordinator@bench.test", secret)
        page = client.get(f"/review/refer?case={ids[0]}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        assert token
        gc.collect()
        before = _status_kib("VmRSS")
        _reset_peak()
        started = time.perf_counter()
        response = client.post(
            "/review/refer",
            data={"csrf_token": token.group(1), "cases": ids, "partner": str(partner_id)},
            buffered=False,
        )
        assert response.status_code == 200, response.status_code
        sent = 0
        for piece in response.response:
            sent += len(piece)
        response.close()
        elapsed = time.perf_counter() - started
        peak = _status_kib("VmHWM")
        growth = (peak - before) / 1024
        print(f"pack: {sent / 1e6:.1f} MB in {elapsed:.1f} s ({sent / 1e6 / elapsed:.0f} MB/s)")
        print(f"RSS before {before / 1024:.1f} MB, peak {peak / 1024:.1f} MB: +{growth:.1f} MB")
        verdict = "within" if growth <= BUDGET_MB else "OVER"
        print(f"{verdict} the budget of +{BUDGET_MB:.0f} MB")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    run(args.cases, args.megabytes)


if __name__ == "__main__":
    main()
