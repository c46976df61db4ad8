"""Apply Alembic migrations programmatically (used by the CLI and tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig

from config import ROOT


def alembic_config(database_url: str) -> AlembicConfig:
    """An Alembic configuration pointed at ``database_url``."""
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(
    database_url: str, revision: str = "head", *, receipt_params: bytes | None = None
) -> None:
    """Migrate the database at ``database_url`` to ``revision``.

    ``receipt_params``: the configured receipt cost (``Argon2Params.encode``),
    recorded on reports filed before costs were kept per report (0013).
    """
    cfg = alembic_config(database_url)
    if receipt_params is not None:
        cfg.attributes["receipt_params"] = receipt_params
    command.upgrade(cfg, revision)
