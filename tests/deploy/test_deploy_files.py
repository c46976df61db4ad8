"""The other files of ``deploy/``, checked by the programs that read them.

``tor --verify-config`` accepts the torrc; ``systemd-analyze`` accepts the
unit and rates its exposure; ``config.py`` accepts the environment file with
the production settings README "Configuration" asks for; and nginx's body
limit stays just above the app's own, so the app's refusal (in the person's
language, with their text kept) is the one people see.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from config import Config, settable
from tests.deploy.support import (
    DEPLOY,
    NGINX_SITE,
    TORRC,
    env_file_settings,
    program,
    substituted,
)

UNIT = DEPLOY / "systemd" / "registry-web.service"
# systemd-analyze's exposure score (0 = locked down, 10 = fully exposed).
MOST_EXPOSURE = 2.0
# MiB nginx may accept beyond the app's own limit, at most.
SLACK_MIB = 16


def test_tor_accepts_the_torrc(tmp_path: Path) -> None:
    service, data = tmp_path / "service", tmp_path / "data"
    for folder in (service, data):
        folder.mkdir(mode=0o700)
    torrc = tmp_path / "torrc"
    torrc.write_text(substituted(TORRC.read_text(), {"/var/lib/tor/sviedka/": (f"{service}/", 1)}))
    checked = subprocess.run(
        [program("tor"), "--verify-config", "-f", str(torrc), "--DataDirectory", str(data)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Configuration was valid" in checked.stdout
    # The server's location stays hidden: never a single-hop onion service.
    assert "SingleHop" not in re.sub(r"(?m)^#.*$", "", TORRC.read_text())


def test_systemd_accepts_the_unit_and_it_is_locked_down(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("!!! systemd-analyze is missing: the unit is NOT CHECKED !!!")
    unit = tmp_path / UNIT.name
    # Programs that exist here, so that the check of the unit can pass at all.
    unit.write_text(
        substituted(
            UNIT.read_text(),
            {
                "/srv/sviedka/app/.venv/bin/registry init": ("/bin/true init", 1),
                "/srv/sviedka/app/.venv/bin/gunicorn": ("/bin/true", 1),
            },
        )
    )
    verified = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    # systemd ignores a directive it cannot read, with a line on stderr.
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == ""
    security = subprocess.run(
        [analyze, "security", "--offline=yes", f"--threshold={MOST_EXPOSURE * 10:.0f}", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert security.returncode == 0, security.stdout[-2000:]
    for directive in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes"):
        assert directive in UNIT.read_text()
    settings = env_file_settings()
    writable = re.search(r"(?m)^ReadWritePaths=(.*)$", UNIT.read_text())
    assert writable
    assert writable.group(1).split() == [
        settings["REGISTRY_INSTANCE_DIR"],
        settings["REGISTRY_KEYS_DIR"],
    ]


def test_the_environment_file_is_a_valid_production_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = env_file_settings()
    unknown = {name for name in settings if name.startswith("REGISTRY_")} - set(settable().values())
    assert unknown == set()
    cfg = Config.from_env(settings)
    assert capsys.readouterr().err == ""  # no typo reported
    assert cfg.database_url.startswith("postgresql+psycopg://")
    assert cfg.ratelimit_storage_uri.startswith("redis://")
    assert cfg.secure_cookies
    assert cfg.hsts_seconds >= 180 * 86400
    assert cfg.base_url.startswith("https://")
    assert cfg.storage_dir.is_relative_to(cfg.instance_dir)
    assert {"HOST", "PORT", "WORKERS"} <= settings.keys()


def test_nginx_takes_a_little_more_than_the_app_accepts() -> None:
    site = NGINX_SITE.read_text()
    limit = re.search(r"client_max_body_size (\d+)m;", site)
    assert limit
    cfg = Config.from_env(env_file_settings())
    # As registry.attachments.upload.allow_large_body computes it.
    app_limit = cfg.attachment_max_files * cfg.attachment_max_bytes + 2 * 1024 * 1024
    nginx_limit = int(limit.group(1)) * 1024 * 1024
    assert app_limit <= nginx_limit <= app_limit + SLACK_MIB * 1024 * 1024
    assert "$request_body" not in site
