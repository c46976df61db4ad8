"""Public case summaries: written by one key holder, approved by another, forgotten at once.

A summary is the only free text the registry publishes (issue 11, point 5).
A reviewer writes it for publication, in their own words, and it is stored
plain (``case_summaries``): publishing must never need a key (point 7).
Because it goes out to anyone, the rules are strict:

- only for a case whose submitter consented to publication
  (``reports.consent_publish``) and that counts as verified
  (:func:`registry.evidence.figures.verified`);
- written by someone who holds the case key, approved by a second key holder
  who is not the writer (four eyes) and who confirms a checklist: no names
  or identifying details; no place finer than the region and no exact date;
- at most :data:`TEXT_MAX` characters, and no day-precise date: refused
  here (:func:`exact_dates`), so the approver's checklist is not the only
  guard against the detail that most often identifies a detained person;
- editing an approved summary clears the approval;
- a withdrawal or a withdrawn consent deletes it at once, from the case and
  from every published snapshot (:func:`forget_case`).

Every write, approval and deletion is an audit event in the caller's
transaction; the text itself never goes into the log (it is stored plain
already, and the log is for who did what, not for content).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from registry import audit
from registry.evidence.figures import verified
from registry.models import CaseSummary, Report, SnapshotSummary
from registry.records.access import data_key_for

TEXT_MAX = 1_500
"""The longest summary, in characters (line breaks count as one)."""

WRITTEN = "case.summary-written"
APPROVED = "case.summary-approved"
DELETED = "case.summary-deleted"

Forgotten = Literal["withdrawn", "consent"]
"""Why a submitter's action deleted a summary: the report or the consent was withdrawn."""


class SummaryError(ValueError):
    """A summary that breaks a rule.

    ``reason`` is a code the view turns into words in the reviewer's
    language: ``consent``, ``verified``, ``empty``, ``long``, ``date``
    (``fragment`` holds the text read as a date), ``missing``, ``writer``,
    ``four-eyes``, ``checklist`` or ``changed``.
    """

    def __init__(self, reason: str, fragment: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.fragment = fragment


# --- Exact dates -------------------------------------------------------------
#
# WHY refuse them in code: "detained on 9 August 2020 in Minsk" names a
# handful of people to anyone holding an arrest list, where "August 2020"
# names thousands.  The published period is a year; a summary may say a
# month at most.  The patterns below over-refuse rather than under-refuse
# ("May 12 people" reads as a date): the reviewer sees which words were
# taken for a date and rewords them, while a date that slips through is
# published to everyone.

_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MONTH_NUMBER = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:1[89]|20)[0-9]{2}"
# Not inside a word (Unicode-aware: \b would treat "9жніўня" as one word).
_NO_LETTER_BEFORE = r"(?<![^\W\d_])"
_NO_LETTER_AFTER = r"(?![^\W\d_])"

# Every form a month takes after a day number (genitive in be/ru, and the
# nominative people also write), plus prepositional forms.  Prefixes of at
# least three letters of each are accepted too: that covers every
# abbreviation ("Sept", "авг.", "нояб.", "жні", "кастр.") without listing them.
_MONTH_FORMS: dict[str, tuple[str, ...]] = {
    "en": (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ),
    "ru": (
        "январь января январе",
        "февраль февраля феврале",
        "март марта марте",
        "апрель апреля апреле",
        "май мая мае",
        "июнь июня июне",
        "июль июля июле",
        "август августа августе",
        "сентябрь сентября сентябре",
        "октябрь октября октябре",
        "ноябрь ноября ноябре",
        "декабрь декабря декабре",
    ),
    "be": (
        "студзень студзеня студзені",
        "люты лютага лютым",
        "сакавік сакавіка сакавіку",
        "красавік красавіка красавіку",
        "травень траўня траўні май мая маі",
        "чэрвень чэрвеня чэрвені",
        "ліпень ліпеня ліпені",
        "жнівень жніўня жніўні",
        "верасень верасня верасні",
        "кастрычнік кастрычніка кастрычніку",
        "лістапад лістапада лістападзе",
        "снежань снежня снежні",
    ),
}


def _forms(language: str) -> list[str]:
    words = {w for month in _MONTH_FORMS[language] for w in month.split()}
    prefixes = {w[:n] for w in words for n in range(3, len(w) + 1)}
    # Longest first: the alternation then takes the whole word when it can.
    return sorted(prefixes, key=lambda w: (-len(w), w))


def _belarusian_spellings(pattern: str) -> str:
    # People type the Latin "i" for "і" and "у" for "ў" on Russian keyboards.
    return pattern.replace("і", "[іi]").replace("ў", "[ўу]")


def _alternatives(words: Iterable[str]) -> str:
    return _belarusian_spellings("|".join(re.escape(w) for w in words))


_EN_MONTH = rf"(?:{_alternatives(_forms('en'))})\.?"
_ANY_MONTH = rf"(?:{_alternatives(_forms('en') + _forms('ru') + _forms('be'))})\.?"
# Ordinal endings after a number: 9th, 9-го, 9-е, 9-га, 9-ае.
_NUMBER_ENDING = r"(?:st|nd|rd|th|\s?-?\s?(?:ого|го|ое|е|ага|га|ае))?"

_EN_ORDINAL = (
    r"(?:(?:twenty|thirty)[\s-]?)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|"
    r"ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|"
    r"eighteenth|nineteenth|twentieth|thirtieth)"
)
_RU_ORDINAL = (
    r"(?:(?:двадцать|тридцать)\s+)?(?:перв|втор|трет|четв[её]рт|пят|шест|седьм|восьм|девят|"
    r"десят|одиннадцат|двенадцат|тринадцат|четырнадцат|пятнадцат|шестнадцат|семнадцат|"
    r"восемнадцат|девятнадцат|двадцат|тридцат)(?:ьего|ого|его|ое|ье)"
)
_BE_ORDINAL = _belarusian_spellings(
    r"(?:(?:дваццаць|трыццаць)\s+)?(?:перш|друг|трэц|чацв[её]рт|пят|шост|с[её]м|восьм|дзявят|"
    r"дзясят|адзінаццат|дванаццат|трынаццат|чатырнаццат|пятнаццат|шаснаццат|сямнаццат|"
    r"васямнаццат|дзевятнаццат|дваццат|трыццат)(?:яга|ага|ога|ае|яе|ое)"
)

# A year right after a day and month belongs to the fragment the reviewer is shown.
_AND_YEAR = rf"(?:,?\s*{_YEAR}(?![0-9]))?"
_MONTH_WORD = rf"{_ANY_MONTH}{_NO_LETTER_AFTER}"
_EN_ENDING = r"(?:st|nd|rd|th)?"
_NOT_AN_ARTICLE = r"(?<!ст\. )(?<!арт\. )(?<!ст\.)(?<!арт\.)"

_DATE_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # 09.08.2020, 9/8/20, 8/9/2020 (either order), 09-08-2020
        rf"(?<![0-9]){_DAY}\s?(?P<s>[./-])\s?{_DAY}\s?(?P=s)\s?(?:[0-9]{{4}}|[0-9]{{2}})(?![0-9])",
        # 2020-08-09, 2020.08.09, 2020/8/9
        rf"(?<![0-9]){_YEAR}\s?(?P<s>[./-])\s?{_MONTH_NUMBER}\s?(?P=s)\s?{_DAY}(?![0-9])",
        # 20200809
        r"(?<![0-9])(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])(?![0-9])",
        # 09.08 (a two-digit month, and not after "ст."/"арт.": "23.34" and
        # "арт. 23.10" are articles of the Code of Administrative Offences)
        rf"(?<![0-9.,]){_NOT_AN_ARTICLE}{_DAY}\.(?:0[1-9]|1[0-2])(?!\.?[0-9])",
        # 9 August, 9th of Aug., 9-го августа, 9 жніўня, 9 жні
        rf"(?<![0-9]){_DAY}{_NUMBER_ENDING}(?:\s+of)?\s*-?\s*{_MONTH_WORD}{_AND_YEAR}",
        # August 9, Aug 9th, August the 9th (English puts the month first)
        rf"{_NO_LETTER_BEFORE}{_EN_MONTH},?\s+(?:the\s+)?{_DAY}{_EN_ENDING}(?![0-9]){_AND_YEAR}",
        # авг. 9, жні 9 (month first in be/ru only before punctuation or a
        # year, so that "в мае 15 человек" stays a month and a number)
        rf"{_NO_LETTER_BEFORE}{_ANY_MONTH}\s+{_DAY}(?=\s*(?:[,.;:!?)]|$|[0-9]{{4}}))",
        # the ninth of August, August the ninth, девятого августа, дзявятага жніўня
        rf"{_NO_LETTER_BEFORE}{_EN_ORDINAL}\s+(?:of\s+)?{_EN_MONTH}{_NO_LETTER_AFTER}",
        rf"{_NO_LETTER_BEFORE}{_EN_MONTH}\s+(?:the\s+)?{_EN_ORDINAL}{_NO_LETTER_AFTER}",
        rf"{_NO_LETTER_BEFORE}(?:{_RU_ORDINAL}|{_BE_ORDINAL})\s+{_ANY_MONTH}{_NO_LETTER_AFTER}",
        # 9 числа, 9-га чысла: "on the 9th" of a month the text names elsewhere
        rf"(?<![0-9]){_DAY}{_NUMBER_ENDING}\s+(?:числа|чысла){_NO_LETTER_AFTER}",
    )
)

# Dashes and slashes people paste from word processors, read as their ASCII
# forms, so "2020–08–09" is the same date as "2020-08-09".
_ASCII_PUNCTUATION = str.maketrans(
    dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63", "-")
    | {"\u2044": "/", "\u2215": "/"}
)


def _normalised(text: str) -> str:
    # NFKC folds full-width digits and letters; format characters (zero-width
    # spaces, joiners, direction marks) are dropped so they cannot split a
    # date the reader still sees whole.
    folded = unicodedata.normalize("NFKC", text).translate(_ASCII_PUNCTUATION)
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")


def exact_dates(text: str) -> list[str]:
    """Every part of ``text`` that reads as a day-precise date, in order (none: ``[]``).

    A month or a year alone ("August 2020", "2020-08", "жнівень 2020") is
    not an exact date.  The fragments are from the text as normalised for
    matching (dashes, full-width digits, invisible characters).
    """
    plain = _normalised(text)
    spans = sorted(
        (found.start(), -found.end())
        for pattern in _DATE_PATTERNS
        for found in pattern.finditer(plain)
    )
    fragments: list[str] = []
    covered = -1
    for start, negative_end in spans:
        end = -negative_end
        if end <= covered:
            continue  # inside a longer date already named
        fragments.append(plain[start:end].strip().rstrip(".,"))
        covered = end
    return fragments


# --- Rules -------------------------------------------------------------------


def is_publishable(db: Session, report: Report) -> bool:
    """Whether the case may have a public summary: consent to publish, and verified."""
    return report.consent_publish and _verified(db, report)


def _verified(db: Session, report: Report) -> bool:
    # The evidence's own definition, asked of this one report, so a summary
    # is never allowed where the snapshot would not count the case.
    return db.scalar(select(Report.id).where(Report.id == report.id, verified())) is not None


def _check_publishable(db: Session, report: Report) -> None:
    # WHY consent first: without it nothing about this case may be
    # published, however complete the case is.
    if not report.consent_publish:
        raise SummaryError("consent")
    if not _verified(db, report):
        raise SummaryError("verified")


def checked_text(text: str) -> str:
    """The summary as stored: trimmed, one kind of line break, NFC; else :class:`SummaryError`."""
    # Browsers send CRLF; counted as sent, 1,500 visible characters with a
    # few paragraphs would be refused as too long.
    cleaned = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not cleaned:
        raise SummaryError("empty")
    if len(cleaned) > TEXT_MAX:
        raise SummaryError("long")
    dates = exact_dates(cleaned)
    if dates:
        raise SummaryError("date", dates[0])
    return cleaned


def text_digest(text: str) -> str:
    """SHA-256 hex of a summary's text: what the approver read, sent back with the approval."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- Reading -----------------------------------------------------------------


def summary_of(db: Session, report: Report) -> CaseSummary | None:
    """The case's summary, approved or not (None: none written)."""
    return db.scalars(select(CaseSummary).where(CaseSummary.report_id == report.id)).first()


# --- Changes by staff --------------------------------------------------------


def write(
    db: Session,
    report: Report,
    *,
    account_id: int,
    private_key: bytes,
    text: str,
    today: date,
) -> CaseSummary:
    """Write or edit the case's summary; the writer is ``account_id``.

    Editing clears an approval: the approver vouched for the text they read,
    not for the one that replaces it.  Saving the same text again changes
    nothing (and records nothing).
    """
    # Access first: without the key, nothing about the request is judged.
    # Only someone who can read the case can judge what its summary may say.
    data_key_for(db, report, account_id, private_key)
    _check_publishable(db, report)
    cleaned = checked_text(text)
    summary = summary_of(db, report)
    if summary is not None and summary.text == cleaned:
        return summary
    if summary is None:
        summary = CaseSummary(report_id=report.id, text=cleaned)
        db.add(summary)
        detail = "new"
    else:
        detail = "edited:approval-cleared" if summary.approved_by is not None else "edited"
    summary.text = cleaned
    summary.written_by, summary.written_on = account_id, today
    summary.approved_by, summary.approved_on = None, None
    audit.record(
        db,
        actor=audit.account_actor(account_id),
        action=WRITTEN,
        report_ref=report.public_id,
        detail=detail,
    )
    return summary


def approve(
    db: Session,
    report: Report,
    *,
    account_id: int,
    private_key: bytes,
    seen: str,
    no_identifying_details: bool,
    no_finer_place_or_date: bool,
    today: date,
) -> CaseSummary:
    """Approve the summary as a second key holder (four eyes).

    ``seen`` is :func:`text_digest` of the text the approver read: a summary
    edited meanwhile is not approved unseen.  Both checklist answers must be
    yes: the approver confirms, in so many words, what code cannot check.
    """
    data_key_for(db, report, account_id, private_key)
    summary = summary_of(db, report)
    if summary is None:
        raise SummaryError("missing")
    _check_publishable(db, report)
    # WHY refuse an unknown writer: the writer's account was deleted, so
    # nobody can tell whether the approver is a second person.  Saving it
    # again makes its editor the writer, and a colleague approves.
    if summary.written_by is None:
        raise SummaryError("writer")
    if summary.written_by == account_id:
        raise SummaryError("four-eyes")
    if seen != text_digest(summary.text):
        raise SummaryError("changed")
    if not (no_identifying_details and no_finer_place_or_date):
        raise SummaryError("checklist")
    # Checked again: the date rules may have grown since the text was written.
    dates = exact_dates(summary.text)
    if dates:
        raise SummaryError("date", dates[0])
    if summary.approved_by is not None:
        return summary
    summary.approved_by, summary.approved_on = account_id, today
    audit.record(
        db, actor=audit.account_actor(account_id), action=APPROVED, report_ref=report.public_id
    )
    return summary


def remove(db: Session, report: Report, *, account_id: int, private_key: bytes) -> None:
    """Delete the case's summary, and every published copy of it, as a key holder.

    WHY published copies too: a summary is taken down because it should not
    be public (a detail that identifies someone, a change of mind); a copy
    left in the current snapshot would keep it public until the next one.
    """
    data_key_for(db, report, account_id, private_key)
    if not _delete_rows(db, report.id):
        raise SummaryError("missing")
    audit.record(
        db,
        actor=audit.account_actor(account_id),
        action=DELETED,
        report_ref=report.public_id,
        detail="staff",
    )


# --- The submitter's withdrawal ----------------------------------------------


def forget_case(db: Session, report_id: int, why: Forgotten = "withdrawn") -> bool:
    """Delete the case's summary and its copies in every snapshot, now.

    Called by the follow-up service in the transaction that withdraws the
    report or its consent to publication: the published snapshot and all
    later ones lose the summary the moment the submitter asks (snapshots are
    otherwise immutable; this deletion is the one change they allow).
    Recorded as the submitter's action, dated to the day only (promise 3),
    when there was anything to delete.  Returns whether there was.
    """
    public_id = db.scalar(select(Report.public_id).where(Report.id == report_id))
    if not _delete_rows(db, report_id):
        return False
    audit.record(db, actor=audit.SUBMITTER, action=DELETED, report_ref=public_id, detail=why)
    return True


def _delete_rows(db: Session, report_id: int) -> bool:
    """Delete the case's summary and every snapshot copy; whether any row was there."""
    held = db.scalar(select(CaseSummary.id).where(CaseSummary.report_id == report_id))
    published = db.scalar(
        select(SnapshotSummary.id).where(SnapshotSummary.report_id == report_id).limit(1)
    )
    db.execute(delete(SnapshotSummary).where(SnapshotSummary.report_id == report_id))
    db.execute(delete(CaseSummary).where(CaseSummary.report_id == report_id))
    return held is not None or published is not None
