"""Storing a confirmed Telegram report through the same intake service as the web form."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from flask import Flask

from registry import db, runtime
from registry.attachments.service import Prepared
from registry.attachments.upload import blob_store
from registry.intake.service import ReportInput, submit_report
from registry.taxonomy.service import bundled_choices, choices


def store_report(app: Flask, data: ReportInput, files: Sequence[Prepared]) -> str:
    """Seal and store the report with its files; return the receipt.

    The same call as the web form's: wraps to every key holder and to
    escrow, one transaction, the day of receipt as the only date.  Raises
    what :func:`submit_report` raises (NoKeyHolder, InvalidReport), Busy
    when the bot's KDF slots stay taken, or a database error.
    """
    with app.app_context():
        session = db.session()
        try:
            done = submit_report(
                session,
                data,
                # The web's own accessor: the same receipt salt and cost,
                # the escrow key as keys/escrow.pub holds it now, and this
                # process's KDF slots (registry.telegram.cli sizes them).
                runtime.sealing_keys(),
                today=datetime.now(UTC).date(),
                files=list(files),
                store=blob_store(),
            )
        finally:
            session.close()
        return done.receipt


def vocabulary(app: Flask, kind: str, language: str) -> list[tuple[str, str]]:
    """``(code, title)`` pairs of a vocabulary in ``language`` (cached per process)."""
    with app.app_context():
        try:
            return choices(db.session(), kind, language)
        except Exception as error:
            # During an outage the questions still go on, from the file the
            # database's vocabularies are loaded from (the same codes).
            if db.is_outage(error):
                return bundled_choices(kind, language)
            raise
        finally:
            db.session().close()
