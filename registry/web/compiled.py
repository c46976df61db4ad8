"""Compiled templates kept for every app this process creates.

Jinja compiles a template (parse, generate Python, compile it) the first
time an app renders it, and keeps the result in that app's environment
only.  A gunicorn worker creates one app, so this changes nothing there
but its first pages; a process that creates many apps (the test suite
makes one per test, on a fresh database) compiled every template again for
each: about a fifth of a page-rendering test's time.

Jinja's bytecode cache checks each entry against the template source's
checksum before using it, so an edited template is compiled afresh.  The
entries are keyed by the environment's extensions too: code compiled with
the i18n extension is not handed to an environment without it.
"""

from __future__ import annotations

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class ProcessBytecode(BytecodeCache):
    """An in-memory bytecode cache shared by the apps of one process."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, tuple[str, ...]], bytes] = {}

    @staticmethod
    def _key(bucket: Bucket) -> tuple[str, tuple[str, ...]]:
        return bucket.key, tuple(sorted(bucket.environment.extensions))

    def load_bytecode(self, bucket: Bucket) -> None:
        """Hand ``bucket`` the kept code (Jinja drops it if the source changed)."""
        kept = self._kept.get(self._key(bucket))
        if kept is not None:
            bucket.bytecode_from_string(kept)

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Keep ``bucket``'s freshly compiled code."""
        self._kept[self._key(bucket)] = bucket.bytecode_to_string()


# One per process: every app created here shares it.
PROCESS_BYTECODE = ProcessBytecode()
