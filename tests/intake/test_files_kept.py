"""Files stay attached when the report form comes back with an error (issue 13, item 1).

Attach a file, forget the region, send: the form comes back with the text
and with the file, listed by type and size (not by name) with a "remove"
box, and the next try stores it with the report.  Between the two tries
the file is ciphertext in ``held/`` whose key only the page holds; a
removed file goes at once, an abandoned one with the sweep after a day.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import db
from registry.attachments.storage import BlobStore, midnight
from registry.models import Attachment, Report
from tests.helpers import StaffActions, csrf_token, english_client

PDF = b"%PDF-1.7\n%canary-held-pdf-51c2\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
NOTE = "Свидетель: canary-held-text-0c7e, badge 0420\n".encode()
HELD = re.compile(r'<input type="hidden" name="held" value="([^"]+)">([^<]*)')


def _storage(app: Flask) -> Path:
    return Path(app.extensions["registry.config"].storage_dir)


def _blobs(app: Flask, folder: str) -> list[Path]:
    path = _storage(app) / folder
    return sorted(path.iterdir()) if path.exists() else []


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        session = db.session()
        return (
            session.scalar(select(func.count()).select_from(Report)) or 0,
            session.scalar(select(func.count()).select_from(Attachment)) or 0,
        )


def _answers(**overrides: object) -> dict[str, object]:
    answers: dict[str, object] = {
        "narrative": "They took my phone at the station.",
        "region": "minsk-city",
        "violations": ["torture"],
    }
    answers.update(overrides)
    return answers


def _first_try(app: Flask) -> tuple[FlaskClient, str]:
    """A report sent with two files and no region: the form comes back."""
    client = english_client(app)
    token = csrf_token(client.get("/report").get_data(as_text=True))
    files = [(io.BytesIO(PDF), "arrest-protocol.pdf"), (io.BytesIO(NOTE), "statement-of-anna.txt")]
    response = client.post(
        "/report", data={"csrf_token": token, **_answers(region=""), "files": files}
    )
    assert response.status_code == 422
    return client, response.get_data(as_text=True)


def test_files_come_back_with_the_form_and_are_sent_with_the_report(
    app: Flask, staff: StaffActions
) -> None:
    reviewer = staff.create("held-files@example.org")
    client, html = _first_try(app)

    assert "Please choose a region." in html
    held = HELD.findall(html)
    assert [described.strip(" ·\n") for _token, described in held] == [
        "File 1: application/pdf, 0.1 KB",
        "File 2: text/plain, 0.1 KB",
    ]
    # Listed by type and size: the names stay sealed in the tokens.
    assert "arrest-protocol" not in html
    assert "statement-of-anna" not in html
    assert html.count('name="remove_held"') == 2
    # Held as ciphertext only: no plaintext byte and no name on the server's disk.
    assert len(_blobs(app, "held")) == 2
    assert _blobs(app, "tmp") == []
    on_disk = b"".join(path.read_bytes() for path in _storage(app).rglob("*") if path.is_file())
    for secret in (b"canary-held-pdf-51c2", b"canary-held-text-0c7e", b"arrest-protocol", b"anna"):
        assert secret not in on_disk
    assert _counts(app) == (0, 0)

    sent = client.post(
        "/report",
        data={
            "csrf_token": csrf_token(html),
            **_answers(),
            "held": [token for token, _described in held],
        },
    )
    assert sent.status_code == 200
    assert 'id="receipt"' in sent.get_data(as_text=True)
    assert _counts(app) == (1, 2)
    assert _blobs(app, "held") == []
    assert len(_blobs(app, "blobs")) == 2

    # The reviewer gets both files back, byte for byte, with their names.
    staff_client = english_client(app)
    staff.login(staff_client, reviewer)
    with app.app_context():
        public_id = db.session().scalars(select(Report)).one().public_id
    page = staff_client.get(f"/review/case/{public_id}").get_data(as_text=True)
    links = re.findall(rf'href="(/review/case/{public_id}/files/[A-Z0-9]+)">([^<]+)<', page)
    bodies = {}
    for link, name in links:
        response = staff_client.get(link)
        bodies[name] = response.get_data()
        response.close()
    assert bodies == {"arrest-protocol.pdf": PDF, "statement-of-anna.txt": NOTE}


def test_a_file_ticked_remove_is_deleted_and_not_sent(app: Flask) -> None:
    client, html = _first_try(app)
    (keep, _), (drop, _) = HELD.findall(html)
    sent = client.post(
        "/report",
        data={
            "csrf_token": csrf_token(html),
            **_answers(),
            "held": [keep, drop],
            "remove_held": [drop],
        },
    )
    assert sent.status_code == 200
    assert _counts(app) == (1, 1)
    assert _blobs(app, "held") == []
    assert _blobs(app, "tmp") == []
    assert len(_blobs(app, "blobs")) == 1


def test_files_stay_held_over_a_second_error_and_with_new_files(app: Flask) -> None:
    client, html = _first_try(app)
    tokens = [token for token, _described in HELD.findall(html)]
    again = client.post(
        "/report",
        data={
            "csrf_token": csrf_token(html),
            **_answers(region="", narrative=""),
            "held": tokens,
            "files": [(io.BytesIO(PDF), "third.pdf")],
        },
    )
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert len(HELD.findall(page)) == 3
    assert len(_blobs(app, "held")) == 3
    sent = client.post(
        "/report",
        data={
            "csrf_token": csrf_token(page),
            **_answers(),
            "held": [token for token, _described in HELD.findall(page)],
        },
    )
    assert sent.status_code == 200
    assert _counts(app) == (1, 3)
    # A token of a file sent with a report gives nothing a second time, and
    # the form then stops rather than send another report without it.
    replay = client.post(
        "/report", data={"csrf_token": csrf_token(page), **_answers(), "held": tokens[:1]}
    )
    assert replay.status_code == 422
    assert "Some attached files could not be kept" in replay.get_data(as_text=True)
    assert _counts(app) == (1, 3)


def test_a_forged_token_is_only_a_lost_file(app: Flask) -> None:
    client = english_client(app)
    token = csrf_token(client.get("/report").get_data(as_text=True))
    response = client.post(
        "/report", data={"csrf_token": token, **_answers(), "held": ["AAAA", "x" * 300]}
    )
    assert response.status_code == 422
    assert "Some attached files could not be kept" in response.get_data(as_text=True)
    assert _counts(app) == (0, 0)


def test_an_abandoned_form_loses_its_held_files_to_the_sweep(app: Flask) -> None:
    _first_try(app)
    store = BlobStore(_storage(app))
    held = _blobs(app, "held")
    assert len(held) == 2
    # Held today: the sweep leaves them for the form's next try.
    assert store.sweep_held() == 0
    # A full day later, nobody came back: the sweep deletes them.
    two_days_ago = midnight() - 2 * 86400
    for path in held:
        os.utime(path, (two_days_ago, two_days_ago))
    assert store.sweep_held() == 2
    assert _blobs(app, "held") == []


def test_held_blobs_carry_no_time_of_day(app: Flask) -> None:
    _first_try(app)
    for path in _blobs(app, "held"):
        assert int(path.stat().st_mtime) % 86400 == 0
