"""A bound on concurrent receipt-KDF work in one worker."""

from __future__ import annotations

from registry.slots import Busy, Slots

__all__ = ["Busy", "KdfSlots"]


class KdfSlots(Slots):
    """A few slots for the memory-hard receipt KDF.

    Bounding how many derivations run at once keeps a flood of submissions
    or receipt lookups from taking every core and all memory, and so from
    starving the reviewers' requests.  Past ``wait`` seconds the caller
    answers 503 in the person's language.
    """
