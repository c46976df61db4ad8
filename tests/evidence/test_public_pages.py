"""The public evidence pages: the latest snapshot only, protected, cached, in be/ru/en."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event, insert
from sqlalchemy.orm import Session

from registry import db
from registry.evidence import figures, snapshots, views
from registry.models import EvidenceSnapshot, ReformProposal, SnapshotSummary, VocabularyTerm
from registry.web.security import CSP
from tests.evidence import published
from tests.evidence.plain import add_case

PAGE_BUDGET = 50 * 1024
PROPOSAL = "torture-criminalise"


@contextmanager
def _db(app: Flask) -> Iterator[Session]:
    """A database session for setting up and looking up, committed and closed after.

    Never left open across a request: a request inside an open app context
    would share its ``g``, and with it the language chosen for an earlier one.
    """
    with app.app_context():
        session = db.session()
        yield session
        session.commit()


def _publish(app: Flask, **options: Any) -> int:
    """Store a realistic snapshot (see tests/evidence/published.py); its row id."""
    with _db(app) as session:
        return published.store(session, published.payload(session, **options)).id


def _client(app: Flask, lang: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    return client


def _text(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return response.get_data(as_text=True)


def _title(app: Flask, kind: str, code: str, lang: str) -> str:
    """A vocabulary term's title (kind "proposal": a proposal's), as a page escapes it."""
    with _db(app) as session:
        row = (
            session.get(ReformProposal, code)
            if kind == "proposal"
            else session.get(VocabularyTerm, (kind, code))
        )
        assert row is not None
        title = row.title(lang)
    return title.replace("&", "&amp;").replace('"', "&#34;").replace("'", "&#39;")


# --- Before the first snapshot -----------------------------------------------------


def test_no_snapshot_yet_is_a_page_not_an_error(client: FlaskClient) -> None:
    page = _text(client, "/evidence")
    assert "No snapshot has been published yet" in page
    assert "What is published here, and why it is safe" in page
    # A known proposal or unit says the same; an unknown one is not found.
    assert "No snapshot has been published yet" in _text(client, f"/evidence/proposal/{PROPOSAL}")
    assert "No snapshot has been published yet" in _text(client, "/evidence/unit/omon")
    _text(client, "/evidence/proposal/no-such-proposal", 404)
    _text(client, "/evidence/unit/no-such-unit", 404)
    _text(client, "/evidence/1/data.json", 404)
    _text(client, "/evidence/1/datapackage.json", 404)
    _text(client, "/evidence/1/region.csv", 404)


def test_start_page_links_to_the_evidence(client: FlaskClient) -> None:
    assert 'href="/evidence"' in _text(client, "/")


# --- The pages -------------------------------------------------------------------


def test_index_shows_every_figure_with_its_table(app: Flask, client: FlaskClient) -> None:
    _publish(app)
    page = _text(client, "/evidence")
    assert "This is snapshot 1, published on 3 December 2026." in page
    # Blocks and proposals from the catalogue, titles in English, linked.
    assert _title(app, "proposal", PROPOSAL, "en") in page
    assert f'href="/evidence/proposal/{PROPOSAL}"' in page
    for section in ("proposals", "violation-all", "region-all", "period-all", "place-all"):
        assert f'id="{section}"' in page
    assert _title(app, "violation_types", "torture", "en") in page
    assert _title(app, "places", "district-police", "en") in page
    # Every chart stands next to its table; the regions have a map.
    charts = page.count('<div class="chart">')
    assert charts >= 6
    assert page.count('<table class="figures"') >= charts
    assert 'class="map"' in page
    # Withheld cells in words, with k.
    assert "fewer than 5" in page
    assert ">hidden<" in page
    # A long empty stretch of months is one row.
    assert "January 2000 – July 2020" in page
    assert "fewer than 5 each" in page
    # Downloads and the licence.
    assert 'href="/evidence/1/datapackage.json"' in page
    assert 'href="/evidence/1/data.json"' in page
    assert 'href="/evidence/1/region.csv"' in page
    assert "CC BY 4.0" in page


def test_index_links_units_with_figures_of_their_own(app: Flask, client: FlaskClient) -> None:
    def cases(key: str) -> int | None:
        return None if key == "unit:kgb" else 2_000 if key != "all" else 30_000

    _publish(app, cases=cases)
    page = _text(client, "/evidence")
    assert 'href="/evidence/unit/omon"' in page
    assert 'href="/evidence/unit/kgb"' not in page


def test_proposal_page(app: Flask, client: FlaskClient) -> None:
    _publish(app)
    page = _text(client, f"/evidence/proposal/{PROPOSAL}")
    assert f"<h1>{_title(app, 'proposal', PROPOSAL, 'en')}</h1>" in page
    assert "From the draft police reform:" in page
    assert 'id="strength-proposal"' in page
    assert "Strong evidence" in page
    assert 'class="map"' in page
    assert "Verified cases supporting this proposal: <strong>2000</strong>" in page


def test_unit_page(app: Flask, client: FlaskClient) -> None:
    _publish(app)
    page = _text(client, "/evidence/unit/omon")
    assert f"<h1>{_title(app, 'units', 'omon', 'en')}</h1>" in page
    assert "never for individual officers" in page
    assert 'id="violation-unit"' in page
    assert 'id="unit-unit"' not in page


def test_population_below_k_publishes_nothing_more(app: Flask, client: FlaskClient) -> None:
    def cases(key: str) -> int | None:
        return None if key in (f"proposal:{PROPOSAL}", "unit:kgb") else 2_000

    _publish(app, cases=cases)
    page = _text(client, f"/evidence/proposal/{PROPOSAL}")
    assert "Verified cases supporting this proposal: <strong>fewer than 5</strong>" in page
    assert "nothing more is published" in page
    assert '<div class="chart">' not in page
    assert "nothing more is published" in _text(client, "/evidence/unit/kgb")


def test_a_withheld_population_is_not_called_small(app: Flask, client: FlaskClient) -> None:
    # A population withheld whole (its size moved by 1 … k−1 since the last
    # snapshot) may be large: saying "fewer than k" would be false, and
    # telling it apart from a small one would say why it was withheld.
    def cases(key: str) -> int | None:
        return None if key in (f"proposal:{PROPOSAL}", "unit:kgb") else 2_000

    hidden = frozenset({f"proposal:{PROPOSAL}", "unit:kgb"})
    _publish(app, cases=cases, hidden=hidden)
    for path in (f"/evidence/proposal/{PROPOSAL}", "/evidence/unit/kgb"):
        page = _text(client, path)
        assert "<strong>hidden</strong>" in page
        assert "withholds its figures" in page
        assert "<strong>fewer than 5</strong>" not in page
        assert "nothing more is published" not in page
        assert '<div class="chart">' not in page
    data = client.get("/evidence/1/data.json").get_json()
    assert data["populations"]["unit:kgb"] == {
        "kind": "unit",
        "code": "kgb",
        "cases": None,
        "mark": "hidden",
        "tables": {},
    }
    rows = client.get("/evidence/1/populations.csv").get_data(as_text=True).splitlines()
    assert any(row.startswith("unit:kgb,unit,kgb,") and row.endswith(",,hidden") for row in rows)


def test_pages_show_only_the_latest_snapshot(app: Flask, client: FlaskClient) -> None:
    _publish(app)
    first = client.get("/evidence")
    _publish(app, number=2, today=date(2027, 1, 5))
    page = _text(client, "/evidence")
    assert "This is snapshot 2, published on 5 January 2027." in page
    assert client.get("/evidence").headers["ETag"] != first.headers["ETag"]
    # Earlier snapshots stay downloadable, and the index says where.
    assert 'href="/evidence/1/datapackage.json"' in page
    assert client.get("/evidence/1/data.json").status_code == 200


def test_unknown_addresses_are_not_found_in_the_persons_language(app: Flask) -> None:
    _publish(app)
    for lang, words in (("en", "Page not found"), ("ru", "Страница не найдена")):
        client = _client(app, lang)
        for path in (
            "/evidence/proposal/no-such-proposal",
            "/evidence/unit/no-such-unit",
            "/evidence/proposal/..%2f..%2fetc",
            "/evidence/2/data.json",
            "/evidence/0/datapackage.json",
            "/evidence/1/no-such-table.csv",
            "/evidence/1/Region.csv",
            "/evidence/99999999999999999999/data.json",
        ):
            response = client.get(path)
            assert response.status_code == 404, path
            assert words in response.get_data(as_text=True), (lang, path)
            assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("lang", ["be", "ru", "en"])
def test_pages_in_every_language(app: Flask, lang: str) -> None:
    _publish(app)
    client = _client(app, lang)
    page = _text(client, "/evidence")
    assert f'<html lang="{lang}">' in page
    assert _title(app, "violation_types", "torture", lang) in page
    assert _title(app, "proposal", PROPOSAL, lang) in page
    words = {"be": "менш за 5", "ru": "меньше 5", "en": "fewer than 5"}[lang]
    assert words in page
    assert _title(app, "units", "omon", lang) in _text(client, "/evidence/unit/omon")
    # The language cookie wins over the browser's language.
    client.set_cookie("lang", "be")
    assert '<html lang="be">' in _text(client, f"/evidence/proposal/{PROPOSAL}")


# --- Summaries -----------------------------------------------------------------------


def test_summaries_shown_with_region_and_year_and_gone_at_once(
    app: Flask, client: FlaskClient
) -> None:
    snapshot_id = _publish(app)
    with _db(app) as session:
        report_id = add_case(session, consent_publish=True).id
        session.add(
            SnapshotSummary(
                snapshot_id=snapshot_id,
                report_id=report_id,
                text="Beaten in a police van after a protest.\nReleased the next week.",
                region="gomel",
                period="2021",
                proposals=f'["{PROPOSAL}"]',
            )
        )
    path = f"/evidence/proposal/{PROPOSAL}"
    shown = client.get(path)
    page = shown.get_data(as_text=True)
    assert "<p>Beaten in a police van after a protest.</p>" in page
    assert "<p>Released the next week.</p>" in page
    assert "Gomel region · 2021" in page
    assert "Case summaries are written by the staff" in page
    # Only on the pages of the proposals the case supports.
    assert "Beaten in a police van" not in _text(client, "/evidence/proposal/custody-safeguards")
    assert "Beaten in a police van" not in _text(client, "/evidence")
    # Withdrawn: the page and its ETag change at once (no stale cached copy).
    with _db(app) as session:
        session.execute(delete(SnapshotSummary).where(SnapshotSummary.report_id == report_id))
    again = client.get(path, headers={"If-None-Match": shown.headers["ETag"]})
    assert again.status_code == 200
    assert "Beaten in a police van" not in again.get_data(as_text=True)


def _summary(app: Flask, snapshot_id: int, text: str, region: str, year: str) -> None:
    with _db(app) as session:
        report_id = add_case(session, consent_publish=True).id
        session.add(
            SnapshotSummary(
                snapshot_id=snapshot_id,
                report_id=report_id,
                text=text,
                region=region,
                period=year,
                proposals=f'["{PROPOSAL}"]',
            )
        )


def test_summaries_never_bound_a_withheld_count(app: Flask, client: FlaskClient) -> None:
    # Each summary proves one case in its region and year: shown beside a
    # withheld count it would bound it from below.  Gomel's cell and every
    # period of 2021 are withheld here; Brest and 2022 are published.
    def fill(population: str, table: str, code: str) -> tuple[int | None, str]:
        if population == f"proposal:{PROPOSAL}" and (
            code == "gomel" or (table == "period" and code.startswith("2021"))
        ):
            return None, "fewer-than-k"
        return 40, ""

    snapshot_id = _publish(app, fill=fill)
    _summary(app, snapshot_id, "Held for three days without water.", "gomel", "2022")
    _summary(app, snapshot_id, "Beaten during the arrest.", "brest", "2021")
    page = _text(client, f"/evidence/proposal/{PROPOSAL}")
    assert "Held for three days without water." in page
    assert "region not shown · 2022" in page
    assert "Gomel" not in page.split('id="summaries"')[1]
    assert "Brest region · year not shown" in page


def test_no_summaries_beside_a_proposal_that_publishes_nothing(app: Flask) -> None:
    for number, hidden in ((1, frozenset()), (2, frozenset({f"proposal:{PROPOSAL}"}))):
        snapshot_id = _publish(
            app,
            number=number,
            today=date(2027, number, 5),
            cases=lambda key: None if key == f"proposal:{PROPOSAL}" else 2_000,
            hidden=hidden,
        )
        _summary(app, snapshot_id, f"Summary number {number}.", "brest", "2022")
        page = _text(_client(app, "en"), f"/evidence/proposal/{PROPOSAL}")
        assert f"Summary number {number}." not in page
        assert 'id="summaries"' not in page


# --- Caching ---------------------------------------------------------------------------


def test_etag_cache_control_and_not_modified(app: Flask) -> None:
    _publish(app)
    client = _client(app, "en")
    # Proposal pages show case summaries, which must leave at once when a
    # submitter withdraws: caches revalidate them every time.
    pages = {
        "/evidence": "public, max-age=300",
        f"/evidence/proposal/{PROPOSAL}": "public, no-cache",
        "/evidence/unit/omon": "public, max-age=300",
    }
    for path, cache_control in pages.items():
        first = client.get(path)
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == cache_control
        vary = {value.strip() for value in first.headers["Vary"].split(",")}
        assert {"Cookie", "Accept-Language"} <= vary
        assert "Pragma" not in first.headers
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.get_data() == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == cache_control
        # Another language is another representation.
        russian = _client(app, "ru")
        assert russian.get(path).headers["ETag"] != etag
        assert russian.get(path, headers={"If-None-Match": etag}).status_code == 200


def test_no_snapshot_page_is_not_cached(client: FlaskClient) -> None:
    response = client.get("/evidence")
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


def test_a_page_that_shows_a_flash_message_is_not_cached(app: Flask) -> None:
    _publish(app)
    client = _client(app, "en")
    client.get("/evidence")  # kept by the worker now
    with client.session_transaction() as flask_session:
        flask_session["_flashes"] = [("message", "Only for this visitor.")]
    response = client.get("/evidence")
    assert "Only for this visitor." in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    # And it was not kept for the next visitor.
    assert "Only for this visitor." not in _text(_client(app, "en"), "/evidence")


def test_pages_read_only_the_stored_snapshot(app: Flask, client: FlaskClient) -> None:
    """No per-view aggregation: cases verified after publication change nothing."""
    _publish(app)
    before = _text(client, "/evidence")
    with _db(app) as session:
        for _ in range(3):
            add_case(session, proposals={PROPOSAL: "strong"})
    assert _text(client, "/evidence") == before


# --- Size, safety --------------------------------------------------------------------------


def _pages(app: Flask) -> list[str]:
    with _db(app) as session:
        cells = figures.cells(session, published.TODAY)
    return [
        "/evidence",
        *(f"/evidence/proposal/{code}" for code in cells.proposal),
        *(f"/evidence/unit/{code}" for code in cells.unit),
    ]


@pytest.mark.parametrize("grain", ["month", "quarter", "year"])
def test_every_page_within_50_kb(app: Flask, grain: str) -> None:
    """Realistic payloads: every vocabulary, every proposal, most cells published."""
    _publish(app, grain=grain)
    sizes: dict[str, int] = {}
    for lang in ("be", "ru", "en"):
        client = _client(app, lang)
        for path in _pages(app):
            sizes[f"{lang} {path}"] = len(client.get(path).get_data())
    largest = max(sizes, key=lambda name: sizes[name])
    print(f"largest page ({grain}): {largest} {sizes[largest]} bytes")  # noqa: T201
    assert sizes[largest] <= PAGE_BUDGET, largest


def test_pages_keep_the_security_policy(app: Flask, client: FlaskClient) -> None:
    _publish(app)
    for path in ("/evidence", f"/evidence/proposal/{PROPOSAL}", "/evidence/unit/omon"):
        response = client.get(path)
        assert response.headers["Content-Security-Policy"] == CSP
        html = response.get_data(as_text=True)
        assert "<script" not in html
        assert "<style" not in html
        assert not re.search(r"\sstyle=", html)
        assert "javascript:" not in html
        for marker in ("http://", "https://", "//"):
            for attr in ("src=", "href=", "action=", "xlink:href="):
                assert f'{attr}"{marker}' not in html
        # Every SVG is labelled for screen readers.
        for svg in re.findall(r"<svg[^>]*>", html):
            assert 'role="img"' in svg
            assert "aria-labelledby=" in svg


@pytest.mark.parametrize(
    ("grain", "note", "cell"),
    [
        ("year", "By year of the incident", ">2021<"),
        ("quarter", "By quarter of the incident", ">Q3 2021<"),
    ],
)
def test_coarser_periods(app: Flask, client: FlaskClient, grain: str, note: str, cell: str) -> None:
    _publish(app, grain=grain)
    page = _text(client, "/evidence")
    assert note in page
    assert cell in page


# --- What a cached page costs ------------------------------------------------------------


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    """Every statement sent to the database meanwhile."""
    with app.app_context():
        engine = db.engine()
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(" ".join(sql.split()))

    def checkout(*_args: Any) -> None:
        seen.append("(connection checked out)")

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine.pool, "checkout", checkout)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine.pool, "checkout", checkout)


def test_a_cached_page_asks_the_database_nothing(app: Flask) -> None:
    _publish(app)
    client = _client(app, "en")
    paths = ("/evidence", "/evidence/unit/omon", f"/evidence/proposal/{PROPOSAL}")
    etags = {path: client.get(path).headers["ETag"] for path in paths}  # kept by the worker now
    for path in paths[:2]:
        with _statements(app) as seen:
            assert client.get(path).status_code == 200
            assert client.get(path, headers={"If-None-Match": etags[path]}).status_code == 304
        assert seen == [], path
    # A proposal page still asks which case summaries the snapshot holds,
    # every time (a removed summary leaves at once), and nothing else.
    with _statements(app) as seen:
        assert client.get(paths[2]).status_code == 200
    assert len(seen) == 2
    assert "snapshot_summaries" in seen[1]


def test_a_snapshot_published_here_shows_at_once(app: Flask) -> None:
    _publish(app)
    client = _client(app, "en")
    first = client.get("/evidence/unit/omon").headers["ETag"]
    assert "This is snapshot 1," in _text(client, "/evidence")
    _publish(app, number=2, today=date(2027, 1, 5))
    assert "This is snapshot 2, published on 5 January 2027." in _text(client, "/evidence")
    assert client.get("/evidence/unit/omon").headers["ETag"] != first


def test_a_snapshot_published_elsewhere_shows_within_the_heads_time(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker's snapshot: this worker sees it once its copy of the head runs out."""
    _publish(app)
    client = _client(app, "en")
    assert "This is snapshot 1," in _text(client, "/evidence")
    with _db(app) as session:
        body = published.payload(session, number=2, today=date(2027, 1, 5))
    text = snapshots.encode(body)
    with app.app_context(), db.engine().begin() as connection:
        # Written past this process's ORM, as another worker's would be.
        connection.execute(
            insert(EvidenceSnapshot).values(
                number=2,
                published_on=date(2027, 1, 5),
                k=body["k"],
                payload=text,
                digest=snapshots.digest(text),
                published_by=None,
            )
        )
    assert "This is snapshot 1," in _text(client, "/evidence")
    monkeypatch.setattr(views, "HEAD_SECONDS", 0.0)
    assert "This is snapshot 2, published on 5 January 2027." in _text(client, "/evidence")


def test_summaries_come_in_parts_that_keep_each_page_small(app: Flask) -> None:
    # Each summary may be 1,500 characters (≈ 3 KB in Cyrillic): ten of them
    # on one page would pass the 50 KB budget, so a page shows four.
    snapshot_id = _publish(app)
    long_text = ("Збілі ў аўтобусе, потым трымалі ў камеры без вады і ежы. " * 27)[:1_500]
    for number in range(10):
        _summary(app, snapshot_id, f"{number:02d} {long_text}"[:1_500], "brest", "2022")
    path = f"/evidence/proposal/{PROPOSAL}"
    seen: list[str] = []
    for lang in ("be", "ru", "en"):
        client = _client(app, lang)
        for part, count in ((1, 4), (2, 4), (3, 2)):
            response = client.get(path, query_string={"summaries": part} if part > 1 else {})
            assert response.status_code == 200
            assert len(response.get_data()) <= PAGE_BUDGET, (lang, part)
            page = response.get_data(as_text=True)
            shown = [n for n in range(10) if f"<p>{n:02d} " in page]
            assert len(shown) == count
            if lang == "en":
                seen += [f"{n:02d}" for n in shown]
                assert ("More summaries" in page) == (part < 3)
                assert ("Earlier summaries" in page) == (part > 1)
                assert f"Summaries {4 * part - 3}–{4 * part - 3 + count - 1} of 10" in page
        for asked in ("4", "0", "x", "1e3", "٣"):
            assert client.get(path, query_string={"summaries": asked}).status_code == 404
    # Every summary once, none twice, in the same order as one list would give.
    assert seen == sorted(seen)
    assert len(set(seen)) == 10
