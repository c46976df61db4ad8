"""cProfile's table as the in-process benches print it (submit_profile, page_profile)."""

from __future__ import annotations

import pstats
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class Hotspot:
    """One function of a profile, per measured unit (a submission, a page)."""

    name: str
    calls: float
    own_ms: float
    cumulative_ms: float


def read(stats: pstats.Stats, count: int) -> Iterator[tuple[str, str, Hotspot]]:
    """Every function of ``stats`` as (file, function, hotspot), divided by ``count`` units."""
    # pstats keeps its table in an attribute that typeshed does not declare.
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = vars(stats)["stats"]
    for (filename, line, function), (_, calls, own, cumulative, _) in raw.items():
        name = f"{_short(filename)}:{line}({function})"
        yield (
            filename,
            function,
            Hotspot(name, calls / count, 1000 * own / count, 1000 * cumulative / count),
        )


def ranked(spots: list[Hotspot], top: int) -> tuple[list[Hotspot], list[Hotspot]]:
    """The ``top`` hotspots by cumulative time, and by own time."""
    by_cumulative = sorted(spots, key=lambda spot: spot.cumulative_ms, reverse=True)[:top]
    return by_cumulative, sorted(spots, key=lambda spot: spot.own_ms, reverse=True)[:top]


def table(heading: str, unit: str, spots: list[Hotspot]) -> list[str]:
    """A markdown table of ``spots`` under a bold ``heading``; ``unit`` names what calls are per."""
    lines = ["", heading, "", f"| function | calls / {unit} | own ms | cumulative ms |"]
    lines.append("|---|---|---|---|")
    lines += [
        f"| `{s.name}` | {s.calls:g} | {s.own_ms:.3f} | {s.cumulative_ms:.3f} |" for s in spots
    ]
    return lines


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/work/main/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
