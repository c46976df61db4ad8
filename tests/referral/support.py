"""Shared pieces of the referral tests: partners with real age keys, packs opened with stock age."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from werkzeug.test import TestResponse

from registry import db
from registry.models import AuditEvent
from registry.referral import partners
from tests.helpers import csrf_token

PDF = b"%PDF-1.7\n%referral-pdf\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"


def photo() -> bytes:
    """A JPEG with a camera maker in its EXIF (removed when cleaned)."""
    exif = Image.Exif()
    exif[0x010F] = "CanaryCamMaker"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 20, 30)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@dataclass(frozen=True)
class AgeKey:
    """An age identity made with stock ``age-keygen``."""

    identity_file: Path
    recipient: str


def age_keygen(folder: Path, name: str = "partner") -> AgeKey:
    """A fresh identity file and its recipient, from ``age-keygen``."""
    path = folder / f"{name}.key"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()
    return AgeKey(path, recipient)


def add_partner(app: Flask, name: str, *recipients: str) -> int:
    """Add a partner through the service (as the CLI does); its row id."""
    with app.app_context():
        session = db.session()
        partner = partners.add_partner(
            session,
            name=name,
            contact="Signal +000",
            recipients="\n".join(recipients),
            account_id=None,
            today=date(2026, 12, 4),
        )
        session.commit()
        return partner.id


def request_pack(
    client: FlaskClient, case_ids: list[str], partner_id: int, *, notes: bool = False
) -> TestResponse:
    """Open the refer page for ``case_ids`` and post its form."""
    query = "&".join(f"case={case}" for case in case_ids)
    page = client.get(f"/review/refer?{query}")
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    data: dict[str, object] = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "cases": case_ids,
        "partner": str(partner_id),
    }
    if notes:
        data["include_notes"] = "y"
    return client.post("/review/refer", data=data)


def open_with_age(pack: bytes, key: AgeKey, folder: Path) -> Path:
    """Decrypt with stock ``age -d -i`` and untar into ``folder``/out; return that folder."""
    folder.mkdir(parents=True, exist_ok=True)
    encrypted = folder / "pack.age"
    encrypted.write_bytes(pack)
    plain = folder / "pack.tar"
    subprocess.run(
        ["age", "-d", "-i", str(key.identity_file), "-o", str(plain), str(encrypted)],
        check=True,
        capture_output=True,
    )
    out = folder / "out"
    with tarfile.open(plain) as archive:
        archive.extractall(out, filter="data")
    return out


def load(path: Path) -> Any:
    """A manifest, parsed."""
    return json.loads(path.read_bytes())


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def events(app: Flask, action: str) -> list[tuple[str | None, str | None]]:
    """(report_ref, detail) of every audit event with ``action``."""
    with app.app_context():
        rows = db.session().scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [(row.report_ref, row.detail) for row in rows]


def event_count(app: Flask) -> int:
    """How many audit events there are."""
    with app.app_context():
        return len(db.session().scalars(select(AuditEvent.id)).all())


def file_name(response: TestResponse) -> str:
    """The file name of an attachment response."""
    match = re.search(r'filename="([^"]+)"', response.headers["Content-Disposition"])
    assert match
    return match.group(1)
