"""Recovery with the escrow key alone: every case out of a copy of the database and storage.

For the day the server is seized or destroyed and no reviewer is left: on
an offline machine, with a copy of the database (a SQLite file, or a
PostgreSQL dump restored locally), a copy of ``storage/`` and the escrow
private file, every case is opened as docs/envelopes.md#opening-a-report
describes and written out, one folder per case (or one ``age`` file per
case).  Nothing here needs the app, its configuration, ``instance/`` or
``keys/secret.key``: the escrow key opens everything that matters
(docs/recovery.md).

WHY every part is opened on its own: a damaged wrap, field, row or blob
hides only itself.  It is noted in the case's problems and the run goes on;
a case whose data key does not open is listed and skipped.  Read errors of
a damaged database file are caught per part as well, so a truncated copy
gives back every case it can still read.

Nothing is audited: the copy is read-only and may be the only one left.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyrage
from sqlalchemy import Engine, create_engine, event, make_url, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from registry.crypto import CannotOpen, open_field, open_stream, open_with_private_key
from registry.keyring.escrow import EscrowOpener
from registry.models import (
    Account,
    Attachment,
    AuditEvent,
    CaseMapping,
    Direction,
    KeyWrap,
    Message,
    Note,
    Report,
    ReportFlag,
    ReportViolation,
    SealedField,
)
from registry.packing.agestream import PackFailed, encrypted
from registry.packing.recipients import BadRecipient, parse_recipients
from registry.packing.tarstream import Member, MemberSizeChanged, tar_stream
from registry.records.authorship import (
    SubmitterKey,
    file_digest,
    key_from_record,
    message_digest,
    split_message,
)
from registry.records.texts import texts_of
from registry.records.vocabulary import (
    ANSWERS,
    INBOX_KEY,
    NARRATIVE,
    TEXT_FIELDS,
    message_field,
    note_field,
    purpose,
    rationale_field,
)

# One member of a case: its path inside the case, its size, its content in chunks.
Entry = tuple[str, int, Iterable[bytes]]
FORMAT_VERSION = 1
# The report id attachments' streams are bound to (docs/envelopes.md#stream):
# a file is bound to its report only through its key.
UPLOAD_CONTEXT = "upload"
# Public ids are 12 symbols of the receipt alphabet; anything else in a
# tampered database must not become a path.
_PUBLIC_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{12}")
_BLOB_NAME = re.compile(r"[0-9a-f]{32}")
_NAME_BYTES = 180


def open_copy(url: str) -> Engine:
    """An engine on the database copy at ``url``; a SQLite file is opened read-only.

    WHY read-only: the copy may be the last one left; recovery must not
    change a byte of it (no migration, no journal written into it).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        path = Path(parsed.database).resolve()
        if not path.is_file():
            raise FileNotFoundError(str(path))
        engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        event.listen(engine, "connect", _damaged_file_readable)
        return engine
    return create_engine(url)


def _damaged_file_readable(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WHY writable_schema: SQLite refuses outright a file shorter than its
    # header says (a truncated copy), unless this is on; then every page
    # still in the file reads, and a missing one fails only the query that
    # needs it.  Nothing can be written: the file is open read-only, and
    # query_only refuses writes besides.
    cursor.execute("PRAGMA writable_schema=ON")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


# -- Results -----------------------------------------------------------------


@dataclass
class CaseResult:
    """What became of one case."""

    public_id: str
    # The data key opened and the case was written (perhaps with problems).
    written: bool = False
    problems: list[str] = field(default_factory=list)
    files: int = 0
    messages: int = 0


@dataclass
class Recovery:
    """The outcome of a whole run."""

    cases: list[CaseResult] = field(default_factory=list)
    # Reports the audit log names that could not be read from a damaged copy.
    unreadable: list[str] = field(default_factory=list)
    # The list of reports itself could not be read to its end.
    listing_incomplete: bool = False

    @property
    def written(self) -> int:
        """Cases written out."""
        return sum(case.written for case in self.cases)

    @property
    def skipped(self) -> list[CaseResult]:
        """Cases not written at all."""
        return [case for case in self.cases if not case.written]

    @property
    def damaged(self) -> list[CaseResult]:
        """Cases written with some part missing."""
        return [case for case in self.cases if case.written and case.problems]

    @property
    def complete(self) -> bool:
        """Everything was recovered, nothing skipped or damaged."""
        return not (self.skipped or self.damaged or self.unreadable or self.listing_incomplete)


class CaseSink(Protocol):
    """Where recovered cases go: a folder per case, or an age file per case."""

    def write_case(self, public_id: str, entries: Iterator[Entry]) -> None:
        """Write one case from its entries (paths relative to the case)."""

    def abandon(self, public_id: str) -> None:
        """Remove what was written of a case that could not be finished."""


# -- The run -----------------------------------------------------------------


def recover(db: Session, storage: Path, opener: EscrowOpener, sink: CaseSink) -> Recovery:
    """Recover every case the escrow key opens from the database ``db`` and ``storage``.

    ``opener`` must have probed ``db`` (:meth:`EscrowOpener.probe`, which
    refuses a wrong key).  Never stops for a damaged part; see
    :class:`Recovery` for what is reported.
    """
    run = Recovery()
    reports, run.listing_incomplete = _report_ids(db)
    for report_id, public_id in reports:
        result = CaseResult(public_id)
        run.cases.append(result)
        if not _PUBLIC_ID.fullmatch(public_id):
            result.problems.append("report: malformed public id")
            continue
        case = _CaseReader(db, storage, opener, report_id, public_id, result)
        try:
            dek = case.data_key()
        except DatabaseError:
            db.rollback()
            result.problems.append("database: report rows unreadable")
            continue
        if dek is None:
            continue
        try:
            essentials = case.essentials(dek)
        except DatabaseError:
            # Without its texts and plain facts a case is not worth a folder.
            db.rollback()
            result.problems.append("database: case rows unreadable")
            continue
        try:
            sink.write_case(public_id, case.entries(dek, essentials))
            result.written = True
        except (CannotOpen, DatabaseError, OSError) as error:
            db.rollback()
            sink.abandon(public_id)
            result.problems.append(f"case not written: {type(error).__name__}")
    if run.listing_incomplete:
        known = {public_id for _id, public_id in reports}
        run.unreadable = [name for name in _named_in_audit(db) if name not in known]
    return run


def _report_ids(db: Session) -> tuple[list[tuple[int, str]], bool]:
    """Every report (row id, public id) that can be read; and whether the list is incomplete.

    A damaged file may fail part-way through a scan: the rows read before
    the failure are kept, and the public-id index is scanned too, since it
    lies in other pages of the file.
    """
    found: dict[int, str] = {}
    incomplete = False
    # Cases whose sealed content retention deleted have nothing to recover.
    rows = select(Report.id, Report.public_id).where(Report.purged_on.is_(None))
    for query in (
        rows,
        rows.order_by(Report.public_id),
        rows.order_by(Report.public_id.desc()),
    ):
        try:
            for report_id, public_id in db.execute(query):
                found[report_id] = public_id
        except DatabaseError:
            db.rollback()
            incomplete = True
            continue
        if not incomplete:
            break
    return sorted(found.items(), key=lambda item: item[1]), incomplete


def _named_in_audit(db: Session) -> list[str]:
    """Reports the audit log names and does not say were withdrawn (as far as it reads)."""
    named: set[str] = set()
    withdrawn: set[str] = set()
    try:
        rows = db.execute(
            select(AuditEvent.report_ref, AuditEvent.action)
            .where(AuditEvent.report_ref.is_not(None))
            .distinct()
        )
        for ref, action in rows:
            if ref is not None:
                gone = action in ("report.withdrawn", "case.purged")
                (withdrawn if gone else named).add(ref)
    except DatabaseError:
        db.rollback()
    return sorted(named - withdrawn)


# -- One case ----------------------------------------------------------------


class _CaseReader:
    """Opens the parts of one case with its data key; notes each part that fails."""

    def __init__(
        self,
        db: Session,
        storage: Path,
        opener: EscrowOpener,
        report_id: int,
        public_id: str,
        result: CaseResult,
    ) -> None:
        self.db, self.storage, self.opener = db, storage, opener
        self.report_id, self.public_id, self.result = report_id, public_id, result

    def problem(self, text: str) -> None:
        """Note a part that could not be recovered (kinds and ids only, never content)."""
        self.result.problems.append(text)

    def data_key(self) -> bytes | None:
        """The case's data key from its escrow wrap; None (and a problem) if there is none."""
        wraps = list(
            self.db.scalars(
                select(KeyWrap.wrapped).where(
                    KeyWrap.report_id == self.report_id, self.opener.condition()
                )
            )
        )
        if not wraps:
            others = list(
                self.db.scalars(
                    select(KeyWrap.escrow_key).where(
                        KeyWrap.report_id == self.report_id, KeyWrap.escrow
                    )
                )
            )
            if others:
                names = ",".join(sorted(str(name) for name in others))
                self.problem(f"escrow wrap: only to another escrow key ({names})")
            else:
                self.problem("escrow wrap: none (stored before the escrow key existed)")
            return None
        try:
            return self.opener.unwrap(wraps, report_id=self.public_id)
        except CannotOpen:
            self.problem("escrow wrap: damaged")
            return None

    def section(self, name: str, read: Callable[[], Any], default: Any) -> Any:
        """Run one part's reading; a database read error loses that part only."""
        try:
            return read()
        except DatabaseError:
            self.db.rollback()
            self.problem(f"{name}: database rows unreadable")
            return default

    def essentials(self, dek: bytes) -> tuple[dict[str, Any], SubmitterKey, bytes | None]:
        """The plain facts with the texts, the verify key and the inbox key (DatabaseError)."""
        texts, signer, inbox = self._texts(dek)
        report = self._plain()
        report["texts"] = texts
        return report, signer, inbox

    def entries(
        self, dek: bytes, essentials: tuple[dict[str, Any], SubmitterKey, bytes | None]
    ) -> Iterator[Entry]:
        """The case's files: JSON parts, then attachments, then ``index.json`` last."""
        report, signer, inbox = essentials
        report["submitter_verify_key"] = signer.public.hex() if signer.public else None
        messages = self.section("messages", lambda: self._messages(dek, inbox, signer), [])
        notes = self.section("notes", lambda: self._notes(dek), [])
        mappings = self.section("mappings", lambda: self._mappings(dek), [])
        self.result.messages = len(messages)
        parts = {
            "report.json": report,
            "messages.json": messages,
            "notes.json": notes,
            "mappings.json": mappings,
        }
        for name, value in parts.items():
            yield _json_entry(name, value)
        files: list[dict[str, Any]] = []
        rows = self.section("files", self._attachment_rows, [])
        for row in rows:
            found = self._attachment(row, inbox, signer)
            if found is None:
                continue
            meta, entry = found
            files.append(meta)
            self.result.files += 1
            yield entry
        index = {
            "format": "sviedka-recovered-case",
            "version": FORMAT_VERSION,
            "case": self.public_id,
            "parts": sorted(parts),
            "files": files,
            "problems": list(self.result.problems),
        }
        yield _json_entry("index.json", index)

    def _plain(self) -> dict[str, Any]:
        row = self.db.execute(
            select(
                Report.status,
                Report.urgent,
                Report.disposition,
                Report.region,
                Report.place,
                Report.unit,
                Report.reporter_role,
                Report.incident_month,
                Report.received_on,
                Report.language,
                Report.consent_contact,
                Report.consent_publish,
                Report.consent_refer,
            ).where(Report.id == self.report_id)
        ).one()
        plain: dict[str, Any] = {"case": self.public_id, **row._asdict()}
        plain["violations"] = list(
            self.db.scalars(
                select(ReportViolation.code)
                .where(ReportViolation.report_id == self.report_id)
                .order_by(ReportViolation.code)
            )
        )
        plain["flags"] = list(
            self.db.scalars(
                select(ReportFlag.code)
                .where(ReportFlag.report_id == self.report_id)
                .order_by(ReportFlag.code)
            )
        )
        return plain

    def _texts(self, dek: bytes) -> tuple[dict[str, str], SubmitterKey, bytes | None]:
        rows = self.db.execute(
            select(SealedField.name, SealedField.ciphertext).where(
                SealedField.report_id == self.report_id,
                SealedField.name.in_((*TEXT_FIELDS, INBOX_KEY)),
            )
        ).all()
        texts: dict[str, str] = {}
        record: bytes | None = None
        inbox: bytes | None = None
        names = {name for name, _ in rows}
        narrative_opened = False
        for name, ciphertext in rows:
            try:
                plaintext = open_field(dek, ciphertext, report_id=self.public_id, field=name)
                if name == INBOX_KEY:
                    inbox = plaintext
                    continue
                texts.update(texts_of(name, plaintext))
            except CannotOpen:
                self.problem(f"field {name}: damaged")
                continue
            if name == ANSWERS:
                record = plaintext
            narrative_opened = narrative_opened or name == NARRATIVE
        if INBOX_KEY not in names:
            self.problem(f"field {INBOX_KEY}: missing")
        if ANSWERS not in names and NARRATIVE not in names:
            self.problem("field answers: missing")
        signer = key_from_record(
            record, has_record=ANSWERS in names, narrative_opened=narrative_opened
        )
        return texts, signer, inbox

    def _messages(
        self, dek: bytes, inbox: bytes | None, signer: SubmitterKey
    ) -> list[dict[str, Any]]:
        rows = self.db.execute(
            select(
                Message.public_id,
                Message.seq,
                Message.direction,
                Message.created_on,
                Message.staff_copy,
            )
            .where(Message.report_id == self.report_id)
            .order_by(Message.seq)
        ).all()
        out = []
        for public_id, seq, direction, created_on, staff_copy in rows:
            text, signed = self._message(dek, inbox, signer, public_id, direction, staff_copy)
            out.append(
                {
                    "id": public_id,
                    "seq": seq,
                    "direction": direction,
                    "created_on": created_on,
                    "text": text,
                    "signed_by_submitter": signed,
                }
            )
        return out

    def _message(
        self,
        dek: bytes,
        inbox: bytes | None,
        signer: SubmitterKey,
        public_id: str,
        direction: str,
        staff_copy: bytes,
    ) -> tuple[str | None, bool | None]:
        """A message's text (None if damaged) and, from the submitter, whether it verifies."""
        try:
            if direction != Direction.TO_STAFF.value:
                field_name = message_field(public_id)
                body = open_field(dek, staff_copy, report_id=self.public_id, field=field_name)
                return body.decode("utf-8"), None
            if inbox is None:
                raise CannotOpen()
            framed = open_with_private_key(
                staff_copy, inbox, report_id=self.public_id, purpose=purpose("inbox", public_id)
            )
            statement, body = split_message(framed)
            text = body.decode("utf-8")
        except (CannotOpen, UnicodeDecodeError):
            self.problem(f"message {public_id}: damaged")
            return None, None
        signed = signer.verifies(
            statement,
            report_id=self.public_id,
            kind="message",
            item_id=public_id,
            digest=message_digest(body),
        )
        if not signed and signer.public is not None:
            # As on the case page: a report with a verify key only ever
            # stored signed messages; this one was put there by someone else.
            self.problem(f"message {public_id}: not signed by the submitter")
        return text, signed

    def _notes(self, dek: bytes) -> list[dict[str, Any]]:
        rows = self.db.execute(
            select(Note.public_id, Note.created_at, Account.email, Note.ciphertext)
            .outerjoin(Account, Account.id == Note.author_id)
            .where(Note.report_id == self.report_id)
            .order_by(Note.created_at, Note.public_id)
        ).all()
        out = []
        for public_id, created_at, author, ciphertext in rows:
            try:
                field_name = note_field(public_id)
                text: str | None = open_field(
                    dek, ciphertext, report_id=self.public_id, field=field_name
                ).decode("utf-8")
            except (CannotOpen, UnicodeDecodeError):
                self.problem(f"note {public_id}: damaged")
                text = None
            out.append({"id": public_id, "created_at": created_at, "author": author, "text": text})
        return out

    def _mappings(self, dek: bytes) -> list[dict[str, Any]]:
        rows = self.db.execute(
            select(
                CaseMapping.proposal_code,
                CaseMapping.strength,
                CaseMapping.created_at,
                CaseMapping.sealed_rationale,
            )
            .where(CaseMapping.report_id == self.report_id)
            .order_by(CaseMapping.proposal_code)
        ).all()
        out = []
        for code, strength, created_at, sealed in rows:
            try:
                field_name = rationale_field(code)
                rationale: str | None = open_field(
                    dek, sealed, report_id=self.public_id, field=field_name
                ).decode("utf-8")
            except (CannotOpen, UnicodeDecodeError):
                self.problem(f"rationale {code}: damaged")
                rationale = None
            out.append(
                {
                    "proposal": code,
                    "strength": strength,
                    "created_at": created_at,
                    "rationale": rationale,
                }
            )
        return out

    def _attachment_rows(self) -> list[Any]:
        return list(
            self.db.execute(
                select(
                    Attachment.public_id,
                    Attachment.seq,
                    Attachment.blob,
                    Attachment.sealed_key,
                    Attachment.sealed_meta,
                    Attachment.added_on,
                )
                .where(Attachment.report_id == self.report_id)
                .order_by(Attachment.seq)
            ).all()
        )

    def _attachment(
        self, row: Any, inbox: bytes | None, signer: SubmitterKey
    ) -> tuple[dict[str, Any], Entry] | None:
        """One file's index entry and content (checked whole first); None if it fails."""
        public_id, seq, blob, sealed_key, sealed_meta, added_on = row
        try:
            if inbox is None:
                raise CannotOpen()
            meta = json.loads(
                open_with_private_key(
                    sealed_meta,
                    inbox,
                    report_id=self.public_id,
                    purpose=purpose("attachment-meta", public_id),
                )
            )
            key = open_with_private_key(
                sealed_key,
                inbox,
                report_id=self.public_id,
                purpose=purpose("attachment-key", public_id),
            )
            name, size, custody = str(meta["name"]), int(meta["size"]), str(meta["sha256"])
            scrubbed = bool(meta.get("scrubbed"))
        except (CannotOpen, ValueError, KeyError, TypeError):
            self.problem(f"file {public_id}: key or metadata damaged")
            return None
        stored = meta.get("stored_sha256") if scrubbed else custody
        path = self._blob_path(blob)
        if path is None:
            self.problem(f"file {public_id}: blob missing")
            return None
        digest = _check_blob(path, key, public_id, size)
        if digest is None or (stored is not None and not hmac.compare_digest(digest, str(stored))):
            self.problem(f"file {public_id}: blob damaged")
            return None
        signed = signer.verifies(
            bytes.fromhex(meta["sig"]) if isinstance(meta.get("sig"), str) else None,
            report_id=self.public_id,
            kind="file",
            item_id=public_id,
            digest=file_digest(key, meta),
        )
        if not signed and signer.public is not None:
            self.problem(f"file {public_id}: not signed by the submitter")
        target = f"files/{safe_name(name, seq)}"
        info = {
            "id": public_id,
            "name": name,
            "path": target,
            "type": meta.get("type"),
            "size": size,
            "added_on": added_on,
            "sha256": digest,
            # The chain of custody: the hash of the file as the person sent it.
            "custody_sha256": custody,
            "scrubbed": scrubbed,
            # What the hash of the recovered bytes was checked against.
            "checked_against": (
                "custody_sha256" if not scrubbed else "stored_sha256" if stored else "size only"
            ),
            "signed_by_submitter": signed,
        }
        return info, (target, size, _blob_chunks(path, key, public_id))

    def _blob_path(self, blob: str) -> Path | None:
        if not _BLOB_NAME.fullmatch(blob):
            return None
        path = self.storage / "blobs" / blob
        return path if path.is_file() else None


def _check_blob(path: Path, key: bytes, attachment_id: str, size: int) -> str | None:
    """Decrypt the whole blob and return its SHA-256 (hex); None if it fails or has another size.

    WHY a first pass: the content is written (or streamed into an age
    file) only once it is known to be whole and the right bytes.
    """
    digest, length = hashlib.sha256(), 0
    try:
        with path.open("rb") as blob:
            for chunk in open_stream(
                key, blob, report_id=UPLOAD_CONTEXT, attachment_id=attachment_id
            ):
                digest.update(chunk)
                length += len(chunk)
    except (CannotOpen, OSError):
        return None
    return digest.hexdigest() if length == size else None


def _blob_chunks(path: Path, key: bytes, attachment_id: str) -> Iterator[bytes]:
    """The blob's plaintext again, chunk by chunk (each chunk still authenticated)."""
    with path.open("rb") as blob:
        yield from open_stream(key, blob, report_id=UPLOAD_CONTEXT, attachment_id=attachment_id)


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _json_entry(name: str, value: object) -> Entry:
    data = json.dumps(value, ensure_ascii=False, indent=2, default=_json_default).encode("utf-8")
    return name, len(data), [data]


def safe_name(name: str, seq: int) -> str:
    """A file name that is safe on any disk: the original, cleaned, after its place in the case.

    Path separators, control characters and characters Windows refuses
    become ``_``; leading dots go (no hidden files, no ``..``); the name is
    cut to 180 bytes of UTF-8 (keeping the extension); the place prefix
    keeps two files of one name apart.
    """
    cleaned = "".join(
        "_" if not c.isprintable() or c in '/\\:*?"<>|' else c
        for c in unicodedata.normalize("NFC", name)
    ).strip()
    cleaned = cleaned.lstrip(".").strip() or "file"
    stem, dot, extension = cleaned.rpartition(".")
    if not dot or len(extension) > 16:
        stem, extension = cleaned, ""
    suffix = f".{extension}" if extension else ""
    while len((stem + suffix).encode("utf-8")) > _NAME_BYTES:
        stem = stem[:-1]
    return f"{seq:03d}-{stem or 'file'}{suffix}"


# -- Sinks -------------------------------------------------------------------


def _create(path: Path) -> BinaryIO:
    """A new file, only for this user, never over an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


class FolderSink:
    """One folder per case under ``out`` (created mode 0700)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._made: set[str] = set()

    def write_case(self, public_id: str, entries: Iterator[Entry]) -> None:
        """Write each entry under ``out/<public id>/`` (a folder that must not exist yet)."""
        case_dir = self.out / public_id
        case_dir.mkdir(mode=0o700)
        self._made.add(public_id)
        for path, size, chunks in entries:
            target = case_dir / path
            target.parent.mkdir(mode=0o700, exist_ok=True)
            written = 0
            with _create(target) as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    written += len(chunk)
            if written != size:
                raise CannotOpen()

    def abandon(self, public_id: str) -> None:
        """Remove the case's folder, if this run made it."""
        if public_id in self._made:
            shutil.rmtree(self.out / public_id, ignore_errors=True)


class AgeSink:
    """One ``age`` file per case under ``out``: a tar inside, streamed, never on disk in plain.

    Openable with the stock tool: ``age -d -i key.txt CASE.tar.age | tar x``.
    """

    def __init__(self, out: Path, recipients: list[str]) -> None:
        """ValueError if a recipient is not an ``age1…`` X25519 recipient."""
        try:
            parsed = parse_recipients("\n".join(recipients))
        except BadRecipient as error:
            raise ValueError(str(error)) from None
        self.recipients = [pyrage.x25519.Recipient.from_str(line) for line in parsed]
        self.out = out
        self._made: set[str] = set()

    def write_case(self, public_id: str, entries: Iterator[Entry]) -> None:
        """Stream the case as a tar (members under ``<public id>/``) into ``<id>.tar.age``.

        CannotOpen when a part of the case fails while it streams (the
        unfinished file is then abandoned by the caller).
        """
        members = (
            Member(f"{public_id}/{path}", size, partial(iter, chunks))
            for path, size, chunks in entries
        )
        with _create(self.out / f"{public_id}.tar.age") as handle:
            self._made.add(public_id)
            try:
                # WHY mtime 0: the archive must not date anything; the dates
                # that matter are inside the case's JSON.
                for piece in encrypted(tar_stream(members, mtime=0), self.recipients):
                    handle.write(piece)
            except PackFailed as failed:
                cause = failed.__cause__
                if isinstance(cause, CannotOpen):
                    raise cause from None
                if isinstance(cause, MemberSizeChanged):
                    raise CannotOpen() from None
                raise

    def abandon(self, public_id: str) -> None:
        """Delete the case's (unfinished) age file, if this run made it."""
        if public_id in self._made:
            (self.out / f"{public_id}.tar.age").unlink(missing_ok=True)

    def seal(self, data: bytes) -> bytes:
        """``data`` encrypted to the same recipients (for the summary)."""
        return bytes(pyrage.encrypt(data, self.recipients))


def write_summary(
    out: Path, run: Recovery, fingerprints: set[str | None], age: AgeSink | None = None
) -> Path:
    """Write ``summary.json`` (kinds, ids and counts only) next to the cases.

    With ``age``, ``summary.json.age`` instead: nothing in plain on disk.
    """
    summary = {
        "format": "sviedka-recovery-summary",
        "version": FORMAT_VERSION,
        "escrow_keys": sorted(name or "first" for name in fingerprints),
        "cases_written": run.written,
        "cases_skipped": [
            {"case": case.public_id, "problems": case.problems} for case in run.skipped
        ],
        "cases_with_problems": [
            {"case": case.public_id, "problems": case.problems} for case in run.damaged
        ],
        "listing_incomplete": run.listing_incomplete,
        "unreadable": run.unreadable,
        "files": sum(case.files for case in run.cases),
        "messages": sum(case.messages for case in run.cases),
    }
    data = json.dumps(summary, indent=2).encode("utf-8")
    path = out / ("summary.json" if age is None else "summary.json.age")
    with _create(path) as handle:
        handle.write(data if age is None else age.seal(data))
    return path
