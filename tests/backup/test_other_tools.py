"""An escrow-sealed backup opens with other tools, following docs/backup.md alone.

The header is parsed by hand, the sealed identity opened by the
independent envelope reader (tests/docs, written from docs/envelopes.md),
the archive by the stock ``age`` and ``tar``: what the document promises
an operator without this code.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
import subprocess
from pathlib import Path

import pytest
from flask import Flask

from registry.backup import snapshot
from registry.keyring.armor import PRIVATE_HEADER, PUBLIC_HEADER, dearmor
from tests.backup.support import a_file, registry, source_env
from tests.docs.test_independent_reader import open_message, unlock
from tests.helpers import ESCROW_PASSPHRASE, ESCROW_PRIVATE, english_client, submit_and_locate


def test_escrow_backup_opens_as_documented(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small parts, so that a dump of the test database comes in several.
    monkeypatch.setattr(snapshot, "PART_BYTES", 64 * 1024)
    public_id = submit_and_locate(app, english_client(app), files=a_file("tools"))
    out = tmp_path / "escrow.backup"
    result = registry(["backup", "--out", str(out)], source_env(app))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()

    assert data[:18] == b"sviedka-backup/v1\n"
    keys_dir = app.extensions["registry.config"].keys_dir
    escrow_public = dearmor(PUBLIC_HEADER, (keys_dir / "escrow.pub").read_text())
    assert data[18:35] == hashlib.sha256(escrow_public).hexdigest()[:16].encode() + b"\n"
    (length,) = struct.unpack(">I", data[35:39])
    sealed = data[39 : 39 + length]
    private = unlock(
        dearmor(PRIVATE_HEADER, (tmp_path / ESCROW_PRIVATE).read_text()), ESCROW_PASSPHRASE
    )
    identity = open_message(private, sealed, "sviedka-backup", "backup-identity").decode("ascii")
    assert identity.startswith("AGE-SECRET-KEY-1")
    assert len(identity) == 74
    (tmp_path / "identity.txt").write_text(identity + "\n")

    (tmp_path / "age-part").write_bytes(data[39 + length :])
    plain = subprocess.run(
        ["age", "-d", "-i", str(tmp_path / "identity.txt"), str(tmp_path / "age-part")],  # noqa: S607
        capture_output=True,
        check=True,
    ).stdout
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    subprocess.run(["tar", "-x", "-C", str(extracted)], input=plain, check=True)  # noqa: S607
    root = extracted / "sviedka-backup"
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["blobs"] == 1
    assert (root / "keys" / "secret.key").read_bytes() == (keys_dir / "secret.key").read_bytes()
    assert len(list((root / "storage" / "blobs").iterdir())) == 1
    if manifest["database"] == "sqlite":
        with sqlite3.connect(root / "database.sqlite3") as copy:
            ids = [row[0] for row in copy.execute("SELECT public_id FROM reports")]
        copy.close()
        assert ids == [public_id]
    else:
        parts = sorted((root / "database").iterdir())
        assert len(parts) == manifest["database_parts"] > 1
        dump = b"".join(p.read_bytes() for p in parts)
        assert b"CREATE TABLE public.reports" in dump
        assert public_id.encode() in dump
