"""The escrow rewrap in three steps, so the escrow private key never comes to the server.

1. On the server, :func:`export_for_person` (the escrow wraps a re-enrolled
   person needs, the same selection as
   :func:`registry.keyring.escrow.rewrap_for`) or :func:`export_to_escrow`
   (after ``registry escrow rotate``: the wraps of every report still
   lacking one to the current escrow key) writes a file with the escrow
   wraps and the public key they are to be rewrapped to.
2. On the offline machine that holds the escrow key, :func:`rewrap_offline`
   opens each wrap and wraps the data key to that public key; no database,
   no app, no configuration.
3. Back on the server, :func:`import_wraps` checks that the target is still
   the one exported and inserts the new wraps, audited like the online
   rewrap.

Neither file holds a secret: only wraps (each opens with one private key
only), public keys, account id and email, and report public ids.  The
format is versioned JSON with base64 fields (docs/recovery.md, "Rewrapping
offline").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session, aliased

from registry import audit
from registry.crypto import CannotOpen, wrap_data_key
from registry.keyring import escrow_fingerprint
from registry.keyring.escrow import (
    REWRAP_BATCH,
    EscrowOpener,
    lacking_current,
    rewrap_target,
)
from registry.keyring.watch import EscrowKey
from registry.models import KEY_HOLDER_ROLES, Account, HeldAccess, KeyWrap, Report

EXPORT_FORMAT = "sviedka-escrow-wraps"
REWRAPPED_FORMAT = "sviedka-escrow-rewrapped"
VERSION = 1

# What the file asks for: a person's reports held before a reset, every
# escrowed report they lack, or the move of old-key wraps to the current key.
HELD = "held"
EVERYTHING = "everything"
ESCROW_MOVE = "escrow-move"
_SELECTIONS = {HELD: "account", EVERYTHING: "account", ESCROW_MOVE: "escrow"}

# Problems a report can be listed with (the command prints a sentence for each).
DAMAGED = "damaged"  # no escrow wrap of it opened, though this key opened others
OTHER_KEY = "other-key"  # none of its escrow wraps is to the key used offline
GONE = "gone"  # the report no longer exists on the server
NOT_HELD = "not-held"  # revoked (or removed from held_access) since the export
ALTERED = "altered"  # the rewrapped wrap does not match its SHA-256 in the file

_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_FINGERPRINT = re.compile(r"[0-9a-f]{16}")


class FileProblem(ValueError):
    """The file is not one this step reads (format, version or a field); the message says which."""


class ImportRefused(Exception):
    """The file's target is not the one on the server any more; ``reason`` says why.

    ``account`` (no active account with that id and email), ``admin`` (its
    role holds no report keys), ``key`` (its public key changed since the
    export: a reset), ``no-escrow`` / ``escrow`` (the current escrow key is
    missing, or is not the one the wraps were made to).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """Whom the data keys are rewrapped to: a staff account, or the current escrow key."""

    public_key: bytes
    account_id: int | None = None
    email: str | None = None

    @property
    def fingerprint(self) -> str:
        """Short name of the public key (the escrow fingerprint's rule), for people to compare."""
        return escrow_fingerprint(self.public_key)


@dataclass(frozen=True)
class ReportWraps:
    """One report's escrow wraps: (escrow key fingerprint or None, wrapped data key)."""

    public_id: str
    wraps: tuple[tuple[str | None, bytes], ...]


@dataclass(frozen=True)
class WrapsExport:
    """Step 1's file: the escrow wraps to rewrap, and to whom."""

    selection: str
    target: Target
    reports: tuple[ReportWraps, ...]


@dataclass(frozen=True)
class Rewrapped:
    """Step 2's file: data keys wrapped to the target, and the reports that could not be."""

    selection: str
    target: Target
    # Fingerprints of the escrow wraps the offline key opened (None: unnamed, first key).
    opened_with: tuple[str | None, ...]
    wraps: tuple[tuple[str, bytes], ...]
    skipped: tuple[tuple[str, str], ...]


# -- Step 1: export (server) --------------------------------------------------


def export_for_person(db: Session, email: str, *, everything: bool = False) -> WrapsExport:
    """The escrow wraps of the reports :func:`rewrap_for` would give this person.

    Those recorded in ``held_access`` by their reset (``everything``: every
    escrowed report), skipping reports they already hold.  Every escrow
    wrap of such a report is included, whichever escrow key it is to: the
    server does not know which key the operator will bring offline.
    Raises :class:`registry.keyring.escrow.RewrapRefused`.
    """
    account, public_key = rewrap_target(db, email)
    own = aliased(KeyWrap)
    has_own = (
        select(own.id).where(own.report_id == KeyWrap.report_id, own.account_id == account.id)
    ).exists()
    query = (
        select(Report.public_id, KeyWrap.escrow_key, KeyWrap.wrapped)
        .join(Report, Report.id == KeyWrap.report_id)
        .where(KeyWrap.escrow, ~has_own)
        .order_by(Report.id)
    )
    if not everything:
        # WHY only held_access: a rewrap must not undo a coordinator's
        # revocation (promise 6), offline no more than online.
        held = select(HeldAccess.report_id).where(HeldAccess.account_id == account.id)
        query = query.where(KeyWrap.report_id.in_(held))
    target = Target(public_key, account.id, account.email)
    return WrapsExport(EVERYTHING if everything else HELD, target, _grouped(db, query))


def export_to_escrow(db: Session, escrow: EscrowKey) -> WrapsExport:
    """The escrow wraps of every report lacking a wrap to ``escrow`` (the current key).

    After ``registry escrow rotate``: rewrapped offline with the old key,
    they become wraps to the new one, and the old key is no longer needed.
    Reports with no escrow wrap at all are not in it (nothing to rewrap;
    ``registry escrow status`` counts them).
    """
    query = (
        select(Report.public_id, KeyWrap.escrow_key, KeyWrap.wrapped)
        .join(Report, Report.id == KeyWrap.report_id)
        .where(KeyWrap.escrow, lacking_current(escrow.fingerprint))
        .order_by(Report.id)
    )
    return WrapsExport(ESCROW_MOVE, Target(escrow.public), _grouped(db, query))


def _grouped(db: Session, query: Select[str, str | None, bytes]) -> tuple[ReportWraps, ...]:
    rows = db.execute(query).all()
    return tuple(
        ReportWraps(public_id, tuple((name, wrapped) for _id, name, wrapped in group))
        for public_id, group in groupby(rows, key=lambda row: row[0])
    )


# -- Step 2: rewrap (offline machine) -----------------------------------------


def rewrap_offline(export: WrapsExport, escrow_private_key: bytes) -> Rewrapped:
    """Open each report's escrow wrap with the escrow key and wrap its data key to the target.

    A report none of whose wraps opens is listed (:data:`DAMAGED` when
    this key opened other wraps named like one of its wraps, else
    :data:`OTHER_KEY`) and skipped; the rest are done.  CannotOpen when
    the key opens none of the file's wraps: the wrong key, one clear
    refusal instead of every report listed.  The data keys exist only in
    this process's memory, never in the output.
    """
    opener = EscrowOpener(escrow_private_key)
    opened: set[str | None] = set()
    wraps: list[tuple[str, bytes]] = []
    failed: list[ReportWraps] = []
    for report in export.reports:
        dek = None
        for name, wrapped in report.wraps:
            try:
                dek = opener.unwrap([wrapped], report_id=report.public_id)
            except CannotOpen:
                continue
            opened.add(name)
            break
        if dek is None:
            # WHY skip, not stop: one damaged wrap must not hold back the rest.
            failed.append(report)
            continue
        wrapped_to = wrap_data_key(dek, export.target.public_key, report_id=report.public_id)
        wraps.append((report.public_id, wrapped_to))
    if failed and not wraps:
        raise CannotOpen()
    skipped = tuple(
        (r.public_id, DAMAGED if any(name in opened for name, _w in r.wraps) else OTHER_KEY)
        for r in failed
    )
    ordered = tuple(sorted(opened, key=lambda name: name or ""))
    return Rewrapped(export.selection, export.target, ordered, tuple(wraps), skipped)


# -- Step 3: import (server) --------------------------------------------------


@dataclass
class ImportRun:
    """Progress of :func:`import_wraps` over one file; pass the same one to every call."""

    position: int = 0
    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def import_wraps(
    db: Session,
    rewrapped: Rewrapped,
    run: ImportRun,
    *,
    escrow: EscrowKey | None,
    limit: int = REWRAP_BATCH,
) -> int:
    """Insert up to ``limit`` more of the file's wraps; return how many entries were handled.

    Commit and call again until it returns 0, as with :func:`rewrap_for`
    (short transactions for the audit log's lock).  Each call first checks
    that the target is unchanged (:class:`ImportRefused` else).  A wrap
    already present is counted in ``run.present`` and left alone, so a
    second import changes nothing; a report gone, no longer held, or listed
    by the offline step goes to ``run.skipped``.  ``escrow`` is the
    installed escrow key (needed for an escrow move).
    """
    account_id = _check_target(db, rewrapped, escrow)
    entries = _entries(rewrapped)[run.position : run.position + limit]
    added: list[int] = []
    for public_id, wrapped, problem in entries:
        report_id = db.scalars(select(Report.id).where(Report.public_id == public_id)).first()
        if report_id is None:
            run.skipped[public_id] = GONE
        elif _present(db, report_id, account_id, rewrapped.target):
            run.present.append(public_id)
        elif problem is not None or wrapped is None:
            run.skipped[public_id] = problem or DAMAGED
        elif rewrapped.selection == HELD and not _held(db, report_id, account_id):
            # WHY check again at import: a coordinator may have revoked the
            # case since the export; a rewrap must not undo it (promise 6).
            run.skipped[public_id] = NOT_HELD
        else:
            _insert(db, report_id, public_id, wrapped, account_id, rewrapped.target)
            run.added.append(public_id)
            added.append(report_id)
    if added and account_id is not None:
        # Given back: the record of what they held has done its job.
        db.execute(
            delete(HeldAccess).where(
                HeldAccess.account_id == account_id, HeldAccess.report_id.in_(added)
            )
        )
    run.position += len(entries)
    return len(entries)


def _entries(rewrapped: Rewrapped) -> list[tuple[str, bytes | None, str | None]]:
    return [(public_id, wrapped, None) for public_id, wrapped in rewrapped.wraps] + [
        (public_id, None, problem) for public_id, problem in rewrapped.skipped
    ]


def _check_target(db: Session, rewrapped: Rewrapped, escrow: EscrowKey | None) -> int | None:
    """The target account's id (None for an escrow move); ImportRefused if it changed."""
    target = rewrapped.target
    if rewrapped.selection == ESCROW_MOVE:
        if escrow is None:
            raise ImportRefused("no-escrow")
        # WHY the whole key: wraps to a key that is not the current one
        # would make the status count reports as covered that are not.
        if escrow.public != target.public_key:
            raise ImportRefused("escrow")
        return None
    account = db.get(Account, target.account_id) if target.account_id is not None else None
    if (
        account is None
        or not account.active
        or account.removed_at is not None
        or account.email != target.email
    ):
        raise ImportRefused("account")
    if account.role not in KEY_HOLDER_ROLES:
        raise ImportRefused("admin")
    # WHY compare the key: after another reset the wraps in the file open
    # with a private key that no longer exists; inserted, they would look
    # like access and open nothing.
    if account.public_key != target.public_key:
        raise ImportRefused("key")
    return account.id


def _present(db: Session, report_id: int, account_id: int | None, target: Target) -> bool:
    if account_id is None:
        fingerprint = target.fingerprint
        lacking = select(Report.id).where(Report.id == report_id, lacking_current(fingerprint))
        return db.scalar(lacking) is None
    own = select(KeyWrap.id).where(KeyWrap.report_id == report_id, KeyWrap.account_id == account_id)
    return db.scalar(own.limit(1)) is not None


def _held(db: Session, report_id: int, account_id: int | None) -> bool:
    return db.get(HeldAccess, (account_id, report_id)) is not None


def _insert(
    db: Session,
    report_id: int,
    public_id: str,
    wrapped: bytes,
    account_id: int | None,
    target: Target,
) -> None:
    if account_id is None:
        db.add(
            KeyWrap(
                report_id=report_id,
                escrow=True,
                escrow_key=target.fingerprint,
                wrapped=wrapped,
            )
        )
        # As a key holder's login adding it (registry.keyring.backfill).
        audit.record(
            db,
            actor=audit.SYSTEM,
            action="case.escrow-wrapped",
            report_ref=public_id,
            detail=f"escrow:{target.fingerprint}",
        )
        return
    db.add(KeyWrap(report_id=report_id, account_id=account_id, wrapped=wrapped))
    # As the online rewrap (rewrap_for).
    audit.record(
        db,
        actor=audit.SYSTEM,
        action="case.escrow-rewrapped",
        report_ref=public_id,
        detail=audit.account_actor(account_id),
    )


# -- The JSON files -----------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _target_json(selection: str, target: Target) -> dict[str, Any]:
    return {
        "kind": _SELECTIONS[selection],
        "account": target.account_id,
        "email": target.email,
        "public_key": _b64(target.public_key),
        "fingerprint": target.fingerprint,
    }


def dump_export(export: WrapsExport) -> str:
    """Step 1's file as JSON text."""
    document = {
        "format": EXPORT_FORMAT,
        "version": VERSION,
        "selection": export.selection,
        "target": _target_json(export.selection, export.target),
        "reports": [
            {
                "case": report.public_id,
                "wraps": [
                    {"escrow_key": name, "wrapped": _b64(wrapped)} for name, wrapped in report.wraps
                ],
            }
            for report in export.reports
        ],
    }
    return json.dumps(document, indent=1, ensure_ascii=True) + "\n"


def dump_rewrapped(rewrapped: Rewrapped) -> str:
    """Step 2's file as JSON text."""
    document = {
        "format": REWRAPPED_FORMAT,
        "version": VERSION,
        "selection": rewrapped.selection,
        "target": _target_json(rewrapped.selection, rewrapped.target),
        "opened_with": list(rewrapped.opened_with),
        "wraps": [
            {
                "case": public_id,
                "wrapped": _b64(wrapped),
                "sha256": hashlib.sha256(wrapped).hexdigest(),
            }
            for public_id, wrapped in rewrapped.wraps
        ],
        "skipped": [
            {"case": public_id, "problem": problem} for public_id, problem in rewrapped.skipped
        ],
    }
    return json.dumps(document, indent=1, ensure_ascii=True) + "\n"


def load_export(text: str) -> WrapsExport:
    """Parse step 1's file; :class:`FileProblem` if it is not one (or a field is malformed).

    A wrap whose base64 does not decode is kept as empty bytes: it fails
    to open like any damaged wrap, and is listed with its report.
    """
    document = _document(text, EXPORT_FORMAT)
    selection, target = _selection_and_target(document)
    reports = []
    for item in _list(document, "reports"):
        public_id = _public_id(item)
        wraps = []
        for wrap in _list(item, "wraps"):
            name = wrap.get("escrow_key")
            if name is not None and not (isinstance(name, str) and _FINGERPRINT.fullmatch(name)):
                raise FileProblem("an escrow_key is not a fingerprint")
            wraps.append((name, _bytes_or_empty(wrap)))
        reports.append(ReportWraps(public_id, tuple(wraps)))
    return WrapsExport(selection, target, tuple(reports))


def load_rewrapped(text: str) -> Rewrapped:
    """Parse step 2's file; :class:`FileProblem` if it is not one.

    A wrap that does not decode, or whose SHA-256 is not the one written
    with it (changed on the way), becomes a skipped report (:data:`ALTERED`)
    instead of a wrap inserted and never opening.
    """
    document = _document(text, REWRAPPED_FORMAT)
    selection, target = _selection_and_target(document)
    wraps: list[tuple[str, bytes]] = []
    skipped: list[tuple[str, str]] = []
    for item in _list(document, "wraps"):
        public_id = _public_id(item)
        wrapped = _bytes_or_empty(item)
        digest = item.get("sha256")
        if wrapped and hashlib.sha256(wrapped).hexdigest() == digest:
            wraps.append((public_id, wrapped))
        else:
            skipped.append((public_id, ALTERED))
    for item in _list(document, "skipped"):
        problem = item.get("problem")
        if problem not in (DAMAGED, OTHER_KEY):
            raise FileProblem("a skipped report has an unknown problem")
        skipped.append((_public_id(item), str(problem)))
    opened = document.get("opened_with", [])
    if not isinstance(opened, list):
        raise FileProblem("opened_with is not a list")
    opened_with = tuple(name if isinstance(name, str) else None for name in opened)
    return Rewrapped(selection, target, opened_with, tuple(wraps), tuple(skipped))


def _document(text: str, expected: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        raise FileProblem("not JSON") from None
    if not isinstance(document, dict):
        raise FileProblem("not a wraps file")
    found = document.get("format")
    if found != expected:
        if found in (EXPORT_FORMAT, REWRAPPED_FORMAT):
            raise FileProblem(f"a {found} file, where a {expected} file is needed")
        raise FileProblem("not a wraps file")
    # WHY refuse a later version: its fields may mean something this code
    # would get wrong; an earlier one is read as it was written.
    if document.get("version") != VERSION:
        raise FileProblem(f"version {document.get('version')!r}, this registry reads {VERSION}")
    return document


def _selection_and_target(document: dict[str, Any]) -> tuple[str, Target]:
    selection = document.get("selection")
    target = document.get("target")
    if selection not in _SELECTIONS or not isinstance(target, dict):
        raise FileProblem("no selection or target")
    if target.get("kind") != _SELECTIONS[selection]:
        raise FileProblem("the target does not match the selection")
    public_key = _decode(target.get("public_key"), "public_key")
    if target.get("fingerprint") != escrow_fingerprint(public_key):
        raise FileProblem("the target's fingerprint does not match its public key")
    if selection == ESCROW_MOVE:
        return selection, Target(public_key)
    account, email = target.get("account"), target.get("email")
    if not isinstance(account, int) or isinstance(account, bool) or not isinstance(email, str):
        raise FileProblem("the target account has no id or email")
    return selection, Target(public_key, account, email)


def _list(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = document.get(key)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise FileProblem(f"{key} is not a list of objects")
    return items


def _public_id(item: dict[str, Any]) -> str:
    public_id = item.get("case")
    # WHY strict: the id is printed on the operator's terminal and used in queries.
    if not isinstance(public_id, str) or not _PUBLIC_ID.fullmatch(public_id):
        raise FileProblem("a case id is malformed")
    return public_id


def _decode(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise FileProblem(f"{name} is not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FileProblem(f"{name} is not base64") from None


def _bytes_or_empty(item: dict[str, Any]) -> bytes:
    try:
        return _decode(item.get("wrapped"), "wrapped")
    except FileProblem:
        return b""
