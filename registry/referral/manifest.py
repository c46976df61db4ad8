"""The manifests of an evidence pack: versioned JSON, signed byte for byte.

Schema and meaning of every key: docs/packs.md.  Each case has its own
``<case>/manifest.json``; the pack's ``manifest.json`` lists them with the
SHA-256 of each, so its one signature covers every case manifest and,
through their file hashes, every file.  Each manifest is also signed on its
own (``manifest.json.sig``), so a partner can pass one case on to another
body with a signature that still verifies.

WHY the bytes are fixed here and signed as they are: a signature is over
exact bytes, and a partner verifies the file they hold, with any tool; no
canonical re-serialisation is needed (or possible) on their side.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

CASE_SCHEMA = "sviedka-case-manifest"
PACK_SCHEMA = "sviedka-pack-manifest"
VERSION = 1
LANGUAGES = ("be", "ru", "en")
MANIFEST = "manifest.json"
SIGNATURE_SUFFIX = ".sig"

CLEANED_NOTE = (
    "Cleaned copy: the registry removed location and camera data from this photo when it "
    "was received, and did not keep the original. original_sha256 is the SHA-256 of the "
    "original as the submitter sent it (sealed at receipt); sha256 is the SHA-256 of the "
    "cleaned copy in this pack."
)
KEPT_NOTE = "Kept as sent: sha256 is the SHA-256 the registry sealed when it was received."
DAMAGED_NOTE = (
    "Not included: the stored file or its sealed key failed the registry's integrity check."
)


@dataclass(frozen=True)
class Labelled:
    """A vocabulary code with its titles in Belarusian, Russian and English."""

    code: str
    labels: dict[str, str]

    def encode(self) -> dict[str, Any]:
        """The manifest's form: ``{"code": …, "labels": {"be": …, "ru": …, "en": …}}``."""
        return {
            "code": self.code,
            "labels": {lang: self.labels.get(lang, "") for lang in LANGUAGES},
        }


@dataclass(frozen=True)
class FileEntry:
    """One file of a case as the manifest lists it."""

    id: str
    name: str
    media_type: str
    size: int
    # SHA-256 of the bytes in the pack (None for a file not included).
    sha256: str | None
    # The custody hash sealed at receipt: of the original as sent.
    original_sha256: str
    cleaned: bool
    path: str | None
    # Whether the submitter's own statement over this file verifies.
    submitter_signed: bool

    def encode(self) -> dict[str, Any]:
        """The manifest's form of the entry (docs/packs.md, "files")."""
        note = DAMAGED_NOTE if self.path is None else CLEANED_NOTE if self.cleaned else KEPT_NOTE
        return {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "included": self.path is not None,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "original_sha256": self.original_sha256,
            "cleaned": self.cleaned,
            "original_kept": not self.cleaned,
            "submitter_signed": self.submitter_signed,
            "note": note,
        }


def encode(document: dict[str, Any]) -> bytes:
    """The exact bytes of a manifest: UTF-8 JSON, indented, keys in the order given."""
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def pack_manifest(
    *,
    created_on: date,
    registry_url: str,
    partner: str,
    notes_included: bool,
    cases: list[tuple[str, bytes]],
    public_key_b64: str,
) -> dict[str, Any]:
    """The pack's top-level manifest: who made it for whom, and each case manifest's hash."""
    return {
        "schema": PACK_SCHEMA,
        "version": VERSION,
        "created_on": created_on.isoformat(),
        "registry": registry_url,
        "partner": partner,
        "reviewer_notes_included": notes_included,
        "cases": [
            {"case": case, "manifest": f"{case}/{MANIFEST}", "sha256": sha256_hex(data)}
            for case, data in cases
        ],
        "signature": {
            "algorithm": "Ed25519",
            "files": f"<manifest>{SIGNATURE_SUFFIX}",
            "public_key": public_key_b64,
            "published_at": f"{registry_url}/keys/signing.pub",
        },
    }
