"""The queue's rows and filter options written in Python: the template's markup, escaped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment

from registry.review.queue_rows import RowWords, options_html, rows_html

# The template loops these functions replaced, as they were written there.
# ruff: noqa: E501 (template lines kept as they were)
TEMPLATE = Environment(autoescape=True).from_string(
    """{% for report in reports %}
      <tr{% if report.urgent %} class="urgent"{% endif %}>
        <td><a href="{{ case_prefix ~ report.public_id|urlencode }}"><code>{{ report.public_id }}</code></a>{% if report.urgent %} <strong class="tag">{{ urgent_tag }}</strong>{% endif %}{% if report.id in waiting %} <strong class="tag tag-waiting">{{ waiting_tag }}</strong>{% endif %}{% if report.id in fresh %} <strong class="tag tag-fresh">{{ fresh_tag }}</strong>{% endif %}</td>
        <td>{{ day(report.received_on) }}</td>
        <td>{{ region_titles.get(report.region, report.region) }}</td>
        <td>{{ month(report.incident_month) }}</td>
        <td>{{ statuses.get(report.status, report.status) }}</td>
      </tr>
    {% endfor %}"""
)
OPTIONS = Environment(autoescape=True).from_string(
    """{% if counts is not none %}{% for code, label in choices %}
      <option value="{{ code }}"{% if code == chosen %} selected{% endif %}>{{ label }} ({{ counts.get(code, 0) }})</option>
    {% endfor %}{% else %}{% for code, label in choices %}
      <option value="{{ code }}"{% if code == chosen %} selected{% endif %}>{{ label }}</option>
    {% endfor %}{% endif %}"""
)


@dataclass(frozen=True)
class Row:
    id: int
    public_id: str
    urgent: bool
    received_on: date
    region: str
    incident_month: str | None
    status: str


def _squeezed(html: str) -> str:
    """Markup without the whitespace between tags (which the template's indentation added)."""
    return re.sub(r">\s+<", "><", html.strip())


texts = st.text(max_size=12)
rows = st.lists(
    st.builds(
        Row,
        id=st.integers(1, 6),
        public_id=texts,
        urgent=st.booleans(),
        received_on=st.dates(),
        region=st.sampled_from(["minsk-city", "gomel", "<b>odd</b>", ""]),
        incident_month=st.one_of(st.none(), st.just("2020-08")),
        status=st.sampled_from(["new", "closed", "x&y"]),
    ),
    max_size=6,
)


@given(rows=rows, tags=st.tuples(texts, texts, texts), regions=st.dictionaries(texts, texts))
def test_rows_are_the_templates_markup(
    rows: list[Row], tags: tuple[str, str, str], regions: dict[str, str]
) -> None:
    statuses = {"new": "New <1>", "closed": "Closed & done"}
    regions = {"minsk-city": "Мінск", "<b>odd</b>": "\"q\" 'q'", **regions}
    words = RowWords(
        case_prefix="/review/case/",
        statuses=statuses,
        regions=regions,
        urgent_tag=tags[0],
        waiting_tag=tags[1],
        fresh_tag=tags[2],
        day=lambda day: f"<{day.isoformat()}>",
        month=lambda month: month or "—",
    )
    waiting, fresh = {1, 2}, {2, 3}
    ours = str(rows_html(rows, words, waiting, fresh))
    theirs = TEMPLATE.render(
        reports=rows,
        case_prefix=words.case_prefix,
        urgent_tag=tags[0],
        waiting_tag=tags[1],
        fresh_tag=tags[2],
        waiting=waiting,
        fresh=fresh,
        day=words.day,
        month=words.month,
        region_titles=regions,
        statuses=statuses,
    )
    assert _squeezed(ours) == _squeezed(theirs)
    # Nothing from the data opens a tag of its own.
    assert "<b>" not in ours
    assert "<1>" not in ours


@given(
    choices=st.lists(st.tuples(texts, texts), max_size=8),
    chosen=st.one_of(st.none(), texts),
    counted=st.booleans(),
    counts=st.dictionaries(texts, st.integers(0, 10**6)),
)
def test_options_are_the_templates_markup(
    choices: list[tuple[str, str]], chosen: str | None, counted: bool, counts: dict[str, int]
) -> None:
    given_counts = counts if counted else None
    ours = str(options_html(choices, chosen, given_counts))
    theirs = OPTIONS.render(choices=choices, chosen=chosen, counts=given_counts)
    assert _squeezed(ours) == _squeezed(theirs)


def test_markup_in_a_title_stays_text() -> None:
    written = str(options_html([('a"b', "<script>x</script>")], 'a"b', {'a"b': 3}))
    assert written == (
        '<option value="a&#34;b" selected>&lt;script&gt;x&lt;/script&gt; (3)</option>'
    )
