"""The production units run one ``registry maintain`` at a time, on a timer."""

from __future__ import annotations

import configparser

from config import ROOT

UNITS = ROOT / "deploy" / "systemd"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text())
    return parser


def test_the_timer_starts_one_maintenance_run_at_a_time() -> None:
    service, timer = _unit("registry-maintain.service"), _unit("registry-maintain.timer")
    # oneshot: the timer never starts a run while the previous one is active.
    assert service["Service"]["Type"] == "oneshot"
    command = service["Service"]["ExecStart"].split()
    assert command[0].endswith("/registry")
    assert command[1:] == ["maintain"]
    assert service["Service"]["EnvironmentFile"] == "/etc/sviedka/registry.env"
    assert service["Service"]["ProtectSystem"] == "strict"
    assert timer["Timer"]["OnUnitActiveSec"] == "5min"
    assert timer["Install"]["WantedBy"] == "timers.target"
