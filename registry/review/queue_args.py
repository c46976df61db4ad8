"""The queue's query string: read into typed filters, and written back into links.

Every value is checked against what it may be: a status, a vocabulary
code, a proposal code, a staff account, an ISO date, a form language.  A
value that is none of those is *ignored*, and the page names the filter it
ignored.  Ignoring (rather than matching nothing) keeps the form and the
results in agreement, since a select can only show values it knows; and a
hand-edited or outdated address gets a clear answer, never a 500
(promise 9).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import KEY_HOLDER_ROLES, Account, Status
from registry.reforms.service import proposal_titles
from registry.review.queue import NONE, QueueFilters, Sort
from registry.review.search import MAX_WORDS, query_words
from registry.taxonomy.service import choices
from registry.web.i18n import LANGUAGE_NAMES, LANGUAGES, current_language, ngettext
from registry.web.i18n import gettext as _
from registry.web.i18n import lazy_gettext as _l
from registry.web.labels import STATUS_LABELS

ME = "me"  # the assignee value of "my cases"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
LABELS = {
    "status": _l("Status"),
    "region": _l("Region"),
    "violation": _l("Violation"),
    "place": _l("Type of place"),
    "unit": _l("Service or unit"),
    "proposal": _l("Reform proposal"),
    "language": _l("Language of the form"),
    "assignee": _l("Assigned to"),
    "urgent": _l("Urgent only"),
    "waiting": _l("Only cases where the submitter waits for an answer"),
    "new": _l("Only cases with news since I last opened them"),
    "from": _l("Received from"),
    "to": _l("Received until"),
    "sort": _l("Sort by"),
}
SORT_LABELS = {
    Sort.NEWEST: _l("Received, newest first"),
    Sort.OLDEST: _l("Received, oldest first"),
    Sort.MONTH: _l("Month of incident, latest first"),
    Sort.STATUS: _l("Status (new first)"),
    Sort.URGENT: _l("Urgent first"),
    Sort.WAITING: _l("Submitter waiting for an answer first"),
    Sort.FRESH: _l("News since I last opened them first"),
}


@dataclass(frozen=True)
class Choices:
    """For each filter, the values it accepts and their labels, in display order."""

    options: dict[str, list[tuple[str, str]]]
    me: int
    # The filters' labels, translated (see _Fixed); by default the lazy ones.
    labels: dict[str, str | LazyString] = field(default_factory=lambda: dict(LABELS))

    def accepts(self, name: str, value: str) -> bool:
        """Whether ``value`` is one of the options of filter ``name``."""
        return any(code == value for code, _label in self.options[name])


@dataclass(frozen=True)
class _Fixed:
    """What the filters show that depends on the language only, translated once."""

    labels: dict[str, str | LazyString]
    statuses: list[tuple[str, str]]
    languages: list[tuple[str, str]]
    sorts: list[tuple[str, str]]
    not_given: tuple[str, str]
    nobody: tuple[str, str]


# Per locale, for the life of the worker.  WHY this may be kept: it holds
# only the application's own interface words (the message catalogues are
# loaded once and never change while it runs), nothing of a report and
# nothing about who asks; translating them afresh cost every queue page
# about 25 catalogue lookups.  Keyed by the locale gettext itself uses.
_FIXED: dict[str, _Fixed] = {}


def _fixed() -> _Fixed:
    locale = current_language()
    if locale not in _FIXED:
        _FIXED[locale] = _Fixed(
            labels={name: str(label) for name, label in LABELS.items()},
            statuses=[(s.value, str(STATUS_LABELS[s.value])) for s in Status],
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            sorts=[(sort.value, str(SORT_LABELS[sort])) for sort in Sort],
            not_given=(NONE, _("Not given")),
            nobody=(NONE, _("Nobody")),
        )
    return _FIXED[locale]


# Built once (registry.records.access says why).
_KEY_HOLDERS = (
    select(Account.id, Account.email)
    .where(Account.role.in_(KEY_HOLDER_ROLES))
    .order_by(Account.email)
)


def filter_choices(db: Session, lang: str, me: int) -> Choices:
    """Every filter's options in ``lang``; ``me`` is the reviewer's account id."""
    fixed = _fixed()
    not_given = fixed.not_given
    staff = db.execute(_KEY_HOLDERS)
    people = [(str(i), _("%(email)s (you)", email=e) if i == me else e) for i, e in staff]
    return Choices(
        {
            "status": list(fixed.statuses),
            "region": choices(db, "regions", lang),
            "violation": choices(db, "violation_types", lang),
            "place": [*choices(db, "places", lang), not_given],
            "unit": [*choices(db, "units", lang), not_given],
            # Titles in the page's language, not codes (issue 13).
            "proposal": proposal_titles(db, lang),
            "language": list(fixed.languages),
            "assignee": [fixed.nobody, *people],
            "sort": list(fixed.sorts),
        },
        me,
        dict(fixed.labels),
    )


@dataclass(frozen=True)
class QueueRequest:
    """What the person asked the queue for, checked."""

    filters: QueueFilters = QueueFilters()
    sort: Sort = Sort.NEWEST
    page: int = 1
    # The search as typed (shown again in the box) and its folded words.
    # Held for this request only: never stored, logged or cached.
    query: str = ""
    words: tuple[str, ...] = ()
    # Public id of the case a "search further" link continues after.
    after: str | None = None
    problems: list[str] = field(default_factory=list)


def _ignored(problems: list[str], name: str) -> None:
    problems.append(
        _(
            "“%(filter)s”: the value in the address is not one of the choices, "
            "so this filter was ignored.",
            filter=LABELS[name],
        )
    )


def _code(args: Mapping[str, str], name: str, known: Choices, problems: list[str]) -> str | None:
    value = args.get(name, "")
    if not value:
        return None
    if known.accepts(name, value):
        return value
    _ignored(problems, name)
    return None


def _day(args: Mapping[str, str], name: str, problems: list[str]) -> date | None:
    value = args.get(name, "")
    if not value:
        return None
    try:
        if _ISO_DAY.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass  # a day that does not exist, such as 2025-02-30
    problems.append(
        _(
            "“%(filter)s” must be a date such as 2025-03-31, so this filter was ignored.",
            filter=LABELS[name],
        )
    )
    return None


def _assignee(
    args: Mapping[str, str], known: Choices, problems: list[str]
) -> tuple[int | None, bool]:
    value = args.get("assignee", "")
    if value == ME:
        return known.me, False
    if value == NONE:
        return None, True
    if value and known.accepts("assignee", value):
        return int(value), False
    if value:
        _ignored(problems, "assignee")
    return None, False


def _page(value: str) -> int:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) < 1_000_000 else 1


def parse(args: Mapping[str, str], known: Choices) -> QueueRequest:
    """Check the query string ``args`` against ``known``; never raises on bad input."""
    problems: list[str] = []
    assignee, unassigned = _assignee(args, known, problems)
    flags = {}
    for name in ("urgent", "waiting", "new"):
        flags[name] = args.get(name, "")
        if flags[name] not in ("", "1"):
            _ignored(problems, name)
    first, last = _day(args, "from", problems), _day(args, "to", problems)
    if first and last and first > last:
        problems.append(_("The first day is after the last day, so the dates were ignored."))
        first = last = None
    filters = QueueFilters(
        status=_code(args, "status", known, problems),
        urgent=flags["urgent"] == "1",
        region=_code(args, "region", known, problems),
        violation=_code(args, "violation", known, problems),
        place=_code(args, "place", known, problems),
        unit=_code(args, "unit", known, problems),
        proposal=_code(args, "proposal", known, problems),
        language=_code(args, "language", known, problems),
        assignee=assignee,
        unassigned=unassigned,
        received_from=first,
        received_to=last,
        waiting=flags["waiting"] == "1",
        # Always the viewer's own last visits: no address can ask for
        # another reviewer's (which would tell who opened what).
        fresh_for=known.me if flags["new"] == "1" else None,
    )
    sort = _code(args, "sort", known, problems)
    query = args.get("q", "").strip()
    words = query_words(query)
    if len(query.split()) > MAX_WORDS:
        problems.append(
            ngettext(
                "Only the first %(num)d word is searched.",
                "Only the first %(num)d words are searched.",
                MAX_WORDS,
            )
        )
    # Any text will do: the search looks it up as a public id and starts
    # again from the newest case (and says so) when none has it.
    after = args.get("after", "")[:64]
    return QueueRequest(
        filters=filters,
        sort=Sort(sort) if sort else Sort.NEWEST,
        page=_page(args.get("page", "")),
        query=query,
        words=words,
        after=after if words and after else None,
        problems=problems,
    )


def link_args(wanted: QueueRequest, **changes: str | int | None) -> dict[str, str]:
    """Query-string arguments that ask for ``wanted`` again, with ``changes`` (None drops)."""
    f = wanted.filters
    args: dict[str, str | int | None] = {
        "q": wanted.query or None,
        "status": f.status,
        "urgent": "1" if f.urgent else None,
        "region": f.region,
        "violation": f.violation,
        "place": f.place,
        "unit": f.unit,
        "proposal": f.proposal,
        "language": f.language,
        "assignee": NONE if f.unassigned else f.assignee,
        "from": f.received_from.isoformat() if f.received_from else None,
        "to": f.received_to.isoformat() if f.received_to else None,
        "waiting": "1" if f.waiting else None,
        "new": "1" if f.fresh_for is not None else None,
        "sort": wanted.sort.value if wanted.sort != Sort.NEWEST else None,
    }
    args.update(changes)
    return {name: str(value) for name, value in args.items() if value is not None}


def without_search(wanted: QueueRequest) -> QueueRequest:
    """The same filters and order, with no search."""
    return replace(wanted, query="", words=(), after=None)
