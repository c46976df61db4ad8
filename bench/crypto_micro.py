"""Micro-benchmarks of registry.crypto (prints only; run: python bench/crypto_micro.py).

Figures are CPU time per call (process_time), median of several repeats.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from registry.crypto import (
    Argon2Params,
    derive_receipt_keys,
    generate_keypair,
    generate_receipt,
    lock_private_key,
    new_data_key,
    open_field,
    open_for_session,
    seal_field,
    seal_for_session,
    unlock_private_key,
    unwrap_data_key,
    wrap_data_key,
)

REPORT = "R-7Q2M"


def measure(label: str, func: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Print and return the median CPU microseconds per call of ``func``."""
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            func()
        samples.append((time.process_time() - start) / number * 1e6)
    median = statistics.median(samples)
    print(f"{label:<58} {median:10.1f} µs")
    return median


def main() -> None:
    """Run every measurement and print the results."""
    reviewers = [generate_keypair() for _ in range(5)]
    escrow = generate_keypair()
    dek = new_data_key()
    wrapped = wrap_data_key(dek, reviewers[0].public, report_id=REPORT)
    field_4k = bytes(4096)
    sealed_4k = seal_field(dek, field_4k, report_id=REPORT, field="narrative")

    measure("wrap_data_key", lambda: wrap_data_key(dek, escrow.public, report_id=REPORT), 500)
    measure(
        "unwrap_data_key",
        lambda: unwrap_data_key(wrapped, reviewers[0].private, report_id=REPORT),
        500,
    )
    measure(
        "seal_field 4 KiB",
        lambda: seal_field(dek, field_4k, report_id=REPORT, field="narrative"),
        5000,
    )
    measure(
        "open_field 4 KiB",
        lambda: open_field(dek, sealed_4k, report_id=REPORT, field="narrative"),
        5000,
    )

    def submission() -> None:
        key = new_data_key()
        for name in ("narrative", "location", "contact"):
            seal_field(key, field_4k, report_id=REPORT, field=name)
        for pair in (*reviewers, escrow):
            wrap_data_key(key, pair.public, report_id=REPORT)

    measure("new DEK + 3 x 4 KiB fields + wrap to 5 reviewers + escrow", submission, 100)

    secret = bytes(32)
    session = seal_for_session(reviewers[0].private, secret, session_ref=b"r" * 32)
    measure(
        "open_for_session",
        lambda: open_for_session(session, secret, session_ref=b"r" * 32),
        5000,
    )
    receipt_params = Argon2Params(memory_kib=19456, iterations=2)
    receipt = generate_receipt()
    salt = bytes(16)
    measure(
        "derive_receipt_keys (19 MiB, 2 passes)",
        lambda: derive_receipt_keys(receipt, salt=salt, params=receipt_params),
        5,
        repeat=3,
    )
    password_params = Argon2Params(memory_kib=65536, iterations=3)
    locked = lock_private_key(reviewers[0].private, "pw", params=password_params)
    measure(
        "unlock_private_key (64 MiB, 3 passes)",
        lambda: unlock_private_key(locked, "pw"),
        3,
        repeat=3,
    )


if __name__ == "__main__":
    main()
