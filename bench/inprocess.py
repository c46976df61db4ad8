"""Part a, in process: seal+store a report vs store it plain, and where the time goes.

``submit_report`` runs with the real default receipt KDF cost (``Config()``)
and wraps to 5 reviewers plus escrow.  The breakdown repeats its steps one
at a time with the same inputs; "rest" is what the whole submission costs
beyond the measured parts (validation and lookup queries, ORM work).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.clocks import KDF_NAME, stage_clocks
from bench.stats import Samples
from config import Config
from registry.crypto import (
    Argon2Params,
    derive_receipt_keys,
    generate_keypair,
    generate_receipt,
    new_data_key,
    seal_field,
    wrap_data_key,
)
from registry.db import make_engine
from registry.intake.service import ReportInput, submit_report
from registry.keyring import SealingKeys
from registry.models import Account, KeyWrap, Report, ReportViolation, Role, SealedField
from registry.records import texts as report_texts
from registry.records import vocabulary
from registry.records.vocabulary import INBOX_KEY
from registry.serving.slots import KdfSlots

REVIEWERS = 5
PARAGRAPH = (
    "9 жніўня 2020 года каля 23:00 мяне затрымалі на праспекце Пераможцаў. "
    "Супрацоўнікі АМАП у балаклавах без знакаў адрознення білі дубінкамі па нагах і спіне, "
    "потым кінулі ў аўтазак, дзе працягвалі біць і пагражалі. "
)
# About 4 KB of UTF-8: a typical account with a few paragraphs.
NARRATIVE_TEXT = PARAGRAPH * 10
ANSWERS = {
    "where_exact": "ЦІП на Акрэсціна, камера 7, потым двор РУУС Маскоўскага раёна.",
    "injuries": "Гематомы на спіне і нагах, страсенне мозгу; даведка з 2-й бальніцы.",
}
TODAY = date(2026, 1, 15)


@dataclass
class InProcessResult:
    """Samples of every measured operation."""

    sealed: Samples = field(default_factory=Samples)
    # CPU seconds inside the receipt KDF of each of those submissions (bench.clocks).
    sealed_kdf_cpu: list[float] = field(default_factory=list)
    plain: Samples = field(default_factory=Samples)
    kdf: Samples = field(default_factory=Samples)
    inbox_keypair: Samples = field(default_factory=Samples)
    seal: Samples = field(default_factory=Samples)
    wrap: Samples = field(default_factory=Samples)
    insert: Samples = field(default_factory=Samples)


def report_input() -> ReportInput:
    """The report every in-process submission stores."""
    return ReportInput(
        narrative=NARRATIVE_TEXT,
        region="minsk-city",
        incident_month="2020-08",
        violations=("torture", "detention-conditions"),
        language="be",
        answers=dict(ANSWERS),
    )


def _add_reviewers(session: Session) -> list[bytes]:
    publics = []
    for number in range(REVIEWERS):
        pair = generate_keypair()
        session.add(
            Account(
                email=f"bench-{number}-{secrets.token_hex(3)}@example.org",
                role=Role.REVIEWER.value,
                active=True,
                public_key=pair.public,
            )
        )
        publics.append(pair.public)
    session.commit()
    return publics


def _plain_report(data: ReportInput, fake_key: bytes) -> Report:
    """The same rows as a submission, with the text stored as it came: no crypto."""
    report = Report(
        public_id=generate_receipt()[:12],
        region=data.region,
        incident_month=data.incident_month,
        received_on=TODAY,
        language=data.language,
        lookup_id=os.urandom(32),
        submitter_public_key=fake_key,
        inbox_public_key=fake_key,
    )
    report.violations = [ReportViolation(code=code) for code in data.violations]
    texts = {vocabulary.NARRATIVE: data.narrative, **data.answers}
    report.fields = [
        SealedField(name=name, ciphertext=text.encode()) for name, text in texts.items()
    ]
    return report


def run(url: str, sealed_count: int, plain_count: int, kdf_count: int) -> InProcessResult:
    """Measure on the (migrated, loaded) database at ``url``."""
    result = InProcessResult()
    cfg = Config()  # the real default costs, not the environment's
    params = Argon2Params(memory_kib=cfg.receipt_memory_kib, iterations=cfg.receipt_iterations)
    escrow = generate_keypair()
    keys = SealingKeys(os.urandom(16), params, escrow.public, KdfSlots(2, 5.0))
    data = report_input()
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            publics = [*_add_reviewers(session), escrow.public]
            spent: dict[str, float] = {}
            with stage_clocks(spent):
                for _ in range(sealed_count):
                    spent.clear()
                    with result.sealed.timing():
                        submit_report(session, data, keys, today=TODAY)
                    result.sealed_kdf_cpu.append(spent[KDF_NAME])
            fake_key = bytes(len(escrow.public))
            for _ in range(plain_count):
                with result.plain.timing():
                    session.add(_plain_report(data, fake_key))
                    session.commit()
            _breakdown(result, session, data, keys, publics, plain_count, kdf_count)
    finally:
        engine.dispose()
    return result


def _breakdown(
    result: InProcessResult,
    session: Session,
    data: ReportInput,
    keys: SealingKeys,
    publics: list[bytes],
    count: int,
    kdf_count: int,
) -> None:
    result.kdf.run(
        kdf_count,
        lambda: derive_receipt_keys(
            generate_receipt(), salt=keys.receipt_salt, params=keys.receipt_params
        ),
    )
    result.inbox_keypair.run(count, generate_keypair)
    dek, inbox = new_data_key(), generate_keypair()
    texts = {vocabulary.NARRATIVE: data.narrative, **data.answers}

    def seal() -> dict[str, bytes]:
        # As submit_report: one padded record of every text, and the inbox key.
        key = new_data_key()
        return {
            vocabulary.ANSWERS: report_texts.seal_answers(key, texts, report_id="R"),
            INBOX_KEY: seal_field(key, inbox.private, report_id="R", field=INBOX_KEY),
        }

    sealed = result.seal.run(count, seal)[0]
    wrapped = result.wrap.run(
        count, lambda: [wrap_data_key(dek, public, report_id="R") for public in publics]
    )[0]
    derived = derive_receipt_keys(
        generate_receipt(), salt=keys.receipt_salt, params=keys.receipt_params
    )
    accounts = list(session.scalars(select(Account.id).where(Account.public_key.is_not(None))))

    def insert() -> None:
        report = _plain_report(data, derived.keypair.public)
        report.inbox_public_key = inbox.public
        report.fields = [SealedField(name=name, ciphertext=blob) for name, blob in sealed.items()]
        report.wraps = [
            *(
                KeyWrap(account_id=a, wrapped=w)
                for a, w in zip(accounts, wrapped[:-1], strict=True)
            ),
            KeyWrap(escrow=True, wrapped=wrapped[-1]),
        ]
        session.add(report)
        session.commit()

    result.insert.run(count, insert)
