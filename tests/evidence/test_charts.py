"""Server-side SVG bar charts: accessible, no script, nothing the CSP forbids, small.

The page-level check (a real page with charts under the real CSP header) is
in tests/review/test_stats.py::test_the_page_with_its_charts_keeps_the_sites_csp.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - parses our own output

import pytest
from markupsafe import Markup, escape  # escape: the hand-drawn chart

from registry.evidence import charts
from registry.evidence.charts import LABEL_CHARS, WIDTH, bar_chart

SVG = "{http://www.w3.org/2000/svg}"
REGIONS: list[tuple[str, int | None]] = [
    ("Minsk", 412),
    ("Minsk region", 97),
    ("Brest region", 58),
    ("Vitebsk region", None),
    ("Homiel region", 61),
    ("Hrodna region", 33),
    ("Mahilioŭ region", 12),
]


def _chart(rows: list[tuple[str, int | None]] = REGIONS) -> Markup:
    return bar_chart(
        "Cases by region",
        "Verified cases in each region.",
        rows,
        unavailable="fewer than 5",
        chart_id="regions",
    )


def _tree(chart: Markup) -> ET.Element:
    return ET.fromstring(str(chart))  # noqa: S314 - our own output


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_it_is_inline_svg_markup_labelled_by_its_title_and_description() -> None:
    chart = _chart()
    assert isinstance(chart, Markup)
    assert str(chart).startswith("<svg ")
    root = _tree(chart)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "regions-title regions-desc"
    title, desc = root[0], root[1]
    assert (title.tag, title.get("id"), title.text) == (
        f"{SVG}title",
        "regions-title",
        "Cases by region",
    )
    assert (desc.tag, desc.get("id"), desc.text) == (
        f"{SVG}desc",
        "regions-desc",
        "Verified cases in each region.",
    )
    # Exactly one title and one description: pygal's tooltips are gone.
    assert len(list(root.iter(f"{SVG}title"))) == 1
    assert len(list(root.iter(f"{SVG}desc"))) == 1


def test_no_script_style_link_or_comment() -> None:
    """Nothing the CSP (script-src 'none'; style-src 'self') would refuse or need."""
    text = str(_chart())
    for forbidden in ("<script", "<style", " style=", "href", "url(", "<!--", "<?xml", "@import"):
        assert forbidden not in text, forbidden
    # The only URL is the SVG namespace, which nothing fetches.
    assert re.findall(r"https?://[^\"]*", text) == ["http://www.w3.org/2000/svg"]
    assert "javascript:" not in text
    assert " on" not in text.replace(" one", "")


def test_it_scales_to_the_column_from_a_360_wide_view_box() -> None:
    root = _tree(_chart())
    x, y, width, height = root.get("viewBox", "").split()
    assert (x, y, width) == ("0", "0", str(WIDTH))
    assert int(height) > 0
    assert root.get("width") == "100%"
    assert root.get("height") is None


def test_rows_read_top_down_with_their_numbers() -> None:
    root = _tree(_chart())
    texts = list(root.iter(f"{SVG}text"))
    labels = [t for t in texts if t.get("text-anchor") == "end"]
    values = {t.get("y"): t.text for t in texts if t.get("text-anchor") != "end"}
    top_down = sorted(labels, key=lambda t: float(t.get("y", "0")))
    # Each row's number is written on the line of its label.
    assert [(t.text, values[t.get("y")]) for t in top_down] == [
        (label, str(n) if n is not None else "fewer than 5") for label, n in REGIONS
    ]


def test_an_unavailable_count_has_no_bar_and_says_so() -> None:
    root = _tree(_chart())
    bars = list(root.iter(f"{SVG}rect"))
    assert len(bars) == len([n for _l, n in REGIONS if n is not None])
    label_y = {t.text: t.get("y") for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"}
    note = [t for t in root.iter(f"{SVG}text") if t.text == "fewer than 5"]
    assert len(note) == 1
    assert note[0].get("y") == label_y["Vitebsk region"]


def test_longer_bars_for_larger_counts() -> None:
    root = _tree(_chart([("a", 10), ("b", 40), ("c", 20)]))
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")]
    # Drawn bottom-up: c, b, a.
    assert widths[1] > widths[0] > widths[2] > 0


def test_all_unavailable_and_empty_charts() -> None:
    root = _tree(_chart([("a", None), ("b", None)]))
    assert list(root.iter(f"{SVG}rect")) == []
    assert _texts(root).count("fewer than 5") == 2
    assert "No data" not in str(_chart([]))
    assert _tree(_chart([])).get("role") == "img"


def test_greys_only_so_it_prints_in_black_and_white() -> None:
    for match in re.findall(r'(?:fill|stroke)="#([0-9a-f]+)"', str(_chart())):
        digits = match if len(match) == 6 else "".join(c * 2 for c in match)
        assert digits[0:2] == digits[2:4] == digits[4:6], match


def test_labels_are_escaped_and_long_ones_shortened() -> None:
    rows: list[tuple[str, int | None]] = [("<script>x</script>&", 3), ("x" * 80, 4)]
    text = str(_chart(rows))
    assert "<script>" not in text
    assert "&lt;script&gt;x&lt;/script&gt;&amp;" in text
    assert ("x" * (LABEL_CHARS - 1) + "…") in text
    assert "x" * LABEL_CHARS not in text


def test_the_same_input_gives_the_same_chart() -> None:
    assert _chart() == _chart()
    # Without an id one is derived from the content: stable, distinct per chart.
    first = bar_chart("A", "B", [("x", 1)], unavailable="-")
    assert first == bar_chart("A", "B", [("x", 1)], unavailable="-")
    assert first != bar_chart("A", "B", [("x", 2)], unavailable="-")


def _hand_drawn(rows: list[tuple[str, int | None]], unavailable: str) -> str:
    """A minimal hand-written SVG of the same bars, to weigh pygal against."""
    top = max((n for _l, n in rows if n is not None), default=1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 {28 * len(rows) + 8}" '
        'width="100%" role="img" aria-labelledby="t d" font-family="sans-serif" font-size="14">'
        '<title id="t">Cases by region</title>'
        '<desc id="d">Verified cases in each region.</desc>'
    ]
    for i, (label, count) in enumerate(rows):
        y = 28 * i + 4
        parts.append(f'<text x="116" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        if count is None:
            parts.append(f'<text x="124" y="{y + 15}" font-style="italic">{unavailable}</text>')
            continue
        width = round(190 * count / top, 1)
        parts.append(f'<rect x="120" y="{y}" width="{width}" height="20" fill="#6b6b6b"/>')
        parts.append(f'<text x="{124 + width}" y="{y + 15}">{count}</text>')
    return "".join(parts) + "</svg>"


def test_pygal_against_a_hand_drawn_chart() -> None:
    """The figures quoted in registry/evidence/charts.py's docstring.

    Hand-drawn is smaller, but not by enough to outweigh owning layout,
    label widths, scaling and escaping: both are far inside the 50 KB page
    budget.
    """
    pygal_size = len(str(_chart()).encode())
    hand_size = len(_hand_drawn(REGIONS, "fewer than 5").encode())
    assert hand_size < pygal_size < 1.25 * hand_size
    assert pygal_size < 2_000


def test_a_chart_drawn_once_is_kept_not_drawn_again() -> None:
    """pygal costs milliseconds a chart: the same inputs reuse the drawn markup."""
    charts._drawn.cache_clear()
    first = _chart()
    assert charts._drawn.cache_info().hits == 0
    assert _chart() is first
    assert charts._drawn.cache_info().hits == 1
    # Any change in the inputs is another chart.
    _chart([*REGIONS[:-1], ("Mahilioŭ region", 13)])
    assert charts._drawn.cache_info().misses == 2


def test_pygal_leaves_no_legacy_import_hook_behind() -> None:
    """A missing module is just missing: no ImportWarning from pygal's plugin finder."""
    import importlib
    import sys
    import warnings

    import pygal

    assert not any(isinstance(f, pygal.PluginImportFixer) for f in sys.meta_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("registry_no_such_module")
