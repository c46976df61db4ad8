"""The retention settings, parsed and checked, and the deletion day of a case."""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date

from config import Config, ConfigError
from registry.models import Report, Status
from registry.taxonomy.service import DATA_FILE

BY_DISPOSITION_VARIABLE = "REGISTRY_RETENTION_BY_DISPOSITION"
KEEP_CODES = "codes"
KEEP_NOTHING = "nothing"


@dataclass(frozen=True)
class Rules:
    """How long closed cases are kept: the default and the per-disposition periods."""

    closed_months: int
    by_disposition: dict[str, int]
    # "codes": the plain row stays for published statistics; "nothing": it goes too.
    keep: str = KEEP_CODES

    @classmethod
    def from_config(cls, cfg: Config) -> Rules:
        """The rules of ``cfg`` (its syntax is checked by ``Config`` already)."""
        return cls(
            closed_months=cfg.retention_closed_months,
            by_disposition=parse_by_disposition(cfg.retention_by_disposition),
            keep=cfg.retention_keep,
        )

    def months_for(self, report: Report) -> int:
        """Months after closing that ``report``'s sealed content is kept."""
        if report.disposition is not None and report.disposition in self.by_disposition:
            return self.by_disposition[report.disposition]
        return self.closed_months

    def deletion_day(self, report: Report) -> date | None:
        """The first day ``report``'s sealed content may be deleted; None while the case is open."""
        if report.status != Status.CLOSED.value or report.closed_on is None:
            return None
        return add_months(report.closed_on, self.months_for(report))


def parse_by_disposition(text: str) -> dict[str, int]:
    """``"duplicate=3,outside-scope=6"`` as ``{"duplicate": 3, "outside-scope": 6}``.

    Raises :class:`ConfigError` naming the variable for a code given twice
    or a period of zero months (the pattern in ``config.py`` checks the rest).
    """
    found: dict[str, int] = {}
    for pair in filter(None, text.split(",")):
        code, _, months = pair.partition("=")
        if code in found:
            raise _error(f"the disposition {code} is given twice")
        if not months.isdigit() or int(months) < 1:
            raise _error(f"{code} needs at least 1 month")
        found[code] = int(months)
    return found


def check_config(cfg: Config, known: frozenset[str] | None = None) -> Rules:
    """The retention rules of ``cfg``; :class:`ConfigError` if they name an unknown disposition.

    WHY at start, against the bundled vocabulary: a misspelt code would
    silently keep those cases for the default period, longer than the
    operator decided; refusing to start makes the mistake visible at once.
    ``known`` defaults to the dispositions of the vocabulary data file (what
    ``registry init`` loads), so the check needs no database.
    """
    rules = Rules.from_config(cfg)
    codes = known if known is not None else bundled_dispositions()
    unknown = sorted(set(rules.by_disposition) - codes)
    if unknown:
        raise _error(
            f"unknown disposition {', '.join(unknown)} (known: {', '.join(sorted(codes))})"
        )
    return rules


def bundled_dispositions() -> frozenset[str]:
    """The disposition codes of the vocabulary data file."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return frozenset(item["code"] for item in data.get("dispositions", []))


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar ``months``; the 31st becomes the month's last day when it has none."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _error(problem: str) -> ConfigError:
    return ConfigError(
        {
            BY_DISPOSITION_VARIABLE: f"{BY_DISPOSITION_VARIABLE}: {problem}; "
            "expected disposition=months pairs separated by commas, such as duplicate=3"
        }
    )
