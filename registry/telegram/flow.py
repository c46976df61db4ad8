"""The questions of a Telegram report, and what each answer leads to.

The conversation mirrors the web form's essentials: who reports, what
happened, when (year and month), where (region, kind of place), who did it
(kind of unit), what was done, injuries, flags (still detained makes the
case urgent), how the staff may get in touch, consents, then files and a
summary to confirm before anything is stored.  Every step has Back and
Cancel; choices are buttons.  This module decides only words and steps:
it talks to neither Telegram nor the database (vocabularies come in as a
function), so each step can be read and tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from registry.intake.forms import FIRST_YEAR
from registry.intake.service import ReportInput
from registry.taxonomy.months import month_names
from registry.telegram import state as s
from registry.telegram import texts as t
from registry.telegram.state import Conversation

# (code, title) pairs of a vocabulary in the conversation's language.
Vocabulary = Callable[[str], Sequence[tuple[str, str]]]
# A piece of text: a (lazy) string, or one with its parameters.
Piece = Any
Button = tuple[Any, str]
YEARS_SHOWN = 6
# Telegram refuses messages over 4096 characters; a summary quotes at most this much.
QUOTE_MAX = 1200
NAV = "nav"
LANG = "lang"


class Outcome(Enum):
    """What the bot does after an answer."""

    ASK = "ask"  # send the question of the (new) current step
    REDRAW = "redraw"  # redraw the current question in place (a box was ticked)
    NOTE = "note"  # send a short note, stay on this step
    IGNORE = "ignore"  # a stale button: nothing to do
    SUBMIT = "submit"  # store the report
    CANCEL = "cancel"  # delete everything, store nothing
    SAVED = "saved"  # the receipt was saved: delete it and say goodbye


@dataclass
class Result:
    """An :class:`Outcome` and, for a note, what to say."""

    outcome: Outcome
    note: list[Piece] = field(default_factory=list)


@dataclass
class Screen:
    """A message to send: text pieces (joined by blank lines) and rows of buttons."""

    text: list[Piece]
    buttons: list[list[Button]] = field(default_factory=list)


def _rows(buttons: list[Button], width: int = 1) -> list[list[Button]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def _nav(step: str) -> list[Button]:
    # No Back on the first question: the intro has Leave instead.
    back = [] if step == s.ROLE else [(t.BACK, f"{NAV}|back")]
    return [*back, (t.CANCEL, f"{NAV}|cancel")]


def _ticked(label: str, on: bool) -> str:
    return f"{'☑' if on else '☐'} {label}"


def question(conv: Conversation, vocab: Vocabulary, *, today: date, limits: FileLimits) -> Screen:
    """The current step's question with its buttons."""
    step = conv.step
    choice = _choice_screen(conv, vocab, today)
    if choice is not None:
        choice.buttons.append(_nav(step))
        return choice
    if step == s.INTRO:
        return Screen(
            [(t.INTRO, {"site": limits.site}), *limits.onion_line, t.INTRO_AFTER],
            [
                [(t.CONTINUE, f"{s.INTRO}|go"), (t.LEAVE, f"{s.INTRO}|leave")],
                [(name, f"{LANG}|{code}") for code, name in t.LANGUAGE_NAMES.items()],
            ],
        )
    if step == s.NARRATIVE:
        return Screen([t.NARRATIVE, t.NARRATIVE_HINT], [[(t.NEXT, f"{step}|next")], _nav(step)])
    if step == s.INJURIES:
        return Screen([t.INJURIES, t.INJURIES_HINT], [[(t.SKIP, f"{step}|skip")], _nav(step)])
    if step == s.CONTACT_DETAILS:
        return Screen([t.CONTACT_DETAILS, t.CONTACT_DETAILS_HINT], [_nav(step)])
    if step == s.FILES:
        text = [
            (
                t.FILES,
                {
                    "limits": t.FILE_LIMITS,
                    "num": limits.max_files,
                    "size": limits.max_bytes // 2**20,
                },
            )
        ]
        return Screen(text, [[(t.NEXT, f"{step}|next")], _nav(step)])
    if step == s.SUMMARY:
        return Screen(summary(conv, vocab), [[(t.SEND, f"{step}|send")], _nav(step)])
    raise ValueError(step)


def _choice_screen(conv: Conversation, vocab: Vocabulary, today: date) -> Screen | None:
    """Steps answered with buttons only (the navigation row is added by the caller)."""
    step = conv.step
    if step == s.ROLE:
        options = [(title, f"{step}|{code}") for code, title in vocab("reporter_roles")]
        return Screen([t.ROLE], [*_rows(options, 2), [(t.SKIP, f"{step}|")]])
    if step == s.YEAR:
        years = [(str(y), f"{step}|{y}") for y in range(today.year, today.year - YEARS_SHOWN, -1)]
        extra = [[(t.EARLIER, f"{step}|typed")], [(t.DONT_REMEMBER, f"{step}|")]]
        return Screen([t.YEAR], [*_rows(years, 3), *extra])
    if step == s.MONTH:
        names = month_names(conv.language)
        months = [(name, f"{step}|{i:02d}") for i, name in enumerate(names, start=1)]
        return Screen([t.MONTH], [*_rows(months, 3), [(t.DONT_REMEMBER, f"{step}|")]])
    if step in (s.REGION, s.PLACE, s.UNIT):
        kind = {s.REGION: "regions", s.PLACE: "places", s.UNIT: "units"}[step]
        options = [(title, f"{step}|{code}") for code, title in vocab(kind)]
        skip = [] if step == s.REGION else [[(t.SKIP, f"{step}|")]]
        prompt = {s.REGION: t.REGION, s.PLACE: t.PLACE, s.UNIT: t.UNIT}[step]
        return Screen([prompt], [*_rows(options, 2), *skip])
    if step in (s.VIOLATIONS, s.FLAGS):
        chosen = conv.violations if step == s.VIOLATIONS else conv.flags
        kind = "violation_types" if step == s.VIOLATIONS else "flags"
        options = [
            (_ticked(title, code in chosen), f"{step}|{code}") for code, title in vocab(kind)
        ]
        prompt = t.VIOLATIONS if step == s.VIOLATIONS else t.FLAGS
        return Screen([prompt], [*_rows(options), [(t.NEXT, f"{step}|next")]])
    if step == s.CONTACT:
        options = [
            (t.CONTACT_RECEIPT, f"{step}|receipt"),
            (t.CONTACT_OTHER, f"{step}|contact"),
            (t.CONTACT_NONE, f"{step}|none"),
        ]
        return Screen([t.CONTACT], _rows(options))
    if step == s.CONSENTS:
        return Screen(
            [t.CONSENTS],
            [
                [(_Ticked(t.CONSENT_PUBLISH, conv.publish), f"{step}|publish")],
                [(_Ticked(t.CONSENT_REFER, conv.refer), f"{step}|refer")],
                [(t.NEXT, f"{step}|next")],
            ],
        )
    if step == s.CLEANING:
        return Screen(
            [t.CLEANING, t.CLEANING_HINT, t.CLEANING_TELEGRAM],
            [[(t.YES_CLEAN, f"{step}|yes")], [(t.NO_KEEP, f"{step}|no")]],
        )
    return None


class _Ticked:
    """A lazy label with a tick box, rendered in the conversation's language."""

    def __init__(self, label: Any, on: bool) -> None:
        self.label, self.on = label, on

    def __str__(self) -> str:
        return _ticked(str(self.label), self.on)


@dataclass(frozen=True)
class FileLimits:
    """What the bot tells about files and the other doors."""

    site: str
    onion_line: list[Piece]
    max_files: int
    max_bytes: int


def on_button(conv: Conversation, step: str, value: str, *, today: date) -> Result:
    """Apply a button press of ``step`` with ``value``."""
    if step == NAV:
        if value == "cancel":
            return Result(Outcome.CANCEL)
        if conv.step in (s.INTRO, s.RECEIPT):
            return Result(Outcome.IGNORE)
        conv.back()
        return Result(Outcome.ASK)
    if step != conv.step:
        # A button of an earlier question: its answer was given or undone.
        return Result(Outcome.IGNORE)
    handler = _BUTTONS.get(step)
    return handler(conv, value, today) if handler else Result(Outcome.IGNORE)


def _intro(conv: Conversation, value: str, _today: date) -> Result:
    if value == "leave":
        return Result(Outcome.CANCEL)
    conv.go(s.ROLE)
    return Result(Outcome.ASK)


def _set_and_go(attribute: str, after: str) -> Callable[[Conversation, str, date], Result]:
    def answer(conv: Conversation, value: str, _today: date) -> Result:
        setattr(conv, attribute, value or None)
        conv.go(after)
        return Result(Outcome.ASK)

    return answer


def _narrative(conv: Conversation, _value: str, _today: date) -> Result:
    if not "".join(conv.narrative).strip():
        return Result(Outcome.NOTE, [t.NARRATIVE_FIRST])
    conv.go(s.YEAR)
    return Result(Outcome.ASK)


def _year(conv: Conversation, value: str, today: date) -> Result:
    if value == "typed":
        return Result(Outcome.NOTE, [_year_hint(today)])
    conv.year = value or None
    conv.month = None
    conv.go(s.MONTH if conv.year else s.REGION)
    return Result(Outcome.ASK)


def _year_hint(today: date) -> Piece:
    return (t.YEAR_TYPED_BAD, {"first": FIRST_YEAR, "last": today.year})


def _toggle(attribute: str, after: str) -> Callable[[Conversation, str, date], Result]:
    def answer(conv: Conversation, value: str, _today: date) -> Result:
        if value == "next":
            conv.go(after)
            return Result(Outcome.ASK)
        chosen: set[str] = getattr(conv, attribute)
        chosen.symmetric_difference_update({value})
        return Result(Outcome.REDRAW)

    return answer


def _injuries(conv: Conversation, _value: str, _today: date) -> Result:
    conv.go(s.FLAGS)
    return Result(Outcome.ASK)


def _contact(conv: Conversation, value: str, _today: date) -> Result:
    if value not in ("receipt", "contact", "none"):
        return Result(Outcome.IGNORE)
    conv.contact = value
    if value != "contact":
        conv.contact_details = ""
    conv.go(s.CONTACT_DETAILS if value == "contact" else s.CONSENTS)
    return Result(Outcome.ASK)


def _consents(conv: Conversation, value: str, _today: date) -> Result:
    if value == "publish":
        conv.publish = not conv.publish
    elif value == "refer":
        conv.refer = not conv.refer
    else:
        conv.go(s.CLEANING)
        return Result(Outcome.ASK)
    return Result(Outcome.REDRAW)


def _cleaning(conv: Conversation, value: str, _today: date) -> Result:
    conv.clean_photos = value != "no"
    conv.go(s.FILES)
    return Result(Outcome.ASK)


def _files(conv: Conversation, _value: str, _today: date) -> Result:
    conv.go(s.SUMMARY)
    return Result(Outcome.ASK)


def _summary(conv: Conversation, _value: str, _today: date) -> Result:
    return Result(Outcome.SUBMIT)


def _receipt(conv: Conversation, _value: str, _today: date) -> Result:
    return Result(Outcome.SAVED)


_BUTTONS: dict[str, Callable[[Conversation, str, date], Result]] = {
    s.INTRO: _intro,
    s.ROLE: _set_and_go("role", s.NARRATIVE),
    s.NARRATIVE: _narrative,
    s.YEAR: _year,
    s.MONTH: _set_and_go("month", s.REGION),
    s.REGION: _set_and_go("region", s.PLACE),
    s.PLACE: _set_and_go("place", s.UNIT),
    s.UNIT: _set_and_go("unit", s.VIOLATIONS),
    s.VIOLATIONS: _toggle("violations", s.INJURIES),
    s.INJURIES: _injuries,
    s.FLAGS: _toggle("flags", s.CONTACT),
    s.CONTACT: _contact,
    s.CONSENTS: _consents,
    s.CLEANING: _cleaning,
    s.FILES: _files,
    s.SUMMARY: _summary,
    s.RECEIPT: _receipt,
}


def on_text(conv: Conversation, text: str, *, today: date, max_chars: int) -> Result:
    """Apply a text message: an answer where the step takes text, else a reminder."""
    step = conv.step
    if step == s.NARRATIVE:
        if sum(map(len, conv.narrative)) + len(text) > max_chars:
            return Result(Outcome.NOTE, [t.NARRATIVE_FULL])
        conv.narrative.append(text)
        # A short acknowledgement after the first part only: Telegram splits
        # long texts into several messages, and each needs no answer.
        return (
            Result(Outcome.NOTE, [t.NARRATIVE_MORE])
            if len(conv.narrative) == 1
            else (Result(Outcome.IGNORE))
        )
    if step == s.YEAR:
        typed = text.strip()
        if typed.isdigit() and FIRST_YEAR <= int(typed) <= today.year:
            return _year(conv, typed, today)
        return Result(Outcome.NOTE, [_year_hint(today)])
    if step == s.INJURIES:
        conv.injuries = text[:max_chars]
        return _injuries(conv, "", today)
    if step == s.CONTACT_DETAILS and text.strip():
        conv.contact_details = text[:max_chars]
        conv.go(s.CONSENTS)
        return Result(Outcome.ASK)
    # Anything else: the question again, so the person sees what is asked.
    return Result(Outcome.ASK)


def summary(conv: Conversation, vocab: Vocabulary) -> list[Piece]:
    """The report as it will be stored, for the person to confirm."""

    def title(kind: str, code: str | None) -> Piece:
        return dict(vocab(kind)).get(code or "", t.NOT_GIVEN)

    def titles(kind: str, codes: set[str]) -> str:
        names = [name for code, name in vocab(kind) if code in codes]
        return ", ".join(names) if names else "—"

    narrative = "\n".join(conv.narrative)
    if len(narrative) > QUOTE_MAX:
        narrative = narrative[:QUOTE_MAX] + "…"
    when: Piece = t.DONT_REMEMBER
    if conv.year and conv.month:
        when = f"{month_names(conv.language)[int(conv.month) - 1]} {conv.year}"
    elif conv.year:
        when = conv.year
    contact = {"receipt": t.CONTACT_RECEIPT, "contact": t.CONTACT_OTHER, "none": t.CONTACT_NONE}
    lines = [
        _Joined([t.ROLE, " ", title("reporter_roles", conv.role)]),
        _Joined([t.NARRATIVE, "\n", narrative]),
        _Joined([t.LABEL_WHEN, ": ", when]),
        _Joined([t.LABEL_REGION, ": ", title("regions", conv.region)]),
        _Joined([t.PLACE, ": ", title("places", conv.place)]),
        _Joined([t.UNIT, ": ", title("units", conv.unit)]),
        _Joined([t.LABEL_VIOLATIONS, ": ", titles("violation_types", conv.violations)]),
        _Joined([t.INJURIES, ": ", conv.injuries[:QUOTE_MAX] or t.NOT_GIVEN]),
        _Joined([t.LABEL_FLAGS, ": ", titles("flags", conv.flags)]),
        _Joined([t.CONTACT, " ", contact[conv.contact]]),
    ]
    consents = [
        label
        for label, on in ((t.CONSENT_PUBLISH, conv.publish), (t.CONSENT_REFER, conv.refer))
        if on
    ]
    return [
        t.SUMMARY,
        *lines,
        *(_Joined(["☑ ", label]) for label in consents),
        (t.SUMMARY_FILES, {"count": len(conv.files)}),
    ]


class _Joined:
    """Pieces rendered and joined when the message is drawn (lazy, like its parts)."""

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts

    def __str__(self) -> str:
        return "".join(str(part) for part in self.parts)


def report_input(conv: Conversation) -> ReportInput:
    """The conversation as the intake service's input (the web form's fields)."""
    answers = {"injuries": conv.injuries} if conv.injuries.strip() else {}
    return ReportInput(
        narrative="\n\n".join(conv.narrative),
        region=conv.region or "",
        incident_month=f"{conv.year}-{conv.month}" if conv.year and conv.month else None,
        violations=tuple(sorted(conv.violations)),
        language=conv.language,
        place=conv.place,
        unit=conv.unit,
        reporter_role=conv.role,
        flags=tuple(sorted(conv.flags)),
        answers=answers,
        consent_contact=conv.contact,
        contact_details=conv.contact_details if conv.contact == "contact" else "",
        consent_publish=conv.publish,
        consent_refer=conv.refer,
    )
