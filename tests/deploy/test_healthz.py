"""``/healthz`` tells the public "ok" or "unavailable"; ``registry health`` tells the operator why.

Each check is broken the way it breaks in production: the storage folder
gone (a volume that did not mount), ``secret.key`` replaced under running
workers, no escrow key, the database unreachable.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from config import Config, TestingConfig
from registry import create_app, runtime
from registry.cli import main
from registry.keyring import ESCROW_PUBLIC_FILE, SECRET_FILE
from registry.serving.logs import WithholdRequestData


def _assert_bare(response: TestResponse, status: int, body: str) -> None:
    """A bare answer: the fixed body, never cached, no cookie."""
    assert response.status_code == status
    assert response.get_data(as_text=True) == body
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def _config(app: Flask) -> Config:
    with app.app_context():
        return runtime.config()


def test_healthy_answers_ok_to_anyone_without_a_cookie(app: Flask, client: FlaskClient) -> None:
    _assert_bare(client.get("/healthz"), 200, "ok\n")
    # The check's blob is deleted again: nothing is left in the upload folder.
    assert list((_config(app).storage_dir / "tmp").iterdir()) == []


@pytest.mark.parametrize("broken", ["storage", "secret", "secret-gone", "escrow"])
def test_a_failed_check_answers_unavailable_and_names_nothing(
    app: Flask, client: FlaskClient, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = _config(app)
    if broken == "storage":
        (cfg.storage_dir / "tmp").rename(cfg.storage_dir / "tmp-moved")
    elif broken == "secret":
        # A new secret under running workers: every receipt would stop working at restart.
        (cfg.keys_dir / SECRET_FILE).write_bytes(os.urandom(32))
    elif broken == "secret-gone":
        (cfg.keys_dir / SECRET_FILE).unlink()
    else:
        (cfg.keys_dir / ESCROW_PUBLIC_FILE).unlink()
    _assert_bare(client.get("/healthz?probe=CanaryQuery"), 503, "unavailable\n")
    expected = {
        "storage": "storage: folder missing",
        "secret": "keys: secret.key differs",
        "secret-gone": "keys: secret.key missing",
    }
    # As the server's log filter leaves the lines (registry.serving.logs).
    for record in caplog.records:
        WithholdRequestData().filter(record)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert expected.get(broken, "keys: escrow.pub missing") in logged
    # The check reports a lost secret; it never makes a new one.
    assert (cfg.keys_dir / SECRET_FILE).exists() == (broken != "secret-gone")
    # Which check failed is in the operator's log; nothing about the request is.
    assert "CanaryQuery" not in caplog.text
    assert "/healthz" not in caplog.text


def test_an_unreachable_database_answers_unavailable(tmp_path: Path) -> None:
    # Port 1 on loopback: refused at once, no wait.
    dead = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    cfg = TestingConfig.for_paths(tmp_path / "instance", tmp_path / "keys", dead)
    app = create_app(cfg)
    _assert_bare(app.test_client().get("/healthz"), 503, "unavailable\n")


@pytest.fixture
def operator_env(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Config:
    """The environment an operator's shell would have for ``app``'s deployment."""
    cfg = _config(app)
    monkeypatch.setenv("REGISTRY_DATABASE_URL", cfg.database_url)
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(cfg.instance_dir))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(cfg.keys_dir))
    monkeypatch.setenv("REGISTRY_STORAGE_DIR", str(cfg.storage_dir))
    return cfg


def test_the_health_command_names_the_failed_check(operator_env: Config) -> None:
    healthy = CliRunner().invoke(main, ["health"])
    assert healthy.exit_code == 0, healthy.output
    assert healthy.output == "database: ok\nstorage: ok\nkeys: ok\n"
    (operator_env.keys_dir / ESCROW_PUBLIC_FILE).unlink()
    broken = CliRunner().invoke(main, ["health"])
    assert broken.exit_code == 1
    assert "keys: escrow.pub missing or unreadable" in broken.output
    assert "database: ok" in broken.output


def test_the_health_command_creates_nothing_that_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "instance" / "registry.sqlite3"
    monkeypatch.setenv("REGISTRY_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("REGISTRY_STORAGE_DIR", str(tmp_path / "storage"))
    result = CliRunner().invoke(main, ["health"])
    assert result.exit_code == 1
    assert result.output == (
        "database: file missing\nstorage: folder missing\nkeys: secret.key missing\n"
    )
    # A check that "repaired" these would hide an unmounted volume or a lost key.
    assert list(tmp_path.iterdir()) == []
