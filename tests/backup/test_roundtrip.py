"""A backup of a registry under writes restores into a fresh install where everything opens.

Submissions go on in a thread while ``registry backup`` runs.  On the
restored install every receipt acknowledged before the backup started
opens its case, the reviewer logs in with password and TOTP, and every
case stored there opens with the reviewer's key, every file downloads and
verifies.  The backup's bytes hold no text of a report and not the
deployment's secret key.
"""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pyrage import x25519
from sqlalchemy import select

from registry import db
from registry.backup import snapshot
from registry.models import Report
from registry.models.migrate import upgrade
from tests.backup.support import (
    Target,
    a_file,
    dispose,
    escrow_args,
    registry,
    source_env,
)
from tests.helpers import StaffActions, english_client, post_form, submit_report

NARRATIVE = "canary-narrative {} they beat us in the bus"


def _submit(client: FlaskClient, tag: str) -> str:
    return submit_report(client, narrative=NARRATIVE.format(tag), files=a_file(tag))


def _opens_by_receipt(client: FlaskClient, receipt: str) -> bool:
    response = post_form(client, "/followup/", {"receipt": receipt})
    if response.status_code != 303:
        return False
    return client.get(response.headers["Location"]).status_code == 200


def _check_case(client: FlaskClient, public_id: str) -> None:
    page = client.get(f"/review/case/{public_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    tag = re.search(r"canary-narrative (\S+)", html)
    assert tag, "the case's narrative did not open"
    links = re.findall(rf'href="(/review/case/{public_id}/files/[A-Z0-9]+)"', html)
    assert len(set(links)) == 1
    download = client.get(links[0])
    assert download.status_code == 200
    assert download.get_data() == f"canary-file {tag.group(1)}\n".encode()
    download.close()


def test_backup_under_writes_restores_everything(
    app: Flask, staff: StaffActions, target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A PostgreSQL dump in several parts, restored in order.
    monkeypatch.setattr(snapshot, "PART_BYTES", 64 * 1024)
    reviewer = staff.create("backup-reviewer@example.org")
    before = [_submit(english_client(app), f"before-{n}") for n in range(3)]
    during: list[str] = []
    started, stop = threading.Event(), threading.Event()

    def keep_writing() -> None:
        client = english_client(app)
        while not stop.is_set() and len(during) < 5:
            during.append(_submit(client, f"during-{len(during)}"))
            started.set()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        assert started.wait(30)
        out = tmp_path / "registry.backup"
        acknowledged = len(during)
        backed = registry(["backup", "--out", str(out)], source_env(app))
    finally:
        stop.set()
        writer.join(60)
    assert backed.exit_code == 0, backed.output
    assert not Path(f"{out}.partial").exists()

    data = out.read_bytes()
    assert b"canary" not in data
    assert (app.extensions["registry.config"].keys_dir / "secret.key").read_bytes() not in data

    restored = registry(["restore", str(out), *escrow_args(tmp_path)], target.env)
    assert restored.exit_code == 0, restored.output
    assert (
        target.cfg.keys_dir.joinpath("secret.key").read_bytes()
        == (app.extensions["registry.config"].keys_dir / "secret.key").read_bytes()
    )

    new = target.app()
    try:
        followup = english_client(new)
        # Acknowledged before the backup began: every one is in it.
        assert all(_opens_by_receipt(followup, r) for r in before + during[:acknowledged])
        opened_during = [r for r in during if _opens_by_receipt(followup, r)]
        with new.app_context():
            stored = list(db.session().scalars(select(Report.public_id)))
        # Every report in the copy is one acknowledged to its submitter.
        assert len(stored) == len(before) + len(opened_during)
        reviewer_client = english_client(new)
        StaffActions(new).login(reviewer_client, reviewer)
        for public_id in stored:
            _check_case(reviewer_client, public_id)
    finally:
        dispose(new)


def test_backup_to_age_recipient_opens_with_stock_age(
    app: Flask, target: Target, tmp_path: Path
) -> None:
    receipt = _submit(english_client(app), "age")
    identity = x25519.Identity.generate()
    identity_file = tmp_path / "identity.txt"
    identity_file.write_text(f"# created by the test\n{identity}\n")
    out = tmp_path / "age.backup"
    backed = registry(
        ["backup", "--out", str(out), "--to", str(identity.to_public())], source_env(app)
    )
    assert backed.exit_code == 0, backed.output
    assert b"canary" not in out.read_bytes()

    opened = subprocess.run(
        ["age", "-d", "-i", str(identity_file), str(out)],  # noqa: S607  (the stock tool)
        capture_output=True,
        check=True,
    )
    listing = subprocess.run(
        ["tar", "-t"],  # noqa: S607
        input=opened.stdout,
        capture_output=True,
        check=True,
    ).stdout.decode()
    names = set(listing.split())
    assert {"sviedka-backup/keys/secret.key", "sviedka-backup/manifest.json"} <= names
    blobs = [n for n in names if n.startswith("sviedka-backup/storage/blobs/") and n[-1] != "/"]
    assert len(blobs) == 1
    assert b"canary" not in opened.stdout

    # An install where `registry init` already ran: empty tables, replaced whole.
    target.cfg.instance_dir.mkdir(parents=True)
    upgrade(target.database_url)
    restored = registry(["restore", str(out), "--identity", str(identity_file)], target.env)
    assert restored.exit_code == 0, restored.output
    new = target.app()
    try:
        assert _opens_by_receipt(english_client(new), receipt)
    finally:
        dispose(new)
