"""Evidence packs: cases referred to one partner, sealed to its ``age`` keys.

A coordinator chooses cases and a partner; :func:`prepare_pack` refuses
the whole pack, before anything is opened or exported, when any case may
not leave (no such case, no consent to referral, no key of the
coordinator's) or the partner is removed.  Otherwise it opens each case
the way the case page does (registry.review.service.open_case, which
audits the opening), checks every file whole, writes the signed manifests
(registry.referral.manifest), and records one ``case.referred`` event per
case naming the partner, in the caller's transaction.  The caller commits
before the first byte is sent: an export that is interrupted still counts
as an export.

:meth:`PreparedPack.stream` then produces the pack: a tar stream of the
manifests and the files decrypted chunk by chunk from their sealed blobs,
encrypted to the partner's recipients as it is sent
(registry.packing.agestream).  No plaintext touches the disk; memory holds
the manifests (texts) and a few chunks, whatever the size of the files.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from registry import audit
from registry.attachments.service import AttachmentView, inbox_private, opened_row
from registry.attachments.storage import BlobStore
from registry.attachments.verify import second_pass, verify
from registry.crypto import CannotOpen
from registry.keyring.signing import SigningKey
from registry.models import Attachment, KeyWrap, Partner, ReformProposal, Report
from registry.packing.agestream import encrypted
from registry.packing.recipients import age_recipients
from registry.packing.tarstream import Member, tar_stream
from registry.records.access import NoAccess, data_key_for, find_report
from registry.records.authorship import submitter_key
from registry.records.integrity import Damage, record_damage
from registry.records.vocabulary import SEALED_ANSWERS
from registry.referral import manifest
from registry.referral.manifest import FileEntry, Labelled
from registry.referral.partners import detail_of
from registry.review.queue import ORDERS, QueueFilters, Sort, conditions
from registry.review.service import CaseView, open_case
from registry.taxonomy.service import terms

MAX_CASES = 100
REFERRED = "case.referred"
NAME_MAX = 100
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


class PackRefused(Exception):
    """Nothing may be exported; ``reason`` says why, ``case`` for which case.

    Reasons: ``empty`` (no case chosen), ``too-many`` (over :data:`MAX_CASES`),
    ``partner`` (removed or unknown), ``unknown`` (no such case), ``consent``
    (the submitter did not consent to referral), ``no-key`` (the
    coordinator holds no key of the case).
    """

    def __init__(self, reason: str, case: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.case = case


@dataclass(frozen=True)
class CaseCheck:
    """Whether one case may go into a pack (``reason`` None) or why not."""

    public_id: str
    reason: str | None


def check_case(db: Session, public_id: str, account_id: int, private_key: bytes) -> CaseCheck:
    """Whether the case ``public_id`` may be referred by this coordinator.

    WHY the key is unwrapped, not only looked up: a wrap that does not open
    with this key is no key; the pack would fail half-way otherwise.
    """
    try:
        report = find_report(db, public_id)
    except NoAccess:
        return CaseCheck(public_id, "unknown")
    # WHY consent first: it is the submitter's decision, and no key opens
    # a case for referral that the submitter did not allow to leave.
    if not report.consent_refer:
        return CaseCheck(public_id, "consent")
    try:
        data_key_for(db, report, account_id, private_key)
    except NoAccess:
        return CaseCheck(public_id, "no-key")
    return CaseCheck(public_id, None)


def check_cases(
    db: Session, public_ids: Iterable[str], account_id: int, private_key: bytes
) -> list[CaseCheck]:
    """:func:`check_case` for each distinct id, in the order given."""
    return [check_case(db, i, account_id, private_key) for i in dict.fromkeys(public_ids)]


@dataclass(frozen=True)
class Selection:
    """The cases of the queue's filters: those that may be referred, and the others."""

    referable: list[str]
    # How many matched but lack consent, or a key of this coordinator.
    without_consent: int
    without_key: int
    # More cases could be referred than one pack holds (the first are listed).
    truncated: bool


def select_by_filters(db: Session, filters: QueueFilters, sort: Sort, account_id: int) -> Selection:
    """The cases of the queue's filters, split by whether this coordinator may refer them.

    Plain columns only (consent and the existence of a wrap); the keys are
    checked again, cryptographically, when the pack is made.
    """
    where = conditions(filters)
    holds = exists().where(KeyWrap.report_id == Report.id, KeyWrap.account_id == account_id)
    referable = list(
        db.scalars(
            select(Report.public_id)
            .where(*where, Report.consent_refer.is_(True), holds)
            .order_by(*ORDERS[sort])
            .limit(MAX_CASES + 1)
        )
    )
    count = select(func.count()).select_from(Report)
    without_consent = db.scalar(count.where(*where, Report.consent_refer.is_(False))) or 0
    without_key = db.scalar(count.where(*where, Report.consent_refer.is_(True), ~holds)) or 0
    return Selection(
        referable[:MAX_CASES], without_consent, without_key, len(referable) > MAX_CASES
    )


@dataclass(frozen=True)
class _File:
    """A file to be sent: where its sealed blob is and what it must hash to."""

    path: str
    size: int
    blob: str
    key: bytes
    attachment_id: str
    sha256: str


@dataclass
class PreparedPack:
    """A pack whose cases are opened, checked, signed and audited; ready to stream."""

    file_name: str
    recipients: list[Any]
    members: list[Member]
    mtime: int
    case_ids: list[str]

    def stream(self) -> Generator[bytes, None, None]:
        """The age file, piece by piece (see registry.packing.agestream)."""
        return encrypted(tar_stream(self.members, mtime=self.mtime), self.recipients)


def prepare_pack(
    db: Session,
    *,
    public_ids: Sequence[str],
    partner_id: int | None,
    account_id: int,
    private_key: bytes,
    include_notes: bool,
    store: BlobStore,
    signer: SigningKey,
    today: date,
    registry_url: str,
) -> PreparedPack:
    """Check, open, sign and audit a pack of ``public_ids`` for one partner.

    Raises :class:`PackRefused` before anything is opened or recorded when
    any case or the partner may not be used.  The caller commits the audit
    events, then sends :meth:`PreparedPack.stream`.
    """
    ids = list(dict.fromkeys(public_ids))
    if not ids:
        raise PackRefused("empty")
    if len(ids) > MAX_CASES:
        raise PackRefused("too-many")
    partner = db.get(Partner, partner_id) if partner_id is not None else None
    # WHY refuse a removed partner here too (the form lists active ones
    # only): a page left open when the partner was removed must not send.
    if partner is None or partner.removed_on is not None:
        raise PackRefused("partner")
    for checked in check_cases(db, ids, account_id, private_key):
        if checked.reason is not None:
            raise PackRefused(checked.reason, checked.public_id)
    recipients = age_recipients(partner.recipients)
    members: list[Member] = []
    signed_cases: list[tuple[str, bytes]] = []
    for public_id in ids:
        case = open_case(db, public_id, account_id, private_key)
        files = _files(db, case, account_id, private_key, store)
        document = _case_document(db, case, files, include_notes=include_notes)
        data = manifest.encode(document)
        signed_cases.append((public_id, data))
        members += _signed(f"{public_id}/{manifest.MANIFEST}", data, signer)
        members += [_file_member(store, item) for _entry, item in files if item is not None]
        audit.record(
            db,
            actor=audit.account_actor(account_id),
            action=REFERRED,
            report_ref=public_id,
            detail=detail_of(partner),
        )
    top = manifest.encode(
        manifest.pack_manifest(
            created_on=today,
            registry_url=registry_url,
            partner=partner.name,
            notes_included=include_notes,
            cases=signed_cases,
            public_key_b64=base64.b64encode(signer.public_raw()).decode("ascii"),
        )
    )
    midnight = int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp())
    return PreparedPack(
        file_name=f"sviedka-pack-{today.isoformat()}-{len(ids)}.age",
        recipients=recipients,
        members=[*_signed(manifest.MANIFEST, top, signer), *members],
        mtime=midnight,
        case_ids=ids,
    )


def _signed(path: str, data: bytes, signer: SigningKey) -> list[Member]:
    signature = signer.sign(data)
    return [
        Member(path, len(data), lambda: iter((data,))),
        Member(path + manifest.SIGNATURE_SUFFIX, len(signature), lambda: iter((signature,))),
    ]


def _file_member(store: BlobStore, item: _File) -> Member:
    return Member(item.path, item.size, lambda: _file_chunks(store, item))


def _file_chunks(store: BlobStore, item: _File) -> Generator[bytes, None, None]:
    """The file's plaintext, decrypted chunk by chunk, checked against its hash at the end.

    Each chunk is authenticated as it is read (second_pass); the hash check
    catches a blob replaced since it was verified.  Either failure raises,
    which leaves the pack unfinished (age then refuses it).
    """
    digest = hashlib.sha256()
    chunks = second_pass(store.open(item.blob), item.key, item.attachment_id)
    try:
        for chunk in chunks:
            digest.update(chunk)
            yield chunk
        if digest.hexdigest() != item.sha256:
            raise CannotOpen()
    finally:
        chunks.close()


def _files(
    db: Session, case: CaseView, account_id: int, private_key: bytes, store: BlobStore
) -> list[tuple[FileEntry, _File | None]]:
    """Every file of the case: its manifest entry, and what to send (None: not included).

    Each servable file is decrypted whole once here and compared with its
    sealed size and hash, so the manifest names only files that verify.  A
    file that fails is listed as not included and audited as damage, like a
    failed download.
    """
    report = case.report
    views = {view.public_id: view for view in case.attachments}
    rows = list(
        db.scalars(
            select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.seq)
        )
    )
    keys: dict[str, bytes] = {}
    if any(view.servable for view in views.values()):
        dek = data_key_for(db, report, account_id, private_key)
        inbox, signer = inbox_private(db, report, dek), submitter_key(db, report, dek)
        for row in rows:
            if views.get(row.public_id, AttachmentView.damaged(row.public_id)).servable:
                keys[row.public_id] = opened_row(row, report, inbox, signer)[1]
    found: list[tuple[FileEntry, _File | None]] = []
    damage = Damage()
    for row in rows:
        view = views.get(row.public_id, AttachmentView.damaged(row.public_id))
        key = keys.get(row.public_id)
        sha = _checked_hash(store, row.blob, key, view) if key is not None else None
        path = f"{report.public_id}/files/{view.public_id}-{_safe_name(view.name)}"
        item = None
        if key is not None and sha is not None:
            item = _File(path, view.size, row.blob, key, view.public_id, sha)
        elif view.intact:
            damage.note("file")
        found.append(
            (
                FileEntry(
                    id=view.public_id,
                    name=view.name,
                    media_type=view.media_type,
                    size=view.size,
                    sha256=sha if item is not None else None,
                    original_sha256=view.original_sha256,
                    cleaned=view.scrubbed,
                    path=path if item is not None else None,
                    submitter_signed=view.verified,
                ),
                item,
            )
        )
    record_damage(db, report.public_id, account_id, damage)
    return found


def _checked_hash(store: BlobStore, blob: str, key: bytes, view: AttachmentView) -> str | None:
    """The SHA-256 of the stored plaintext once it checked out whole; None if it did not."""
    try:
        handle = store.open(blob)
    except (FileNotFoundError, ValueError):
        return None
    expected = view.expected
    try:
        if expected.sha256 is not None:
            with handle:
                verify(handle, key, view.public_id, expected)
            return expected.sha256
        # A cleaned copy stored before its own hash was kept: hash it while
        # checking every chunk, so the manifest can still name its hash.
        digest, size = hashlib.sha256(), 0
        for chunk in second_pass(handle, key, view.public_id):
            digest.update(chunk)
            size += len(chunk)
    except CannotOpen:
        handle.close()
        return None
    return digest.hexdigest() if size == expected.size else None


def _safe_name(name: str) -> str:
    """A file name that stays one path component inside the archive."""
    cleaned = _UNSAFE.sub("_", name).strip().lstrip(".")
    return cleaned[-NAME_MAX:] or "file"


def _labelled(kind_terms: dict[str, dict[str, str]], code: str | None) -> dict[str, Any] | None:
    if code is None:
        return None
    return Labelled(code, kind_terms.get(code, {})).encode()


def _titles(db: Session, kind: str) -> dict[str, dict[str, str]]:
    return {term.code: term.titles for term in terms(db, kind)}


def _case_document(
    db: Session,
    case: CaseView,
    files: list[tuple[FileEntry, _File | None]],
    *,
    include_notes: bool,
) -> dict[str, Any]:
    """One case's manifest (docs/packs.md, "Case manifest")."""
    report = case.report
    regions, places = _titles(db, "regions"), _titles(db, "places")
    units, violations = _titles(db, "units"), _titles(db, "violation_types")
    flags = _titles(db, "flags")
    proposals = []
    for mapping in case.mappings:
        proposal = db.get(ReformProposal, mapping.proposal_code)
        labels = {lang: proposal.title(lang) for lang in manifest.LANGUAGES} if proposal else {}
        proposals.append(
            {
                **Labelled(mapping.proposal_code, labels).encode(),
                "strength": mapping.strength,
                "rationale": mapping.rationale,
            }
        )
    document: dict[str, Any] = {
        "schema": manifest.CASE_SCHEMA,
        "version": manifest.VERSION,
        "case": report.public_id,
        "received_on": report.received_on.isoformat(),
        "incident_period": {"month": report.incident_month},
        "language": report.language,
        "region": _labelled(regions, report.region),
        "place": _labelled(places, report.place),
        "unit": _labelled(units, report.unit),
        "violations": [_labelled(violations, code) for code in case.violations],
        "flags": [_labelled(flags, flag.code) for flag in report.flags],
        "proposals": proposals,
        "narrative": case.narrative,
        # WHY the contact is left out: consent to referral covers the
        # account of the events, not a way to reach the person; a partner
        # who needs them asks the registry, which asks the submitter.
        "answers": {name: case.answers[name] for name in SEALED_ANSWERS if name in case.answers},
        "messages": [
            {
                "direction": message.direction,
                "date": message.created_on.isoformat(),
                "text": message.text,
                "verified": message.verified,
            }
            for message in case.messages
        ],
        "reviewer_notes_included": include_notes,
    }
    if include_notes:
        # WHY without the author: staff are targeted too, and a partner
        # needs what was noted, not which reviewer's address noted it.
        document["reviewer_notes"] = [
            {"date": note.created_at.date().isoformat(), "text": note.text} for note in case.notes
        ]
    document["files"] = [entry.encode() for entry, _item in files]
    document["damaged"] = list(case.damaged)
    return document
