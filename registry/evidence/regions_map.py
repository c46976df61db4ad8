"""A map of Belarus's regions and Minsk city as inline SVG (a choropleth).

The outlines come from ``data/belarus_regions.json`` in this repository,
drawn by hand from rough longitude/latitude points: nothing is loaded from
another host, and the SVG has no script, no link and no style attribute
(the site's CSP, ``style-src 'self'``, would refuse inline styles), only
presentation attributes.  Greys only, and every region carries its number
in words, so the map reads in black and white and without colour vision.

The map never shows more than the region table beside it: it is drawn from
the same published cells (a withheld cell is hatched and says why in words).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

DATA_FILE = Path(__file__).parent / "data" / "belarus_regions.json"

# Light to dark; the number is written on the darkest in white.
SHADES = ("#f2f2f2", "#cccccc", "#999999", "#595959")
DARK_FROM = 3
OUTLINE = "#000"
LABEL_SIZE = "11"


@dataclass(frozen=True)
class MapCell:
    """One region's published value: ``count`` (None when withheld) and its words."""

    code: str
    count: int | None
    text: str


@dataclass(frozen=True)
class _Shape:
    code: str
    path: str
    label_x: float
    label_y: float
    short: dict[str, str]
    # The region the label stands on (Minsk city's sits beside its circle).
    label_on: str


@cache
def _shapes() -> tuple[tuple[int, int, int, int], tuple[_Shape, ...]]:
    """The view box and each region's projected outline (read once per process)."""
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    proj = data["projection"]

    def xy(lon: float, lat: float) -> tuple[float, float]:
        # Equirectangular with the longitude scaled by cos(53.7°), Belarus's
        # middle latitude: close enough for a country this size.
        return (lon - proj["lon0"]) * proj["lon_scale"], (proj["lat0"] - lat) * proj["lat_scale"]

    points = {name: xy(*lonlat) for name, lonlat in data["points"].items()}
    shapes = []
    for code, region in data["regions"].items():
        if "circle" in region:
            cx, cy = xy(*region["circle"]["centre"])
            r = region["circle"]["radius"]
            # A circle as a path: one kind of element for every region.
            path = f"M{cx - r:.0f} {cy:.0f}a{r} {r} 0 1 0 {2 * r} 0a{r} {r} 0 1 0 {-2 * r} 0z"
        else:
            corners = [points[name] for name in region["outline"]]
            path = "M" + "L".join(f"{x:.0f} {y:.0f}" for x, y in corners) + "z"
        lx, ly = xy(*region["label"])
        label_on = region.get("label_on", code)
        shapes.append(_Shape(code, path, lx, ly, dict(region["short"]), label_on))
    box = tuple(data["view_box"])
    return (box[0], box[1], box[2], box[3]), tuple(shapes)


def region_codes() -> tuple[str, ...]:
    """The region codes the map draws (six regions and Minsk city)."""
    return tuple(shape.code for shape in _shapes()[1])


def _shade(count: int | None, top: int) -> int | None:
    if count is None or top <= 0:
        return None
    return min(len(SHADES) - 1, (count * len(SHADES) - 1) // top)


def region_map(
    cells: Sequence[MapCell],
    *,
    lang: str,
    title: str,
    description: str,
    map_id: str = "region-map",
) -> Markup:
    """The map as inline ``<svg>`` with ``<title>`` and ``<desc>``.

    ``cells`` holds the published region cells (codes the map does not draw,
    such as "abroad", are ignored: the table beside the map lists them).  A
    region without a cell is drawn empty, one whose count is withheld is
    hatched; each carries its short name and ``text`` in the page language.
    """
    (x0, y0, width, height), shapes = _shapes()
    by_code = {cell.code: cell for cell in cells}
    top = max((cell.count for cell in cells if cell.count is not None), default=0)
    ident = escape(map_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x0} {y0} {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'id="{ident}" class="map" font-family="sans-serif">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        # Hatching for a withheld count: visible in black and white print.
        f'<defs><pattern id="{ident}-hatch" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<path d="M0 6L6 0" stroke="{OUTLINE}" stroke-width="0.6"/></pattern></defs>',
    ]
    labels = []
    shades = {
        code: _shade(cell.count, top) for code, cell in by_code.items() if cell.count is not None
    }
    for shape in shapes:
        cell = by_code.get(shape.code)
        shade = shades.get(shape.code)
        if cell is not None and cell.count is None:
            fill = f"url(#{ident}-hatch)"
        elif shade is None:
            fill = "#fff"
        else:
            fill = SHADES[shade]
        name = shape.short.get(lang) or shape.short["be"]
        parts.append(
            f'<path d="{shape.path}" fill="{fill}" stroke="{OUTLINE}" stroke-width="0.8">'
            f"<title>{escape(name)}: {escape(cell.text if cell else '')}</title></path>"
        )
        under = shades.get(shape.label_on)
        dark = under is not None and under >= DARK_FROM
        ink, halo = ("#fff", "#000") if dark else ("#000", "#fff")
        x, y = f"{shape.label_x:.0f}", f"{shape.label_y:.0f}"
        # The halo keeps a label readable over hatching and borders.
        labels.append(
            f'<text x="{x}" y="{y}" text-anchor="middle" font-size="{LABEL_SIZE}" fill="{ink}" '
            f'stroke="{halo}" stroke-width="3" paint-order="stroke">'
            f"{escape(name)}"
            f'<tspan x="{x}" dy="13" font-weight="bold">{escape(cell.text if cell else "")}'
            "</tspan></text>"
        )
    # Names after every outline, so no neighbour's fill covers a label.
    parts.extend(labels)
    parts.append("</svg>")
    # Safe: every text above went through escape(); the rest is our own markup.
    return Markup("".join(parts))  # noqa: S704
