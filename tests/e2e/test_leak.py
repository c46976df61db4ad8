"""Promises 1 and 3 against a real gunicorn: a seized server holds no report
content and nothing about the submitter's request.

A report carries unique canaries (narrative, a sealed answer, a mapping
rationale); the submitter's request carries a distinctive User-Agent, an
``X-Forwarded-For`` address and a Referer.  Every file the deployment keeps
(database and its -wal/-shm files, keys, storage, the server's output) and a
dump of every database row must contain none of them — while the reviewer's
case page, fetched over HTTP, does show the report.  Only the standard
library talks to the server.
"""

from __future__ import annotations

import base64
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, make_url, select

from tests.e2e.support import (
    RECEIPT,
    LiveServer,
    WebClient,
    csrf_token,
    download_files,
    enrol_reviewer,
    only_case_path,
    reply_as,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FORWARDED_FOR = "198.51.100.23"
CASE_LINK = re.compile(r'<a href="/review/case/([A-Za-z0-9]+)">')
PROPOSAL = "torture-investigation"


def encodings(secret: str) -> tuple[list[bytes], list[bytes]]:
    """Byte patterns of ``secret``: (case-insensitive, exact).

    UTF-8 and hex (how ``pg_dump`` prints a bytea) are compared case-blind;
    base64 in each of the three alignments, minus the last group that
    depends on what follows, is compared exactly.
    """
    raw = secret.encode()
    blind = [raw.lower(), raw.hex().encode()]
    exact = []
    for shift in range(3):
        encoded = base64.b64encode(raw[shift:])
        exact.append(encoded[: len(encoded) - 4])
    return blind, [pattern for pattern in exact if len(pattern) >= 8]


def found_in(haystack: bytes, secret: str) -> bool:
    """Whether ``haystack`` holds ``secret`` in any of its :func:`encodings`."""
    blind, exact = encodings(secret)
    lowered = haystack.lower()
    return any(p in lowered for p in blind) or any(p in haystack for p in exact)


def database_rows(database_url: str) -> bytes:
    """Every value of every row of every table, bytes as they are stored."""
    engine = create_engine(database_url)
    parts: list[bytes] = []
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    for value in row:
                        parts.append(value if isinstance(value, bytes) else str(value).encode())
    finally:
        engine.dispose()
    return b"\x00".join(parts)


def pg_dump(database_url: str) -> bytes:
    """``pg_dump`` of the deployment's database (plain SQL)."""
    tool = shutil.which("pg_dump")
    assert tool, "pg_dump is not installed but PostgreSQL answers"
    url = make_url(database_url)
    env = {"PGPASSWORD": url.password or ""}
    return subprocess.run(
        [
            tool,
            "--no-owner",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            url.database or "",
        ],
        capture_output=True,
        check=True,
        timeout=120,
        env=env,
    ).stdout


@dataclass(repr=False)
class Evidence:
    """What a seizure of the deployment would yield, by source."""

    sources: dict[str, bytes]

    def holding(self, secret: str) -> list[str]:
        """The sources in which ``secret`` appears."""
        return [name for name, data in self.sources.items() if found_in(data, secret)]


def seize(server: LiveServer) -> Evidence:
    """Read every stored file and every database row (and ``pg_dump`` on PostgreSQL)."""
    sources = {str(path): path.read_bytes() for path in server.stored_files()}
    sources["database rows"] = database_rows(server.database_url)
    if server.database_url.startswith("postgresql"):
        sources["pg_dump"] = pg_dump(server.database_url)
    return Evidence(sources)


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest) -> LiveServer:
    """A fresh server per backend (the test stops it itself)."""
    url = request.getfixturevalue("pg_fresh_database") if request.param == "postgresql" else None
    # Requested after the database, so the server stops before the database is dropped.
    make: Callable[[str | None], LiveServer] = request.getfixturevalue("server_factory")
    return make(url)


def test_seized_deployment_holds_no_report_content_and_no_request_data(
    deployment: LiveServer,
) -> None:
    token = secrets.token_hex(8)
    narrative = f"CANARY-{token} катаванне ў аўтобусе"
    place = f"PLACE-{secrets.token_hex(8)} вуліца Акрэсціна, камера 7"
    rationale = f"RATIONALE-{secrets.token_hex(8)} доказ катаванняў"
    agent = f"SviedkaLeakProbe/{secrets.token_hex(6)} (X11; Linux)"
    referer = f"https://referrer-{secrets.token_hex(6)}.example/page"
    reviewer = enrol_reviewer(deployment, "leak-reviewer@example.org")

    citizen = WebClient(
        deployment.base_url,
        {
            "User-Agent": agent,
            "X-Forwarded-For": FORWARDED_FOR,
            "X-Real-IP": FORWARDED_FOR,
            "Referer": referer,
            "Accept-Language": "be",
        },
    )
    sent = citizen.submit(
        "/report",
        [
            ("narrative", narrative),
            ("region", "minsk-city"),
            ("month", "08"),
            ("year", "2020"),
            ("violations", "torture"),
            ("violations", "detention-conditions"),
            ("where_exact", place),
        ],
    )
    assert sent.status == 200, sent.text[:3000]
    found = RECEIPT.search(sent.text)
    assert found, "no receipt on the page"
    receipt = found.group(1)
    saved = citizen.post(
        "/report/saved",
        [("csrf_token", csrf_token(sent.text)), ("receipt", receipt), ("saved", "y")],
    )
    assert saved.status == 303
    assert saved.location.endswith("/report/done")

    queue = reviewer.client.get("/review/")
    cases = CASE_LINK.findall(queue.text)
    assert len(cases) == 1, queue.text[:3000]
    case_path = f"/review/case/{cases[0]}"
    case = reviewer.client.get(case_path)
    assert case.status == 200
    assert f'<div class="narrative" id="narrative">{narrative}</div>' in case.text
    assert place in case.text
    mapped = reviewer.client.submit(
        f"{case_path}/mappings",
        [("proposal", PROPOSAL), ("strength", "strong"), ("rationale", rationale)],
        form_page=case_path,
    )
    assert mapped.status == 303, mapped.text[:3000]
    assert rationale in reviewer.client.get(case_path).text

    secrets_of_report = {
        "narrative": narrative,
        "narrative token": token,
        "sealed answer": place,
        "rationale": rationale,
        "receipt": receipt,
        "receipt (normalized)": receipt.replace("-", ""),
    }
    request_data = {
        "user agent": agent,
        "forwarded address": FORWARDED_FOR,
        "referer": referer,
    }
    while_running = seize(deployment)
    deployment.stop()
    # Stopped: SQLite has checkpointed its write-ahead log into the main file.
    after_stop = seize(deployment)

    for moment, evidence in (("running", while_running), ("stopped", after_stop)):
        # Positive controls: the scan does read the stored data.
        assert evidence.holding("leak-reviewer@example.org"), moment
        assert evidence.holding("minsk-city"), moment
        for label, secret in {**secrets_of_report, **request_data}.items():
            holders = evidence.holding(secret)
            assert not holders, f"{label} {secret!r} stored ({moment}) in {holders}"

    output = deployment.server_output()
    for line in output.splitlines():
        assert "GET /" not in line, f"access log line: {line}"
        assert "POST /" not in line, f"access log line: {line}"
    assert "Traceback" not in output, output


def test_seized_deployment_holds_no_file_or_message_content(deployment: LiveServer) -> None:
    """Attachments and messages both ways are sealed too, yet readable over HTTP."""
    pdf_canary = f"PDFCANARY-{secrets.token_hex(8)} медыцынская даведка"
    text_canary = f"TXTCANARY-{secrets.token_hex(8)} сведка, жэтон 0420"
    file_name = f"NAMECANARY{secrets.token_hex(6)}.pdf"
    pdf = (
        b"%PDF-1.7\n%" + pdf_canary.encode() + b"\n1 0 obj << /Type /Catalog >> endobj\n"
        b"trailer\n%%EOF\n"
    )
    notes = f"{text_canary}\n".encode()
    message = f"MESSAGE-{secrets.token_hex(8)} я магу даслаць яшчэ фота"
    reply = f"REPLY-{secrets.token_hex(8)} дзякуй, юрыст звяжацца"
    reviewer = enrol_reviewer(deployment, "leak-files@example.org")

    citizen = WebClient(deployment.base_url, {"Accept-Language": "en"})
    form = citizen.get("/report")
    sent = citizen.post_multipart(
        "/report",
        [
            ("csrf_token", csrf_token(form.text)),
            ("narrative", f"NARRATIVE-{secrets.token_hex(8)}"),
            ("region", "brest"),
            ("remove_metadata", "y"),
        ],
        [("files", file_name, pdf), ("files", "notes.txt", notes)],
    )
    assert sent.status == 200, sent.text[:3000]
    found = RECEIPT.search(sent.text)
    assert found, sent.text[:3000]
    receipt = found.group(1)
    opened = citizen.submit("/followup/", [("receipt", receipt)])
    assert opened.status == 303, opened.text[:3000]
    assert opened.location.endswith("/followup/case")
    posted = citizen.submit("/followup/message", [("text", message)], form_page="/followup/case")
    assert posted.status == 303, posted.text[:3000]

    case_path = only_case_path(reviewer)
    files = download_files(reviewer, case_path)
    assert {name: page.body for name, page in files.items()} == {file_name: pdf, "notes.txt": notes}
    assert message in reviewer.client.get(case_path).text
    reply_as(reviewer, case_path, reply)
    assert reply in citizen.get("/followup/case").text

    canaries = {
        "pdf content": pdf_canary,
        "text file content": text_canary,
        "file name": file_name,
        "submitter message": message,
        "staff reply": reply,
        "receipt": receipt,
    }
    while_running = seize(deployment)
    deployment.stop()
    after_stop = seize(deployment)
    for moment, evidence in (("running", while_running), ("stopped", after_stop)):
        assert evidence.holding("leak-files@example.org"), moment  # the scan reads the data
        for label, secret in canaries.items():
            holders = evidence.holding(secret)
            assert not holders, f"{label} {secret!r} stored ({moment}) in {holders}"
    assert "Traceback" not in deployment.server_output()


def test_found_in_sees_every_encoding() -> None:
    secret = f"CANARY-{secrets.token_hex(8)} катаванне"
    raw = secret.encode()
    assert found_in(b"xx" + raw.upper() + b"yy", secret)
    assert found_in(b"\\x" + raw.hex().encode(), secret)
    for prefix in (b"", b"a", b"ab"):
        assert found_in(base64.b64encode(prefix + raw + b"tail"), secret)
    assert not found_in(b"nothing of it here", secret)


def test_seize_reads_every_file(tmp_path: Path) -> None:
    server = LiveServer(
        "http://127.0.0.1:1",
        tmp_path,
        tmp_path / "instance",
        tmp_path / "keys",
        tmp_path / "storage",
        tmp_path / "server.log",
        f"sqlite:///{tmp_path / 'instance' / 'registry.sqlite3'}",
        {},
    )
    (tmp_path / "instance" / "deep").mkdir(parents=True)
    (tmp_path / "instance" / "deep" / "registry.sqlite3-wal").write_bytes(b"secret-one")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "secret.key").write_bytes(b"secret-two")
    server.output.write_text("secret-three", encoding="utf-8")
    evidence = seize(server)
    assert evidence.holding("secret-one")
    assert evidence.holding("secret-two")
    assert evidence.holding("secret-three")
