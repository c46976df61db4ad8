"""Part g: the same report sealed by Sviedka and the way peers seal theirs, side by side.

One report (part a's: a ~3.8 KB account in Belarusian and two answers, so
the record of its texts is ~4.2 KB) sealed to the recipients every bench
submission has, 5 reviewers and escrow, three ways:

- **Sviedka**, through ``registry.crypto`` as ``intake.service.submit_report``
  does: a fresh data key, the texts' record and the inbox private key sealed
  under it (ChaCha20-Poly1305, padded to a size class), the data key wrapped
  to each recipient (HPKE, ML-KEM-768 + X25519).  A second row leaves out
  the inbox key pair and its field: the report's content alone, as peers seal.
- **GPG** as SecureDrop's server and Hush Line call it: the real ``gpg``
  binary, one process per report, in a temporary ``GNUPGHOME`` with
  Curve25519 keys (ed25519 primary, cv25519 encryption subkey), binary
  output, ``--trust-model always``, gpg's default zlib compression; once to
  the same recipients, once more without compression (part a's account
  repeats one paragraph ten times, so zlib shrinks it ~10×, which a real
  account would not), and once to a single key, as SecureDrop encrypts to
  its one Submission Key.  CPU is this process's plus the waited-for
  child's (``RUSAGE_CHILDREN``).  Spawning ``true`` and ``gpg --version``
  shows what is process start-up, not crypto.
- **NaCl sealed boxes** as GlobaLeaks (``handlers/submission.py``,
  ``utils/crypto.py`` ``GCE``): a Curve25519 key pair per report ("tip key"),
  the answers' JSON in a sealed box to its public key (stored base64), its
  private key in a sealed box to each recipient (XSalsa20-Poly1305).

The receipt KDF, which each of them runs too (GlobaLeaks Argon2id, SecureDrop
scrypt/Argon2), is left out everywhere.  A tool that is missing is reported
as skipped, with the reason, in the table.
"""

from __future__ import annotations

import base64
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from bench.inprocess import REVIEWERS, report_input
from bench.stats import percentile
from registry.crypto import (
    generate_keypair,
    new_data_key,
    seal_field,
    signing_public_key,
    wrap_data_key,
)
from registry.records.texts import encode_answers
from registry.records.vocabulary import ANSWERS, INBOX_KEY, NARRATIVE

RECIPIENTS = REVIEWERS + 1  # and escrow
REPORT_ID = "1N4HZERZ0NVE"  # the shape of registry.records.ids.new_public_id()
WARMUP = 5
GPG_TIMEOUT = 30.0


@dataclass
class Timings:
    """Per-report wall and CPU seconds of one way of sealing, and what it stores."""

    label: str
    recipients: int
    stored: int = 0
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def median_ms(self, cpu: bool = False) -> float:
        """Median wall (or CPU) milliseconds."""
        return 1000 * percentile(self.cpu if cpu else self.wall, 0.5)

    def p95_ms(self, cpu: bool = False) -> float:
        """95th percentile of wall (or CPU) milliseconds."""
        return 1000 * percentile(self.cpu if cpu else self.wall, 0.95)


@dataclass
class PeersResult:
    """Every way measured, in table order; the first is the baseline of the ratios."""

    plaintext: int
    runs: int
    rows: list[Timings] = field(default_factory=list)
    # Process start-up alone (no sealing): not compared with the baseline.
    spawns: list[Timings] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    gpg_version: str = ""
    nacl_version: str = ""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def _timed(into: Timings) -> Iterator[None]:
    """Wall time, and CPU of this process plus of every child it waited for meanwhile."""
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    yield
    into.cpu.append(time.process_time() - cpu + _children_cpu() - children)
    into.wall.append(time.perf_counter() - wall)


def _measure(into: Timings, runs: int, seal: Callable[[], int]) -> Timings:
    """Time ``seal`` (which returns the bytes it would store) ``runs`` times."""
    for _ in range(WARMUP):
        into.stored = seal()
    for _ in range(runs):
        with _timed(into):
            seal()
    return into


def report_record() -> bytes:
    """The record of part a's report as ``submit_report`` seals it (texts and verify key)."""
    data = report_input()
    texts = {NARRATIVE: data.narrative, **data.answers}
    return encode_answers(texts, verify_key=signing_public_key(os.urandom(32)))


def run(runs: int) -> PeersResult:
    """Seal the same report ``runs`` times in every way available here."""
    record = report_record()
    result = PeersResult(plaintext=len(record), runs=runs)
    _sviedka(result, record, runs)
    _gpg(result, record, runs)
    _nacl(result, record, runs)
    return result


def _sviedka(result: PeersResult, record: bytes, runs: int) -> None:
    publics = [generate_keypair().public for _ in range(RECIPIENTS)]

    def full() -> int:
        dek = new_data_key()
        inbox = generate_keypair()
        stored = [
            seal_field(dek, record, report_id=REPORT_ID, field=ANSWERS),
            seal_field(dek, inbox.private, report_id=REPORT_ID, field=INBOX_KEY),
            *(wrap_data_key(dek, public, report_id=REPORT_ID) for public in publics),
        ]
        return sum(len(blob) for blob in stored) + len(inbox.public)

    def content() -> int:
        dek = new_data_key()
        stored = [
            seal_field(dek, record, report_id=REPORT_ID, field=ANSWERS),
            *(wrap_data_key(dek, public, report_id=REPORT_ID) for public in publics),
        ]
        return sum(len(blob) for blob in stored)

    result.rows.append(
        _measure(
            Timings(
                "Sviedka as `submit_report` seals: data key, inbox key pair (ML-KEM-768 + "
                "X25519), 2 padded fields, HPKE wraps",
                RECIPIENTS,
            ),
            runs,
            full,
        )
    )
    result.rows.append(
        _measure(
            Timings("Sviedka, the content only: data key, 1 padded record, HPKE wraps", RECIPIENTS),
            runs,
            content,
        )
    )


def _gpg(result: PeersResult, record: bytes, runs: int) -> None:
    gpg = shutil.which("gpg")
    if gpg is None:
        result.skipped.append("GPG: skipped: gpg not installed (apt-get install gnupg)")
        return
    result.gpg_version = _output([gpg, "--version"]).splitlines()[0]
    with tempfile.TemporaryDirectory(prefix="sviedka-bench-gnupg-") as home:
        os.chmod(home, 0o700)
        base = [gpg, "--homedir", home, "--batch", "--no-tty", "--quiet"]
        try:
            fingerprints = [_gpg_key(base, number) for number in range(RECIPIENTS)]
            for label, recipients, options in (
                ("GPG, one `gpg --encrypt` process per report, cv25519", fingerprints, []),
                (
                    "GPG as above, `--compress-algo none` (bytes as an account that "
                    "does not repeat itself)",
                    fingerprints,
                    ["--compress-algo", "none"],
                ),
                ("GPG to ONE key, as SecureDrop to its Submission Key", fingerprints[:1], []),
            ):
                command = [*base, "--trust-model", "always", *options, "--encrypt"]
                for fingerprint in recipients:
                    command += ["--recipient", fingerprint]
                command += ["--output", "-"]
                result.rows.append(
                    _measure(Timings(label, len(recipients)), runs, _gpg_encrypt(command, record))
                )
        except (subprocess.SubprocessError, OSError) as error:
            result.skipped.append(f"GPG: skipped: gpg failed here ({_why(error)})")
        finally:
            gpgconf = shutil.which("gpgconf")
            if gpgconf is not None:  # the gpg-agent that key generation started
                subprocess.run(
                    [gpgconf, "--homedir", home, "--kill", "all"],
                    capture_output=True,
                    check=False,
                    timeout=GPG_TIMEOUT,
                )
    for label, command in (
        ("spawn `true` (fork + exec from this process, nothing else)", [_true()]),
        ("spawn `gpg --version` (start-up of gpg, no keyring, no crypto)", [gpg, "--version"]),
    ):
        result.spawns.append(_measure(Timings(label, 0), runs, _spawn(command)))


def _spawn(command: list[str]) -> Callable[[], int]:
    def spawn() -> int:
        return len(_output(command))

    return spawn


def _true() -> str:
    return shutil.which("true") or "/bin/true"


def _output(command: Sequence[str], stdin: bytes = b"") -> str:
    done = subprocess.run(
        command, input=stdin, capture_output=True, check=True, timeout=GPG_TIMEOUT
    )
    return done.stdout.decode("utf-8", "replace")


def _why(error: BaseException) -> str:
    if isinstance(error, subprocess.CalledProcessError) and error.stderr:
        lines = bytes(error.stderr).decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else str(error)
    return f"{type(error).__name__}: {error}"


def _gpg_key(base: list[str], number: int) -> str:
    """A new ed25519 key with a cv25519 encryption subkey; its fingerprint."""
    uid = f"Bench reviewer {number} <reviewer{number}@bench.invalid>"
    unlocked = ["--pinentry-mode", "loopback", "--passphrase", ""]
    _output([*base, *unlocked, "--quick-generate-key", uid, "ed25519", "sign", "never"])
    listing = _output([*base, "--with-colons", "--list-keys", f"={uid}"])
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
    )
    _output([*base, *unlocked, "--quick-add-key", fingerprint, "cv25519", "encr", "never"])
    return fingerprint


def _gpg_encrypt(command: list[str], plaintext: bytes) -> Callable[[], int]:
    def encrypt() -> int:
        done = subprocess.run(
            command, input=plaintext, capture_output=True, check=True, timeout=GPG_TIMEOUT
        )
        return len(done.stdout)

    return encrypt


def _nacl(result: PeersResult, record: bytes, runs: int) -> None:
    try:
        import nacl
        from nacl.public import PrivateKey, PublicKey, SealedBox
    except ImportError:
        result.skipped.append(
            "NaCl: skipped: PyNaCl not installed (`.venv/bin/pip install -e '.[bench]'`)"
        )
        return
    result.nacl_version = f"PyNaCl {nacl.__version__}"
    publics = [bytes(PrivateKey.generate().public_key.encode()) for _ in range(RECIPIENTS)]

    def seal() -> int:
        # As GlobaLeaks' db_create_submission: GCE.generate_keypair() for the
        # tip, GCE.asymmetric_encrypt (a sealed box) of the answers to the tip
        # key, then of the tip's private key to each recipient's public key.
        tip = PrivateKey.generate()
        answers = base64.b64encode(bytes(SealedBox(tip.public_key).encrypt(record)))
        tip_private = bytes(tip.encode())
        keys = [bytes(SealedBox(PublicKey(public)).encrypt(tip_private)) for public in publics]
        return len(answers) + sum(len(key) for key in keys) + len(bytes(tip.public_key.encode()))

    result.rows.append(
        _measure(
            Timings(
                "NaCl sealed boxes as GlobaLeaks: tip key pair, answers and tip key sealed",
                RECIPIENTS,
            ),
            runs,
            seal,
        )
    )


def render(result: PeersResult) -> str:
    """A markdown table: ms per report, ratio to the first row, bytes stored."""
    lines = [
        f"**g. Sealing one report, Sviedka and peers** ({result.runs} runs each; the record of "
        f"its texts is {result.plaintext:,} bytes; receipt KDF left out everywhere)",
        "",
        "| way of sealing | recipients | wall ms median / p95 | CPU ms median / p95 "
        "| × Sviedka wall / CPU (median) | bytes stored |",
        "|---|---|---|---|---|---|",
    ]
    base = result.rows[0] if result.rows else None
    for row in result.rows:
        ratio = "1" if row is base else _ratio(row, base)
        lines.append(
            f"| {row.label} | {row.recipients} "
            f"| {row.median_ms():.2f} / {row.p95_ms():.2f} "
            f"| {row.median_ms(cpu=True):.2f} / {row.p95_ms(cpu=True):.2f} "
            f"| {ratio} | {row.stored:,} |"
        )
    for row in result.spawns:
        lines.append(
            f"| {row.label} | — | {row.median_ms():.2f} / {row.p95_ms():.2f} "
            f"| {row.median_ms(cpu=True):.2f} / {row.p95_ms(cpu=True):.2f} "
            f"| {_ratio(row, base)} | — |"
        )
    lines.append("")
    versions = [v for v in (result.gpg_version, result.nacl_version) if v]
    if versions:
        lines.append("Versions: " + "; ".join(versions) + ".")
    lines.extend(f"**{why}**" for why in result.skipped)
    return "\n".join(lines)


def _ratio(row: Timings, base: Timings | None) -> str:
    if base is None or not base.wall or not row.wall:
        return "—"
    wall = row.median_ms() / base.median_ms()
    cpu = row.median_ms(cpu=True) / base.median_ms(cpu=True)
    return f"{wall:.1f} / {cpu:.1f}"
