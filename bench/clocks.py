"""CPU clocks put in front of the functions ``submit_report`` calls, in this process only.

WHY: "CPU per submission beyond the receipt KDF" used to be the mean CPU of
whole submissions minus the mean CPU of separate KDF runs; both are ~30 ms
and vary by a few ms between runs (malloc's state, caches), so the
difference moved by ±2 ms from one run to the next.  With a clock on the
KDF call inside each submission the difference is exact per submission.

Nothing in ``registry`` is changed: the names in the module's namespace
are swapped for timing wrappers, and put back afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

import registry.intake.service as intake

KDF_NAME = "derive_receipt_keys"
"""The receipt KDF, as ``registry.intake.service`` calls it."""
COMMIT = "session.commit"
"""The label of the session's commit among the stages."""


def _timed(real: Callable[..., Any], name: str, into: dict[str, float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            into[name] = into.get(name, 0.0) + time.process_time() - began

    return timed


@contextmanager
def stage_clocks(
    into: dict[str, float], names: Iterable[str] = (KDF_NAME,), session: Session | None = None
) -> Iterator[list[str]]:
    """Make each of ``names`` that ``submit_report`` calls add its CPU seconds to ``into``.

    With ``session``, its ``commit`` too (as :data:`COMMIT`).  Yields the
    names wrapped: a name this version of the code lacks is left out, except
    the KDF, whose absence is an error.
    """
    namespace = vars(intake)
    real = {name: namespace[name] for name in names if callable(namespace.get(name))}
    if KDF_NAME in names and KDF_NAME not in real:
        raise RuntimeError(f"registry.intake.service no longer calls {KDF_NAME} by that name")
    for name, function in real.items():
        namespace[name] = _timed(function, name, into)
    wrapped = list(real)
    if session is not None:
        # An instance attribute hides the method, for this session only.
        vars(session)["commit"] = _timed(session.commit, COMMIT, into)
        wrapped.append(COMMIT)
    try:
        yield wrapped
    finally:
        namespace.update(real)
        if session is not None:
            del vars(session)["commit"]
