"""Outages answer cleanly: a database that goes away gives a 503, never a 500.

A private PostgreSQL cluster is started for this file, the app is created
on it, and the server is really stopped (``pg_ctl stop -m fast``) while the
app keeps running.  Every page must then answer the outage page in the
person's language, a report or message must come back with its text, the
log must get one line with the exception's type and nothing of the
request, and once the server is started again the same app must work
without a restart.  SQLite's outage, a database locked by another writer,
is checked the same way.
"""

from __future__ import annotations

import glob
import io
import logging
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from config import TestingConfig
from registry import create_app, db
from registry.keyring.escrow import create_escrow
from registry.models import Message, Report
from registry.models.migrate import upgrade
from registry.reforms.service import load_catalogue
from registry.runtime import escrow_params
from registry.taxonomy.service import load_vocabularies
from tests.helpers import (
    ESCROW_PASSPHRASE,
    ESCROW_PRIVATE,
    StaffActions,
    csrf_token,
    english_client,
    post_form,
    submit_report,
)

pytestmark = pytest.mark.slow

OUTAGE_LINE = re.compile(r"database unavailable: [A-Za-z]+Error")


@dataclass
class Cluster:
    """A private PostgreSQL server: its URL and how to stop and start it."""

    url: str
    command: list[str]
    options: str

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.command, *args], check=True, capture_output=True, timeout=60)  # noqa: S603

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._ctl("-w", "-o", self.options, "start")

    def stop(self) -> None:
        """Stop the server the way an operator or a crash-restart would (fast)."""
        self._ctl("-w", "-m", "fast", "stop")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Start a throw-away PostgreSQL cluster on a free port; remove it at the end."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip(
            "!!! no PostgreSQL binaries (initdb, pg_ctl) under /usr/lib/postgresql: "
            "the database-outage test is NOT TESTED !!!"
        )
    bindir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="sviedka-pg-"))
    # initdb refuses to run as root: the cluster belongs to "postgres" then.
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    subprocess.run(  # noqa: S603
        [*as_owner, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        + ["-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-k {root} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off"
    pg_ctl = [*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log")]
    running = Cluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", pg_ctl, options)
    running.start()
    try:
        yield running
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)  # noqa: S603
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _app_on(url: str, root: Path) -> Iterator[Flask]:
    """The app on ``url``, migrated, with reference data and an escrow key."""
    upgrade(url)
    cfg = TestingConfig.for_paths(root / "instance", root / "keys", url)
    create_escrow(cfg.keys_dir, root / ESCROW_PRIVATE, ESCROW_PASSPHRASE, escrow_params(cfg))
    app = create_app(cfg)
    with app.app_context():
        session = db.session()
        load_vocabularies(session)
        load_catalogue(session)
        session.commit()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine().dispose()


def _count(app: Flask, model: type[Report] | type[Message]) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(model)) or 0)


def _blobs(app: Flask) -> set[str]:
    storage = app.extensions["registry.config"].storage_dir
    # Incoming (tmp/) as well as kept blobs: nothing may be left behind.
    return {str(p) for p in Path(storage).rglob("*") if p.is_file()}


def _report_form(narrative: str, token: str) -> dict[str, object]:
    return {
        "csrf_token": token,
        "narrative": narrative,
        "said": "ANSWER-KEPT",
        "region": "minsk-city",
        "violations": ["torture"],
    }


def _assert_quiet_log(caplog: pytest.LogCaptureFixture, *secrets_: str) -> None:
    """Only the one-line outage notices, with no traceback and no request data."""
    assert caplog.records, "the outage was not logged at all"
    for record in caplog.records:
        text = record.getMessage()
        assert OUTAGE_LINE.fullmatch(text), f"{record.name}: {text!r}"
        assert record.exc_info is None
        assert not any(secret in text for secret in secrets_)


def _report_comes_back(
    client: FlaskClient,
    token: str,
    narrative: str,
    caplog: pytest.LogCaptureFixture,
    *not_logged: str,
) -> None:
    """A report sent during an outage: the outage page with its text, one quiet log line."""
    with caplog.at_level(logging.INFO):
        html = _outage_page(client.post("/report", data=_report_form(narrative, token)))
    assert narrative in html
    assert "could not store your report" in html
    _assert_quiet_log(caplog, narrative, *not_logged)


def _outage_page(response: object, lang: str = "en") -> str:
    from werkzeug.test import TestResponse

    assert isinstance(response, TestResponse)
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:1500]
    assert response.headers["Retry-After"] == "60"
    assert f'<html lang="{lang}">' in html
    return html


@pytest.fixture
def pg_app(cluster: Cluster, tmp_path: Path) -> Iterator[Flask]:
    """The app on the private cluster."""
    with _app_on(cluster.url, tmp_path) as app:
        yield app


def test_postgresql_stopped_and_started_again(
    cluster: Cluster, pg_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app = pg_app
    staff = StaffActions(app)
    reviewer = staff.create("outage@example.org")
    desk = english_client(app)
    staff.login(desk, reviewer)
    public = english_client(app)
    receipt = submit_report(public)
    assert post_form(public, "/followup/", {"receipt": receipt}).status_code == 303
    message_token = csrf_token(public.get("/followup/case").get_data(as_text=True))
    report_token = csrf_token(public.get("/report").get_data(as_text=True))
    belarusian = app.test_client()
    belarusian_token = csrf_token(belarusian.get("/report").get_data(as_text=True))
    reports, messages, blobs = _count(app, Report), _count(app, Message), _blobs(app)
    narrative = f"NARRATIVE-{secrets.token_hex(6)} they beat us at Akrestsina"
    message = f"MESSAGE-{secrets.token_hex(6)} one more witness"
    search = f"SEARCH{secrets.token_hex(4)}"

    cluster.stop()
    # A connection back from a request within PING_AFTER_IDLE_SECONDS is
    # trusted without a ping (registry.db); past it, every page finds the
    # outage before its view runs, which is what the pages below check.
    # Inside it, see test_a_report_sent_on_a_trusted_dead_connection_comes_back.
    time.sleep(db.PING_AFTER_IDLE_SECONDS)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        html = _outage_page(public.get("/"))
        assert "The site is not working right now" in html
        assert "Сайт зараз не працуе" in _outage_page(
            app.test_client().get("/", headers={"Accept-Language": "de"}), "be"
        )
        assert "Сайт сейчас не работает" in _outage_page(
            app.test_client().get("/report", headers={"Accept-Language": "ru"}), "ru"
        )
        _outage_page(public.get("/report"))
        html = _outage_page(public.post("/report", data=_report_form(narrative, report_token)))
        assert narrative in html
        assert "ANSWER-KEPT" in html
        assert 'name="narrative"' in html
        assert "could not store your report" in html
        assert "choose them again" in html
        html = _outage_page(
            belarusian.post("/report", data=_report_form(narrative, belarusian_token)), "be"
        )
        assert narrative in html
        assert "Сайт не змог захаваць ваша паведамленне" in html
        # Without this site's CSRF token nothing is echoed: the plain page.
        html = _outage_page(public.post("/report", data=_report_form(narrative, "forged")))
        assert narrative not in html
        html = _outage_page(
            public.post("/followup/message", data={"csrf_token": message_token, "text": message})
        )
        assert message in html
        assert "Your message was not stored" in html
        html = _outage_page(
            public.post(
                "/followup/files",
                data={"csrf_token": message_token, "files": [(io.BytesIO(b"%PDF-1.4 x"), "a.pdf")]},
                content_type="multipart/form-data",
            )
        )
        assert "choose them again" in html
        _outage_page(public.get("/followup/case"))
        # The evidence pages ask the database only when they must (no page
        # was cached here yet): then the outage page, as everywhere.
        _outage_page(english_client(app).get("/evidence"))
        _outage_page(english_client(app).get("/staff/login"))
        _outage_page(desk.get("/review/", query_string={"q": search}))
        _outage_page(english_client(app).get("/review/", query_string={"q": search}))
        # "Leave now", its empty page, the language switch and the style
        # sheet never need the database, not even for a logged-in reviewer.
        assert english_client(app).get("/leave").status_code == 303
        assert desk.get("/blank").status_code == 200
        assert public.get("/lang/ru?next=/").status_code == 303
        with public.get("/static/site.css") as style:
            assert style.status_code == 200
    _assert_quiet_log(caplog, narrative, message, search, "/review", "SELECT", "127.0.0.1")

    cluster.start()
    assert public.get("/").status_code == 200
    assert desk.get("/review/", query_string={"q": search}).status_code == 200
    assert (_count(app, Report), _count(app, Message), _blobs(app)) == (reports, messages, blobs)
    again = public.post("/report", data=_report_form(narrative, report_token))
    assert again.status_code == 200
    assert "receipt" in again.get_data(as_text=True)
    sent = public.post("/followup/message", data={"csrf_token": message_token, "text": message})
    assert sent.status_code == 303
    assert (_count(app, Report), _count(app, Message)) == (reports + 1, messages + 1)


def test_a_report_sent_on_a_trusted_dead_connection_comes_back(
    cluster: Cluster,
    pg_app: Flask,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server dies just after a request: the next one takes that connection unpinged.

    Its first statement then fails mid-view, not before it; the person must
    still get the outage page with what they wrote, and nothing is stored.
    """
    app = pg_app
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)  # every connection trusted
    with app.app_context():
        dialect = db.engine().dialect
    pings: list[object] = []
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn))
    public = english_client(app)
    token = csrf_token(public.get("/report").get_data(as_text=True))
    reports = _count(app, Report)
    narrative = f"NARRATIVE-{secrets.token_hex(6)} taken at the station"
    cluster.stop()
    try:
        _report_comes_back(public, token, narrative, caplog, "SELECT", "127.0.0.1")
    finally:
        cluster.start()
    # Nothing was pinged: the refusal came from the view's own statement.
    assert pings == []
    assert _count(app, Report) == reports
    again = public.post("/report", data=_report_form(narrative, token))
    assert again.status_code == 200
    assert _count(app, Report) == reports + 1


def test_sqlite_locked_by_another_writer(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "registry.sqlite3"
    with _app_on(f"sqlite:///{path}", tmp_path) as app:
        _locked_sqlite(app, path, caplog)


def _locked_sqlite(app: Flask, path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = english_client(app)
    token = csrf_token(client.get("/report").get_data(as_text=True))
    narrative = f"NARRATIVE-{secrets.token_hex(6)} written during a backup"
    # Another process (a backup, a long CLI command) holds the write lock
    # for longer than the busy timeout.
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        caplog.clear()
        assert client.get("/").status_code == 200  # reading goes on
        _report_comes_back(client, token, narrative, caplog, "INSERT", "locked")
    finally:
        holder.rollback()
        holder.close()
    assert _count(app, Report) == 0
    assert client.post("/report", data=_report_form(narrative, token)).status_code == 200
    assert _count(app, Report) == 1
