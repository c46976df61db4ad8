"""The worker freezes its long-lived heap once, after its first requests."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from registry.serving.heap import HeapSettler


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_heap_is_frozen_once_after_the_first_requests(unfrozen: None) -> None:
    settler = HeapSettler(after=3)
    settler.request_done()
    settler.request_done(None)
    assert gc.get_freeze_count() == 0
    settler.request_done()
    frozen = gc.get_freeze_count()
    assert settler.settled
    assert frozen > 0
    # Only once: later requests leave the permanent generation alone.
    gc.unfreeze()
    settler.request_done()
    assert gc.get_freeze_count() == 0


def test_a_cycle_that_is_garbage_before_the_freeze_is_collected(unfrozen: None) -> None:
    class Node:
        other: object = None

    first, second = Node(), Node()
    first.other, second.other = second, first
    del first, second
    HeapSettler(after=1).request_done()
    # Frozen objects are not listed: thaw them, and the cycle must not be among them.
    gc.unfreeze()
    assert not any(type(thing).__name__ == "Node" for thing in gc.get_objects(generation=None))
