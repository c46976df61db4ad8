"""Retention settings: a bad period refuses to start; deletion days in calendar months."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from config import ConfigError, TestingConfig
from registry import create_app
from registry.models import Report
from registry.retention.rules import Rules, add_months


@pytest.mark.parametrize(
    ("setting", "named"),
    [("duplicate=3,outside-scop=6", "outside-scop"), ("duplicate=0", "at least 1 month")],
)
def test_a_bad_period_refuses_to_start_naming_the_variable(
    tmp_path: Path, setting: str, named: str
) -> None:
    cfg = replace(
        TestingConfig.for_paths(tmp_path / "instance", tmp_path / "keys"),
        retention_by_disposition=setting,
    )
    with pytest.raises(ConfigError) as caught:
        create_app(cfg)
    assert list(caught.value.problems) == ["REGISTRY_RETENTION_BY_DISPOSITION"]
    assert named in str(caught.value)
    assert not (tmp_path / "instance").exists()  # refused before anything was made


def test_deletion_day_counts_calendar_months_from_closing() -> None:
    rules = Rules(closed_months=24, by_disposition={"duplicate": 3})
    closed = Report(status="closed", disposition="duplicate", closed_on=date(2025, 11, 30))
    assert rules.deletion_day(closed) == date(2026, 2, 28)
    closed.disposition = "substantiated"
    assert rules.deletion_day(closed) == date(2027, 11, 30)
    assert rules.deletion_day(Report(status="in-review", closed_on=None)) is None
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 15), -13) == date(2022, 12, 15)
