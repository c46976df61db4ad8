"""The pack is encrypted while it is sent: a closed download stops the work at once.

The encryption runs on a thread between the tar stream and the response
(registry.packing.agestream).  These tests check that closing the
response stops that thread and closes its input, that a failure on the
thread ends the response as an error (a truncated file, which age refuses),
and, through the HTTP client, that an interrupted download was still
audited as a referral.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import threading
import time
from collections.abc import Generator
from pathlib import Path

import pyrage
import pytest
from flask import Flask

from registry.models import Role
from registry.packing.agestream import PackFailed, encrypted
from registry.packing.tarstream import Member, MemberSizeChanged, tar_stream
from tests.helpers import StaffActions, csrf_token, english_client, submit_and_locate
from tests.referral.support import PDF, add_partner, age_keygen, events


def _pack_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sviedka-pack"]


def _wait_for_no_pack_thread() -> None:
    deadline = time.monotonic() + 5
    while _pack_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _pack_threads() == []


def test_closing_the_output_stops_the_thread_and_closes_the_input() -> None:
    closed = threading.Event()
    produced = 0

    def endless() -> Generator[bytes, None, None]:
        nonlocal produced
        try:
            while True:
                produced += 1
                yield bytes(64 * 1024)
        finally:
            closed.set()

    identity = pyrage.x25519.Identity.generate()
    output = encrypted(endless(), [identity.to_public()])
    next(output)
    next(output)
    output.close()
    assert closed.wait(5)
    _wait_for_no_pack_thread()
    # Bounded: the thread ran ahead of the consumer by a small queue only.
    assert produced * 64 * 1024 < 8 * 1024 * 1024


def test_a_failure_on_the_thread_ends_the_output_with_an_error(tmp_path: Path) -> None:
    key = age_keygen(tmp_path)

    def short() -> Generator[bytes, None, None]:
        yield b"only part of it"

    stream = tar_stream([Member("f.bin", 100_000, short)], mtime=0)
    received = bytearray()
    recipient = pyrage.x25519.Recipient.from_str(key.recipient)
    output = encrypted(stream, [recipient])

    def drain() -> None:
        for piece in output:
            received.extend(piece)

    with pytest.raises(PackFailed) as failed:
        drain()
    # pyrage hands the reader's exception back wrapped in its own error.
    assert MemberSizeChanged.__name__ in str(failed.value.__cause__)
    _wait_for_no_pack_thread()
    cut = tmp_path / "cut.age"
    cut.write_bytes(bytes(received))
    opened = subprocess.run(
        ["age", "-d", "-i", str(key.identity_file), str(cut)], capture_output=True, check=False
    )
    assert opened.returncode != 0


def test_the_tar_stream_is_what_tarfile_reads() -> None:
    members = [
        Member("A/manifest.json", 3, lambda: iter((b"{}\n",))),
        Member("A/files/X-имя.bin", 70_000, lambda: iter((bytes(65536), bytes(70_000 - 65536)))),
    ]
    data = b"".join(tar_stream(members, mtime=86400))
    assert len(data) % tarfile.RECORDSIZE == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.getnames() == ["A", "A/manifest.json", "A/files", "A/files/X-имя.bin"]
        member = archive.getmember("A/files/X-имя.bin")
        assert member.mtime == 86400
        assert member.mode == 0o600
        extracted = archive.extractfile(member)
        assert extracted is not None
        assert extracted.read() == bytes(70_000)


def test_an_interrupted_download_is_still_an_audited_export(
    app: Flask, staff: StaffActions, tmp_path: Path
) -> None:
    coordinator = staff.create("coordinator@example.org", Role.COORDINATOR)
    # More than the queue holds (1 MiB), so the thread is still at work when
    # the client goes.  Each upload stays under the test client's 500 KB
    # spooling threshold (its temporary file would outlive the request).
    big = PDF + bytes(450 * 1024)
    cases = [
        submit_and_locate(
            app, english_client(app), consent_refer="y", files=[(io.BytesIO(big), "big.pdf")]
        )
        for _ in range(4)
    ]
    partner = add_partner(app, "Partner", age_keygen(tmp_path).recipient)
    client = english_client(app)
    staff.login(client, coordinator)
    token = csrf_token(client.get(f"/review/refer?case={cases[0]}").get_data(as_text=True))
    response = client.post(
        "/review/refer",
        data={"csrf_token": token, "cases": cases, "partner": str(partner)},
        buffered=False,
    )
    assert response.status_code == 200
    body = iter(response.response)
    assert next(body).startswith(b"age-encryption.org/v1\n")
    response.close()  # the client goes away after the first piece
    _wait_for_no_pack_thread()
    referred = sorted(events(app, "case.referred"))
    assert referred == sorted((case, f"partner:{partner}") for case in cases)
