"""Reports for the queue and search tests, written straight to the database.

Plain rows carry fake keys (the queue never reads them); sealed ones are
sealed and wrapped with the real crypto, exactly as a submission would be,
but without a receipt KDF, so a test can make hundreds of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from registry.crypto import aead, new_data_key, wrap_data_key
from registry.crypto.envelope import Kind
from registry.models import CaseMapping, KeyWrap, Report, ReportViolation, SealedField
from registry.records.ids import new_public_id
from registry.records.texts import seal_answers
from registry.records.vocabulary import ANSWERS, NARRATIVE

FAKE_KEY = bytes(1216)


def plain_report(
    db: Session,
    *,
    violations: Iterable[str] = ("torture",),
    proposals: Iterable[str] = (),
    **columns: Any,
) -> Report:
    """A report with plain columns only (defaults for whatever is not given)."""
    values: dict[str, Any] = {
        "public_id": new_public_id(),
        "region": "minsk-city",
        "received_on": date(2025, 1, 15),
        "language": "ru",
        "lookup_id": os.urandom(32),
        "submitter_public_key": FAKE_KEY,
        "inbox_public_key": FAKE_KEY,
        **columns,
    }
    report = Report(**values)
    report.violations = [ReportViolation(code=code) for code in violations]
    db.add(report)
    db.flush()
    for code in proposals:
        db.add(
            CaseMapping(
                report_id=report.id,
                proposal_code=code,
                strength="strong",
                sealed_rationale=os.urandom(48),
            )
        )
    db.flush()
    return report


def seal_legacy_field(dek: bytes, plaintext: bytes, *, report_id: str, field: str) -> bytes:
    """A field as stored before padding (kind FIELD): unpadded, one row per text."""
    return aead.seal(dek, plaintext, kind=Kind.FIELD, context=(report_id, field), rng=None)


def sealed_report(
    db: Session,
    narrative: str,
    holders: Iterable[tuple[int, bytes]],
    answers: dict[str, str] | None = None,
    *,
    per_text_rows: bool = False,
    **columns: Any,
) -> Report:
    """A report whose narrative (and answers) are sealed and whose key is wrapped to
    each ``(account id, public key)`` in ``holders``.

    Sealed as a submission does today (one record), or with ``per_text_rows``
    as reports stored before it were: an unpadded row per text.
    """
    report = plain_report(db, **columns)
    dek = new_data_key()
    texts = {NARRATIVE: narrative, **(answers or {})}
    rows = (
        {
            name: seal_legacy_field(dek, text.encode(), report_id=report.public_id, field=name)
            for name, text in texts.items()
        }
        if per_text_rows
        else {ANSWERS: seal_answers(dek, texts, report_id=report.public_id)}
    )
    for name, ciphertext in rows.items():
        db.add(SealedField(report_id=report.id, name=name, ciphertext=ciphertext))
    for account_id, public_key in holders:
        db.add(
            KeyWrap(
                report_id=report.id,
                account_id=account_id,
                wrapped=wrap_data_key(dek, public_key, report_id=report.public_id),
            )
        )
    db.flush()
    return report
