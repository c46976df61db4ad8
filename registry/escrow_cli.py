"""``registry escrow recover|status|rotate|export-wraps|rewrap-offline|import-wraps``.

The escrow key's commands beyond create and rewrap.  ``recover`` runs on an
offline machine: it reads no configuration, needs no ``instance/`` and no
``keys/secret.key``, and never creates the app; it opens the database copy
with plain SQLAlchemy (registry.keyring.recover).  ``rewrap-offline`` runs
there too, with no database at all (registry.keyring.rewrap_files).  The
other commands run on the server, like ``escrow create``.

Registered on the ``escrow`` group of registry.cli (:data:`COMMANDS`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from registry import audit, create_app, db, runtime
from registry.cli_common import (
    config_or_exit,
    escrow_key_option,
    new_passphrase,
    passphrase_file_option,
    unlock_escrow,
)
from registry.crypto import CannotOpen
from registry.keyring.escrow import (
    EscrowOpener,
    NoEscrow,
    RewrapRefused,
    escrow_status,
    installed_escrow,
    name_first_key_wraps,
    rotate_escrow,
)
from registry.keyring.recover import (
    AgeSink,
    CaseSink,
    FolderSink,
    open_copy,
    recover,
    write_summary,
)
from registry.keyring.rewrap_files import (
    ALTERED,
    DAMAGED,
    ESCROW_MOVE,
    GONE,
    NOT_HELD,
    OTHER_KEY,
    FileProblem,
    ImportRefused,
    ImportRun,
    Target,
    WrapsExport,
    dump_export,
    dump_rewrapped,
    export_for_person,
    export_to_escrow,
    import_wraps,
    load_export,
    load_rewrapped,
    rewrap_offline,
)
from registry.keyring.watch import EscrowKey


@click.command("recover")
@click.option("--database", "url", required=True, help="URL of the database COPY (sqlite:///…).")
@click.option(
    "--storage",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="Copy of the storage directory (holding blobs/).",
)
@escrow_key_option()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--to",
    "recipients",
    multiple=True,
    help="age recipient (age1…): write one age file per case instead of folders.",
)
@passphrase_file_option
def escrow_recover(
    url: str,
    storage: Path,
    escrow_key: TextIO,
    out: Path,
    recipients: tuple[str, ...],
    passphrase_file: TextIO | None,
) -> None:
    """Recover every case from a database copy with the escrow key alone, offline.

    Writes one folder per case into OUT (or, with --to, one CASE.tar.age
    file per case, nothing in plain on disk) and a summary.  A damaged
    wrap, field, row or file is reported and skipped; the run goes on.
    Exit status: 0 when everything was recovered, 1 when anything was
    skipped or damaged (listed at the end), 2 for unusable arguments.
    """
    if out.exists() and any(out.iterdir()):
        click.echo(f"{out} is not empty; choose a new folder.", err=True)
        sys.exit(2)
    sink: CaseSink
    age: AgeSink | None = None
    if recipients:
        try:
            sink = age = AgeSink(out, list(recipients))
        except ValueError:
            click.echo("An --to recipient is not an age recipient (age1…).", err=True)
            sys.exit(2)
    else:
        sink = FolderSink(out)
    private_key = unlock_escrow(escrow_key, passphrase_file)
    try:
        engine = open_copy(url)
    except FileNotFoundError:
        click.echo(f"No database file at {url}.", err=True)
        sys.exit(2)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    with Session(engine) as session:
        opener = EscrowOpener(private_key)
        try:
            opener.probe(session)
        except CannotOpen:
            click.echo("This escrow key opens none of this database's escrow wraps.", err=True)
            sys.exit(1)
        except SQLAlchemyError as error:
            click.echo(f"The database copy cannot be read: {type(error).__name__}.", err=True)
            sys.exit(1)
        run = recover(session, storage, opener, sink)
        summary = write_summary(out, run, opener.fingerprints, age)
    engine.dispose()
    for case in run.skipped:
        click.echo(f"SKIPPED {case.public_id}: {'; '.join(case.problems)}", err=True)
    for case in run.damaged:
        click.echo(f"DAMAGED {case.public_id}: {'; '.join(case.problems)}", err=True)
    if run.listing_incomplete:
        click.echo("The list of reports could not be read to its end.", err=True)
    for name in run.unreadable:
        click.echo(f"UNREADABLE {name}: named in the audit log, not readable", err=True)
    click.echo(
        f"{run.written} cases recovered ({sum(c.files for c in run.cases)} files, "
        f"{sum(c.messages for c in run.cases)} messages); {len(run.skipped)} skipped, "
        f"{len(run.damaged)} with damaged parts, {len(run.unreadable)} unreadable. "
        f"Summary: {summary}"
    )
    if not run.complete:
        sys.exit(1)


def _installed_or_exit(keys_dir: Path) -> EscrowKey:
    """The installed escrow key; one line and exit 1 when there is none."""
    try:
        return installed_escrow(keys_dir)
    except NoEscrow:
        click.echo("No escrow key is installed (registry escrow create).", err=True)
        sys.exit(1)


@click.command("status")
def escrow_status_command() -> None:
    """How many reports lack a wrap to the current escrow key, and what they depend on."""
    cfg = config_or_exit()
    current = _installed_or_exit(cfg.keys_dir)
    app = create_app(cfg)
    with app.app_context():
        status = escrow_status(db.session(), current.fingerprint)
        db.session().rollback()
        db.engine().dispose()
    click.echo(f"Current escrow key: {status.fingerprint}")
    click.echo(f"{status.reports} reports; {status.lacking} lack a wrap to the current key.")
    click.echo(f"{status.without_any} have no escrow wrap at all.")
    for name, count in sorted(status.depending.items(), key=lambda item: str(item[0])):
        label = name or "first key (before fingerprints)"
        click.echo(f"{count} still depend on the older key {label}.")
    if not status.depending:
        click.echo("No report depends on an older escrow key.")


@click.command("rotate")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the NEW locked private key (moved offline afterwards).",
)
@passphrase_file_option
def escrow_rotate(out: Path, passphrase_file: TextIO | None) -> None:
    """Replace the escrow key; the old one stays needed until status says otherwise."""
    cfg = config_or_exit()
    old = _installed_or_exit(cfg.keys_dir)
    passphrase = new_passphrase(passphrase_file, prompt="New escrow passphrase")
    if out.exists():
        click.echo(f"{out} exists; refusing to overwrite it.", err=True)
        sys.exit(1)
    app = create_app(cfg)
    with app.app_context():
        dbs = db.session()
        # Before a second key exists: unnamed wraps are to the one being replaced.
        name_first_key_wraps(dbs, old.fingerprint)
        dbs.commit()
        out.parent.mkdir(parents=True, exist_ok=True)
        _old, new = rotate_escrow(cfg.keys_dir, out, passphrase, runtime.escrow_params(cfg))
        audit.record(
            dbs, actor=audit.SYSTEM, action="escrow.rotated", detail=f"escrow:{new.fingerprint}"
        )
        dbs.commit()
        db.engine().dispose()
    click.echo(f"New escrow key {new.fingerprint}; the old key {old.fingerprint} is kept as")
    click.echo(f"    {cfg.keys_dir / ('escrow-' + old.fingerprint + '.pub')}")
    click.echo(f"Escrow PRIVATE key (passphrase-locked): {out}")
    click.echo("Move it OFFLINE now. Keep the old private key until `registry escrow status`")
    click.echo("says no report depends on it.")


# -- The rewrap in three steps: the escrow key never comes to the server ------

EXPORT_REFUSALS = {
    "unknown": "No active account has this email (has the person re-enrolled yet?).",
    "admin": "Administrators hold no report keys; choose a reviewer or coordinator.",
}
IMPORT_REFUSALS = {
    "account": "The account this file is for no longer exists, is not active, or has "
    "another email now.",
    "admin": "This account's role holds no report keys any more.",
    "key": "This account's key changed since the export (reset again?): export and rewrap again.",
    "no-escrow": "No escrow key is installed (registry escrow create).",
    "escrow": "The current escrow key is not the one this file was rewrapped to "
    "(rotated again?): export and rewrap again.",
}
PROBLEMS = {
    DAMAGED: "its escrow wrap is damaged.",
    OTHER_KEY: "no escrow wrap of it is to the key used offline.",
    GONE: "the report no longer exists.",
    NOT_HELD: "no longer held by the person (revoked since the export).",
    ALTERED: "its rewrapped wrap changed on the way (SHA-256 differs).",
}


def _whom(selection: str, target: Target) -> str:
    if selection == ESCROW_MOVE:
        return f"the escrow key {target.fingerprint}"
    return f"{target.email} (account {target.account_id}, key {target.fingerprint})"


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` to a new file (0600); one line and exit 2 if it exists."""
    try:
        # WHY O_EXCL: a second run must not overwrite a file being carried
        # between the machines.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        click.echo(f"{path} exists; refusing to overwrite it.", err=True)
        sys.exit(2)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        click.echo(f"{path}: not a wraps file.", err=True)
        sys.exit(2)


@click.command("export-wraps")
@click.option("--for", "email", default=None, help="Email of the re-enrolled person.")
@click.option(
    "--to-escrow",
    is_flag=True,
    help="After a rotation: the wraps of reports lacking one to the current escrow key.",
)
@click.option(
    "--everything",
    is_flag=True,
    help="With --for: every escrowed report they lack, not only those held before the reset.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def escrow_export_wraps(email: str | None, to_escrow: bool, everything: bool, out: Path) -> None:
    """Step 1 (server): write the escrow wraps to rewrap offline; no secret is in the file."""
    if (email is None) == (not to_escrow) or (everything and to_escrow):
        click.echo("Give either --for EMAIL [--everything] or --to-escrow.", err=True)
        sys.exit(2)
    cfg = config_or_exit()
    current = None
    if to_escrow:
        current = _installed_or_exit(cfg.keys_dir)
    app = create_app(cfg)
    export: WrapsExport | None = None
    problem = ""
    with app.app_context():
        dbs = db.session()
        try:
            if current is not None:
                export = export_to_escrow(dbs, current)
            else:
                export = export_for_person(dbs, email or "", everything=everything)
        except RewrapRefused as refused:
            problem = EXPORT_REFUSALS[refused.reason]
        finally:
            dbs.rollback()
            db.engine().dispose()
    if export is None:
        click.echo(problem, err=True)
        sys.exit(1)
    _write_new(out, dump_export(export))
    click.echo(
        f"{len(export.reports)} reports' escrow wraps for {_whom(export.selection, export.target)}"
        f" written to {out}."
    )
    click.echo("No secret is in it. Next, offline: registry escrow rewrap-offline.")


@click.command("rewrap-offline")
@click.option(
    "--in",
    "in_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The file export-wraps wrote.",
)
@escrow_key_option()
@passphrase_file_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def escrow_rewrap_offline(
    in_path: Path, escrow_key: TextIO, passphrase_file: TextIO | None, out: Path
) -> None:
    """Step 2 (offline machine): rewrap the file's data keys to its target; no database.

    Exit status: 0 when every report was rewrapped, 1 when some were
    skipped (listed; the rest are written) or the key or passphrase is
    wrong, 2 for an unusable file.
    """
    try:
        export = load_export(_read(in_path))
    except FileProblem as bad:
        click.echo(f"{in_path}: {bad}.", err=True)
        sys.exit(2)
    if out.exists():
        click.echo(f"{out} exists; refusing to overwrite it.", err=True)
        sys.exit(2)
    private_key = unlock_escrow(escrow_key, passphrase_file)
    try:
        result = rewrap_offline(export, private_key)
    except CannotOpen:
        click.echo(
            "This escrow key opens none of the wraps in this file "
            "(the wrong key, or every wrap damaged).",
            err=True,
        )
        sys.exit(1)
    _write_new(out, dump_rewrapped(result))
    for public_id, problem in result.skipped:
        click.echo(f"SKIPPED {public_id}: {PROBLEMS[problem]}", err=True)
    click.echo(
        f"{len(result.wraps)} report keys rewrapped to {_whom(result.selection, result.target)}; "
        f"{len(result.skipped)} skipped. Written to {out}; next, on the server: "
        "registry escrow import-wraps."
    )
    if result.skipped:
        sys.exit(1)


@click.command("import-wraps")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def escrow_import_wraps(file: Path) -> None:
    """Step 3 (server): insert the wraps rewrap-offline made; each report is an audit event.

    Refuses (one line) a file whose account changed key, or whose escrow
    key is not the current one.  Wraps already present are left alone.
    Exit status 1 when a report was skipped (listed) or the file refused.
    """
    try:
        rewrapped = load_rewrapped(_read(file))
    except FileProblem as bad:
        click.echo(f"{file}: {bad}.", err=True)
        sys.exit(2)
    cfg = config_or_exit()
    try:
        current = installed_escrow(cfg.keys_dir)
    except (NoEscrow, OSError, ValueError):
        current = None
    app = create_app(cfg)
    run, problem = ImportRun(), ""
    with app.app_context():
        dbs = db.session()
        try:
            # Batch by batch, each committed: see import_wraps.
            while import_wraps(dbs, rewrapped, run, escrow=current):
                dbs.commit()
        except ImportRefused as refused:
            problem = IMPORT_REFUSALS[refused.reason]
        finally:
            # A failed batch leaves nothing half-done; committed ones are complete.
            dbs.rollback()
            dbs.close()
            db.engine().dispose()
    if problem:
        done = f"{len(run.added)} wraps imported before a problem: " if run.added else ""
        click.echo(done + problem, err=True)
        sys.exit(1)
    for public_id, skipped in run.skipped.items():
        click.echo(f"SKIPPED {public_id}: {PROBLEMS[skipped]}", err=True)
    click.echo(
        f"{len(run.added)} wraps imported for {_whom(rewrapped.selection, rewrapped.target)}; "
        f"{len(run.present)} already present; {len(run.skipped)} skipped."
    )
    if run.skipped:
        sys.exit(1)


COMMANDS = (
    escrow_recover,
    escrow_status_command,
    escrow_rotate,
    escrow_export_wraps,
    escrow_rewrap_offline,
    escrow_import_wraps,
)
