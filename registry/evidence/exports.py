"""Open data: a snapshot as JSON, as one CSV per table, and as a Frictionless Data Package.

Downloads carry exactly what the pages show, from the same checked payload
(:func:`registry.evidence.pages.read`): the same suppression, no count
below k, nothing the builder kept for itself.  Column names are stable
(``population, dimension, grain, code, label_en, count, mark``): scripts
written against one snapshot read every later one.

Case summaries are not part of the downloads.  WHY: a summary is removed
from the site at once when its case is withdrawn or the consent is taken
back; a copy in a downloaded file could never be called back.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from registry.evidence import pages

ENGLISH = pages.Words(unknown="Not known", strong="Strong evidence", illustrates="Illustrates")
"""The words of ``label_en`` that no vocabulary holds."""

POPULATIONS = "populations"
"""The resource listing every population and its number of cases."""

TABLE_COLUMNS = ("population", "dimension", "grain", "code", "label_en", "count", "mark")
POPULATION_COLUMNS = ("population", "kind", "code", "label_en", "cases", "mark")

LICENCE = {
    "name": pages.LICENCE,
    "title": "Creative Commons Attribution 4.0 International",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}


def resource_names(snapshot: pages.Snapshot) -> list[str]:
    """The CSV files of ``snapshot`` (without ``.csv``), in display order."""
    return [POPULATIONS, *(name for name in pages.table_names(snapshot) if name != POPULATIONS)]


def data_json(snapshot: pages.Snapshot) -> str:
    """``data.json``: the published payload (plus its licence), as UTF-8 JSON."""
    return json.dumps(pages.published(snapshot), ensure_ascii=False, indent=1) + "\n"


def _population_label(population: pages.Population, english: pages.Labels) -> str:
    if population.kind == "all":
        return "All verified cases"
    return english.of(population.kind, population.code or "")


def csv_text(snapshot: pages.Snapshot, name: str, english: pages.Labels) -> str:
    """One resource as CSV (RFC 4180, header row, UTF-8); empty fields are missing values.

    ``english`` holds the English titles for ``label_en``.  A ``count`` is
    empty exactly when ``mark`` says why ("fewer-than-k" or "hidden").
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if name == POPULATIONS:
        writer.writerow(POPULATION_COLUMNS)
        for population in snapshot.populations.values():
            cases = population.cases
            writer.writerow(
                (
                    population.key,
                    population.kind,
                    population.code or "",
                    _population_label(population, english),
                    "" if cases is None else cases,
                    population.mark if cases is None else "",
                )
            )
        return out.getvalue()
    writer.writerow(TABLE_COLUMNS)
    for population in snapshot.populations.values():
        table = population.table(name)
        if table is None:
            continue
        for cell in table.cells:
            writer.writerow(
                (
                    population.key,
                    table.dimension,
                    table.grain or "",
                    cell.code,
                    english.of(table.dimension, cell.code),
                    "" if cell.count is None else cell.count,
                    cell.mark,
                )
            )
    return out.getvalue()


def _mark_field(k: int) -> dict[str, Any]:
    return {
        "name": "mark",
        "type": "string",
        "description": (
            f"Empty when the count is published. 'fewer-than-k': the count is below {k} "
            "(0 included) and is not published. 'hidden': the count is at least "
            f"{k} but withheld, so that a smaller count cannot be worked out from "
            "the others, or a change between snapshots stays hidden."
        ),
        "constraints": {"enum": [pages.FEWER, pages.HIDDEN]},
    }


def _table_schema(k: int) -> dict[str, Any]:
    return {
        "fields": [
            {
                "name": "population",
                "type": "string",
                "description": (
                    "Whose cases: 'all' (every verified case), 'proposal:<code>' (the cases "
                    "supporting a reform proposal) or 'unit:<code>' (the cases naming a kind "
                    "of unit)."
                ),
                "constraints": {"required": True},
            },
            {
                "name": "dimension",
                "type": "string",
                "description": "What the table counts by.",
                "constraints": {"required": True},
            },
            {
                "name": "grain",
                "type": "string",
                "description": "For periods: month, quarter or year; empty otherwise.",
                "constraints": {"enum": ["month", "quarter", "year"]},
            },
            {
                "name": "code",
                "type": "string",
                "description": "The cell: a vocabulary or catalogue code, or a period.",
                "constraints": {"required": True},
            },
            {"name": "label_en", "type": "string", "description": "The cell's English title."},
            {
                "name": "count",
                "type": "integer",
                "description": f"Verified cases in the cell; never below {k}; empty when not "
                "published (see mark).",
                "constraints": {"minimum": k},
            },
            _mark_field(k),
        ],
        "missingValues": [""],
        "primaryKey": ["population", "code"],
    }


def _population_schema(k: int) -> dict[str, Any]:
    return {
        "fields": [
            {"name": "population", "type": "string", "constraints": {"required": True}},
            {
                "name": "kind",
                "type": "string",
                "constraints": {"required": True, "enum": ["all", "proposal", "unit"]},
            },
            {"name": "code", "type": "string"},
            {"name": "label_en", "type": "string"},
            {
                "name": "cases",
                "type": "integer",
                "description": f"Verified cases; never below {k}; empty when fewer than {k} "
                "(then nothing else is published about the population).",
                "constraints": {"minimum": k},
            },
            _mark_field(k),
        ],
        "missingValues": [""],
        "primaryKey": ["population"],
    }


def datapackage(snapshot: pages.Snapshot) -> dict[str, Any]:
    """The Frictionless Data Package descriptor of ``snapshot``'s CSV files.

    Paths are relative: the descriptor sits beside the files
    (``/evidence/<number>/…``).  ``k`` and the day of publication are
    properties of the package.
    """
    k = snapshot.k
    resources = []
    for name in resource_names(snapshot):
        schema = _population_schema(k) if name == POPULATIONS else _table_schema(k)
        resources.append(
            {
                "name": name,
                "path": f"{name}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": schema,
            }
        )
    return {
        "profile": "tabular-data-package",
        "name": f"sviedka-evidence-{snapshot.number}",
        "title": f"Sviedka: evidence from verified cases, snapshot {snapshot.number}",
        "description": (
            "Counts of verified reports of police violence and abuse in Belarus, by reform "
            f"proposal, kind of violation, region, period, place and kind of unit. Every "
            f"count below {k} is withheld (mark 'fewer-than-k'), and counts that would let "
            "one be worked out are withheld too (mark 'hidden'). The figures change only "
            "with a new snapshot."
        ),
        "version": str(snapshot.number),
        "published_on": snapshot.published_on.isoformat(),
        "k": k,
        "licenses": [LICENCE],
        "resources": resources,
    }


def datapackage_json(snapshot: pages.Snapshot) -> str:
    """``datapackage.json`` as UTF-8 JSON."""
    return json.dumps(datapackage(snapshot), ensure_ascii=False, indent=1) + "\n"
