"""Typed configuration for Sviedka.

This module is the only reader of ``os.environ``: every setting comes from a
``REGISTRY_``-prefixed variable, and the rest of the code receives a
:class:`Config` instance.  Defaults give the embedded deployment used by
``make run``: SQLite under ``instance/`` and key material under ``keys/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"REGISTRY_{name}", default)


@dataclass(frozen=True)
class Config:
    """Settings for one deployment; immutable once the app is created."""

    database_url: str = f"sqlite:///{ROOT / 'instance' / 'registry.sqlite3'}"
    instance_dir: Path = ROOT / "instance"
    keys_dir: Path = ROOT / "keys"
    # Where the public link printed on first start points.
    base_url: str = "http://127.0.0.1:8000"
    # Argon2id for reviewer passwords.  RFC 9106's second recommended option
    # (64 MiB, 3 passes) keeps one guess expensive on GPUs while a login
    # still costs well under a second on the 2-core reference machine.
    password_memory_kib: int = 65536
    password_iterations: int = 3
    # Argon2id for receipts.  A receipt carries 100 bits of entropy, so the
    # KDF only has to make bulk lookups by a flood costly, not resist guessing.
    receipt_memory_kib: int = 19456
    receipt_iterations: int = 2
    # Receipt derivations one worker runs at once (each takes ~19 MiB).
    receipt_kdf_slots: int = 2
    # How long a request waits for a slot before answering 503.
    receipt_kdf_wait_seconds: float = 5.0
    # Argon2id for the offline escrow file: opened rarely, so it can afford
    # far more than a login (1 GiB, 4 passes).
    escrow_memory_kib: int = 1024 * 1024
    escrow_iterations: int = 4
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    invite_valid_hours: int = 72
    # Staff login throttling, kept in the database so every worker shares it
    # (registry.auth.throttle).  After this many failures in a row for a
    # typed email (or wrong codes after the right password) every attempt is
    # refused unchecked for login_first_wait_seconds; each further failure
    # doubles the wait up to login_longest_wait_seconds.  WHY an hour: it
    # leaves a guesser ~24 tries a day per account (nothing against a
    # 12-character password; ~3e-6 per try against a TOTP code, while the
    # audit log and the people page show the attack); longer would let anyone
    # who knows a colleague's email lock them out for longer.
    login_free_attempts: int = 5
    login_first_wait_seconds: int = 60
    login_longest_wait_seconds: int = 3600
    # Counters without a failure for this long are forgotten.
    login_forget_hours: int = 24
    # Idle counters kept at most (random emails must not grow the table).
    login_throttle_rows: int = 10_000
    # How old a worker's bitmap snapshot of the plain queue columns may be
    # before it is rebuilt in the background (codes only, never search
    # text).  A build of 100,000 reports takes ~0.6 s (bench/README.md), so
    # pages do not wait for it; 0 rebuilds on every page (live counts).
    queue_counts_seconds: float = 30.0
    # Sealed attachment blobs (ciphertext only) live here.
    storage_dir: Path = ROOT / "storage"
    attachment_max_files: int = 10
    attachment_max_bytes: int = 50 * 1024 * 1024
    # Cleaning photos (registry.attachments.imageplan): what one request may
    # spend on it in all, as estimated CPU milliseconds on the 2-core
    # reference machine (one photo alone is held to 1,000), how many photos
    # a worker cleans at once (~100 MB each), and how long a request waits
    # for that before answering 503 with the person's text kept.
    image_clean_budget_ms: int = 4000
    image_clean_slots: int = 1
    image_clean_wait_seconds: float = 10.0
    # How often each worker looks for incoming blobs of dead uploads (at
    # start, then at most this often, on a request).
    incoming_sweep_seconds: float = 300.0
    # Flask-Limiter storage: "memory://" embedded, "redis://…" in production.
    ratelimit_storage_uri: str = "memory://"
    ratelimit_enabled: bool = True
    # An onion service address (e.g. "abc…xyz.onion"): advertised to Tor
    # Browser with the Onion-Location header on every page.
    onion_address: str = ""
    # Cookies get the Secure flag when the site is served over HTTPS.
    secure_cookies: bool = False
    # Strict-Transport-Security max-age in seconds; 0 sends no header.  Off by
    # default: the embedded deployment serves plain HTTP on 127.0.0.1 and an
    # onion service needs no HTTPS, and HSTS on a name that later loses its
    # certificate locks every visitor out.  Set it (e.g. 31536000) only when
    # the site is reached over HTTPS and will stay so.
    hsts_seconds: int = 0
    # Serving (registry.serving.worker).  A request's head, and a body of at
    # most 16 KiB, are gathered by the event loop without a thread; the head
    # must be complete within ``head_timeout_seconds`` or the connection is
    # closed: idle and slow-header connections then cost a socket, never a
    # thread.  Threads answer requests (``serve_threads``) or read large
    # bodies as they arrive (``upload_threads``, separate, so hundreds of
    # slow uploads never delay a page).  A thread waits at most
    # ``idle_timeout_seconds`` for the next byte of a body, or for a slow
    # reader to take the next piece of a response.
    serve_threads: int = 8
    upload_threads: int = 64
    head_timeout_seconds: float = 30.0
    idle_timeout_seconds: float = 120.0
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Config:
        """Build the configuration from ``REGISTRY_*`` environment variables."""
        base = cls()
        instance = Path(_env("INSTANCE_DIR", str(base.instance_dir)))
        return cls(
            database_url=_env("DATABASE_URL", f"sqlite:///{instance / 'registry.sqlite3'}"),
            instance_dir=instance,
            keys_dir=Path(_env("KEYS_DIR", str(base.keys_dir))),
            storage_dir=Path(_env("STORAGE_DIR", str(base.storage_dir))),
            attachment_max_files=int(_env("ATTACHMENT_MAX_FILES", str(base.attachment_max_files))),
            attachment_max_bytes=int(_env("ATTACHMENT_MAX_BYTES", str(base.attachment_max_bytes))),
            image_clean_budget_ms=int(
                _env("IMAGE_CLEAN_BUDGET_MS", str(base.image_clean_budget_ms))
            ),
            image_clean_slots=int(_env("IMAGE_CLEAN_SLOTS", str(base.image_clean_slots))),
            image_clean_wait_seconds=float(
                _env("IMAGE_CLEAN_WAIT_SECONDS", str(base.image_clean_wait_seconds))
            ),
            incoming_sweep_seconds=float(
                _env("INCOMING_SWEEP_SECONDS", str(base.incoming_sweep_seconds))
            ),
            base_url=_env("BASE_URL", base.base_url).rstrip("/"),
            password_memory_kib=int(_env("PASSWORD_MEMORY_KIB", str(base.password_memory_kib))),
            password_iterations=int(_env("PASSWORD_ITERATIONS", str(base.password_iterations))),
            receipt_memory_kib=int(_env("RECEIPT_MEMORY_KIB", str(base.receipt_memory_kib))),
            receipt_iterations=int(_env("RECEIPT_ITERATIONS", str(base.receipt_iterations))),
            receipt_kdf_slots=int(_env("RECEIPT_KDF_SLOTS", str(base.receipt_kdf_slots))),
            escrow_memory_kib=int(_env("ESCROW_MEMORY_KIB", str(base.escrow_memory_kib))),
            escrow_iterations=int(_env("ESCROW_ITERATIONS", str(base.escrow_iterations))),
            session_idle_minutes=int(_env("SESSION_IDLE_MINUTES", "30")),
            session_absolute_hours=int(_env("SESSION_ABSOLUTE_HOURS", "12")),
            login_free_attempts=max(int(_env("LOGIN_FREE_ATTEMPTS", "5")), 1),
            login_first_wait_seconds=max(int(_env("LOGIN_FIRST_WAIT_SECONDS", "60")), 1),
            login_longest_wait_seconds=max(int(_env("LOGIN_LONGEST_WAIT_SECONDS", "3600")), 1),
            queue_counts_seconds=float(_env("QUEUE_COUNTS_SECONDS", "30")),
            ratelimit_storage_uri=_env("RATELIMIT_STORAGE_URI", base.ratelimit_storage_uri),
            secure_cookies=_env("SECURE_COOKIES", "0") == "1",
            hsts_seconds=max(int(_env("HSTS_SECONDS", "0")), 0),
            serve_threads=int(_env("SERVE_THREADS", str(base.serve_threads))),
            upload_threads=int(_env("UPLOAD_THREADS", str(base.upload_threads))),
            head_timeout_seconds=float(
                _env("HEAD_TIMEOUT_SECONDS", str(base.head_timeout_seconds))
            ),
            idle_timeout_seconds=float(
                _env("IDLE_TIMEOUT_SECONDS", str(base.idle_timeout_seconds))
            ),
            onion_address=_env("ONION_ADDRESS", ""),
        )

    def with_overrides(self, **changes: Any) -> Config:
        """Return a copy with some settings changed (used by tests and the CLI)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        return replace(self, **changes)


@dataclass(frozen=True)
class TestingConfig(Config):
    """Cheap KDF costs and no rate limits, for the test suite only.

    Tests get cheap Argon2 through this class, never by patching the crypto.
    """

    __test__ = False  # not a pytest test class, despite the name

    password_memory_kib: int = 64
    password_iterations: int = 1
    receipt_memory_kib: int = 64
    receipt_iterations: int = 1
    escrow_memory_kib: int = 64
    escrow_iterations: int = 1
    ratelimit_enabled: bool = False
    testing: bool = True

    @classmethod
    def for_paths(
        cls, instance_dir: Path, keys_dir: Path, database_url: str | None = None
    ) -> TestingConfig:
        """Testing configuration rooted at temporary directories."""
        url = database_url or f"sqlite:///{instance_dir / 'registry.sqlite3'}"
        return cls(
            database_url=url,
            instance_dir=instance_dir,
            keys_dir=keys_dir,
            storage_dir=instance_dir.parent / "storage",
        )
