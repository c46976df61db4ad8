"""What happens when a report is submitted — in one function.

:func:`submit_report` seals the report under a fresh data key, wraps that
key to every active reviewer and coordinator and to escrow, and stores it
all in one transaction.  Nothing about the request itself (address, agent,
time of day) reaches this function, so nothing of it can be stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.attachments.service import Prepared, attach
from registry.attachments.storage import BlobStore
from registry.crypto import (
    derive_receipt_keys,
    generate_keypair,
    generate_receipt,
    new_data_key,
    normalize_receipt,
    seal_field,
    signing_public_key,
    wrap_data_key,
)
from registry.intake.drafts import Draft, receipt_for
from registry.keyring import SealingKeys, escrow_fingerprint
from registry.models import (
    KEY_HOLDER_ROLES,
    Account,
    KeyWrap,
    Report,
    ReportFlag,
    ReportViolation,
    SealedField,
    Status,
)
from registry.models.base import insert_now, random_row_id, table_of
from registry.notices.activity import note_activity
from registry.records.ids import new_public_id
from registry.records.texts import seal_answers
from registry.records.vocabulary import (
    ANSWER_MAX,
    ANSWERS,
    CONTACT,
    CONTACT_CHOICES,
    INBOX_KEY,
    MONTH_PATTERN,
    NARRATIVE,
    SEALED_ANSWERS,
)
from registry.taxonomy.service import first_unknown, terms, titles


class AlreadySubmitted(Exception):
    """This form page was already submitted once from this browser; nothing new was stored.

    Carries the receipt, so the person sees it again instead of losing it.
    Only a resend of the same draft from the same browser session can get
    here (see :mod:`registry.intake.drafts`), never a receipt a client made up.
    """

    def __init__(self, receipt: str) -> None:
        super().__init__("already submitted")
        self.receipt = receipt


class NoKeyHolder(Exception):
    """Nobody could ever open a report stored now; nothing was stored.

    There is no escrow key and no active reviewer or coordinator to wrap the
    report key to (e.g. a fresh ``make run`` before anyone enrolled).
    """


class InvalidReport(ValueError):
    """The input breaks a rule; ``field`` names the offending field."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class ReportInput:
    """A report as the form delivers it, already type-checked."""

    narrative: str
    region: str
    incident_month: str | None
    violations: tuple[str, ...]
    language: str
    place: str | None = None
    unit: str | None = None
    reporter_role: str | None = None
    flags: tuple[str, ...] = ()
    # Free-text answers to the sealed questions, by field name.
    answers: dict[str, str] = field(default_factory=dict)
    consent_contact: str = "receipt"
    # Sealed; required when consent_contact is "contact".
    contact_details: str = ""
    consent_publish: bool = False
    consent_refer: bool = False
    # The form page's draft and the browser it came from: a resend of the
    # same page gets the same receipt (never a receipt the client chose).
    draft: Draft | None = None


@dataclass(frozen=True)
class Submitted:
    """What the submitter is shown once: the receipt."""

    receipt: str
    public_id: str


def _check(db: Session, data: ReportInput) -> None:
    if not data.narrative.strip():
        raise InvalidReport("narrative")
    if data.region not in titles(db, "regions", "en"):
        raise InvalidReport("region")
    if data.incident_month is not None and not MONTH_PATTERN.match(data.incident_month):
        raise InvalidReport("incident_month")
    unknown = first_unknown(
        db,
        (
            ("violations", data.violations, "violation_types"),
            ("flags", data.flags, "flags"),
            ("place", (data.place,) if data.place else (), "places"),
            ("unit", (data.unit,) if data.unit else (), "units"),
            (
                "reporter_role",
                (data.reporter_role,) if data.reporter_role else (),
                "reporter_roles",
            ),
        ),
    )
    if unknown is not None:
        raise InvalidReport(unknown)
    if set(data.answers) - set(SEALED_ANSWERS) or any(
        len(text) > ANSWER_MAX for text in data.answers.values()
    ):
        raise InvalidReport("narrative")
    if data.consent_contact not in CONTACT_CHOICES:
        raise InvalidReport("consent_contact")
    if data.consent_contact == "contact" and not data.contact_details.strip():
        raise InvalidReport("contact_details")
    if len(data.contact_details) > ANSWER_MAX:
        raise InvalidReport("contact_details")


def new_receipt(draft: Draft | None, draft_key: bytes | None) -> str:
    """The receipt of a new report: made by the server, never taken from the client.

    A usable draft gives its MAC-derived receipt (the same on a resend of
    the same page from the same browser); anything else a fresh random one.
    """
    # WHY never the client's text: a client-chosen receipt could be weak
    # (2222-2222-…) and guessed by anyone, and one that "already exists"
    # would tell the client that somebody holds it.  A bad or foreign draft
    # is replaced silently: the person still gets their report stored.
    if draft is not None and draft_key is not None:
        derived = receipt_for(draft_key, draft)
        if derived is not None:
            return derived
    return generate_receipt()


def _insert_children(
    db: Session,
    report_id: int,
    *,
    violations: list[str],
    flags: list[str],
    sealed: dict[str, bytes],
    wraps: list[tuple[int | None, bool, bytes]],
    escrow_key: str | None = None,
) -> None:
    """Write a new report's child rows in one statement per table.

    WHY Core inserts: the ORM's unit of work for these ten-odd rows cost more
    CPU than sealing the whole report (bench.submit_profile).  Into the
    tables, not the mapped classes: an insert into a class still goes
    through the ORM's bulk-insert path, about 0.15 ms a statement.
    """
    if violations:
        db.execute(
            insert(table_of(ReportViolation)),
            [{"report_id": report_id, "code": c} for c in violations],
        )
    if flags:
        db.execute(
            insert(table_of(ReportFlag)), [{"report_id": report_id, "code": c} for c in flags]
        )
    db.execute(
        insert(table_of(SealedField)),
        [{"report_id": report_id, "name": n, "ciphertext": c} for n, c in sealed.items()],
    )
    if wraps:
        db.execute(
            insert(table_of(KeyWrap)),
            [
                {
                    "report_id": report_id,
                    "account_id": a,
                    "escrow": e,
                    # Which escrow key: rotation must know what depends on the old one.
                    "escrow_key": escrow_key if e else None,
                    "wrapped": w,
                }
                for a, e, w in wraps
            ],
        )


def _exists(db: Session, lookup_id: bytes) -> bool:
    return db.scalar(select(Report.id).where(Report.lookup_id == lookup_id)) is not None


def urgent_flags(db: Session) -> set[str]:
    """Flag codes that make a case urgent (e.g. someone is still detained)."""
    return {t.code for t in terms(db, "flags") if t.attributes.get("urgent")}


# Built once: compiling the statement cost more than running it.
_HOLDER_KEYS = select(Account.id, Account.public_key).where(
    Account.active.is_(True),
    Account.role.in_(KEY_HOLDER_ROLES),
    Account.public_key.is_not(None),
)


def recipients(db: Session) -> list[tuple[int, bytes]]:
    """Active staff who receive the key of every new report: (account id, public key)."""
    return [(account_id, key) for account_id, key in db.execute(_HOLDER_KEYS) if key]


def submit_report(
    db: Session,
    data: ReportInput,
    keys: SealingKeys,
    *,
    today: date,
    files: Sequence[Prepared] = (),
    store: BlobStore | None = None,
) -> Submitted:
    """Seal, wrap and store one report; return its receipt.

    All rows are added to ``db`` and committed together: either the whole
    report is stored or, on any error, nothing is (promise 8, docs/threat-model.md#promise-8).
    """
    _check(db, data)
    holders = recipients(db)
    # Promise 8: a report wrapped to nobody is lost the moment it is stored,
    # while the person believes it arrived.  Refuse it, before any KDF work.
    if not holders and keys.escrow_public is None:
        raise NoKeyHolder()
    receipt = new_receipt(data.draft, keys.draft_key)
    with keys.kdf_slots.hold():
        derived = derive_receipt_keys(receipt, salt=keys.receipt_salt, params=keys.receipt_params)
    # No lookup for an earlier copy here: the unique lookup id refuses a
    # second one when the report row is written, before any child row or
    # file (the IntegrityError branch below); a lookup first cost every
    # submission a query to spare a rare double click some sealing.
    public_id = new_public_id()
    dek = new_data_key()
    inbox = generate_keypair()
    report = Report(
        # Every value the code below reads back, the row id included: the
        # row is written by insert_now, and this object stays a copy.
        id=random_row_id(),
        status=Status.NEW.value,
        public_id=public_id,
        region=data.region,
        incident_month=data.incident_month,
        received_on=today,
        language=data.language,
        lookup_id=derived.lookup_id,
        # The cost the receipt was derived with: raising it later must not
        # orphan this report (registry.followup.service.receipt_costs).
        receipt_params=keys.receipt_params.encode(),
        submitter_public_key=derived.keypair.public,
        inbox_public_key=inbox.public,
        place=data.place,
        unit=data.unit,
        reporter_role=data.reporter_role,
        urgent=bool(set(data.flags) & urgent_flags(db)),
        consent_contact=data.consent_contact,
        consent_publish=data.consent_publish,
        consent_refer=data.consent_refer,
    )
    texts = {NARRATIVE: data.narrative, **data.answers}
    if data.consent_contact == "contact":
        texts[CONTACT] = data.contact_details
    # WHY one record for every text, padded: every report then stores the
    # same two sealed rows, whatever was answered (registry.records.texts).
    # WHY the verify key in that record, under the data key: it vouches for
    # everything the submitter sends to the inbox, so only an opener of the
    # report key may see it and nobody with the database alone may swap it.
    verify_key = signing_public_key(derived.signing_seed)
    sealed = {
        ANSWERS: seal_answers(dek, texts, report_id=public_id, verify_key=verify_key),
        INBOX_KEY: seal_field(dek, inbox.private, report_id=public_id, field=INBOX_KEY),
    }
    wraps: list[tuple[int | None, bool, bytes]] = [
        (account_id, False, wrap_data_key(dek, key, report_id=public_id))
        for account_id, key in holders
    ]
    if keys.escrow_public is not None:
        wraps.append((None, True, wrap_data_key(dek, keys.escrow_public, report_id=public_id)))
    try:
        # The report row first, and at once: the unique lookup id is checked
        # before any child row or file is written.
        insert_now(db, report)
        _insert_children(
            db,
            report.id,
            violations=sorted(set(data.violations)),
            flags=sorted(set(data.flags)),
            sealed=sealed,
            wraps=wraps,
            escrow_key=(
                escrow_fingerprint(keys.escrow_public) if keys.escrow_public is not None else None
            ),
        )
        note_activity(db, [account_id for account_id, _key in holders])
        if files and store is not None:
            attach(db, report, list(files), today=today, signing_seed=derived.signing_seed)
            # Rolled back, with every blob moved so far deleted, on failure.
            store.keep_and_commit(db, [item.upload.blob for item in files])
        else:
            db.commit()
    except IntegrityError:
        db.rollback()
        # Two submissions of one page raced: the other one is stored.
        if _exists(db, derived.lookup_id):
            raise AlreadySubmitted(receipt) from None
        raise
    except Exception:
        db.rollback()
        raise
    return Submitted(receipt=receipt, public_id=public_id)


def receipt_shape_ok(text: str) -> bool:
    """Whether ``text`` looks like a receipt (checked before echoing it back)."""
    return normalize_receipt(text) is not None
