"""Finding a report by its receipt, and withdrawing it.

A wrong receipt is answered exactly like a right one that matches nothing:
the same slow KDF runs for malformed input too, so neither the answer nor
its timing says whether a report exists.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session, object_session

from registry import audit
from registry.attachments.service import blobs_of
from registry.crypto import Argon2Params, derive_receipt_keys, normalize_receipt
from registry.evidence import summaries
from registry.models import Direction, Report
from registry.notices.activity import note_case_holders
from registry.records.messages import MessageView, post_from_submitter
from registry.serving.slots import KdfSlots

# A well-formed receipt that is never issued in practice (the chance that a
# random receipt equals it is 2^-100); used to spend the same KDF time on
# malformed input.
_DECOY = "0" * 20


class ReceiptNotFound(Exception):
    """No report for this receipt (or the receipt is malformed)."""


@dataclass(frozen=True)
class Found:
    """A report and the submitter's private key and signing seed derived from the receipt."""

    report: Report
    private_key: bytes
    signing_seed: bytes


def receipt_costs(db: Session, current: Argon2Params) -> list[Argon2Params]:
    """Every Argon2id cost a stored receipt was derived with: ``current`` first.

    Read by seeking the next larger stored value, one index probe per cost
    (ix_reports_receipt_params): there are a handful, not one per report.
    A stored value that does not parse is skipped (no receipt was made with
    it, so nothing can be found with it).
    """
    costs = [current]
    previous: bytes | None = None
    while True:
        # ORDER BY … LIMIT 1, not min(): PostgreSQL has no min() of bytea.
        query = (
            select(Report.receipt_params)
            .where(Report.receipt_params.is_not(None))
            .order_by(Report.receipt_params)
            .limit(1)
        )
        if previous is not None:
            query = query.where(Report.receipt_params > previous)
        value = db.scalar(query)
        if value is None:
            return costs
        previous = value
        try:
            cost = Argon2Params.decode(value)
        except ValueError:
            continue
        if cost not in costs:
            costs.append(cost)


def find_by_receipt(
    db: Session,
    receipt: str,
    *,
    salt: bytes,
    params: Argon2Params,
    slots: KdfSlots,
) -> Found:
    """Derive the receipt's keys under every cost in use and find its report.

    ``params`` is the cost configured now; reports filed under an earlier
    cost keep theirs (``Report.receipt_params``), so raising the cost never
    orphans a receipt.
    """
    normalized = normalize_receipt(receipt)
    # WHY every cost, always, with no early stop: the work (and so the
    # time) must not depend on whether, or under which cost, a report
    # exists for this receipt.  A wrong receipt costs what a right one does.
    derived = []
    for cost in receipt_costs(db, params):
        with slots.hold():
            derived.append(derive_receipt_keys(normalized or _DECOY, salt=salt, params=cost))
    by_lookup = {keys.lookup_id: keys for keys in derived}
    report = db.scalars(select(Report).where(Report.lookup_id.in_(list(by_lookup)))).first()
    if normalized is None or report is None:
        raise ReceiptNotFound()
    keys = by_lookup[report.lookup_id]
    return Found(report=report, private_key=keys.keypair.private, signing_seed=keys.signing_seed)


def receipt_matches(
    report: Report,
    receipt: str,
    *,
    salt: bytes,
    params: Argon2Params,
    slots: KdfSlots,
) -> bool:
    """Whether ``receipt`` is the receipt of ``report`` (asked again before withdrawal).

    The same derivation as :func:`find_by_receipt`, under the cost the
    report's receipt was made with (``params``, the current cost, for a
    report that does not say), in a KDF slot, with the same decoy work for
    malformed input; the lookup ids are compared in constant time.
    """
    normalized = normalize_receipt(receipt)
    cost = params if report.receipt_params is None else Argon2Params.decode(report.receipt_params)
    with slots.hold():
        keys = derive_receipt_keys(normalized or _DECOY, salt=salt, params=cost)
    return normalized is not None and hmac.compare_digest(keys.lookup_id, report.lookup_id)


def new_replies(messages: Sequence[MessageView]) -> set[int]:
    """Positions (in ``messages``, conversation order) of staff replies new to the submitter.

    New means after the submitter's last message, or after the report when
    they never wrote.
    """
    # WHY "since your last message" rather than "since your last visit": a
    # visit could be remembered only as a row on the server (a day, or even
    # a bare counter whose rewrite dates a return: promise 3) or as a
    # lasting cookie on the phone (the trace issue 13 removes from the
    # language choice); the follow-up cookie ends within two hours, so it
    # cannot span two visits.  The submitter's own last message is the one
    # moment of a past visit the registry already holds, by their choice,
    # so marking what came after it adds no trace anywhere.
    last_own = max(
        (i for i, m in enumerate(messages) if m.direction == Direction.TO_STAFF.value),
        default=-1,
    )
    return {
        i
        for i, m in enumerate(messages)
        if i > last_own and m.direction == Direction.TO_SUBMITTER.value
    }


def report_for_session(db: Session, public_id: str) -> Report | None:
    """The report of a follow-up session, unless it was withdrawn or purged since."""
    # A purged case (registry.retention) keeps only plain codes: its session
    # ends as if the report were gone, as its receipt now finds nothing.
    return db.scalars(
        select(Report).where(Report.public_id == public_id, Report.purged_on.is_(None))
    ).first()


def post_message(
    db: Session, report: Report, text: str, *, today: date, signing_seed: bytes
) -> None:
    """The submitter's message to the staff, in the caller's transaction.

    Everyone who holds the case's key is marked as having news (quiet
    e-mail notices, registry.notices): one statement, no mail sent here.
    """
    post_from_submitter(db, report, text, today=today, signing_seed=signing_seed)
    note_case_holders(db, report.id)


def update_consents(report: Report, *, contact: str, publish: bool, refer: bool) -> None:
    """Record the submitter's current choices."""
    # "contact" stays possible only if a sealed contact was given with the
    # report: the submitter cannot seal a new one under the report key.
    allowed = (
        ("receipt", "none", "contact")
        if report.consent_contact == "contact"
        else ("receipt", "none")
    )
    if contact not in allowed:
        raise ValueError(contact)
    report.consent_contact = contact
    report.consent_publish = publish
    report.consent_refer = refer
    if not publish:
        # Consent taken back: the public summary goes at once, from the case
        # and every published snapshot, in this same transaction.
        db = object_session(report)
        if db is None:
            raise RuntimeError("the report is not in a session")
        summaries.forget_case(db, report.id, "consent")


def purge_traces(db: Session) -> None:
    """After a withdrawal, push deleted pages out of SQLite's write-ahead log.

    ``secure_delete`` zeroes freed pages in the database file, but the old
    pages (ciphertext and key wraps) stay in the WAL until a checkpoint;
    TRUNCATE empties it now.  PostgreSQL needs VACUUM (an operator task).
    """
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def withdraw(db: Session, report: Report) -> list[str]:
    """Delete every sealed part and key wrap of the report.

    The row's cascade removes fields, wraps, codes, mappings and messages
    in the caller's transaction; on SQLite ``secure_delete`` overwrites the
    freed pages.  Returns the names of the report's sealed blobs, which the
    caller deletes once the transaction has committed.
    """
    blobs = blobs_of(db, report)
    # The public summary and its published copies go with the report, now
    # (the cascade would too; explicit, so its deletion is audited).
    summaries.forget_case(db, report.id, "withdrawn")
    # The tombstone: that this report existed and was withdrawn, on which day.
    audit.record(db, actor=audit.SUBMITTER, action="report.withdrawn", report_ref=report.public_id)
    db.delete(report)
    return blobs
