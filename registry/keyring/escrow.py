"""The escrow key: recovery when every reviewer has forgotten their password.

The private half is written once, locked under the operator's passphrase,
to a file the operator moves offline.  Only the public half
(``keys/escrow.pub``) stays on the server, so a seized server cannot use it.

A deployment may have had several escrow keys (``registry escrow rotate``):
each escrow wrap names its key by fingerprint (``key_wraps.escrow_key``,
NULL for the first key), a report may hold a wrap to an old key and one to
the current key, and the old key stays needed until
:func:`escrow_status` says no report depends on it any more.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    distinct,
    exists,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, aliased

from registry import audit
from registry.crypto import (
    Argon2Params,
    CannotOpen,
    DataKeyUnwrapper,
    generate_keypair,
    lock_private_key,
    unlock_private_key,
    wrap_data_key,
)
from registry.keyring import ESCROW_PUBLIC_FILE, escrow_fingerprint, old_escrow_file
from registry.keyring.armor import PRIVATE_HEADER, PUBLIC_HEADER, armor, dearmor
from registry.keyring.watch import EscrowKey, read_escrow_key
from registry.models import KEY_HOLDER_ROLES, Account, HeldAccess, KeyWrap, Report


class EscrowExists(Exception):
    """An escrow public key is already installed."""


class RewrapRefused(Exception):
    """The account cannot receive report keys; ``reason`` says why.

    ``unknown`` (no active account with that email), ``admin``
    (administrators hold no report keys).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoEscrow(Exception):
    """No escrow public key is installed (``keys/escrow.pub`` is missing)."""


def create_escrow(keys_dir: Path, private_out: Path, passphrase: str, params: Argon2Params) -> Path:
    """Create the escrow key pair; return the path of the public key.

    The locked private key is written to ``private_out`` (mode 0600, never
    overwritten); the public key to ``keys_dir/escrow.pub``.
    """
    public_path = keys_dir / ESCROW_PUBLIC_FILE
    if public_path.exists():
        raise EscrowExists(str(public_path))
    pair = generate_keypair()
    locked = lock_private_key(pair.private, passphrase, params=params)
    fd = os.open(private_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(armor(PRIVATE_HEADER, locked))
    keys_dir.mkdir(parents=True, exist_ok=True)
    public_path.write_text(armor(PUBLIC_HEADER, pair.public), encoding="ascii")
    return public_path


def open_escrow_file(text: str, passphrase: str) -> bytes:
    """The escrow private key from its passphrase-locked file.

    ``ValueError`` when the text is not an escrow private key file,
    :class:`registry.crypto.CannotOpen` for a wrong passphrase.
    """
    return unlock_private_key(dearmor(PRIVATE_HEADER, text), passphrase)


PROBE_TRIES = 5


class EscrowOpener:
    """Opens escrow wraps with one escrow private key, whichever of its wraps a report holds.

    ``fingerprints`` are the values of ``key_wraps.escrow_key`` whose wraps
    this key opened when :meth:`probe` tried them: the private file carries
    no public key, so which key it is is learned from the wraps themselves.
    """

    def __init__(self, private_key: bytes) -> None:
        """CannotOpen if ``private_key`` is malformed."""
        self._unwrapper = DataKeyUnwrapper(private_key)
        self.fingerprints: set[str | None] = set()
        self.every_wrap = False

    def __repr__(self) -> str:
        # WHY: an object printed in a log or a traceback must not show the key.
        return "EscrowOpener(...)"

    def probe(self, db: Session, *, tries: int = PROBE_TRIES) -> set[str | None]:
        """Learn which escrow keys of the database this is; CannotOpen if none.

        For each fingerprint in use, up to ``tries`` wraps are tried: a
        damaged wrap or two do not hide the key, and a key that opens none
        of them is the wrong key (one clear refusal instead of every report
        listed as damaged).  A database without any escrow wrap passes.

        A damaged database file (a truncated copy) may fail to answer: then
        whatever was learned is kept, and if nothing was, every escrow wrap
        is tried (:attr:`every_wrap`) rather than refusing the copy.
        """
        names: list[str | None] = []
        try:
            for name in db.scalars(select(KeyWrap.escrow_key).where(KeyWrap.escrow).distinct()):
                names.append(name)
            for name in names:
                self._try_sample(db, name, tries)
        except DatabaseError:
            db.rollback()
            self.every_wrap = not self.fingerprints
            return self.fingerprints
        if names and not self.fingerprints:
            raise CannotOpen()
        return self.fingerprints

    def _try_sample(self, db: Session, name: str | None, tries: int) -> None:
        sample = db.execute(
            select(KeyWrap.wrapped, Report.public_id)
            .join(Report, Report.id == KeyWrap.report_id)
            .where(KeyWrap.escrow, _named(name))
            .limit(tries)
        ).all()
        for wrapped, public_id in sample:
            try:
                self._unwrapper.unwrap(wrapped, report_id=public_id)
            except CannotOpen:
                continue
            self.fingerprints.add(name)
            return

    def condition(self) -> ColumnElement[bool]:
        """SQL condition: an escrow wrap to one of this key's fingerprints."""
        if self.every_wrap:
            return KeyWrap.escrow.is_(True)
        names = [name for name in self.fingerprints if name is not None]
        options = [KeyWrap.escrow_key.in_(names)] if names else []
        if None in self.fingerprints:
            options.append(KeyWrap.escrow_key.is_(None))
        return and_(KeyWrap.escrow, or_(*options) if options else false())

    def unwrap(self, wraps: Iterable[bytes], *, report_id: str) -> bytes:
        """The data key from the first of ``wraps`` that opens; CannotOpen if none does."""
        for wrapped in wraps:
            try:
                return self._unwrapper.unwrap(wrapped, report_id=report_id)
            except CannotOpen:
                continue
        raise CannotOpen()


def _named(name: str | None) -> ColumnElement[bool]:
    return KeyWrap.escrow_key.is_(None) if name is None else KeyWrap.escrow_key == name


REWRAP_BATCH = 500


def rewrap_target(db: Session, email: str) -> tuple[Account, bytes]:
    """The active key holder with this email, and their public key; :class:`RewrapRefused` else.

    Shared by :func:`rewrap_for` and the offline rewrap
    (registry.keyring.rewrap_files), so both refuse the same people.
    """
    account = db.scalars(
        select(Account).where(Account.email == email.strip().lower(), Account.active.is_(True))
    ).first()
    if account is None or account.public_key is None:
        raise RewrapRefused("unknown")
    # Administrators manage accounts, they do not read cases: they never
    # hold report keys (as at intake).
    if account.role not in KEY_HOLDER_ROLES:
        raise RewrapRefused("admin")
    return account, account.public_key


def rewrap_for(
    db: Session,
    *,
    escrow_private_key: bytes,
    email: str,
    limit: int = REWRAP_BATCH,
    everything: bool = False,
    skipped: dict[int, str] | None = None,
) -> int:
    """Wrap up to ``limit`` escrowed report keys to a staff member; return how many.

    For when someone lost their key (a reset password) and re-enrolled with
    a new one: each report they could open before the reset (recorded in
    ``held_access`` by the reset; revocations since then removed from it) is
    opened with the escrow key and wrapped to their current public key.
    Only that: a rewrap must not undo a coordinator's revocation (promise
    6).  ``everything`` instead gives every escrowed report they lack — a
    deliberate operator decision (a newcomer taking over the backlog).
    Commit and call again until it returns 0: short transactions do not
    hold the audit log's lock (which every staff action waits for) for
    minutes, and an interrupted run resumes where it stopped.

    A report whose escrow wrap does not open (damaged) is skipped and added
    to ``skipped`` (report row id to public id); pass the same dict to every
    call, so later batches do not try it again, and report it at the end.

    The escrow key is used only in this process's memory; the server never
    stores it.  Raises :class:`RewrapRefused`, and
    :class:`registry.crypto.CannotOpen` when the key opens none of the
    database's escrow wraps (the wrong key).
    """
    account, public_key = rewrap_target(db, email)
    opener = EscrowOpener(escrow_private_key)
    opener.probe(db)
    skipped = {} if skipped is None else skipped
    done: list[int] = []
    while len(done) < limit:
        batch = _rewrap_batch(
            db, opener, account, public_key, limit - len(done), everything, skipped
        )
        if batch is None:
            break
        done.extend(batch)
    if done:
        # Given back: the record of what they held has done its job.
        db.execute(
            delete(HeldAccess).where(
                HeldAccess.account_id == account.id, HeldAccess.report_id.in_(done)
            )
        )
    return len(done)


def _rewrap_batch(
    db: Session,
    opener: EscrowOpener,
    account: Account,
    public_key: bytes,
    limit: int,
    everything: bool,
    skipped: dict[int, str],
) -> list[int] | None:
    """One query's worth of :func:`rewrap_for`: report ids rewrapped; None when none are left."""
    own = aliased(KeyWrap)
    has_own = (
        select(own.id).where(own.report_id == KeyWrap.report_id, own.account_id == account.id)
    ).exists()
    query = (
        select(KeyWrap.wrapped, Report.id, Report.public_id)
        .join(Report, Report.id == KeyWrap.report_id)
        .where(opener.condition(), ~has_own)
        .order_by(Report.id)
        .limit(limit)
    )
    if skipped:
        query = query.where(Report.id.not_in(list(skipped)))
    if not everything:
        held = select(HeldAccess.report_id).where(HeldAccess.account_id == account.id)
        query = query.where(KeyWrap.report_id.in_(held))
    rows = db.execute(query).all()
    if not rows:
        return None
    done: list[int] = []
    for wrapped, report_id, public_id in rows:
        if report_id in done:
            continue  # two wraps of one report to this key: one is enough
        try:
            dek = opener.unwrap([wrapped], report_id=public_id)
        except CannotOpen:
            # WHY skip, not stop: one damaged wrap must not keep a person
            # from every other case; it is reported at the end.
            skipped[report_id] = public_id
            continue
        db.add(
            KeyWrap(
                report_id=report_id,
                account_id=account.id,
                wrapped=wrap_data_key(dek, public_key, report_id=public_id),
            )
        )
        audit.record(
            db,
            actor=audit.SYSTEM,
            action="case.escrow-rewrapped",
            report_ref=public_id,
            detail=audit.account_actor(account.id),
        )
        done.append(report_id)
    return done


# -- Rotation and coverage ---------------------------------------------------


def installed_escrow(keys_dir: Path) -> EscrowKey:
    """The escrow key in ``keys_dir/escrow.pub``; :class:`NoEscrow` without one."""
    try:
        return read_escrow_key(keys_dir / ESCROW_PUBLIC_FILE)
    except FileNotFoundError:
        raise NoEscrow() from None


def name_first_key_wraps(db: Session, fingerprint: str) -> int:
    """Give escrow wraps made before fingerprints existed the name of their key.

    Before the first rotation every NULL ``escrow_key`` is a wrap to the one
    key there was, the one being replaced: naming it now keeps the status
    exact after the new key arrives.  The caller commits (before the new key
    is installed).
    """
    result = db.execute(
        update(KeyWrap)
        .where(KeyWrap.escrow, KeyWrap.escrow_key.is_(None))
        .values(escrow_key=fingerprint)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def rotate_escrow(
    keys_dir: Path, private_out: Path, passphrase: str, params: Argon2Params
) -> tuple[EscrowKey, EscrowKey]:
    """Replace the escrow key pair; return (old key, new key).

    The new locked private key goes to ``private_out`` (mode 0600, never
    overwritten), as with :func:`create_escrow`.  The old public key is
    kept as ``keys_dir/escrow-<fingerprint>.pub`` and the new one renamed
    into ``escrow.pub`` in one step, so a worker reading it (registry.keyring.watch)
    sees either the old key or the new one, never half a file.  Call
    :func:`name_first_key_wraps` and commit first.
    """
    old = installed_escrow(keys_dir)
    pair = generate_keypair()
    locked = lock_private_key(pair.private, passphrase, params=params)
    fd = os.open(private_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(armor(PRIVATE_HEADER, locked))
    kept = keys_dir / old_escrow_file(old.fingerprint)
    if not kept.exists():
        kept.write_text(armor(PUBLIC_HEADER, old.public), encoding="ascii")
    staged = keys_dir / f".{ESCROW_PUBLIC_FILE}.new"
    staged.write_text(armor(PUBLIC_HEADER, pair.public), encoding="ascii")
    os.replace(staged, keys_dir / ESCROW_PUBLIC_FILE)
    return old, EscrowKey(pair.public, escrow_fingerprint(pair.public))


@dataclass(frozen=True)
class EscrowStatus:
    """How far the escrow key covers the reports (``registry escrow status``)."""

    fingerprint: str
    reports: int
    # Reports without an escrow wrap to the current key.
    lacking: int
    # Of those, how many the escrow cannot open at all (no escrow wrap).
    without_any: int
    # Of those, how many each older key still opens (fingerprint, or None for
    # wraps made before fingerprints were recorded).
    depending: dict[str | None, int] = field(default_factory=dict)


def lacking_current(fingerprint: str) -> ColumnElement[bool]:
    """SQL condition on Report: no escrow wrap to the key ``fingerprint``.

    NULL counts as this key: it names wraps made before fingerprints, to the
    first key, and rotation names them before a second key exists.
    """
    current = aliased(KeyWrap)
    # A case whose content retention deleted (purged_on) has nothing left
    # to wrap a key for: it lacks nothing.
    return and_(
        Report.purged_on.is_(None),
        ~exists().where(
            current.report_id == Report.id,
            current.escrow,
            or_(current.escrow_key == fingerprint, current.escrow_key.is_(None)),
        ),
    )


def escrow_status(db: Session, fingerprint: str) -> EscrowStatus:
    """Count the reports the escrow key ``fingerprint`` covers, and what the rest depend on."""
    reports = (
        db.scalar(select(func.count()).select_from(Report).where(Report.purged_on.is_(None))) or 0
    )
    lacking = (
        db.scalar(select(func.count()).select_from(Report).where(lacking_current(fingerprint))) or 0
    )
    rows = db.execute(
        select(KeyWrap.escrow_key, func.count(distinct(KeyWrap.report_id)))
        .join(Report, Report.id == KeyWrap.report_id)
        .where(KeyWrap.escrow, lacking_current(fingerprint))
        .group_by(KeyWrap.escrow_key)
    ).all()
    depending = {name: int(count) for name, count in rows}
    with_any = (
        db.scalar(
            select(func.count(distinct(KeyWrap.report_id)))
            .join(Report, Report.id == KeyWrap.report_id)
            .where(KeyWrap.escrow, lacking_current(fingerprint))
        )
        or 0
    )
    return EscrowStatus(fingerprint, reports, lacking, lacking - with_any, depending)
