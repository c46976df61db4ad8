"""Typed configuration for Sviedka.

This module is the only reader of ``os.environ`` for settings, and
:class:`Config` is their only declaration: each field is one variable named
``REGISTRY_`` + the field's name in capitals (``serve_threads`` is
``REGISTRY_SERVE_THREADS``), parsed by the field's type (``str``, ``int``,
``float``, ``bool``, ``Path``) and checked against the :class:`Rule` in the
field's metadata; its default is the field's default.  A value that does not
parse, or is out of bounds, raises :class:`ConfigError` naming the variable;
an unknown ``REGISTRY_*`` variable (a typo) is reported on stderr and
ignored.  The rest of the code receives a :class:`Config` instance.

Defaults give the embedded deployment used by ``make run``: everything
written at runtime (the SQLite database, sealed blobs) under ``instance/``,
and key material under ``keys/`` (README "Configuration").
"""

from __future__ import annotations

import difflib
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any, Self, get_type_hints

ROOT = Path(__file__).resolve().parent
PREFIX = "REGISTRY_"
# REGISTRY_* variables read by other code, not settings of the app: the
# PostgreSQL servers of the test suite and of the benchmarks
# (REGISTRY_TEST_PG_URL, REGISTRY_BENCH_PG_URL).
READ_ELSEWHERE = ("REGISTRY_TEST_", "REGISTRY_BENCH_")
DEFAULT_INSTANCE_DIR = ROOT / "instance"
# Where sealed blobs were kept by default before every runtime path moved
# under the instance directory: a deployment that still has blobs there must
# move them (or say where they are) rather than start with an empty store.
LEGACY_STORAGE_DIR = ROOT / "storage"


class ConfigError(ValueError):
    """``REGISTRY_*`` variables whose values cannot be used.

    ``problems`` maps each variable to a sentence naming it and the expected
    form; ``str()`` joins them on one line.  The value of a secret setting
    (a URL may carry a password) is never part of the message.
    """

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(self.problems.values()))


@dataclass(frozen=True)
class Rule:
    """How one field is read from the environment (its ``metadata["rule"]``)."""

    # False for fields that are not deployment settings (testing, extra).
    from_env: bool = True
    # Bounds of a number: at least ``ge``, more than ``gt``, at most ``le``.
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    # A text setting must match ``pattern`` in full; ``expected`` says how.
    pattern: re.Pattern[str] | None = None
    expected: str = ""
    # Never echo the value in an error (URLs may hold a password).
    secret: bool = False
    # Left at its default, the value is derived from ``instance_dir``: every
    # runtime path lives under the instance directory unless set.
    under_instance: Callable[[Path], Any] | None = None
    # A trailing "/" is dropped (base_url: links append "/staff/…").
    strip_slash: bool = False


def _rule(**kwargs: Any) -> dict[str, Rule]:
    return {"rule": Rule(**kwargs)}


def _sqlite_in(instance: Path) -> str:
    return f"sqlite:///{instance / 'registry.sqlite3'}"


def _storage_in(instance: Path) -> Path:
    return instance / "storage"


# What a URL setting must look like: a scheme, "://", then printable text.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\x00-\x1f\x7f]*")
_HTTP_URL = re.compile(r"https?://[^\x00-\x20\x7f/?#]+(?:/[^\x00-\x20\x7f]*)?")
# A Bot API token: the bot's numeric id, a colon, then the secret part.
_BOT_TOKEN = re.compile(r"(?:[0-9]{1,20}:[A-Za-z0-9_-]{20,100})?")
_ONION = re.compile(r"(?:(?:[a-z0-9-]+\.)+onion)?", re.IGNORECASE)
# Retention periods by disposition: "code=months,code=months" (or empty).
_RETENTION_RULES = re.compile(
    r"(?:[a-z][a-z0-9-]{0,31}=[0-9]{1,4}(?:,[a-z][a-z0-9-]{0,31}=[0-9]{1,4})*)?"
)
_KEEP = re.compile(r"codes|nothing")
_SMTP_SECURITY = re.compile(r"starttls|tls|none")
_SMTP_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])?")
_SMTP_USER = re.compile(r"[^\x00-\x20\x7f]{0,254}")
_SMTP_PASSWORD = re.compile(r"[^\x00-\x1f\x7f]{0,1024}")
_MAIL_ADDRESS = re.compile(r"[^\x00-\x20\x7f@<>]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")
# Argon2's own bounds (registry.crypto.Argon2Params; RFC 9106 §3.1): 8 KiB
# per lane (the escrow file uses 4 lanes), at most 4 GiB and 64 passes.
_ARGON2_MAX_KIB = 4 * 1024 * 1024
_ARGON2_MAX_PASSES = 64
# Socket timeouts: 0 would mean "wait forever" to the kernel.
_DAY = 86400


@dataclass(frozen=True)
class Config:
    """Settings for one deployment; immutable once the app is created."""

    # Left at the default, the database is instance_dir/registry.sqlite3.
    database_url: str = field(
        default=_sqlite_in(DEFAULT_INSTANCE_DIR),
        metadata=_rule(
            pattern=_URL,
            expected="a SQLAlchemy URL such as sqlite:///path/registry.sqlite3 "
            "or postgresql+psycopg://user@host/dbname",
            secret=True,
            under_instance=_sqlite_in,
        ),
    )
    instance_dir: Path = DEFAULT_INSTANCE_DIR
    # Published key material and the secret key (keys/README.md); it stays at
    # the checkout's keys/ (gitignored) where every existing deployment has
    # its secret.key: a new default would silently create a new secret.
    keys_dir: Path = ROOT / "keys"
    # Where the public link printed on first start points.
    base_url: str = field(
        default="http://127.0.0.1:8000",
        metadata=_rule(
            pattern=_HTTP_URL,
            expected="an http:// or https:// address such as https://registry.example.org",
            strip_slash=True,
        ),
    )
    # Argon2id for reviewer passwords.  RFC 9106's second recommended option
    # (64 MiB, 3 passes) keeps one guess expensive on GPUs while a login
    # still costs well under a second on the 2-core reference machine.
    password_memory_kib: int = field(default=65536, metadata=_rule(ge=8, le=_ARGON2_MAX_KIB))
    password_iterations: int = field(default=3, metadata=_rule(ge=1, le=_ARGON2_MAX_PASSES))
    # Argon2id for receipts.  A receipt carries 100 bits of entropy, so the
    # KDF only has to make bulk lookups by a flood costly, not resist guessing.
    receipt_memory_kib: int = field(default=19456, metadata=_rule(ge=8, le=_ARGON2_MAX_KIB))
    receipt_iterations: int = field(default=2, metadata=_rule(ge=1, le=_ARGON2_MAX_PASSES))
    # Receipt derivations one worker runs at once (each takes ~19 MiB).
    receipt_kdf_slots: int = field(default=2, metadata=_rule(ge=1))
    # How long a request waits for a slot before answering 503.
    receipt_kdf_wait_seconds: float = field(default=5.0, metadata=_rule(ge=0))
    # Argon2id for the offline escrow file: opened rarely, so it can afford
    # far more than a login (1 GiB, 4 passes; 4 lanes, hence 32 KiB at least).
    escrow_memory_kib: int = field(default=1024 * 1024, metadata=_rule(ge=32, le=_ARGON2_MAX_KIB))
    escrow_iterations: int = field(default=4, metadata=_rule(ge=1, le=_ARGON2_MAX_PASSES))
    session_idle_minutes: int = field(default=30, metadata=_rule(ge=1))
    session_absolute_hours: int = field(default=12, metadata=_rule(ge=1))
    invite_valid_hours: int = field(default=72, metadata=_rule(ge=1))
    # Staff login throttling, kept in the database so every worker shares it
    # (registry.auth.throttle).  After this many failures in a row for a
    # typed email (or wrong codes after the right password) every attempt is
    # refused unchecked for login_first_wait_seconds; each further failure
    # doubles the wait up to login_longest_wait_seconds.  WHY an hour: it
    # leaves a guesser ~24 tries a day per account (nothing against a
    # 12-character password; ~3e-6 per try against a TOTP code, while the
    # audit log and the people page show the attack); longer would let anyone
    # who knows a colleague's email lock them out for longer.
    login_free_attempts: int = field(default=5, metadata=_rule(ge=1))
    login_first_wait_seconds: int = field(default=60, metadata=_rule(ge=1))
    login_longest_wait_seconds: int = field(default=3600, metadata=_rule(ge=1))
    # Counters without a failure for this long are forgotten.
    login_forget_hours: int = field(default=24, metadata=_rule(ge=1))
    # Idle counters kept at most (random emails must not grow the table).
    login_throttle_rows: int = field(default=10_000, metadata=_rule(ge=1))
    # How old a worker's bitmap snapshot of the plain queue columns may be
    # before it is rebuilt in the background (codes only, never search
    # text).  A build of 100,000 reports takes ~0.6 s (bench/README.md), so
    # pages do not wait for it; 0 rebuilds on every page (live counts).
    queue_counts_seconds: float = field(default=30.0, metadata=_rule(ge=0))
    # Published evidence (registry.evidence): every count below k is shown as
    # "fewer than k", with complementary suppression around it.  WHY at
    # least 3: with k = 2 a published "fewer than 2" is 0 or 1, and a single
    # case of "this unit, this region, this quarter" can point at a person.
    evidence_k: int = field(default=5, metadata=_rule(ge=3))
    # Sealed attachment blobs (ciphertext only) live here; left at the
    # default, under instance_dir.
    storage_dir: Path = field(
        default=_storage_in(DEFAULT_INSTANCE_DIR), metadata=_rule(under_instance=_storage_in)
    )
    # 0 refuses every file (the form says so).
    attachment_max_files: int = field(default=10, metadata=_rule(ge=0))
    attachment_max_bytes: int = field(default=50 * 1024 * 1024, metadata=_rule(ge=1))
    # Cleaning photos (registry.attachments.imageplan): what one request may
    # spend on it in all, as estimated CPU milliseconds on the 2-core
    # reference machine (one photo alone is held to 1,000), how many photos
    # a worker cleans at once (~100 MB each; 0 refuses photos), and how long
    # a request waits for that before answering 503 with the person's text kept.
    image_clean_budget_ms: int = field(default=4000, metadata=_rule(ge=1))
    image_clean_slots: int = field(default=1, metadata=_rule(ge=0))
    image_clean_wait_seconds: float = field(default=10.0, metadata=_rule(ge=0))
    # How often each worker looks for incoming blobs of dead uploads (at
    # start, then at most this often, on a request).
    incoming_sweep_seconds: float = field(default=300.0, metadata=_rule(ge=0))
    # Flask-Limiter storage: "memory://" embedded, "redis://…" in production.
    ratelimit_storage_uri: str = field(
        default="memory://",
        metadata=_rule(
            pattern=_URL,
            expected="a storage URI such as memory:// or redis://127.0.0.1:6379",
            secret=True,
        ),
    )
    ratelimit_enabled: bool = True
    # An onion service address (e.g. "abc…xyz.onion"): advertised to Tor
    # Browser with the Onion-Location header on every page.
    onion_address: str = field(
        default="",
        metadata=_rule(
            pattern=_ONION, expected="an onion host name such as abc…xyz.onion, or empty"
        ),
    )
    # Cookies get the Secure flag when the site is served over HTTPS.
    secure_cookies: bool = False
    # Strict-Transport-Security max-age in seconds; 0 sends no header.  Off by
    # default: the embedded deployment serves plain HTTP on 127.0.0.1 and an
    # onion service needs no HTTPS, and HSTS on a name that later loses its
    # certificate locks every visitor out.  Set it (e.g. 31536000) only when
    # the site is reached over HTTPS and will stay so.
    hsts_seconds: int = field(default=0, metadata=_rule(ge=0))
    # The Telegram intake bot (registry.telegram, README "Telegram"): the
    # token from BotFather; empty means no bot (``make run`` starts none).
    telegram_token: str = field(
        default="",
        metadata=_rule(
            pattern=_BOT_TOKEN,
            expected="a bot token from BotFather such as 123456:ABC-def…, or empty",
            # WHY secret: the token is the bot; whoever holds it reads its chats.
            secret=True,
        ),
    )
    # The Bot API server: Telegram's own, or a self-hosted telegram-bot-api
    # server (which also lifts the 20 MB download limit for bots).
    telegram_api_url: str = field(
        default="https://api.telegram.org",
        metadata=_rule(
            pattern=_HTTP_URL,
            expected="an http:// or https:// address such as https://api.telegram.org",
            strip_slash=True,
            # A self-hosted server's address may carry a password.
            secret=True,
        ),
    )
    # Receipt derivations the bot process runs at once: its own bound, beside
    # each web worker's receipt_kdf_slots (a semaphore cannot span processes).
    telegram_kdf_slots: int = field(default=1, metadata=_rule(ge=1))
    # Per chat and hour, kept in the bot's memory only: reports stored, and
    # bytes of files received.
    telegram_reports_per_hour: int = field(default=3, metadata=_rule(ge=1))
    telegram_upload_bytes_per_hour: int = field(default=200 * 1024 * 1024, metadata=_rule(ge=1))
    # A conversation silent for this long is forgotten (nothing stored).
    telegram_idle_minutes: int = field(default=30, metadata=_rule(ge=1, le=24 * 60))
    # Retention (registry.retention, README "Retention").  The sealed content
    # of a closed case is deleted this many months after the day it was
    # closed, unless a coordinator holds it; WHY a deadline at all: what the
    # registry keeps longer than it needs can be seized (docs/threat-model.md).
    retention_closed_months: int = field(default=24, metadata=_rule(ge=1, le=1200))
    # Shorter (or longer) periods by disposition, "code=months" separated by
    # commas; codes come from the dispositions vocabulary (checked at start).
    retention_by_disposition: str = field(
        default="duplicate=3,outside-scope=3",
        metadata=_rule(
            pattern=_RETENTION_RULES,
            expected="disposition=months pairs separated by commas, such as "
            "duplicate=3,outside-scope=6, or empty",
        ),
    )
    # What a deleted case leaves behind: "codes" keeps the plain row (codes,
    # region, month, status) that published statistics count; "nothing"
    # deletes the row too.
    retention_keep: str = field(
        default="codes",
        metadata=_rule(pattern=_KEEP, expected='"codes" or "nothing"'),
    )
    # Quiet e-mail notices (registry.notices): at most one per person per
    # this many hours, whatever the activity.
    notice_every_hours: int = field(default=6, metadata=_rule(ge=1, le=24 * 30))
    # The mail server notices go through; an empty host sends none (the
    # account page then does not offer them).
    smtp_host: str = field(
        default="",
        metadata=_rule(
            pattern=_SMTP_HOST,
            expected="a host name or [IP address] such as mail.example.org, or empty",
        ),
    )
    smtp_port: int = field(default=587, metadata=_rule(ge=1, le=65535))
    # "starttls" (port 587), "tls" (implicit TLS, port 465) or "none" (a
    # relay on the same machine only).
    smtp_security: str = field(
        default="starttls",
        metadata=_rule(pattern=_SMTP_SECURITY, expected='"starttls", "tls" or "none"'),
    )
    smtp_user: str = field(
        default="",
        metadata=_rule(pattern=_SMTP_USER, expected="a user name without spaces, or empty"),
    )
    smtp_password: str = field(
        default="",
        metadata=_rule(
            pattern=_SMTP_PASSWORD, expected="a password without control characters", secret=True
        ),
    )
    smtp_from: str = field(
        default="sviedka@localhost",
        metadata=_rule(pattern=_MAIL_ADDRESS, expected="an address such as registry@example.org"),
    )
    # A mail server that does not answer within this is a failed delivery,
    # retried later with backoff; intake and triage never wait for it.
    smtp_timeout_seconds: float = field(default=10.0, metadata=_rule(gt=0, le=600))
    # How often the background loop of ``make run`` runs ``registry maintain``.
    maintain_every_seconds: int = field(default=300, metadata=_rule(ge=10, le=_DAY))
    # Serving (registry.serving.worker).  A request's head, and a body of at
    # most 16 KiB, are gathered by the event loop without a thread; the head
    # must be complete within ``head_timeout_seconds`` or the connection is
    # closed: idle and slow-header connections then cost a socket, never a
    # thread.  Threads answer requests (``serve_threads``) or read large
    # bodies as they arrive (``upload_threads``, separate, so hundreds of
    # slow uploads never delay a page).  A thread waits at most
    # ``idle_timeout_seconds`` for the next byte of a body, or for a slow
    # reader to take the next piece of a response.
    serve_threads: int = field(default=8, metadata=_rule(ge=1))
    upload_threads: int = field(default=64, metadata=_rule(ge=1))
    head_timeout_seconds: float = field(default=30.0, metadata=_rule(gt=0, le=_DAY))
    idle_timeout_seconds: float = field(default=120.0, metadata=_rule(gt=0, le=_DAY))
    # A worker running a request takes no new connection for this long, so
    # they go to a free worker (registry.serving.door says why and what was
    # measured); 0 turns this off (every worker takes every connection).
    serve_accept_grace_seconds: float = field(default=0.1, metadata=_rule(ge=0, le=60))
    testing: bool = field(default=False, metadata=_rule(from_env=False))
    extra: dict[str, Any] = field(default_factory=dict, metadata=_rule(from_env=False))

    def __post_init__(self) -> None:
        # Paths left at their default follow the instance directory (so does a
        # path given equal to the default: from_env and with_overrides put
        # back what was given explicitly).
        if self.instance_dir == DEFAULT_INSTANCE_DIR:
            return
        for name, rule in rules().items():
            if rule.under_instance is not None and getattr(self, name) == _default_of(name):
                object.__setattr__(self, name, rule.under_instance(self.instance_dir))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Build the configuration from ``REGISTRY_*`` variables (``os.environ`` by default).

        Raises :class:`ConfigError` naming every variable whose value is unusable.
        """
        env = os.environ if environ is None else environ
        _warn_unknown(env)
        kinds = get_type_hints(Config)
        values: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for name, rule in rules().items():
            raw = env.get(variable(name)) if rule.from_env else None
            if raw is None:
                continue
            try:
                values[name] = _parse(kinds[name], rule, raw)
            except _Unusable as unusable:
                problems[variable(name)] = _complaint(variable(name), rule, unusable.expected, raw)
        if problems:
            raise ConfigError(problems)
        cfg = cls(**values)
        for name, value in values.items():
            # Given explicitly, a path stays as given even if it equals the
            # default that __post_init__ moves under the instance directory.
            if rules()[name].under_instance is not None:
                object.__setattr__(cfg, name, value)
        if "storage_dir" not in values:
            _refuse_legacy_storage(cfg.storage_dir)
        return cfg

    def with_overrides(self, **changes: Any) -> Self:
        """Return a copy with some settings changed (used by tests and the CLI).

        Paths that followed the instance directory follow a new one.
        """
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        changed = replace(self, **changes)
        for name, rule in rules().items():
            derive = rule.under_instance
            if derive is None:
                continue
            if name in changes:
                value = changes[name]
            elif getattr(self, name) == derive(self.instance_dir):
                value = derive(changed.instance_dir)
            else:
                value = getattr(self, name)
            # Past __post_init__, which cannot tell a path set to the default.
            object.__setattr__(changed, name, value)
        return changed


@dataclass(frozen=True)
class TestingConfig(Config):
    """Cheap KDF costs and no rate limits, for the test suite only.

    Tests get cheap Argon2 through this class, never by patching the crypto.
    """

    __test__ = False  # not a pytest test class, despite the name

    password_memory_kib: int = 64
    password_iterations: int = 1
    receipt_memory_kib: int = 64
    receipt_iterations: int = 1
    escrow_memory_kib: int = 64
    escrow_iterations: int = 1
    ratelimit_enabled: bool = False
    testing: bool = True

    @classmethod
    def for_paths(
        cls, instance_dir: Path, keys_dir: Path, database_url: str | None = None
    ) -> TestingConfig:
        """Testing configuration rooted at temporary directories."""
        url = database_url or f"sqlite:///{instance_dir / 'registry.sqlite3'}"
        return cls(
            database_url=url,
            instance_dir=instance_dir,
            keys_dir=keys_dir,
            storage_dir=instance_dir.parent / "storage",
        )


def variable(name: str) -> str:
    """The environment variable of the setting ``name``."""
    return PREFIX + name.upper()


@cache
def rules() -> dict[str, Rule]:
    """Every field of :class:`Config` with its rule, in declaration order.

    Taken from :class:`Config` itself: a subclass that only changes defaults
    (``TestingConfig``) keeps the bounds.
    """
    return {f.name: _rule_of(f) for f in fields(Config)}


def settable() -> dict[str, str]:
    """Field name -> environment variable, for every setting read from the environment."""
    return {name: variable(name) for name, rule in rules().items() if rule.from_env}


def _rule_of(spec: Field[Any]) -> Rule:
    rule: Rule = spec.metadata.get("rule", Rule())
    return rule


def _default_of(name: str) -> Any:
    return next(f.default for f in fields(Config) if f.name == name)


class _Unusable(Exception):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


_WHOLE = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _parse(kind: Any, rule: Rule, raw: str) -> Any:
    """The value ``raw`` stands for, by the field's type; :class:`_Unusable` if none."""
    text = raw.strip()
    if kind is bool:
        if text.lower() not in BOOLEANS:
            raise _Unusable("1, 0, true, false, yes or no")
        return BOOLEANS[text.lower()]
    if kind is int or kind is float:
        if not (_WHOLE if kind is int else _NUMBER).fullmatch(text):
            raise _Unusable(_number_form(kind, rule))
        number = kind(text)
        if (kind is float and not math.isfinite(number)) or not _within(rule, number):
            raise _Unusable(_number_form(kind, rule))
        return number
    if kind is Path:
        if not text or "\x00" in text:
            raise _Unusable("a path")
        return Path(text)
    if kind is str:
        if rule.strip_slash:
            text = text.rstrip("/")
        if rule.pattern is not None and not rule.pattern.fullmatch(text):
            raise _Unusable(rule.expected)
        return text
    raise TypeError(f"no parser for {kind!r}")


def _within(rule: Rule, number: float) -> bool:
    return (
        (rule.ge is None or number >= rule.ge)
        and (rule.gt is None or number > rule.gt)
        and (rule.le is None or number <= rule.le)
    )


def _number_form(kind: Any, rule: Rule) -> str:
    noun = "a whole number" if kind is int else "a number"
    bounds = []
    if rule.ge is not None and rule.le is not None:
        bounds.append(f"{_shown(rule.ge)} to {_shown(rule.le)}")
    elif rule.ge is not None:
        bounds.append(f"at least {_shown(rule.ge)}")
    if rule.gt is not None:
        bounds.append(f"more than {_shown(rule.gt)}")
    if rule.le is not None and rule.ge is None:
        bounds.append(f"at most {_shown(rule.le)}")
    return f"{noun} ({', '.join(bounds)})" if bounds else noun


def _shown(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _complaint(name: str, rule: Rule, expected: str, raw: str) -> str:
    if rule.secret:
        return f"{name} is not valid: expected {expected} (the value is not shown)"
    shown = raw if len(raw) <= 80 else raw[:80] + "…"
    return f"{name} must be {expected}, got {shown!r}"


def _warn_unknown(env: Mapping[str, str]) -> None:
    """One line on stderr for each ``REGISTRY_*`` variable that is no setting."""
    known = list(settable().values())
    for name in sorted(env):
        if not name.startswith(PREFIX) or name in known or name.startswith(READ_ELSEWHERE):
            continue
        # Compared without the prefix, which every name shares.
        suffixes = [other.removeprefix(PREFIX) for other in known]
        near = difflib.get_close_matches(name.removeprefix(PREFIX), suffixes, n=1)
        hint = f" (did you mean {PREFIX}{near[0]}?)" if near else ""
        print(f"warning: {name} is not a setting and is ignored{hint}", file=sys.stderr)


def _refuse_legacy_storage(storage_dir: Path) -> None:
    """Refuse to start with an empty blob store while the old default holds blobs."""
    old, new = LEGACY_STORAGE_DIR, storage_dir
    if old.resolve() == new.resolve() or not _has_entries(old / "blobs"):
        return
    if _has_entries(new / "blobs"):
        return
    name = variable("storage_dir")
    raise ConfigError(
        {
            name: f"{name} is not set, and its default moved from {old} to {new}, but "
            f"sealed blobs are still in {old}: move that folder to {new}, or set {name}={old}"
        }
    )


def _has_entries(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(True for _ in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False
