"""Hypothesis strategies and checks shared by the fuzz tests.

Generated input mixes plausible values (the real codes of a vocabulary, a
well-formed date) with the odd values that break parsers: empty and very
long strings, control characters, lone combining marks, other scripts'
digits, numbers past 64 bits, percent-escapes, SQL and HTML fragments.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from flask import Flask
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from registry import db
from registry.models import Base

# Loaded once per backend and never written by a request.
REFERENCE_TABLES = frozenset(
    {"vocabulary_terms", "reform_blocks", "reform_themes", "reform_proposals", "alembic_version"}
)
# Each test runs once per backend (SQLite and PostgreSQL): the examples per
# test are few, and the whole fuzz suite stays well under a minute.  A
# longer hunt: SVIEDKA_FUZZ_EXAMPLES=1000 .venv/bin/pytest tests/fuzz
EXAMPLES = int(os.environ.get("SVIEDKA_FUZZ_EXAMPLES", "30"))
# In CI the examples are the same on every run: a new find there would fail
# someone else's unrelated change.  Hunts on a developer's machine are random.
IN_CI = bool(os.environ.get("CI"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=IN_CI,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ODD_VALUES = [
    "", " ", "\t", "\n", "\r\n", "\x00", "\x01", "\x7f", "\u200b", "\u202e", "\ufeff", "\ufffd",
    "\u0301", "²", "٣", "१२", "-1", "0", "00", "+1", "1e9", "1_000", "9" * 20, str(2**63),
    str(2**64), "-" + "9" * 30, "NaN", "inf", "0x10", "1.5", "9999-12-31", "0001-01-01",
    "0000-00-00", "2020-02-30", "2020-13", "2020-8", "1949-12", "%", "%00", "%zz", "%2F", "../..",
    "/", "\\", "' OR 1=1 --", '"><script>alert(1)</script>', "{{7*7}}", "%(x)s", "me", "none",
    "-", "on", "1", "true", "y" * 300, "Ё" * 70, "😀",
]  # fmt: skip
# Text a browser could send (no lone surrogates: they cannot be UTF-8).
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
ODD = st.sampled_from(ODD_VALUES)
TEXT = st.one_of(ODD, ANY_TEXT)
LONG_TEXT = st.one_of(TEXT, st.builds(lambda s, n: s * n, ODD, st.integers(1, 400)))
DIGITS = st.one_of(st.integers(-(2**70), 2**70).map(str), st.integers(0, 20).map(str), ODD)


def value(known: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """One field value: mostly one of ``known`` (when given), else something odd.

    Mostly valid, so that whole forms often pass validation and the
    services behind them (sealing, storing, auditing) get fuzzed too.
    """
    if known:
        valid = st.sampled_from(list(known))
        return st.sampled_from([valid, valid, valid, valid, TEXT]).flatmap(lambda pick: pick)
    return TEXT


def values(known: Sequence[str] = ()) -> st.SearchStrategy[list[str]]:
    """A multi-valued field: zero or more values."""
    return st.lists(value(known), max_size=4)


def form(
    fields: dict[str, st.SearchStrategy[str] | st.SearchStrategy[list[str]]],
    required: Iterable[str] = (),
) -> st.SearchStrategy[dict[str, object]]:
    """A form body: each field present or missing (``required`` ones always), maybe a stray one."""
    always = set(required)
    present = st.fixed_dictionaries(
        {name: strategy for name, strategy in fields.items() if name in always},
        optional={name: strategy for name, strategy in fields.items() if name not in always},
    )
    stray = st.dictionaries(st.sampled_from(["extra", "csrf_token2", "id", "x" * 50]), TEXT)
    return st.builds(lambda a, b: {**b, **a}, present, stray)


def path_segment() -> st.SearchStrategy[str]:
    """A URL path segment (sent percent-encoded by the caller)."""
    return st.one_of(ODD.filter(lambda s: s not in ("", "/", "../..")), ANY_TEXT.filter(bool))


def assert_answered(response: TestResponse) -> None:
    """A clear answer: a page, a redirect or a 4xx, never a 5xx."""
    status = response.status_code
    event(f"status {status}")  # shown by --hypothesis-show-statistics
    assert status < 500, (status, response.get_data(as_text=True)[:500])


def row_counts(app: Flask) -> dict[str, int]:
    """Rows of every table the app writes (reference tables left out)."""
    with app.app_context():
        session = db.session()
        counts = {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
            if table.name not in REFERENCE_TABLES
        }
        session.rollback()
        return counts


def blob_files(app: Flask) -> set[Path]:
    """Every file in the blob store (kept and incoming)."""
    root: Path = app.extensions["registry.config"].storage_dir
    return {path for path in root.rglob("*") if path.is_file()}
