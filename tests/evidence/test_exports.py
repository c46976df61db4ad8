"""Open data: data.json, one CSV per table and a Frictionless datapackage.json per snapshot.

And the promise behind every public number: no page or download shows a
count below k, whatever the payload holds.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from registry import db
from registry.evidence import exports, figures, snapshots
from tests.evidence import published
from tests.evidence.plain import add_case

K = published.K
TABLE_COLUMNS = ["population", "dimension", "grain", "code", "label_en", "count", "mark"]


@contextmanager
def _db(app: Flask) -> Iterator[Session]:
    """A session for setting up, committed and closed before any request."""
    with app.app_context():
        session = db.session()
        yield session
        session.commit()


def _publish(app: Flask, **options: Any) -> dict[str, Any]:
    """Store a realistic snapshot; return its payload."""
    with _db(app) as session:
        body = published.payload(session, **options)
        published.store(session, body)
    return body


def _csv(client: FlaskClient, path: str) -> list[dict[str, str]]:
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _datapackage(client: FlaskClient, number: int) -> dict[str, Any]:
    response = client.get(f"/evidence/{number}/datapackage.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    package: dict[str, Any] = response.get_json()
    return package


# --- data.json -------------------------------------------------------------------


def test_data_json_is_the_payload_without_internals(app: Flask, client: FlaskClient) -> None:
    with _db(app) as session:
        body = published.payload(session)
        body["builder_notes"] = {"raw": 3}
        body["populations"]["all"]["raw_cases"] = 1
        body["populations"]["all"]["tables"]["region"]["cells"][0]["raw"] = 2
        published.store(session, body)
    response = client.get("/evidence/1/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert set(data) == {"format", "number", "published_on", "k", "licence", "populations"}
    assert (data["format"], data["number"], data["published_on"], data["k"]) == (
        "sviedka-evidence-v1",
        1,
        "2026-12-03",
        K,
    )
    assert data["licence"] == "CC-BY-4.0"
    everything = data["populations"]["all"]
    assert set(everything) == {"kind", "code", "cases", "mark", "tables"}
    assert set(everything["tables"]["region"]["cells"][0]) == {"code", "count", "mark"}
    # The figures themselves are the payload's.
    for key, population in body["populations"].items():
        assert data["populations"][key]["cases"] == population["cases"]
        for name, table in population["tables"].items():
            cells = data["populations"][key]["tables"][name]["cells"]
            expected = [{k: c[k] for k in ("code", "count", "mark")} for c in table["cells"]]
            assert cells == expected


def test_downloads_are_cacheable_and_language_free(app: Flask, client: FlaskClient) -> None:
    _publish(app)
    for path in ("/evidence/1/data.json", "/evidence/1/datapackage.json", "/evidence/1/region.csv"):
        first = client.get(path)
        assert first.headers["Cache-Control"] == "public, max-age=300"
        assert "Accept-Language" not in first.headers.get("Vary", "")
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
        russian = app.test_client()
        russian.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
        assert russian.get(path).get_data() == first.get_data()


def test_earlier_snapshots_stay_downloadable(app: Flask, client: FlaskClient) -> None:
    first = _publish(app)
    _publish(app, number=2, fill=published.realistic(seed=2))
    assert client.get("/evidence/1/data.json").get_json()["number"] == 1
    assert client.get("/evidence/2/data.json").get_json()["number"] == 2
    old = client.get("/evidence/1/data.json").get_json()["populations"]["all"]
    assert (
        old["tables"]["region"]["cells"] == first["populations"]["all"]["tables"]["region"]["cells"]
    )


# --- CSV -------------------------------------------------------------------------


def test_one_csv_per_table_with_stable_columns(app: Flask, client: FlaskClient) -> None:
    body = _publish(app)
    names = ["region", "violation", "place", "unit", "period", "proposal", "strength"]
    for name in names:
        response = client.get(f"/evidence/1/{name}.csv")
        header = response.get_data(as_text=True).split("\r\n", 1)[0]
        assert header == ",".join(TABLE_COLUMNS), name
        assert 'filename="sviedka-evidence-1-' in response.headers["Content-Disposition"]
        rows = _csv(client, f"/evidence/1/{name}.csv")
        expected = [
            (key, cell)
            for key, population in body["populations"].items()
            for cell in population["tables"].get(name, {}).get("cells", [])
        ]
        assert len(rows) == len(expected), name
        for row, (key, cell) in zip(rows, expected, strict=True):
            assert row["population"] == key
            assert row["dimension"] == name
            assert row["code"] == cell["code"]
            assert row["mark"] == cell["mark"]
            assert row["count"] == ("" if cell["count"] is None else str(cell["count"]))
            assert row["grain"] == ("month" if name == "period" else "")
            assert row["label_en"]


def test_csv_labels_are_english_whatever_the_page_language(app: Flask) -> None:
    _publish(app)
    client = app.test_client()
    client.set_cookie("lang", "be")
    rows = _csv(client, "/evidence/1/region.csv")
    labels = {row["code"]: row["label_en"] for row in rows if row["population"] == "all"}
    assert labels["minsk-city"] == "Minsk city"
    assert labels["gomel"] == "Gomel region"
    months = {row["code"]: row["label_en"] for row in _csv(client, "/evidence/1/period.csv")}
    assert months["2021-08"] == "August 2021"
    assert months["unknown"] == "Not known"
    strengths = {row["code"]: row["label_en"] for row in _csv(client, "/evidence/1/strength.csv")}
    assert strengths == {"strong": "Strong evidence", "illustrates": "Illustrates"}


def test_populations_csv(app: Flask, client: FlaskClient) -> None:
    def cases(key: str) -> int | None:
        return None if key == "unit:kgb" else 1_000

    _publish(app, cases=cases)
    rows = {row["population"]: row for row in _csv(client, "/evidence/1/populations.csv")}
    assert rows["all"]["label_en"] == "All verified cases"
    assert rows["unit:kgb"]["cases"] == ""
    assert rows["unit:kgb"]["mark"] == "fewer-than-k"
    assert rows["unit:omon"]["cases"] == "1000"
    assert rows["unit:omon"]["label_en"] == "OMON (riot police)"
    # A population below k has no rows in any table.
    assert all(row["population"] != "unit:kgb" for row in _csv(client, "/evidence/1/region.csv"))


# --- The data package --------------------------------------------------------------


def test_datapackage_lists_every_csv_with_its_schema(app: Flask, client: FlaskClient) -> None:
    _publish(app)
    package = _datapackage(client, 1)
    assert package["profile"] == "tabular-data-package"
    assert package["name"] == "sviedka-evidence-1"
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    assert (package["published_on"], package["k"]) == ("2026-12-03", K)
    names = [resource["name"] for resource in package["resources"]]
    assert names == [
        "populations",
        "proposal",
        "strength",
        "violation",
        "region",
        "period",
        "place",
        "unit",
    ]
    page = client.get("/evidence").get_data(as_text=True)
    for resource in package["resources"]:
        assert resource["path"] == f"{resource['name']}.csv"
        assert f'href="/evidence/1/{resource["path"]}"' in page
        schema = resource["schema"]
        assert schema["missingValues"] == [""]
        fields = {field["name"]: field for field in schema["fields"]}
        counted = "cases" if resource["name"] == "populations" else "count"
        assert fields[counted]["type"] == "integer"
        assert fields[counted]["constraints"] == {"minimum": K}
        assert fields["mark"]["constraints"] == {"enum": ["fewer-than-k", "hidden"]}
        if resource["name"] != "populations":
            assert [field["name"] for field in schema["fields"]] == TABLE_COLUMNS


def test_datapackage_validates_with_frictionless(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    """The files as downloaded, side by side, pass Frictionless validation."""
    frictionless = pytest.importorskip("frictionless")
    _publish(app)
    package = _datapackage(client, 1)
    (tmp_path / "datapackage.json").write_bytes(
        client.get("/evidence/1/datapackage.json").get_data()
    )
    for resource in package["resources"]:
        path = resource["path"]
        (tmp_path / path).write_bytes(client.get(f"/evidence/1/{path}").get_data())
    descriptor = str(tmp_path / "datapackage.json")
    with warnings.catch_warnings():
        # pygal puts an import hook without find_spec on sys.meta_path; Python
        # warns about it when frictionless (through dateutil) looks for a
        # Windows-only module while it loads its formats.
        warnings.simplefilter("ignore", ImportWarning)
        report = frictionless.validate(descriptor)
        assert report.valid, report.flatten(["type", "note", "resourcePath", "rowNumber"])[:10]
        # And the schema bites: a count below k in a file is an error.
        region = (tmp_path / "region.csv").read_bytes().decode("utf-8")
        broken = re.sub(r",\d+,\r\n", ",1,\r\n", region, count=1)
        assert broken != region
        (tmp_path / "region.csv").write_bytes(broken.encode("utf-8"))
        report = frictionless.validate(descriptor)
    assert not report.valid
    assert "constraint-error" in {error.type for task in report.tasks for error in task.errors}


# --- No count below k, anywhere ------------------------------------------------------

# Where a page writes a count: table cells, the totals, the proposals' strength
# line, and the numbers of the charts and the map.
_COUNTS = re.compile(
    r"<td[^>]*>([^<]*)</td>"
    r"|<strong>([^<]*)</strong>"
    r"|(?:Strong evidence|Illustrates): ([^ <]+)"
    r"|<text[^>]*>(\d+)</text>"
    r"|<tspan[^>]*>([^<]*)</tspan>"
)


def _page_counts(html: str) -> list[int]:
    found = []
    for match in _COUNTS.finditer(html):
        text = next(group for group in match.groups() if group is not None).strip()
        if text.isdigit():
            found.append(int(text))
    return found


def _everything(app: Flask, client: FlaskClient, number: int) -> dict[str, list[int]]:
    """Every count every public page and download of snapshot ``number`` shows."""
    with _db(app) as session:
        cells = figures.cells(session, published.TODAY)
    pages = [
        "/evidence",
        *(f"/evidence/proposal/{code}" for code in cells.proposal),
        *(f"/evidence/unit/{code}" for code in cells.unit),
    ]
    shown: dict[str, list[int]] = {}
    for path in pages:
        response = client.get(path)
        if response.status_code == 404:
            continue
        assert response.status_code == 200, path
        shown[path] = _page_counts(response.get_data(as_text=True))
    data = client.get(f"/evidence/{number}/data.json").get_json()
    json_counts = []
    for population in data["populations"].values():
        if population["cases"] is not None:
            json_counts.append(population["cases"])
        for table in population["tables"].values():
            json_counts += [cell["count"] for cell in table["cells"] if cell["count"] is not None]
    shown["data.json"] = json_counts
    for resource in _datapackage(client, number)["resources"]:
        rows = _csv(client, f"/evidence/{number}/{resource['path']}")
        column = "cases" if resource["name"] == "populations" else "count"
        shown[resource["path"]] = [int(row[column]) for row in rows if row[column]]
    return shown


def _below_k(shown: dict[str, list[int]], k: int) -> dict[str, list[int]]:
    found = {where: sorted({c for c in counts if c < k}) for where, counts in shown.items()}
    return {where: small for where, small in found.items() if small}


def test_a_count_below_k_in_a_payload_is_never_shown(app: Flask, client: FlaskClient) -> None:
    """Even a payload that breaks the rules (an engine bug) shows no count below k."""
    rng = random.Random(11)

    def fill(_population: str, _table: str, _code: str) -> tuple[int | None, str]:
        draw = rng.random()
        if draw < 0.5:
            return rng.randint(1, K - 1), ""  # below k and not marked: must not show
        if draw < 0.6:
            return rng.randint(K, 50), "fewer-than-k"  # marked: its count must not show
        return rng.randint(K, 50), ""

    def cases(key: str) -> int | None:
        return rng.choice([1, 2, K - 1, K, 40])

    _publish(app, fill=fill, cases=cases)
    shown = _everything(app, client, 1)
    assert _below_k(shown, K) == {}
    # The check sees counts: the published ones are there.
    assert any(count >= K for count in shown["/evidence"])
    assert shown["region.csv"]


def test_published_from_many_small_cells_shows_no_count_below_k(
    app: Flask, client: FlaskClient
) -> None:
    """The real pipeline: few cases spread thin, published, then every page and file read."""
    rng = random.Random(5)
    with _db(app) as session:
        cells = figures.cells(session, published.TODAY)
        for _ in range(60):
            add_case(
                session,
                region=rng.choice(cells.region),
                place=rng.choice([*cells.place[:-1], None]),
                unit=rng.choice(["omon", "omon", "gubopik", "district-police", None]),
                month=rng.choice(["2020-08", "2020-08", "2020-09", "2021-03", None]),
                violations=rng.sample(cells.violation, rng.randint(1, 3)),
                proposals={
                    code: rng.choice(["strong", "illustrates"])
                    for code in rng.sample(cells.proposal[:6], rng.randint(0, 2))
                },
            )
        snapshots.publish(session, account_id=None, k=K, today=published.TODAY)
    shown = _everything(app, client, 1)
    assert _below_k(shown, K) == {}
    assert 60 in shown["populations.csv"]


def test_exports_module_writes_rfc4180(app: Flask, client: FlaskClient) -> None:
    _publish(app)
    text = client.get("/evidence/1/violation.csv").get_data(as_text=True)
    assert text.endswith("\r\n")
    assert tuple(TABLE_COLUMNS) == exports.TABLE_COLUMNS
    parsed = json.loads(client.get("/evidence/1/datapackage.json").get_data(as_text=True))
    assert parsed["resources"][0]["encoding"] == "utf-8"
