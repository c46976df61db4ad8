"""Evidence packs: a partner with stock ``age`` opens one and checks every hash and signature.

Issue 12, "Done when": the pack is downloaded through the HTTP client, opened
with ``age -d -i`` and untarred; every file's SHA-256 is the manifest's, the
manifests' signatures verify with the key published at ``/keys/signing.pub``
(with the cryptography library, with ``registry pack verify`` and, where
present, with ``openssl pkeyutl``).  Both backends.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask
from flask.testing import FlaskClient

from registry.cli import main
from registry.models import Role
from tests.helpers import Staff, StaffActions, english_client, post_form, submit_and_locate
from tests.referral.support import (
    PDF,
    AgeKey,
    add_partner,
    age_keygen,
    events,
    file_name,
    load,
    open_with_age,
    photo,
    request_pack,
    sha256,
)


@dataclass(frozen=True)
class Setting:
    coordinator: Staff
    client: FlaskClient
    cases: list[str]
    partner_id: int
    key: AgeKey


@pytest.fixture
def setting(app: Flask, staff: StaffActions, tmp_path: Path) -> Setting:
    """Two consenting cases (a cleaned photo and a PDF kept as sent; a plain one), a partner."""
    coordinator = staff.create("coordinator@example.org", Role.COORDINATOR)
    first = submit_and_locate(
        app,
        english_client(app),
        consent_refer="y",
        narrative="Они били нас в автобусе. Canary narrative 7731.",
        perpetrators="Officers in masks",
        remove_metadata="y",
        files=[(io.BytesIO(photo()), "фота.jpg"), (io.BytesIO(PDF), "../statement.pdf")],
    )
    second = submit_and_locate(
        app, english_client(app), consent_refer="y", files=[(io.BytesIO(PDF), "raw.pdf")]
    )
    client = english_client(app)
    staff.login(client, coordinator)
    note = post_form(
        client,
        f"/review/case/{first}/notes",
        {"text": "Reviewer note canary 4410"},
        form_page=f"/review/case/{first}",
    )
    assert note.status_code == 303
    key = age_keygen(tmp_path)
    partner_id = add_partner(app, "Lawyers for Belarus", key.recipient)
    return Setting(coordinator, client, [first, second], partner_id, key)


def test_stock_age_opens_the_pack_and_every_hash_and_signature_checks(
    app: Flask, setting: Setting, tmp_path: Path
) -> None:
    response = request_pack(setting.client, setting.cases, setting.partner_id)
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/octet-stream"
    name = file_name(response)
    assert name.startswith("sviedka-pack-")
    assert name.endswith("-2.age")
    pack = response.get_data()
    response.close()
    assert pack.startswith(b"age-encryption.org/v1\n")
    assert b"Canary narrative" not in pack

    out = open_with_age(pack, setting.key, tmp_path)
    top = load(out / "manifest.json")
    assert top["schema"] == "sviedka-pack-manifest"
    assert top["version"] == 1
    assert top["partner"] == "Lawyers for Belarus"
    assert [c["case"] for c in top["cases"]] == setting.cases

    # The key as a partner fetches it: anonymous, public, cacheable, no cookie.
    published = english_client(app).get("/keys/signing.pub")
    assert published.status_code == 200
    assert published.mimetype == "text/plain"
    assert "public" in published.headers["Cache-Control"]
    assert "Set-Cookie" not in published.headers
    pem = published.get_data()
    assert pem == (Path(app.extensions["registry.config"].keys_dir) / "signing.pub").read_bytes()
    public = load_pem_public_key(pem)

    checked_files = 0
    for listed in top["cases"]:
        case_manifest = out / listed["manifest"]
        assert sha256(case_manifest) == listed["sha256"]
        public.verify(
            (out / (listed["manifest"] + ".sig")).read_bytes(), case_manifest.read_bytes()
        )  # type: ignore[call-arg, union-attr]
        document = load(case_manifest)
        assert document["case"] == listed["case"]
        for entry in document["files"]:
            assert entry["included"]
            assert sha256(out / entry["path"]) == entry["sha256"]
            checked_files += 1
    assert checked_files == 3
    public.verify((out / "manifest.json.sig").read_bytes(), (out / "manifest.json").read_bytes())  # type: ignore[call-arg, union-attr]
    assert base64.b64decode(top["signature"]["public_key"]) == public.public_bytes_raw()  # type: ignore[union-attr]

    # The registry's own command, with the published key.
    key_file = tmp_path / "signing.pub"
    key_file.write_bytes(pem)
    verified = CliRunner().invoke(
        main, ["pack", "verify", str(out / "manifest.json"), "--key", str(key_file)]
    )
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("OK: ")
    if shutil.which("openssl"):
        subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                str(key_file),
                "-rawin",
                "-in",
                str(out / "manifest.json"),
                "-sigfile",
                str(out / "manifest.json.sig"),
            ],
            check=True,
            capture_output=True,
        )

    # One referral event per case, naming the partner (by row id).
    detail = f"partner:{setting.partner_id}"
    assert sorted(events(app, "case.referred")) == sorted((c, detail) for c in setting.cases)


def test_a_changed_manifest_fails_verification(setting: Setting, tmp_path: Path) -> None:
    response = request_pack(setting.client, setting.cases[:1], setting.partner_id)
    out = open_with_age(response.get_data(), setting.key, tmp_path)
    key_file = tmp_path / "signing.pub"
    key_file.write_bytes(setting.client.get("/keys/signing.pub").get_data())
    manifest = out / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b"Lawyers", b"Liars"))
    result = CliRunner().invoke(main, ["pack", "verify", str(manifest), "--key", str(key_file)])
    assert result.exit_code == 1
    assert result.output.startswith("BAD: ")
    assert len(result.output.strip().splitlines()) == 1


def test_manifest_holds_the_case_and_both_hashes_of_a_cleaned_photo(
    setting: Setting, tmp_path: Path
) -> None:
    first = setting.cases[0]
    response = request_pack(setting.client, [first], setting.partner_id)
    out = open_with_age(response.get_data(), setting.key, tmp_path)
    document = load(out / first / "manifest.json")
    assert document["schema"] == "sviedka-case-manifest"
    assert document["version"] == 1
    assert document["incident_period"] == {"month": "2020-08"}
    assert document["region"]["code"] == "minsk-city"
    assert set(document["region"]["labels"]) == {"be", "ru", "en"}
    assert document["violations"][0]["code"] == "torture"
    assert all(document["violations"][0]["labels"][lang] for lang in ("be", "ru", "en"))
    assert "Canary narrative 7731" in document["narrative"]
    assert document["answers"]["perpetrators"] == "Officers in masks"
    assert "contact" not in document["answers"]
    photo_entry, pdf_entry = document["files"]
    # The cleaned photo: the original's sealed hash and the cleaned copy's, and says so.
    assert photo_entry["cleaned"] is True
    assert photo_entry["original_kept"] is False
    assert photo_entry["original_sha256"] != photo_entry["sha256"]
    assert "original" in photo_entry["note"]
    assert "cleaned" in photo_entry["note"]
    assert sha256(out / photo_entry["path"]) == photo_entry["sha256"]
    assert b"CanaryCamMaker" not in (out / photo_entry["path"]).read_bytes()
    # Kept as sent: the file's hash is the custody hash.
    assert pdf_entry["cleaned"] is False
    assert pdf_entry["sha256"] == pdf_entry["original_sha256"] == sha256(out / pdf_entry["path"])
    assert (out / pdf_entry["path"]).read_bytes() == PDF
    # A name chosen by the submitter stays one file inside the case's folder.
    assert pdf_entry["name"] == "../statement.pdf"
    assert pdf_entry["path"].startswith(f"{first}/files/")
    assert pdf_entry["path"].count("/") == 2


def test_reviewer_notes_only_when_ticked(setting: Setting, tmp_path: Path) -> None:
    first = setting.cases[0]
    plain = request_pack(setting.client, [first], setting.partner_id)
    without = load(
        open_with_age(plain.get_data(), setting.key, tmp_path / "a") / first / "manifest.json"
    )
    assert without["reviewer_notes_included"] is False
    assert "reviewer_notes" not in without
    assert "canary 4410" not in str(without)
    ticked = request_pack(setting.client, [first], setting.partner_id, notes=True)
    document = load(
        open_with_age(ticked.get_data(), setting.key, tmp_path / "b") / first / "manifest.json"
    )
    assert document["reviewer_notes_included"] is True
    assert [note["text"] for note in document["reviewer_notes"]] == ["Reviewer note canary 4410"]
    assert "coordinator@example.org" not in str(document)


def test_the_case_page_and_the_queue_lead_to_the_refer_page(setting: Setting) -> None:
    first = setting.cases[0]
    case_page = setting.client.get(f"/review/case/{first}").get_data(as_text=True)
    assert f'href="/review/refer?case={first}"' in case_page
    queue = setting.client.get("/review/?region=minsk-city").get_data(as_text=True)
    assert 'href="/review/refer?region=minsk-city"' in queue
    batch = setting.client.get("/review/refer?region=minsk-city").get_data(as_text=True)
    for case in setting.cases:
        assert re.search(rf'<input checked [^>]*value="{case}"', batch)
