"""``registry escrow recover``: every case back from a database copy with the escrow key alone.

Run as a separate process with no REGISTRY_* settings, no instance
directory and no ``keys/secret.key``, after every staff account was deleted:
what an organisation has left once the server is gone (issue 12, "Done when").
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pyrage
from flask import Flask
from sqlalchemy import create_engine, delete, func, make_url, select, update
from sqlalchemy.orm import Session

from registry.db import make_engine
from registry.models import Account, Attachment, KeyWrap, Report, SealedField
from tests.escrow.conftest import Case, populate, run_registry
from tests.helpers import triggers_bypassed


def _copy(app: Flask, tmp_path: Path) -> str:
    """A copy of the app's database: a SQLite file copied aside; PostgreSQL's own (restored)."""
    url = app.extensions["registry.config"].database_url
    if make_url(url).get_backend_name() != "sqlite":
        return str(url)
    source = sqlite3.connect(make_url(url).database or "")
    copy_path = tmp_path / "copy" / "registry.sqlite3"
    copy_path.parent.mkdir()
    target = sqlite3.connect(copy_path)
    source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{copy_path}"


def _without_staff(url: str) -> None:
    """Delete every staff account (their wraps go with them), as the owner of the database can."""
    engine = make_engine(url)  # with SQLite's foreign keys on, as the app has them
    with Session(engine) as session:
        with triggers_bypassed(session):
            session.execute(delete(Account))
        session.commit()
        assert session.scalar(select(func.count()).select_from(KeyWrap).where(~KeyWrap.escrow)) == 0
    engine.dispose()


def _recover(
    app: Flask, url: str, tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    cfg = app.extensions["registry.config"]
    offline = tmp_path / "offline"
    offline.mkdir(exist_ok=True)
    out = offline / "out"
    result = run_registry(
        "escrow",
        "recover",
        "--database",
        url,
        "--storage",
        str(cfg.storage_dir),
        "--escrow-key",
        str(tmp_path / "escrow.key"),
        "--passphrase-file",
        str(tmp_path / "pass.txt"),
        "--out",
        str(out),
        *extra,
        cwd=offline,
    )
    # Nothing of a deployment appeared where it ran.
    assert sorted(p.name for p in offline.iterdir()) == (["out"] if out.exists() else [])
    return result, out


def _check_case(folder: Path, case: Case) -> None:
    report = json.loads((folder / "report.json").read_text())
    assert report["case"] == case.public_id
    assert report["texts"]["narrative"] == case.narrative
    messages = json.loads((folder / "messages.json").read_text())
    assert [m["text"] for m in messages if m["direction"] == "to-staff"] == case.to_staff
    assert [m["text"] for m in messages if m["direction"] == "to-submitter"] == case.to_submitter
    assert all(m["signed_by_submitter"] for m in messages if m["direction"] == "to-staff")
    assert [n["text"] for n in json.loads((folder / "notes.json").read_text())] == case.notes
    rationales = [m["rationale"] for m in json.loads((folder / "mappings.json").read_text())]
    assert rationales == case.rationales
    index = json.loads((folder / "index.json").read_text())
    assert index["problems"] == []
    recovered = {f["name"]: (folder / f["path"]).read_bytes() for f in index["files"]}
    assert recovered == case.files
    for entry in index["files"]:
        path = folder / entry["path"]
        # Written under the original name made safe, inside the case folder.
        assert path.parent == folder / "files"
        assert entry["custody_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["checked_against"] == "custody_sha256"


def test_recover_brings_back_every_case_byte_for_byte(
    app: Flask, tmp_path: Path, escrow_file: Path
) -> None:
    cases = populate(app)
    url = _copy(app, tmp_path)
    _without_staff(url)
    result, out = _recover(app, url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 cases recovered (2 files, 2 messages); 0 skipped" in result.stdout
    for case in cases:
        _check_case(out / case.public_id, case)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cases_written"] == 3
    assert summary["cases_skipped"] == []
    assert summary["cases_with_problems"] == []
    names = {p.name for p in (out / cases[0].public_id / "files").iterdir()}
    # Path separators in a sent name cannot leave the folder.
    assert names == {"001-med report.pdf", "002-_.._сведка notes.txt"}


def test_recover_to_age_files_opens_with_the_stock_tool(
    app: Flask, tmp_path: Path, escrow_file: Path
) -> None:
    cases = populate(app)
    identity = pyrage.x25519.Identity.generate()
    (tmp_path / "key.txt").write_text(f"{identity}\n")
    result, out = _recover(app, _copy(app, tmp_path), tmp_path, "--to", str(identity.to_public()))
    assert result.returncode == 0, result.stderr
    # Nothing in plain on disk: one age file per case and the sealed summary.
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{case.public_id}.tar.age" for case in cases] + ["summary.json.age"]
    )
    opened = tmp_path / "opened"
    opened.mkdir()
    for case in cases:
        plain = subprocess.run(
            ["age", "-d", "-i", str(tmp_path / "key.txt"), str(out / f"{case.public_id}.tar.age")],
            capture_output=True,
            check=True,
        ).stdout
        archive = opened / f"{case.public_id}.tar"
        archive.write_bytes(plain)
        with tarfile.open(archive) as tar:
            tar.extractall(opened, filter="data")
        _check_case(opened / case.public_id, case)


def test_damaged_wrap_field_and_blob_are_reported_and_the_rest_recovered(
    app: Flask, tmp_path: Path, escrow_file: Path
) -> None:
    first, second, third = populate(app)
    cfg = app.extensions["registry.config"]
    url = _copy(app, tmp_path)
    engine = create_engine(url)
    with Session(engine) as session:
        ids = dict(session.execute(select(Report.public_id, Report.id)).all())
        # A flipped byte in third's escrow wrap, second's answers, one of first's blobs.
        wrapped = session.scalars(
            select(KeyWrap.wrapped).where(KeyWrap.report_id == ids[third.public_id], KeyWrap.escrow)
        ).one()
        session.execute(
            update(KeyWrap)
            .where(KeyWrap.report_id == ids[third.public_id], KeyWrap.escrow)
            .values(wrapped=wrapped[:-1] + bytes([wrapped[-1] ^ 1]))
        )
        answers = session.get(SealedField, (ids[second.public_id], "answers"))
        assert answers is not None
        answers.ciphertext = answers.ciphertext[:-1] + bytes([answers.ciphertext[-1] ^ 1])
        blob = session.scalars(
            select(Attachment.blob)
            .where(Attachment.report_id == ids[first.public_id])
            .order_by(Attachment.seq)
        ).first()
        session.commit()
    engine.dispose()
    path = cfg.storage_dir / "blobs" / str(blob)
    data = bytearray(path.read_bytes())
    data[40] ^= 1
    path.write_bytes(bytes(data))
    result, out = _recover(app, url, tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"SKIPPED {third.public_id}: escrow wrap: damaged" in result.stderr
    assert f"DAMAGED {second.public_id}: field answers: damaged" in result.stderr
    assert f"DAMAGED {first.public_id}: file " in result.stderr
    assert (
        "2 cases recovered (1 files, 2 messages); 1 skipped, 2 with damaged parts" in result.stdout
    )
    assert not (out / third.public_id).exists()
    # What was not damaged came back.
    index = json.loads((out / first.public_id / "index.json").read_text())
    assert [f["name"] for f in index["files"]] == ["../../сведка notes.txt"]
    messages = json.loads((out / second.public_id / "messages.json").read_text())
    assert [m["text"] for m in messages] == second.to_staff


def test_wrong_passphrase_or_key_is_one_line(app: Flask, tmp_path: Path, escrow_file: Path) -> None:
    (tmp_path / "pass.txt").write_text("not the escrow passphrase at all\n")
    result, _out = _recover(app, _copy(app, tmp_path), tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "Wrong passphrase (or a damaged key file)."


def test_another_escrow_key_is_refused_in_one_line(app: Flask, tmp_path: Path) -> None:
    from registry.crypto import Argon2Params
    from registry.keyring.escrow import create_escrow
    from tests.escrow.conftest import file_case

    file_case(app, "A report wrapped to the deployment's escrow key.")
    other = tmp_path / "other-keys"
    create_escrow(
        other, tmp_path / "escrow.key.other", "another long passphrase here", Argon2Params(64, 1, 4)
    )
    (tmp_path / "escrow.key").unlink(missing_ok=True)
    (tmp_path / "escrow.key.other").rename(tmp_path / "escrow.key")
    (tmp_path / "pass.txt").write_text("another long passphrase here\n")
    result, _out = _recover(app, _copy(app, tmp_path), tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "This escrow key opens none of this database's escrow wraps."


def test_truncated_sqlite_copy_gives_back_what_it_can(
    sqlite_app: Flask, tmp_path: Path, escrow_file: Path
) -> None:
    from tests.escrow.conftest import file_case

    names = [file_case(sqlite_app, f"Case number {n} " + "x" * 3000) for n in range(12)]
    url = _copy(sqlite_app, tmp_path)
    path = Path(make_url(url).database or "")
    # A compact file (as a backup tool writes one), cut short: the schema
    # and the first tables are whole, the rest of the file is gone.
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("VACUUM")
    connection.close()
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size * 95 // 100)
    result, out = _recover(sqlite_app, url, tmp_path)
    recovered = {p.name for p in out.iterdir() if p.is_dir()}
    listed = {
        line.split()[1].rstrip(":")
        for line in result.stderr.splitlines()
        if line.startswith(("SKIPPED", "DAMAGED", "UNREADABLE"))
    }
    # SQLite refuses a file shorter than its header says: without recovery's
    # own handling nothing at all would come back.
    assert recovered, result.stderr
    # Every case is either recovered or listed; a loss fails the run.
    assert set(names) <= recovered | listed, result.stderr
    assert result.returncode == (0 if recovered == set(names) else 1), result.stderr
