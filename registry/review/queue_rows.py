"""The queue table's rows and the filters' options, written in Python.

WHY not in the template: these are the queue page's two long loops (50
rows of five cells, about a hundred options in eight selects), and Jinja
spends several expression lookups on every cell: together they were about
half of the page's template time (bench.page_profile).  The same markup
written here with an f-string per row costs a fifth of that.

Every value that comes from data (ids, titles, labels, counts) goes through
:func:`markupsafe.escape`, as the template's autoescaping did; the tests
check that markup typed into a title stays text
(tests/review/test_queue_rows.py).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from urllib.parse import quote

from markupsafe import Markup, escape


class QueueRow(Protocol):
    """What a row shows: a plain queue row or a report found by search."""

    id: int
    public_id: str
    urgent: bool
    received_on: date
    region: str
    incident_month: str | None
    status: str


@dataclass(frozen=True)
class RowWords:
    """Everything a row says that is the same for every row of the page."""

    # The case page's address up to its public id (one url_for per page).
    case_prefix: str
    statuses: Mapping[str, str]
    regions: Mapping[str, str]
    urgent_tag: str
    waiting_tag: str
    fresh_tag: str
    # A day and a month of incident in the page's language (review.views).
    day: Callable[[date], str]
    month: Callable[[str | None], str]


def rows_html(
    reports: Iterable[QueueRow],
    words: RowWords,
    waiting: Container[int],
    fresh: Container[int],
) -> Markup:
    """The table body's rows for ``reports``, in order."""
    # Tags escaped once per page, not once per row.
    urgent = f' <strong class="tag">{escape(words.urgent_tag)}</strong>'
    waits = f' <strong class="tag tag-waiting">{escape(words.waiting_tag)}</strong>'
    news = f' <strong class="tag tag-fresh">{escape(words.fresh_tag)}</strong>'
    prefix = escape(words.case_prefix)
    regions, statuses = words.regions, words.statuses
    urgent_row, plain_row = '<tr class="urgent">', "<tr>"
    out = []
    for report in reports:
        public_id = report.public_id
        out.append(
            f"{urgent_row if report.urgent else plain_row}"
            f'<td><a href="{prefix}{escape(quote(public_id, safe="/"))}">'
            f"<code>{escape(public_id)}</code></a>"
            f"{urgent if report.urgent else ''}"
            f"{waits if report.id in waiting else ''}"
            f"{news if report.id in fresh else ''}</td>"
            f"<td>{escape(words.day(report.received_on))}</td>"
            f"<td>{escape(regions.get(report.region, report.region))}</td>"
            f"<td>{escape(words.month(report.incident_month))}</td>"
            f"<td>{escape(statuses.get(report.status, report.status))}</td></tr>\n"
        )
    # Safe: every value above was escaped as it was written in.
    return Markup("".join(out))  # noqa: S704


def options_html(
    choices: Sequence[tuple[str, Any]],
    chosen: str | None,
    counts: Mapping[str, int] | None = None,
) -> Markup:
    """``<option>`` elements for ``choices`` (code, label), ``chosen`` selected.

    With ``counts``, each label is followed by its count in brackets (0 for
    a code not counted), as the queue's filters show them.
    """
    out = []
    for code, label in choices:
        selected = " selected" if code == chosen else ""
        count = f" ({counts.get(code, 0)})" if counts is not None else ""
        out.append(f'<option value="{escape(code)}"{selected}>{escape(label)}{count}</option>')
    # Safe: the code and the label were escaped, the count is an integer.
    return Markup("\n".join(out))  # noqa: S704
