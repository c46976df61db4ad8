"""Backup tests' helpers: an install's settings as environment, targets to restore onto."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import create_engine, make_url, text

from config import Config, TestingConfig
from registry import create_app, db
from registry.cli import main
from tests.helpers import ESCROW_PASSPHRASE, ESCROW_PRIVATE


def install_env(cfg: Config) -> dict[str, str]:
    """The environment that points ``registry`` at the install of ``cfg``."""
    return {
        "REGISTRY_DATABASE_URL": cfg.database_url,
        "REGISTRY_INSTANCE_DIR": str(cfg.instance_dir),
        "REGISTRY_KEYS_DIR": str(cfg.keys_dir),
        "REGISTRY_STORAGE_DIR": str(cfg.storage_dir),
    }


def registry(args: list[str], env: dict[str, str]) -> Result:
    """Run ``registry ARGS`` in this process with ``env``."""
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def source_env(app: Flask) -> dict[str, str]:
    """The environment of the test app's install."""
    cfg: Config = app.extensions["registry.config"]
    return install_env(cfg)


def escrow_args(tmp_path: Path) -> list[str]:
    """``--escrow-key`` and ``--passphrase-file`` for the test app's escrow key."""
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(ESCROW_PASSPHRASE)
    return ["--escrow-key", str(tmp_path / ESCROW_PRIVATE), "--passphrase-file", str(passphrase)]


def a_file(tag: str) -> list[tuple[io.BytesIO, str]]:
    """One text attachment whose content carries ``tag``."""
    return [(io.BytesIO(f"canary-file {tag}\n".encode()), f"{tag}.txt")]


@dataclass
class Target:
    """An empty install to restore onto: no database content, no files, no keys."""

    root: Path
    database_url: str

    @property
    def cfg(self) -> TestingConfig:
        """Its configuration (storage beside the instance, as the test apps have it)."""
        return TestingConfig.for_paths(
            self.root / "instance", self.root / "keys", self.database_url
        )

    @property
    def env(self) -> dict[str, str]:
        """Its environment for ``registry``."""
        return install_env(self.cfg)

    def app(self) -> Flask:
        """The app on the restored install."""
        return create_app(self.cfg)

    def is_untouched(self) -> bool:
        """Nothing was written: no key, no file, no table."""
        cfg = self.cfg
        if cfg.keys_dir.exists() and any(cfg.keys_dir.iterdir()):
            return False
        if cfg.storage_dir.exists() and any(p.is_file() for p in cfg.storage_dir.rglob("*")):
            return False
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite":
            return not Path(str(url.database)).exists()
        engine = create_engine(self.database_url)
        with engine.connect() as conn:
            count = conn.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
        engine.dispose()
        return count == 0


def dispose(app: Flask) -> None:
    """Close the app's database connections (before its database is dropped)."""
    with app.app_context():
        db.engine().dispose()
