"""The catalogue and vocabularies: complete in three languages, consistent."""

from __future__ import annotations

import json
import re

import pytest

from registry.reforms.service import DATA_FILE as CATALOGUE
from registry.taxonomy.service import DATA_FILE as VOCABULARIES
from registry.taxonomy.service import KINDS

CODE = re.compile(r"^[a-z0-9-]{1,32}$")


def _trilingual_ok(item: dict[str, dict[str, str]]) -> bool:
    return all(item["title"].get(lang, "").strip() for lang in ("be", "ru", "en")) and all(
        item["description"].get(lang, "").strip() for lang in ("be", "ru", "en")
    )


def test_catalogue_is_consistent_and_trilingual() -> None:
    data = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    blocks = {b["code"] for b in data["blocks"]}
    themes = {t["code"] for t in data["themes"]}
    assert len(blocks) == len(data["blocks"]) == 6
    assert len(themes) == len(data["themes"])
    assert all(t["block"] in blocks for t in data["themes"])
    assert all(p["theme"] in themes for p in data["proposals"])
    assert len({p["code"] for p in data["proposals"]}) == len(data["proposals"]) >= 15
    for item in data["blocks"] + data["themes"] + data["proposals"]:
        assert CODE.match(item["code"]), item["code"]
        assert item["source"] in ("draft", "registry"), item["code"]
        assert _trilingual_ok(item), item["code"]
    # The draft's blocks are the draft's; concrete proposals are our structuring.
    assert {b["source"] for b in data["blocks"]} == {"draft"}
    assert any(p["source"] == "registry" for p in data["proposals"])


@pytest.mark.parametrize("kind", KINDS)
def test_vocabulary_is_trilingual(kind: str) -> None:
    data = json.loads(VOCABULARIES.read_text(encoding="utf-8"))
    items = data[kind]
    assert items
    assert len({i["code"] for i in items}) == len(items)
    for item in items:
        assert CODE.match(item["code"]), item["code"]
        assert _trilingual_ok(item), item["code"]


def test_regions_cover_belarus_and_the_two_escapes() -> None:
    codes = {r["code"] for r in json.loads(VOCABULARIES.read_text(encoding="utf-8"))["regions"]}
    assert {"brest", "vitebsk", "gomel", "grodno", "minsk-region", "mogilev", "minsk-city"} <= codes
    assert {"abroad", "undisclosed"} <= codes
