"""The single exception raised when anything fails to open."""

from __future__ import annotations


class CannotOpen(Exception):
    """An envelope could not be opened, unwrapped, unlocked or parsed.

    One exception for every cause (wrong key, wrong password, tampering,
    truncation, wrong context, unknown version or kind, bad lengths).
    WHY: telling the causes apart would hand an attacker an oracle that
    says which part of a forged envelope was wrong.
    """

    def __init__(self) -> None:
        # WHY a fixed message and no arguments: nothing about the failed input
        # (lengths, byte values, the context) can leak into logs or pages.
        super().__init__("cannot open")
