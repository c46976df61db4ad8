"""Public case summaries: consent, four eyes, no exact dates, forgotten on withdrawal.

The date rules are checked against dates written by Babel (CLDR's own
formats in be/ru/en, an implementation independent of the patterns) and by
hand-written numeric formats, for dates hypothesis draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from babel.dates import format_date
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import db
from registry.evidence import summaries
from registry.evidence.summaries import SummaryError, exact_dates
from registry.followup import service as followup
from registry.models import (
    AuditEvent,
    CaseSummary,
    EvidenceSnapshot,
    Report,
    Role,
    SnapshotSummary,
)
from registry.records.access import NoAccess
from tests.helpers import Staff, StaffActions, english_client, private_key_of, submit_and_locate

TODAY = date(2026, 12, 3)
SUMMARY = "In August 2020, in the Minsk region, a man was beaten in a police bus."
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2039, 12, 31))
LOCALES = ("be", "ru", "en", "en_GB")
# CLDR's own ways of writing a day, and hand-picked Babel patterns people use.
DAY_FORMATS = (
    "short",
    "medium",
    "long",
    "full",
    "d MMMM y",
    "d MMMM",
    "d MMM",
    "dd.MM",
    "d LLLL",
)
# The month first: how English writes a day.  Belarusian and Russian never
# do, except in CLDR's abbreviated style ("авг. 9"), which is refused before
# punctuation or a year only: "в мае 15 человек" is a month and a number.
MONTH_FIRST = ("MMMM d", "MMMM d, y", "MMM d")
# A month or a year, never a day: these must pass.
MONTH_FORMATS = ("LLLL y", "MMMM y", "LLL y", "MMM y", "y-MM", "MM.y", "y", "LLLL", "QQQ y")
WRAPPERS = (
    "{}",
    "They were detained on {}.",
    "Іх затрымалі {}, а потым",
    "Задержан {} около полуночи",
    "({})",
)


def _numeric(day: date, order: str, separator: str, pad: bool, long_year: bool) -> str:
    d = f"{day.day:02d}" if pad else str(day.day)
    m = f"{day.month:02d}" if pad else str(day.month)
    y = str(day.year) if long_year else f"{day.year % 100:02d}"
    parts = {"dmy": (d, m, y), "mdy": (m, d, y), "ymd": (str(day.year), m, d)}[order]
    return separator.join(parts)


# --- The date rule -----------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    day=DATES,
    locale=st.sampled_from(LOCALES),
    pattern=st.sampled_from(DAY_FORMATS),
    wrapper=st.sampled_from(WRAPPERS),
)
def test_every_cldr_spelling_of_a_day_is_refused(
    day: date, locale: str, pattern: str, wrapper: str
) -> None:
    written = format_date(day, pattern, locale=locale)
    assert exact_dates(wrapper.format(written)), written


@settings(max_examples=200, deadline=None)
@given(
    day=DATES,
    locale=st.sampled_from(LOCALES),
    pattern=st.sampled_from(MONTH_FIRST),
    wrapper=st.sampled_from(WRAPPERS),
)
def test_a_day_after_its_month_is_refused(
    day: date, locale: str, pattern: str, wrapper: str
) -> None:
    if not locale.startswith("en"):
        wrapper = wrapper.split("{}")[0] + "{}."
    written = format_date(day, pattern, locale=locale)
    assert exact_dates(wrapper.format(written)), written


@settings(max_examples=300, deadline=None)
@given(
    day=DATES,
    order=st.sampled_from(("dmy", "mdy", "ymd")),
    separator=st.sampled_from((".", "/", "-", "–", " / ")),
    pad=st.booleans(),
    long_year=st.booleans(),
    wrapper=st.sampled_from(WRAPPERS),
)
def test_every_numeric_spelling_of_a_day_is_refused(
    day: date, order: str, separator: str, pad: bool, long_year: bool, wrapper: str
) -> None:
    written = _numeric(day, order, separator, pad, long_year or order == "ymd")
    assert exact_dates(wrapper.format(written)), written


@settings(max_examples=200, deadline=None)
@given(
    day=DATES,
    locale=st.sampled_from(LOCALES),
    pattern=st.sampled_from(MONTH_FORMATS),
    wrapper=st.sampled_from(WRAPPERS),
)
def test_a_month_or_a_year_alone_passes(day: date, locale: str, pattern: str, wrapper: str) -> None:
    written = format_date(day, pattern, locale=locale)
    assert exact_dates(wrapper.format(written)) == [], written


@given(st.text(alphabet=st.characters(categories=["L", "Zs", "P"]), max_size=300))
def test_text_without_numbers_or_ordinals_passes(text: str) -> None:
    # Letters, spaces and punctuation only: without a digit, only a spelled
    # ordinal before a month could read as a day, and random letters never
    # spell one.
    assert exact_dates(text) == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Detained on 9 August 2020 in the region.", "9 August 2020"),
        ("Задержан 09.08.2020.", "09.08.2020"),
        ("Затрыманы 2020-08-09.", "2020-08-09"),
        ("Затрыманы 9-га жніўня.", "9-га жніўня"),
        ("Задержан 9-го августа.", "9-го августа"),
        ("Задержан девятого августа.", "девятого августа"),
        ("Затрыманы дзявятага жніўня.", "дзявятага жніўня"),
        ("Затрыманы 9 жнiўня (a Latin i).", "9 жнiўня"),
        ("Detained on the ninth of August.", "ninth of August"),
        ("Detained on August the 9th.", "August the 9th"),
        ("Detained on Aug. 9.", "Aug. 9"),
        ("Задержан 9 числа.", "9 числа"),
        ("Detained on 2020–08–09.", "2020-08-09"),
        ("Detained on ９ August.", "9 August"),
        ("Detained on 9\u200b August.", "9 August"),
        ("Detained on 20200809.", "20200809"),
        ("Задержан 9.08, отпущен 11.08.", "9.08"),
    ],
)
def test_known_spellings_are_refused_and_named(text: str, fragment: str) -> None:
    assert exact_dates(text)[0] == fragment


@pytest.mark.parametrize(
    "text",
    [
        "In August 2020, in the Minsk region.",
        "Задержан в августе 2020 года по арт. 23.34 КоАП.",
        "Затрыманы ў жніўні 2020 па арт. 23.10.",
        "в мае 15 человек задержали",
        "Three people, 2020-08.",
        "Augusta 9",
        "dismay 5",
    ],
)
def test_months_articles_and_numbers_pass(text: str) -> None:
    assert exact_dates(text) == []


def test_length_limit_counts_a_line_break_as_one() -> None:
    assert len(summaries.checked_text("a" * 1_500)) == 1_500
    assert summaries.checked_text("a\r\n" * 500 + "b") == "a\n" * 500 + "b"
    with pytest.raises(SummaryError) as refused:
        summaries.checked_text("a" * 1_501)
    assert refused.value.reason == "long"
    with pytest.raises(SummaryError) as empty:
        summaries.checked_text(" \n ")
    assert empty.value.reason == "empty"


# --- The rules of writing and approving --------------------------------------


@dataclass
class Case:
    """A report two key holders can open, and their private keys."""

    public_id: str
    writer: Staff
    approver: Staff
    keys: dict[int, bytes]


def _case(
    app: Flask,
    staff: StaffActions,
    *,
    consent: bool = True,
    status: str = "verified",
    disposition: str | None = None,
) -> Case:
    writer = staff.create("writer@example.org")
    approver = staff.create("approver@example.org", role=Role.COORDINATOR)
    overrides = {"consent_publish": "y"} if consent else {}
    public_id = submit_and_locate(app, english_client(app), **overrides)
    with app.app_context():
        session = db.session()
        report = _report(session, public_id)
        report.status, report.disposition = status, disposition
        session.commit()
    keys = {p.account_id: private_key_of(app, p) for p in (writer, approver)}
    return Case(public_id, writer, approver, keys)


def _report(session: Session, public_id: str) -> Report:
    return session.scalars(select(Report).where(Report.public_id == public_id)).one()


def _write(case: Case, session: Session, person: Staff, text: str = SUMMARY) -> CaseSummary:
    return summaries.write(
        session,
        _report(session, case.public_id),
        account_id=person.account_id,
        private_key=case.keys[person.account_id],
        text=text,
        today=TODAY,
    )


def _approve(
    case: Case, session: Session, person: Staff, *, seen: str | None = None, ticked: bool = True
) -> CaseSummary:
    report = _report(session, case.public_id)
    held = summaries.summary_of(session, report)
    return summaries.approve(
        session,
        report,
        account_id=person.account_id,
        private_key=case.keys[person.account_id],
        seen=seen if seen is not None else summaries.text_digest(held.text if held else ""),
        no_identifying_details=ticked,
        no_finer_place_or_date=True,
        today=TODAY,
    )


def _refused(reason: str, action: Callable[[], object]) -> SummaryError:
    with pytest.raises(SummaryError) as refused:
        action()
    assert refused.value.reason == reason
    return refused.value


def _actions(session: Session) -> list[tuple[str, str, str | None]]:
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("case.summary-%")).order_by(AuditEvent.id)
    )
    return [(e.action, e.actor, e.detail) for e in events]


def test_a_summary_needs_the_submitters_consent(app: Flask, staff: StaffActions) -> None:
    case = _case(app, staff, consent=False)
    with app.app_context():
        session = db.session()
        _refused("consent", lambda: _write(case, session, case.writer))
        session.rollback()
        assert session.scalar(select(func.count()).select_from(CaseSummary)) == 0
        assert _actions(session) == []


def test_a_summary_needs_a_verified_case(app: Flask, staff: StaffActions) -> None:
    case = _case(app, staff, status="in-review")
    with app.app_context():
        session = db.session()
        _refused("verified", lambda: _write(case, session, case.writer))
        report = _report(session, case.public_id)
        report.status, report.disposition = "closed", "not-substantiated"
        _refused("verified", lambda: _write(case, session, case.writer))
        report.disposition = "substantiated"
        assert _write(case, session, case.writer).text == SUMMARY


def test_four_eyes(app: Flask, staff: StaffActions) -> None:
    case = _case(app, staff)
    with app.app_context():
        session = db.session()
        written = _write(case, session, case.writer)
        assert (written.written_by, written.written_on) == (case.writer.account_id, TODAY)
        assert written.approved_by is None
        _refused("four-eyes", lambda: _approve(case, session, case.writer))
        _refused("checklist", lambda: _approve(case, session, case.approver, ticked=False))
        _refused("changed", lambda: _approve(case, session, case.approver, seen="0" * 64))
        approved = _approve(case, session, case.approver)
        assert (approved.approved_by, approved.approved_on) == (case.approver.account_id, TODAY)
        session.commit()
        assert _actions(session) == [
            ("case.summary-written", f"account:{case.writer.account_id}", "new"),
            ("case.summary-approved", f"account:{case.approver.account_id}", None),
        ]


def test_editing_clears_the_approval_and_the_editor_becomes_the_writer(
    app: Flask, staff: StaffActions
) -> None:
    case = _case(app, staff)
    with app.app_context():
        session = db.session()
        _write(case, session, case.writer)
        _approve(case, session, case.approver)
        # The same text saved again is no edit: the approval stands.
        assert _write(case, session, case.writer).approved_by == case.approver.account_id
        edited = _write(case, session, case.approver, SUMMARY + " He was released.")
        assert (edited.approved_by, edited.approved_on) == (None, None)
        assert edited.written_by == case.approver.account_id
        # Now the first writer is the second pair of eyes.
        _refused("four-eyes", lambda: _approve(case, session, case.approver))
        assert _approve(case, session, case.writer).approved_by == case.writer.account_id
        session.commit()
        details = [detail for action, _actor, detail in _actions(session) if "written" in action]
        assert details == ["new", "edited:approval-cleared"]


def test_dates_are_refused_when_writing_and_approving(app: Flask, staff: StaffActions) -> None:
    case = _case(app, staff)
    with app.app_context():
        session = db.session()
        refused = _refused(
            "date", lambda: _write(case, session, case.writer, "Beaten on 9 August 2020.")
        )
        assert refused.fragment == "9 August 2020"
        _refused("long", lambda: _write(case, session, case.writer, "x" * 1_501))
        # A text stored before a rule existed is checked again at approval.
        held = _write(case, session, case.writer)
        held.text = "Beaten on 09.08.2020."
        _refused("date", lambda: _approve(case, session, case.approver))


def test_only_key_holders_write_approve_or_remove(app: Flask, staff: StaffActions) -> None:
    case = _case(app, staff)
    # Created after the report: a coordinator who holds no key of it.
    outsider = staff.create("late@example.org", role=Role.COORDINATOR)
    key = private_key_of(app, outsider)
    with app.app_context():
        session = db.session()
        _write(case, session, case.writer)
        report = _report(session, case.public_id)
        with pytest.raises(NoAccess):
            summaries.write(
                session,
                report,
                account_id=outsider.account_id,
                private_key=key,
                text=SUMMARY,
                today=TODAY,
            )
        with pytest.raises(NoAccess):
            summaries.approve(
                session,
                report,
                account_id=outsider.account_id,
                private_key=key,
                seen=summaries.text_digest(SUMMARY),
                no_identifying_details=True,
                no_finer_place_or_date=True,
                today=TODAY,
            )
        with pytest.raises(NoAccess):
            summaries.remove(session, report, account_id=outsider.account_id, private_key=key)
        # A key holder's key does not open the case for someone else's account.
        with pytest.raises(NoAccess):
            summaries.remove(
                session,
                report,
                account_id=outsider.account_id,
                private_key=case.keys[case.writer.account_id],
            )
        assert summaries.summary_of(session, report) is not None


# --- Forgotten at once -------------------------------------------------------


def _published(case: Case, session: Session, numbers: tuple[int, ...] = (1, 2)) -> None:
    """The approved summary, copied into published snapshots as publication does."""
    _write(case, session, case.writer)
    _approve(case, session, case.approver)
    report = _report(session, case.public_id)
    for number in numbers:
        snapshot = EvidenceSnapshot(
            number=number, published_on=TODAY, k=5, payload="{}", digest="0" * 64
        )
        session.add(snapshot)
        session.flush()
        session.add(
            SnapshotSummary(
                snapshot_id=snapshot.id,
                report_id=report.id,
                text=SUMMARY,
                region=report.region,
                period="2020",
                proposals="[]",
            )
        )
    session.commit()


def _held(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(CaseSummary)) or 0,
        session.scalar(select(func.count()).select_from(SnapshotSummary)) or 0,
    )


def test_withdrawal_forgets_the_summary_everywhere(app: Flask, staff: StaffActions) -> None:
    case = _case(app, staff)
    with app.app_context():
        session = db.session()
        _published(case, session)
        assert _held(session) == (1, 2)
        followup.withdraw(session, _report(session, case.public_id))
        session.commit()
        assert _held(session) == (0, 0)
        assert session.scalar(select(func.count()).select_from(EvidenceSnapshot)) == 2
        forgotten = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.summary-deleted")
        ).one()
        assert (forgotten.actor, forgotten.detail, forgotten.report_ref) == (
            "submitter",
            "withdrawn",
            case.public_id,
        )
        # Day only, like every submitter event (promise 3).
        assert (forgotten.at.hour, forgotten.at.minute, forgotten.at.second) == (0, 0, 0)
        last = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first()
        assert last == "report.withdrawn"


def test_a_consent_change_forgets_the_summary_everywhere(app: Flask, staff: StaffActions) -> None:
    case = _case(app, staff)
    with app.app_context():
        session = db.session()
        _published(case, session)
        report = _report(session, case.public_id)
        # Other consents changing leave it alone.
        followup.update_consents(report, contact="none", publish=True, refer=True)
        session.commit()
        assert _held(session) == (1, 2)
        followup.update_consents(report, contact="none", publish=False, refer=True)
        session.commit()
        assert _held(session) == (0, 0)
        assert _actions(session)[-1] == ("case.summary-deleted", "submitter", "consent")
        # Nothing left to forget: no further event.
        followup.update_consents(report, contact="receipt", publish=False, refer=False)
        session.commit()
        assert [a for a in _actions(session) if a[2] == "consent"] == [
            ("case.summary-deleted", "submitter", "consent")
        ]
        # Consent given again: a new summary must be written and approved again.
        followup.update_consents(report, contact="receipt", publish=True, refer=False)
        assert summaries.summary_of(session, report) is None


def test_a_key_holder_removes_it_everywhere(app: Flask, staff: StaffActions) -> None:
    case = _case(app, staff)
    with app.app_context():
        session = db.session()
        _published(case, session)
        report = _report(session, case.public_id)
        summaries.remove(
            session,
            report,
            account_id=case.approver.account_id,
            private_key=case.keys[case.approver.account_id],
        )
        session.commit()
        assert _held(session) == (0, 0)
        assert _actions(session)[-1] == (
            "case.summary-deleted",
            f"account:{case.approver.account_id}",
            "staff",
        )
        _refused(
            "missing",
            lambda: summaries.remove(
                session,
                report,
                account_id=case.approver.account_id,
                private_key=case.keys[case.approver.account_id],
            ),
        )


def test_the_text_never_reaches_the_audit_log(app: Flask, staff: StaffActions) -> None:
    case = _case(app, staff)
    with app.app_context():
        session = db.session()
        _published(case, session, numbers=(1,))
        followup.withdraw(session, _report(session, case.public_id))
        session.commit()
        for event in session.scalars(select(AuditEvent)):
            assert "August" not in f"{event.action} {event.detail} {event.report_ref}"
