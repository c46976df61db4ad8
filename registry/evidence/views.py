"""Public evidence pages and open-data downloads, from the latest published snapshot.

Every page and download reads one stored snapshot (its payload, protected
when it was published) and nothing else about cases: no per-view
aggregation, so no page can show a live count (a watcher comparing live
figures could tie a change to an arrest they know of), and a page costs the
same with 100 or 100,000 reports.  Pages are the same for every visitor of
a language, so they carry an ETag (the snapshot's digest) and may be
cached for a few minutes; rendered pages are kept per worker.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    session,
    url_for,
)
from markupsafe import Markup

from registry import db
from registry.evidence import exports, pages, snapshots
from registry.evidence.charts import bar_chart
from registry.evidence.regions_map import MapCell, region_map
from registry.web.i18n import current_language
from registry.web.i18n import gettext as _

bp = Blueprint("evidence", __name__, url_prefix="/evidence")

MAX_AGE = 300
"""Seconds a browser or proxy may keep a page without asking again."""
CACHE_ENTRIES = 256
CACHE_SECONDS = 300.0
# A long run of periods makes a chart taller than a phone screen several
# times over (and heavier than the page budget allows): the table says it.
CHART_ROWS_MAX = 40
# Case summaries per proposal page: each may be 1,500 characters (≈ 3 KB in
# Cyrillic), and a page stays within 50 KB with its figures and charts.
SUMMARIES_PER_PAGE = 4
_CACHE_KEY = "registry.evidence.cache"
HEAD_SECONDS = 1.0
"""Seconds a worker keeps the latest snapshot's head without asking the database.

A snapshot published by another worker (or process) shows here at most
this much later; one published by this process shows at once
(:func:`registry.evidence.pages.generation`).  Within it, a cached index
or unit page sends the database no statement at all.
"""
_HEAD_KEY = "registry.evidence.head"

# The order and the kinds of figures a page shows per population kind.
INDEX_TABLES = ("violation", "region", "period", "place", "unit")
PROPOSAL_TABLES = ("strength", "violation", "region", "period", "place", "unit")
UNIT_TABLES = ("violation", "region", "period", "place")


# --- What a template gets ------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One row of a figures table, ready to show."""

    label: str
    value: str
    withheld: bool
    href: str | None = None


@dataclass(frozen=True)
class Figure:
    """A table of one population, with its chart (or map) and a note."""

    ident: str
    heading: str
    column: str
    note: str
    lines: list[Line]
    chart: Markup | None


@dataclass(frozen=True)
class ProposalLine:
    """A proposal in the index's table of a reform block."""

    title: str
    href: str
    cases: str
    strong: str
    illustrates: str
    withheld: bool


@dataclass(frozen=True)
class Block:
    """A reform block, its proposals and their chart."""

    title: str
    proposals: list[ProposalLine]
    chart: Markup | None


# --- Words -------------------------------------------------------------------


def _words() -> pages.Words:
    return pages.Words(
        unknown=_("Not known"), strong=_("Strong evidence"), illustrates=_("Illustrates")
    )


def _value(count: int | None, mark: str, k: int, span: int = 1) -> str:
    """A published count, or the reason there is none, in words with k."""
    if count is not None:
        return str(count)
    if mark == pages.HIDDEN:
        return str(_("hidden"))
    if span > 1:
        return str(_("fewer than %(k)d each", k=k))
    return str(_("fewer than %(k)d", k=k))


def _unavailable(marks: frozenset[str], k: int, each: bool = False) -> str:
    """What a chart writes where a bar is missing: only the reasons that occur.

    ``each``: some missing bar stands for several merged rows (a run of
    empty months), as the table says; "fewer than k" alone would read as
    their total.
    """
    if marks == {pages.HIDDEN}:
        return str(_("hidden"))
    if pages.HIDDEN in marks:
        if each:
            return str(_("fewer than %(k)d each, or hidden", k=k))
        return str(_("fewer than %(k)d or hidden", k=k))
    if each:
        return str(_("fewer than %(k)d each", k=k))
    return str(_("fewer than %(k)d", k=k))


def _headings() -> dict[str, tuple[str, str]]:
    """Per table: its heading and the title of its label column."""
    return {
        "strength": (_("How strongly the cases support it"), _("Support")),
        "violation": (_("Kinds of violation"), _("Violation")),
        "region": (_("Regions"), _("Region")),
        "period": (_("When it happened"), _("Period")),
        "place": (_("Places"), _("Place")),
        "unit": (_("Kinds of unit"), _("Kind of unit")),
        "proposal": (_("Reform proposals"), _("Proposal")),
    }


def _note(table: pages.Table) -> str:
    if table.dimension == "violation":
        return str(
            _(
                "A case can show several kinds of violation, so these numbers add up to more "
                "than the cases."
            )
        )
    if table.dimension == "period":
        grains: dict[str, str] = {
            "month": _("By month of the incident."),
            "quarter": _("By quarter of the incident: months would have shown too little."),
            "year": _("By year of the incident: months or quarters would have shown too little."),
        }
        return grains.get(table.grain or "", "")
    if table.dimension == "region":
        return str(_("Where it happened: the region, never a finer place."))
    return ""


# --- Building figures ------------------------------------------------------------


def _figure(
    population: pages.Population,
    name: str,
    snap: pages.Snapshot,
    labels: pages.Labels,
    href: Callable[[str], str | None] | None = None,
) -> Figure | None:
    table = population.table(name)
    if table is None:
        return None
    heading, column = _headings().get(name, (name, name))
    rows = pages.rows(table, labels)
    lines = [
        Line(
            row.label,
            _value(row.count, row.mark, snap.k, row.span),
            row.count is None,
            href(row.code) if href is not None and row.span == 1 else None,
        )
        for row in rows
    ]
    ident = f"{name}-{population.kind}"
    description = _("The same numbers are in the table below.")
    chart: Markup | None
    if table.dimension == "region":
        cells = [MapCell(r.code, r.count, _value(r.count, r.mark, snap.k)) for r in rows]
        chart = region_map(
            cells,
            lang=labels.lang,
            title=_("Map: %(heading)s", heading=heading),
            description=description,
            map_id=f"map-{ident}",
        )
    elif len(rows) > CHART_ROWS_MAX or all(row.count is None for row in rows):
        # Too long to read as a chart, or nothing to draw: the table says it.
        chart = None
    else:
        chart = bar_chart(
            heading,
            description,
            [(row.label, row.count) for row in rows],
            unavailable=_unavailable(
                table.marks, snap.k, each=any(r.span > 1 and r.count is None for r in rows)
            ),
            chart_id=f"chart-{ident}",
        )
    return Figure(ident, heading, column, _note(table), lines, chart)


def _figures(
    population: pages.Population,
    names: Sequence[str],
    snap: pages.Snapshot,
    labels: pages.Labels,
) -> list[Figure]:
    def unit_page(code: str) -> str | None:
        # Only kinds of unit with a page of their own (a published population).
        unit = snap.population(f"unit:{code}")
        return _url("evidence.unit", code=code) if unit and unit.cases is not None else None

    found = []
    for name in names:
        if population.kind == "unit" and name == "unit":
            continue
        figure = _figure(population, name, snap, labels, unit_page if name == "unit" else None)
        if figure is not None:
            found.append(figure)
    return found


def _blocks(snap: pages.Snapshot, labels: pages.Labels) -> list[Block]:
    everything = snap.population("all")
    table = everything.table("proposal") if everything else None
    if table is None:
        return []
    blocks = []
    for code, title in labels.catalogue.blocks:
        lines, chart_rows, marks = [], [], set()
        for proposal in labels.catalogue.block_proposals.get(code, ()):
            cell = table.cell(proposal)
            if cell is None:
                # Not in this snapshot (added to the catalogue since).
                continue
            population = snap.population(f"proposal:{proposal}")
            strengths = population.table("strength") if population else None

            def strength(which: str, found: pages.Table | None = strengths) -> str:
                part = found.cell(which) if found else None
                if part is None:
                    return _value(None, pages.FEWER, snap.k)
                return _value(part.count, part.mark, snap.k)

            name = labels.of("proposal", proposal)
            lines.append(
                ProposalLine(
                    title=name,
                    href=_url("evidence.proposal", code=proposal),
                    cases=_value(cell.count, cell.mark, snap.k),
                    strong=strength("strong"),
                    illustrates=strength("illustrates"),
                    withheld=cell.count is None,
                )
            )
            chart_rows.append((name, cell.count))
            if cell.mark:
                marks.add(cell.mark)
        if not lines:
            continue
        chart = None
        if any(count is not None for _label, count in chart_rows):
            chart = bar_chart(
                title,
                _("The same numbers are in the table below."),
                chart_rows,
                unavailable=_unavailable(frozenset(marks), snap.k),
                chart_id=f"chart-block-{code}",
            )
        blocks.append(Block(title, lines, chart))
    return blocks


def _url(endpoint: str, **values: str) -> str:
    return url_for(endpoint, **values)  # type: ignore[arg-type]


# --- Snapshots, read once per worker ------------------------------------------


def _checked(head: pages.Head) -> pages.Snapshot:
    """The snapshot's published figures, read, parsed and checked once per worker."""
    cache: dict[str, pages.Snapshot] = current_app.extensions.setdefault(
        "registry.evidence.snapshots", {}
    )
    found = cache.get(head.digest)
    if found is None:
        row = snapshots.by_number(db.session(), head.number)
        if row is None or row.digest != head.digest:
            abort(404)
        found = pages.read(snapshots.payload_of(row))
        if len(cache) >= 8:
            cache.clear()
        cache[head.digest] = found
    return found


def _latest() -> pages.Head | None:
    """The latest snapshot's head, as this worker last read it (at most HEAD_SECONDS ago).

    WHY a short time and not longer: a published snapshot is the newest
    protected state, and the start page should say so within a second.
    WHY it is safe to keep at all: the head names a published, immutable
    snapshot; the pages built from it hold nothing about a case that could
    change (case summaries, which can, are checked on every request).
    """
    generation = pages.generation()  # before the query: a bump during it means read again
    now = time.monotonic()
    kept: tuple[float, int, pages.Head | None] | None = current_app.extensions.get(_HEAD_KEY)
    if kept is not None and kept[1] == generation and now - kept[0] < HEAD_SECONDS:
        return kept[2]
    found = pages.latest_head(db.session())
    current_app.extensions[_HEAD_KEY] = (now, generation, found)
    return found


def _rendered(key: tuple[str, ...], render: Callable[[], str]) -> str:
    """A page from this worker's cache, or rendered now and kept.

    WHY only without a query string and without pending flash messages: the
    layout writes the request's path (language links) and the visitor's
    flash messages into the page, and what is cached here is shown to
    everyone who asks next.
    """
    if request.query_string or "_flashes" in session:
        return render()
    cache: OrderedDict[tuple[str, ...], tuple[float, str]] = current_app.extensions.setdefault(
        _CACHE_KEY, OrderedDict()
    )
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        cache.move_to_end(key)
        return hit[1]
    body = render()
    cache[key] = (now, body)
    while len(cache) > CACHE_ENTRIES:
        cache.popitem(last=False)
    return body


def _etag(row: pages.Head, *parts: str) -> str:
    return ".".join((row.digest[:32], *parts))


def _answer(
    etag: str,
    key: tuple[str, ...],
    render: Callable[[], str | bytes],
    *,
    mimetype: str = "text/html",
    language: bool = True,
    filename: str | None = None,
    fresh: bool = False,
) -> Response:
    """The page, or 304 when the client has it already; cacheable by anyone.

    ``fresh``: caches must ask again every time (the ETag makes that a
    cheap 304) — for pages with case summaries, which leave at once when a
    submitter withdraws or takes back consent.

    WHY public caching is safe here: a page holds only a published snapshot,
    the same for every visitor of a language (``Vary``), and no case data.
    """
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    elif mimetype == "text/html":
        response = Response(_rendered(key, lambda: str(render())), mimetype=mimetype)
    else:
        response = Response(render(), mimetype=mimetype)
        if filename is not None:
            response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(etag)
    if session.modified:
        # Showing the page used up a flash message: the session cookie is
        # sent again, and a shared cache must not keep it (the security
        # headers then answer "no-store").
        return response
    cache_control = "public, no-cache" if fresh else f"public, max-age={MAX_AGE}"
    response.headers["Cache-Control"] = cache_control
    if language:
        # The language comes from the cookie or from Accept-Language.
        response.vary.update(("Cookie", "Accept-Language"))
    return response


# --- Pages ---------------------------------------------------------------------


def _no_snapshot() -> Response:
    return Response(render_template("public/evidence/none.html"), mimetype="text/html")


@bp.get("")
def index() -> Response:
    """The latest snapshot: proposals per block, violations, regions, periods, places, units."""
    dbs, lang = db.session(), current_language()
    row = _latest()
    if row is None:
        return _no_snapshot()

    def render() -> str:
        snap = _checked(row)
        labels = pages.labels(dbs, lang, _words())
        everything = snap.population("all")
        return render_template(
            "public/evidence/index.html",
            snap=snap,
            cases=_value(
                everything.cases if everything else None,
                everything.mark if everything else pages.FEWER,
                snap.k,
            ),
            blocks=_blocks(snap, labels),
            figures=_figures(everything, INDEX_TABLES, snap, labels) if everything else [],
            files=_downloads(snap),
            history=pages.history(dbs)[1:],
        )

    return _answer(_etag(row, lang), ("index", lang, row.digest), render)


@bp.get("/proposal/<code>")
def proposal(code: str) -> Response:
    """One reform proposal: its block, its figures and its published case summaries."""
    dbs, lang = db.session(), current_language()
    row = _latest()
    if row is None:
        if code not in pages.catalogue(dbs, lang).proposals:
            abort(404)
        return _no_snapshot()
    snap = _checked(row)
    population = snap.population(f"proposal:{code}")
    if population is None:
        abort(404)
    summaries = pages.summaries_version(dbs, row.id)
    part = _summaries_part()

    def render() -> str:
        labels = pages.labels(dbs, lang, _words())
        title, block, description = labels.catalogue.proposals.get(code, (code, "", ""))
        region_titles = labels.vocabularies.get("region", {})
        shown = pages.shown_summaries(population, pages.summaries_for(dbs, row.id, code))
        parts = max(1, -(-len(shown) // SUMMARIES_PER_PAGE))
        if part > parts:
            abort(404)
        first = (part - 1) * SUMMARIES_PER_PAGE
        return render_template(
            "public/evidence/proposal.html",
            snap=snap,
            title=title,
            block=labels.catalogue.block_title(block),
            description=description,
            cases=_value(population.cases, population.mark, snap.k),
            published=population.cases is not None,
            hidden=population.mark == pages.HIDDEN,
            figures=_figures(population, PROPOSAL_TABLES, snap, labels),
            summaries=[
                (
                    s.text,
                    region_titles.get(s.region, s.region) if s.region else _("region not shown"),
                    s.year,
                )
                for s in shown[first : first + SUMMARIES_PER_PAGE]
            ],
            summaries_part=(part, parts, first + 1, min(first + SUMMARIES_PER_PAGE, len(shown))),
            summaries_total=len(shown),
            part_url=lambda n: _url(
                "evidence.proposal", code=code, _anchor="summaries", **_part_args(n)
            ),
            files=_downloads(snap),
        )

    key = ("proposal", code, lang, row.digest, summaries, str(part))
    return _answer(_etag(row, lang, summaries, str(part)), key, render, fresh=True)


def _summaries_part() -> int:
    """Which part of the summaries is asked for (``?summaries=N``, from 1); 404 if not a number."""
    asked = request.args.get("summaries", "1")
    if not asked.isascii() or not asked.isdigit() or len(asked) > 4 or int(asked) < 1:
        abort(404)
    return int(asked)


def _part_args(part: int) -> dict[str, str]:
    return {"summaries": str(part)} if part > 1 else {}


@bp.get("/unit/<code>")
def unit(code: str) -> Response:
    """One kind of unit (never individual officers): its figures."""
    dbs, lang = db.session(), current_language()
    row = _latest()
    if row is None:
        if code not in pages.labels(dbs, lang, _words()).vocabularies.get("unit", {}):
            abort(404)
        return _no_snapshot()
    snap = _checked(row)
    population = snap.population(f"unit:{code}")
    if population is None:
        abort(404)

    def render() -> str:
        labels = pages.labels(dbs, lang, _words())
        return render_template(
            "public/evidence/unit.html",
            snap=snap,
            title=labels.of("unit", code),
            cases=_value(population.cases, population.mark, snap.k),
            published=population.cases is not None,
            hidden=population.mark == pages.HIDDEN,
            figures=_figures(population, UNIT_TABLES, snap, labels),
            files=_downloads(snap),
        )

    return _answer(_etag(row, lang), ("unit", code, lang, row.digest), render)


# --- Downloads -------------------------------------------------------------------


def _downloads(snap: pages.Snapshot) -> list[tuple[str, str]]:
    """(file name, address) of every download of ``snap``."""
    number = str(snap.number)
    found = [
        ("datapackage.json", _url("evidence.datapackage", number=number)),
        ("data.json", _url("evidence.data", number=number)),
    ]
    found += [
        (f"{name}.csv", _url("evidence.table", number=number, name=name))
        for name in exports.resource_names(snap)
    ]
    return found


def _snapshot(number: int) -> pages.Head:
    found = pages.head_of(db.session(), number)
    if found is None:
        abort(404)
    return found


@bp.get("/<int:number>/data.json")
def data(number: int) -> Response:
    """The snapshot's published figures as JSON (the payload without anything internal)."""
    row = _snapshot(number)
    return _answer(
        _etag(row, "json"),
        (),
        lambda: exports.data_json(_checked(row)),
        mimetype="application/json",
        language=False,
    )


@bp.get("/<int:number>/datapackage.json")
def datapackage(number: int) -> Response:
    """The Frictionless Data Package describing the snapshot's CSV files."""
    row = _snapshot(number)
    return _answer(
        _etag(row, "package"),
        (),
        lambda: exports.datapackage_json(_checked(row)),
        mimetype="application/json",
        language=False,
    )


@bp.get("/<int:number>/<name>.csv")
def table(number: int, name: str) -> Response:
    """One table of the snapshot as CSV, every population's cells in one file."""
    row = _snapshot(number)
    snap = _checked(row)
    if name not in exports.resource_names(snap):
        abort(404)
    return _answer(
        _etag(row, "csv", name),
        (),
        lambda: exports.csv_text(snap, name, pages.labels(db.session(), "en", exports.ENGLISH)),
        mimetype="text/csv",
        language=False,
        filename=f"sviedka-evidence-{snap.number}-{name}.csv",
    )
