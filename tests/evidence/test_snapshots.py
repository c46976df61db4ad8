"""Publishing snapshots: numbered, immutable, digested, audited, and with no key at all."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import db
from registry.evidence import snapshots
from registry.followup.service import withdraw
from registry.models import AuditEvent, EvidenceSnapshot, Report, SnapshotSummary
from tests.evidence.plain import add_case, add_summary

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 3)
K = 3
P1, P2 = "torture-criminalise", "custody-safeguards"


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The app's database session, inside an app context."""
    with app.app_context():
        yield db.session()


def _cases(session: Session, count: int, **columns: Any) -> list[Report]:
    return [add_case(session, **columns) for _ in range(count)]


def _all(snapshot: EvidenceSnapshot) -> dict[str, Any]:
    population: dict[str, Any] = snapshots.payload_of(snapshot)["populations"]["all"]
    return population


def test_nothing_published_yet(session: Session) -> None:
    assert snapshots.latest(session) is None
    assert snapshots.by_number(session, 1) is None


def test_publish_numbers_stores_and_finds(session: Session) -> None:
    _cases(session, 4, proposals={P1: "strong"})
    first = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    session.commit()
    second = snapshots.publish(session, account_id=None, k=K, today=date(2026, 12, 10))
    session.commit()
    assert (first.number, second.number) == (1, 2)
    assert snapshots.latest(session) is second
    assert snapshots.by_number(session, 1) is first
    assert snapshots.by_number(session, 3) is None
    payload = snapshots.payload_of(second)
    assert {key: payload[key] for key in ("format", "number", "published_on", "k")} == {
        "format": "sviedka-evidence-v1",
        "number": 2,
        "published_on": "2026-12-10",
        "k": K,
    }
    assert (second.published_on, second.k) == (date(2026, 12, 10), K)
    assert payload["populations"]["all"]["cases"] == 4
    assert payload["populations"][f"proposal:{P1}"]["cases"] == 4


def test_only_verified_cases_count_and_withdrawn_ones_are_gone(session: Session) -> None:
    _cases(session, 3, status="verified")
    _cases(session, 2, status="closed", disposition="substantiated")
    _cases(session, 4, status="in-review")
    _cases(session, 4, status="closed", disposition="unfounded")
    gone = add_case(session, status="verified")
    withdraw(session, gone)
    snapshot = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    assert _all(snapshot)["cases"] == 5


def test_a_population_below_k_publishes_nothing(session: Session) -> None:
    _cases(session, 2)
    populations = snapshots.payload_of(
        snapshots.publish(session, account_id=None, k=K, today=TODAY)
    )["populations"]
    assert populations["all"] == {
        "kind": "all",
        "code": None,
        "cases": None,
        "mark": "fewer-than-k",
        "tables": {},
    }


def test_digest_is_the_payloads_and_stable(session: Session) -> None:
    _cases(session, 6, unit="kgb", proposals={P2: "illustrates"})
    first = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    second = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    session.commit()
    for snapshot in (first, second):
        assert snapshot.digest == hashlib.sha256(snapshot.payload.encode()).hexdigest()
        # Read back and written again, the payload is the same text.
        assert snapshots.encode(snapshots.payload_of(snapshot)) == snapshot.payload
    # Nothing changed between them: the same figures (only the number differs).
    one, two = (snapshots.payload_of(s) for s in (first, second))
    assert one["populations"] == two["populations"]
    assert one["number"] + 1 == two["number"]


def test_a_published_snapshot_never_changes(session: Session) -> None:
    _cases(session, 5)
    first = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    session.commit()
    kept = (first.payload, first.digest, first.published_on, first.k)
    _cases(session, 20, region="brest")
    snapshots.publish(session, account_id=None, k=K, today=date(2027, 1, 5))
    session.commit()
    session.expire_all()
    again = snapshots.by_number(session, 1)
    assert again is not None
    assert (again.payload, again.digest, again.published_on, again.k) == kept
    assert _all(again)["cases"] == 5
    # And no code path may change one: the ORM refuses.
    again.payload = "{}"
    with pytest.raises(ValueError, match="published"):
        session.flush()
    session.rollback()


def test_every_earlier_snapshot_protects_the_next(session: Session) -> None:
    """Brest 10, then 11 (hidden), then 12: 12 is set against the first snapshot too (k = 3)."""

    def brest(snapshot: EvidenceSnapshot) -> dict[str, Any]:
        cells = snapshots.payload_of(snapshot)["populations"]["all"]["tables"]["region"]["cells"]
        found: dict[str, Any] = next(cell for cell in cells if cell["code"] == "brest")
        return found

    _cases(session, 10, region="brest")
    _cases(session, 20, region="minsk-city")
    # Two small regions: the withheld counts then add up to more than zero,
    # so no complement is needed to keep them unknown.
    _cases(session, 2, region="vitebsk")
    _cases(session, 2, region="mogilev")
    first = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    assert brest(first)["count"] == 10
    _cases(session, 1, region="brest")
    _cases(session, 5, region="minsk-city")
    second = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    assert brest(second) == {"code": "brest", "count": None, "mark": "hidden"}
    _cases(session, 1, region="brest")
    _cases(session, 5, region="minsk-city")
    third = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    assert brest(third)["count"] is None


def test_a_small_change_of_the_total_is_not_published(session: Session) -> None:
    # Every table adds up to the number of verified cases, so it is shown
    # exactly: publishing while it moved by 1 … k−1 would say "a case was
    # verified since", which a watcher could tie to an arrest.
    _cases(session, 6)
    snapshots.publish(session, account_id=None, k=K, today=TODAY)
    session.commit()
    _cases(session, K - 1)
    session.commit()
    with pytest.raises(snapshots.TooFewNewCases) as refused:
        snapshots.publish(session, account_id=None, k=K, today=TODAY)
    assert refused.value.since == 1
    session.rollback()
    assert [s.number for s in session.scalars(select(EvidenceSnapshot))] == [1]
    _cases(session, 1)
    second = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    assert (second.number, _all(second)["cases"]) == (2, 6 + K)


def test_k_below_three_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        snapshots.publish(session, account_id=None, k=2, today=TODAY)
    assert snapshots.latest(session) is None


def test_publication_is_audited_without_any_case(session: Session) -> None:
    reports = _cases(session, 4, consent_publish=True)
    add_summary(session, reports[0], "Beaten in a van after a protest in Minsk.")
    snapshot = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    session.commit()
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "evidence.published")
    ).one()
    assert event.actor == "system"
    assert event.report_ref is None
    assert event.detail == f"number=1,k={K},summaries=1,digest={snapshot.digest}"
    for report in reports:
        assert report.public_id not in (event.detail or "")


def test_approved_summaries_of_consenting_verified_cases_are_copied(session: Session) -> None:
    shown = add_case(
        session,
        consent_publish=True,
        region="gomel",
        month="2021-03",
        proposals={P2: "strong", P1: "illustrates"},
    )
    no_month = add_case(session, consent_publish=True, month=None)
    unapproved = add_case(session, consent_publish=True)
    no_consent = add_case(session, consent_publish=False)
    unverified = add_case(session, consent_publish=True, status="in-review")
    add_summary(session, shown, "Summary one.")
    add_summary(session, no_month, "Summary two.")
    add_summary(session, unapproved, "Not approved.", approved=False)
    add_summary(session, no_consent, "No consent.")
    add_summary(session, unverified, "Not verified.")
    snapshot = snapshots.publish(session, account_id=None, k=K, today=TODAY)
    session.commit()
    copied = {
        row.report_id: row
        for row in session.scalars(
            select(SnapshotSummary).where(SnapshotSummary.snapshot_id == snapshot.id)
        )
    }
    assert set(copied) == {shown.id, no_month.id}
    first = copied[shown.id]
    assert (first.text, first.region, first.period) == ("Summary one.", "gomel", "2021")
    # Catalogue order: the torture block's proposal comes before custody safeguards.
    assert json.loads(first.proposals) == [P1, P2]
    assert (copied[no_month.id].period, json.loads(copied[no_month.id].proposals)) == (
        "unknown",
        [],
    )
    # Withdrawing the case deletes its published summary (the only change allowed).
    withdraw(session, shown)
    session.commit()
    left = session.scalars(select(SnapshotSummary.report_id)).all()
    assert left == [no_month.id]
    assert snapshots.by_number(session, 1) is not None


# --- No key material ----------------------------------------------------------

# What would give publication access to sealed content or keys.
KEYED = ("registry.crypto", "registry.keyring", "registry.records.access", "registry.runtime")


def _imports(module: str) -> set[str]:
    """Modules of the registry that ``module`` imports (read from its source)."""
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                as_module = ROOT / (sub.replace(".", "/") + ".py")
                as_package = ROOT / sub.replace(".", "/") / "__init__.py"
                found.add(sub if as_module.exists() or as_package.exists() else node.module)
    return {name for name in found if name.startswith("registry.") or name == "config"}


def test_publication_imports_nothing_that_holds_keys() -> None:
    """Everything publish runs, transitively (a package's own __init__ is no dependency)."""
    reached: set[str] = set()
    todo = ["registry.evidence.snapshots"]
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        todo.extend(_imports(module))
    assert "registry.evidence.figures" in reached
    assert "registry.evidence.suppression" in reached
    assert not {m for m in reached if any(m == k or m.startswith(k + ".") for k in KEYED)}


# Run in a fresh interpreter: no Flask app, no keyring, no configuration;
# an audit hook refuses to open any file under the test's directory (where
# the deployment's keys and the locked escrow key are) or any key file.
PUBLISH_WITHOUT_KEYS = textwrap.dedent(
    """
    import sys
    from datetime import date

    FORBIDDEN = sys.argv[2]

    def refuse_key_files(event, args):
        if event == "open" and isinstance(args[0], (str, bytes)):
            path = args[0] if isinstance(args[0], str) else args[0].decode()
            if path.startswith(FORBIDDEN) or path.endswith((".key", ".pub")):
                raise PermissionError(f"publication opened {path}")

    sys.addaudithook(refuse_key_files)

    from sqlalchemy.orm import Session
    from registry.db import make_engine
    from registry.evidence import snapshots

    engine = make_engine(sys.argv[1])
    with Session(engine) as session:
        snapshot = snapshots.publish(session, account_id=None, k=3, today=date(2026, 12, 3))
        session.commit()
        print(snapshot.number, snapshot.digest)
    engine.dispose()
    """
)


def test_publication_needs_no_key_and_no_app(
    app: Flask, session: Session, database_url: str, tmp_path: Path
) -> None:
    assert any(tmp_path.rglob("escrow*")), "the test app has an escrow key to stay away from"
    _cases(session, 4, proposals={P1: "strong"})
    session.commit()
    # The test's own session must not hold SQLite's lock while the child writes.
    session.close()
    run = subprocess.run(
        [sys.executable, "-c", PUBLISH_WITHOUT_KEYS, database_url, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    number, digest = run.stdout.split()
    published = snapshots.latest(session)
    assert published is not None
    assert (published.number, published.digest) == (int(number), digest)
    assert _all(published)["cases"] == 4


def test_serving_the_evidence_loads_no_solver(tmp_path: Path) -> None:
    # numpy and scipy (the engine's integer programs) take about 65 MB per
    # process: a web worker that only shows pages must not carry them.
    code = textwrap.dedent(
        """
        import sys
        from registry import create_app
        create_app()
        import registry.evidence.views, registry.review.stats_views
        print(sorted(m for m in ("numpy", "scipy") if m in sys.modules))
        """
    )
    environ = {
        **os.environ,
        "REGISTRY_INSTANCE_DIR": str(tmp_path / "instance"),
        "REGISTRY_KEYS_DIR": str(tmp_path / "keys"),
    }
    found = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert found.stdout.strip().splitlines()[-1] == "[]"
