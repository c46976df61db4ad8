"""Fixtures for ``registry maintain``: a run's context and the command's environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine

from config import Config
from registry.attachments.storage import BlobStore
from registry.db import make_engine
from registry.maintenance.framework import JobContext
from registry.models.base import utcnow


@pytest.fixture
def cfg(app: Flask) -> Config:
    """The configuration of the ``app`` under test (both backends)."""
    config: Config = app.extensions["registry.config"]
    return config


@pytest.fixture
def engine(cfg: Config) -> Iterator[Engine]:
    """An engine like the command's own (same settings as the site's)."""
    made = make_engine(cfg.database_url)
    yield made
    made.dispose()


@pytest.fixture
def context(cfg: Config, engine: Engine) -> Callable[[], JobContext]:
    """A fresh context for one run, as ``registry maintain`` builds it."""
    return lambda: JobContext(
        cfg=cfg, engine=engine, store=BlobStore(cfg.storage_dir), now=utcnow()
    )


@pytest.fixture
def command_env(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The ``REGISTRY_*`` environment that points the command at ``app``'s deployment."""
    env = {
        "REGISTRY_DATABASE_URL": cfg.database_url,
        "REGISTRY_INSTANCE_DIR": str(cfg.instance_dir),
        "REGISTRY_KEYS_DIR": str(cfg.keys_dir),
        "REGISTRY_STORAGE_DIR": str(cfg.storage_dir),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
