"""Access to the running app's configuration and keyring."""

from __future__ import annotations

from typing import cast

from flask import current_app

from config import Config
from registry.crypto import Argon2Params
from registry.keyring import ESCROW_PUBLIC_FILE, Keyring, SealingKeys
from registry.keyring.watch import EscrowKey, EscrowWatch
from registry.serving.slots import KdfSlots


def config() -> Config:
    """The configuration the app was created with."""
    cfg: Config = current_app.extensions["registry.config"]
    return cfg


def keyring() -> Keyring:
    """The deployment keyring loaded at start."""
    ring: Keyring = current_app.extensions["registry.keyring"]
    return ring


def password_params(cfg: Config) -> Argon2Params:
    """Argon2id cost for reviewer passwords, from configuration."""
    return Argon2Params(memory_kib=cfg.password_memory_kib, iterations=cfg.password_iterations)


def receipt_params(cfg: Config) -> Argon2Params:
    """Argon2id cost for receipts, from configuration."""
    return Argon2Params(memory_kib=cfg.receipt_memory_kib, iterations=cfg.receipt_iterations)


def escrow_params(cfg: Config) -> Argon2Params:
    """Argon2id cost for the escrow private-key file, from configuration."""
    return Argon2Params(memory_kib=cfg.escrow_memory_kib, iterations=cfg.escrow_iterations, lanes=4)


def kdf_slots() -> KdfSlots:
    """This worker's bound on concurrent receipt-KDF work."""
    slots: KdfSlots = current_app.extensions["registry.kdf_slots"]
    return slots


def escrow_watch() -> EscrowWatch:
    """This worker's watch on ``keys/escrow.pub`` (made at first use)."""
    watch = current_app.extensions.get("registry.escrow_watch")
    if watch is None:
        # setdefault: two threads racing here end up sharing one watch.
        watch = current_app.extensions.setdefault(
            "registry.escrow_watch", EscrowWatch(config().keys_dir / ESCROW_PUBLIC_FILE)
        )
    return cast(EscrowWatch, watch)


def escrow_key() -> EscrowKey | None:
    """The escrow public key as ``keys/escrow.pub`` holds it now (not as at start)."""
    return escrow_watch().current()


def sealing_keys() -> SealingKeys:
    """Everything sealing a new report needs: receipt salt and cost, escrow, KDF slots."""
    ring, cfg = keyring(), config()
    # WHY the file's current key, not the keyring's: an escrow key created or
    # rotated after this worker started must be used for the next report.
    escrow = escrow_key()
    return SealingKeys(
        ring.receipt_salt,
        receipt_params(cfg),
        escrow.public if escrow is not None else None,
        kdf_slots(),
        draft_key=ring.draft_key,
    )
