"""``/healthz`` for monitoring, and ``registry health`` for the operator.

Three checks: the database answers ``SELECT 1``; the storage directory
takes a new blob (created and deleted through :class:`BlobStore`, under a
fresh random name in ``tmp/``, locked like any upload, so it can never
collide with a person's file); the key material is there (``secret.key``
is the very key the workers loaded at start, and ``escrow.pub`` is an
escrow public key).

WHY two doors: ``/healthz`` is public (a load balancer or uptime monitor
has no staff login), so it says only ``ok`` (200) or ``unavailable`` (503),
a fixed body with no detail: which part of the server is broken is a map
for an attacker.  Which check failed goes to the operator only: in the
server's log (fixed words, nothing about the request) and from
``registry health``, run on the server with the same environment, one line
per check and exit status 1 when one fails.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
from flask import Blueprint, Response, current_app
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from registry import db, runtime
from registry.attachments.storage import BlobStore
from registry.attachments.upload import blob_store
from registry.cli_common import config_or_exit
from registry.keyring import ESCROW_PUBLIC_FILE, SECRET_FILE, Keyring, derive_subkey
from registry.keyring.watch import read_escrow_key
from registry.web.extensions import limiter

bp = Blueprint("health", __name__)

# secret.key holds this many random bytes (registry.keyring.ensure_secret).
SECRET_BYTES = 32
OK_BODY = "ok\n"
UNAVAILABLE_BODY = "unavailable\n"


@dataclass(frozen=True)
class Health:
    """The outcome of every check: a problem in a few fixed words, or None."""

    database: str | None
    storage: str | None
    keys: str | None

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return self.database is None and self.storage is None and self.keys is None

    def lines(self) -> list[str]:
        """One line per check, for the operator."""
        checks = {"database": self.database, "storage": self.storage, "keys": self.keys}
        return [f"{name}: {problem or 'ok'}" for name, problem in checks.items()]


def database_problem(session: Session) -> str | None:
    """None if the database answers ``SELECT 1``; else why not, in fixed words."""
    try:
        session.execute(text("SELECT 1")).scalar_one()
    except SQLAlchemyError:
        # The exception's text is not shown: it can quote the URL's password.
        return "unreachable"
    finally:
        session.rollback()
    return None


def storage_problem(store: BlobStore) -> str | None:
    """None if a blob can be written and deleted under ``tmp/``; else why not."""
    # WHY look first: BlobStore creates missing folders, which would hide a
    # storage volume that failed to mount behind an empty folder on the root disk.
    if not (store.incoming.is_dir() and store.kept.is_dir()):
        return "folder missing"
    try:
        blob = store.new_incoming()
    except OSError:
        return "not writable"
    try:
        # One byte, not plaintext of anything: just proof the disk takes data.
        blob.sink.write(b"\0")
        blob.sink.flush()
    except OSError:
        return "not writable"
    finally:
        # Deleted before the lock is dropped, as an upload's own blob is.
        with contextlib.suppress(OSError):
            store.discard_incoming([blob.name])
        blob.release()
    return None


def keys_problem(keys_dir: Path, loaded: Keyring | None = None) -> str | None:
    """None if ``secret.key`` (the one ``loaded`` at start) and ``escrow.pub`` are in place."""
    # WHY read the file instead of loading the keyring: loading creates a
    # missing secret.key, and a new secret silently breaks every receipt and
    # cookie issued before.  A check must report that, never cause it.
    try:
        secret = (keys_dir / SECRET_FILE).read_bytes()
    except FileNotFoundError:
        return f"{SECRET_FILE} missing"
    except OSError:
        return f"{SECRET_FILE} unreadable"
    if len(secret) != SECRET_BYTES:
        return f"{SECRET_FILE} unreadable"
    if loaded is not None and _flask_secret(secret) != loaded.flask_secret:
        return f"{SECRET_FILE} differs from the one loaded at start"
    try:
        read_escrow_key(keys_dir / ESCROW_PUBLIC_FILE)
    except (OSError, ValueError):
        # Without an escrow key, reports are lost if every reviewer forgets
        # their password (README "Two commands"): not a healthy registry.
        return f"{ESCROW_PUBLIC_FILE} missing or unreadable"
    return None


def _flask_secret(secret: bytes) -> bytes:
    return derive_subkey(secret, "sviedka/flask-secret")


# The last answer of this app (per worker) is kept this long: the checks
# touch the database, the disk and the key file, and /healthz is public and
# exempt from rate limits, so a flood of probes gets the kept answer instead
# of making the server work for each.
KEPT_SECONDS = 5.0
_KEPT = "registry.health"


@bp.get("/healthz")
@limiter.exempt
def healthz() -> Response:
    """``ok`` or ``unavailable``, nothing else (see the module doc)."""
    checked_at, ok = current_app.extensions.get(_KEPT, (None, False))
    if checked_at is None or time.monotonic() - checked_at >= KEPT_SECONDS:
        ok = _check()
        current_app.extensions[_KEPT] = (time.monotonic(), ok)
    return _answer(ok)


def _check() -> bool:
    cfg = runtime.config()
    health = Health(
        database_problem(db.session()),
        storage_problem(blob_store()),
        keys_problem(cfg.keys_dir, runtime.keyring()),
    )
    for line in health.lines():
        if not line.endswith(": ok"):
            _log_failure(line)
    return health.ok


def _log_failure(line: str) -> None:
    # WHY in the message, not an argument: the server's log filter withholds
    # every argument with a space (registry.serving.logs), and the operator
    # needs the reason.  The words are this module's own constants: nothing
    # about the request is in them.
    current_app.logger.warning("health check failed: " + line)


# Registered for the same classes as the app's outage handler (and the
# blueprint's handler wins for them): the database check before every view
# (registry.db) raises before this view runs when the database is down, and
# the answer must still be the fixed one, not the outage page.
@bp.errorhandler(DBAPIError)
@bp.errorhandler(PoolTimeout)
@bp.errorhandler(SQLAlchemyError)
@bp.errorhandler(OSError)
def _broken(_error: Exception) -> Response:
    _log_failure("database: unreachable")
    return _answer(False)


def _answer(ok: bool) -> Response:
    response = Response(OK_BODY if ok else UNAVAILABLE_BODY, 200 if ok else 503)
    response.mimetype = "text/plain"
    # Never cached: a monitor must see the server's state now.
    response.headers["Cache-Control"] = "no-store"
    return response


def _engine_problem(engine: Engine) -> str | None:
    try:
        with Session(engine) as session:
            return database_problem(session)
    finally:
        engine.dispose()


@click.command()
def health() -> None:
    """Check the database, the storage directory and the keys; exit 1 if one fails."""
    cfg = config_or_exit()
    url = make_url(cfg.database_url)
    path = url.database
    missing_file = (
        url.get_backend_name() == "sqlite"
        and path not in (None, "", ":memory:")
        and not Path(str(path)).is_file()
    )
    # WHY not connect to a missing SQLite file: connecting would create an empty one.
    problem = "file missing" if missing_file else _engine_problem(db.make_engine(cfg.database_url))
    found = Health(problem, storage_problem(BlobStore(cfg.storage_dir)), keys_problem(cfg.keys_dir))
    for line in found.lines():
        click.echo(line)
    sys.exit(0 if found.ok else 1)
