"""Parts of a case that fail their integrity check, collected while it is opened.

Every sealed part (narrative, answer, message, note, rationale, file) is an
AEAD ciphertext bound to its report and its place.  A part that was swapped,
flipped or cut on disk no longer opens.  WHY per part: one damaged row must
not hide the rest of the case (and must not answer 500); reviewers see which
part failed, and the failure is audited once, so that tampering with the
database is noticed rather than silently shrugged off.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import audit
from registry.crypto import CannotOpen
from registry.models import AuditEvent

DAMAGED_ACTION = "case.part-damaged"


class Damage:
    """The parts of one case that did not open during this reading."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def opened(self, part: str, opener: Callable[[], bytes]) -> bytes | None:
        """The opened bytes, or ``None`` (and ``part`` noted) if they fail their check."""
        try:
            return opener()
        except CannotOpen:
            self.note(part)
            return None

    def text(self, part: str, opener: Callable[[], bytes]) -> str | None:
        """The opened text, or ``None`` (and ``part`` noted) if it fails its check."""
        plaintext = self.opened(part, opener)
        if plaintext is None:
            return None
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:  # authenticated, so only a bug or a forged key gets here
            self.note(part)
            return None

    def note(self, part: str) -> None:
        """Note a damaged part (its kind only, never its content)."""
        if part not in self.parts:
            self.parts.append(part)


def record_damage(db: Session, report_ref: str, account_id: int, damage: Damage) -> None:
    """Audit the damaged parts of a case, once for each set seen.

    The caller commits.  A reviewer who reopens the case does not add an
    event for the same damage again; new damage does get its own event.
    """
    if not damage.parts:
        return
    detail = ",".join(sorted(damage.parts))[:200]
    seen = db.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == DAMAGED_ACTION,
            AuditEvent.report_ref == report_ref,
            AuditEvent.detail == detail,
        )
    )
    if seen is None:
        audit.record(
            db,
            actor=audit.account_actor(account_id),
            action=DAMAGED_ACTION,
            report_ref=report_ref,
            detail=detail,
        )
