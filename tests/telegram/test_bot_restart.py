"""``registry telegram run`` as a process: killed mid-conversation, then started again.

A crash stores nothing of the unfinished report (its sealed photo is swept
at the next start, and never held a plaintext byte on disk); a restart
forgets only unfinished conversations: a stored report's receipt still
opens /followup.  Nothing either process printed holds the chat id, the
token or the text.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from registry.telegram import texts as t
from tests.helpers import english_client, post_form
from tests.telegram.fakeapi import FakeTelegram, Person
from tests.telegram.support import choose, minimal_report_after_role, photo_with_gps, stored_reports

REGISTRY = Path(sys.executable).parent / "registry"


def _environment(app: Flask, api: FakeTelegram) -> dict[str, str]:
    cfg = app.extensions["registry.config"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_DATABASE_URL=cfg.database_url,
        REGISTRY_INSTANCE_DIR=str(cfg.instance_dir),
        REGISTRY_KEYS_DIR=str(cfg.keys_dir),
        REGISTRY_STORAGE_DIR=str(cfg.storage_dir),
        # The test app's cheap receipt cost, so the follow-up below is quick.
        REGISTRY_RECEIPT_MEMORY_KIB=str(cfg.receipt_memory_kib),
        REGISTRY_RECEIPT_ITERATIONS=str(cfg.receipt_iterations),
        REGISTRY_TELEGRAM_TOKEN=api.token,
        REGISTRY_TELEGRAM_API_URL=api.url,
    )
    return env


@contextmanager
def bot_process(app: Flask, api: FakeTelegram, output: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The bot as ``make run`` starts it, polling the fake API once it is ready."""
    polls = sum(1 for method, _ in api.calls if method == "getUpdates")
    with output.open("ab") as sink:
        process = subprocess.Popen(
            [str(REGISTRY), "telegram", "run"],
            env=_environment(app, api),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        api.wait(lambda: sum(1 for m, _ in api.calls if m == "getUpdates") > polls, timeout=30)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(15)


def test_a_crash_stores_nothing_and_a_restart_loses_only_the_unfinished(
    app: Flask, api: FakeTelegram, tmp_path: Path
) -> None:
    output = tmp_path / "bot-output.log"
    incoming = app.extensions["registry.config"].storage_dir / "tmp"
    photo = photo_with_gps()
    done, unfinished = Person(api, 8880001, "en"), Person(api, 8880002, "en")
    with bot_process(app, api, output) as first:
        done.say("/start")
        choose(done, "intro|go")
        receipt = minimal_report_after_role(done)
        unfinished.say("/start")
        choose(unfinished, "intro|go")
        choose(unfinished, "role|victim")
        unfinished.say("CanaryUnfinished77 they took my phone.")
        for data in ("narrative|next", "year|", "region|grodno", "place|", "unit|"):
            choose(unfinished, data)
        for data in ("violations|next", "injuries|skip", "flags|next", "contact|receipt"):
            choose(unfinished, data)
        choose(unfinished, "consents|next")
        choose(unfinished, "cleaning|no")
        unfinished.send_document(photo, "street.jpg")
        question = unfinished.last_question()
        api.wait_confirmed()
        first.send_signal(signal.SIGKILL)  # a crash: no clean-up runs
        first.wait(15)
    assert len(stored_reports(app)) == 1
    (blob,) = incoming.iterdir()  # sealed on arrival: ciphertext only
    assert photo[:200] not in blob.read_bytes()
    assert b"CanaryCamMaker" not in blob.read_bytes()

    with bot_process(app, api, output) as second:
        assert list(incoming.iterdir()) == []  # the dead process's blob is swept
        unfinished.press_data(question, "files|next")
        assert unfinished.last_text() == t.render(app, "en", t.LOST)
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
    assert len(stored_reports(app)) == 1
    response = post_form(english_client(app), "/followup/", {"receipt": receipt})
    assert response.status_code == 303
    printed = output.read_bytes()
    for canary in ("8880001", "8880002", api.token, "CanaryUnfinished77", "Canary text"):
        assert canary.encode() not in printed, canary
