"""Configuration: one typed declaration (config.Config), read from ``REGISTRY_*``.

The property tests take every setting from the dataclass itself: any valid
rendering of a value parses back to that value, and any invalid string
raises ConfigError naming exactly that variable.  Defaults come from the
field defaults, runtime paths lie under the instance directory, and the
README's table documents exactly the settable variables.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import config
from config import (
    BOOLEANS,
    PREFIX,
    READ_ELSEWHERE,
    ROOT,
    Config,
    ConfigError,
    Rule,
    TestingConfig,
    rules,
    settable,
    variable,
)
from registry.cli import main
from tests.fuzz.strategies import IN_CI, ODD_VALUES

PROPERTY = settings(max_examples=60, deadline=None, derandomize=IN_CI)
KINDS = {f.name: f.type for f in dataclasses.fields(Config)}  # strings (postponed annotations)
SETTABLE = settable()


def _whole(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


def _of(kind: str) -> list[str]:
    return [name for name in SETTABLE if KINDS[name] == kind]


# Text settings: canonical valid values, and what may be added around them.
VALID_TEXT: dict[str, st.SearchStrategy[str]] = {
    "database_url": st.from_regex(
        r"(sqlite|postgresql\+psycopg|mysql)://[!-~]*(/[ -~]*[!-~])?", fullmatch=True
    ),
    "base_url": st.from_regex(
        r"https?://[a-z0-9.-]{1,30}(:[0-9]{1,5})?(/[a-z0-9._~-]{1,10}){0,3}", fullmatch=True
    ),
    "ratelimit_storage_uri": _whole(r"(memory|redis|rediss|memcached)://[!-~]*"),
    "onion_address": st.just("") | _whole(r"([a-z2-7]{56}|[a-z0-9-]{1,20})\.onion"),
    "telegram_token": st.just("") | _whole(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,100}"),
    "telegram_api_url": st.from_regex(
        r"https?://[a-z0-9.-]{1,30}(:[0-9]{1,5})?(/[a-z0-9._~-]{1,10}){0,3}", fullmatch=True
    ),
    "retention_by_disposition": st.just("")
    | _whole(r"[a-z][a-z0-9-]{0,10}=[0-9]{1,4}(,[a-z][a-z0-9-]{0,10}=[0-9]{1,4}){0,3}"),
    "retention_keep": st.sampled_from(["codes", "nothing"]),
    "smtp_host": st.just("") | _whole(r"[a-z0-9]([a-z0-9.-]{0,30})") | st.just("[::1]"),
    "smtp_security": st.sampled_from(["starttls", "tls", "none"]),
    "smtp_user": _whole(r"[!-~]{0,40}"),
    "smtp_password": _whole(r"([!-~]([ -~]{0,40}[!-~])?)?"),
    "smtp_from": _whole(r"[a-z0-9._+-]{1,20}@[a-z0-9]([a-z0-9.-]{0,20})"),
}
# Invalid text: anything that does not have the form the setting needs.
INVALID_TEXT: dict[str, st.SearchStrategy[str]] = {
    "database_url": st.text().filter(lambda s: "://" not in s),
    "base_url": st.text().filter(lambda s: not s.strip().startswith(("http://", "https://")))
    | st.sampled_from(["http://", "https://", "http:///x", "https:// a", "http://a b"]),
    "ratelimit_storage_uri": st.text().filter(lambda s: "://" not in s),
    "onion_address": st.text(min_size=1).filter(
        lambda s: (
            s.strip() != ""
            and not re.fullmatch(r"(?:[a-z0-9-]+\.)+onion", s.strip(), re.IGNORECASE)
        )
    )
    | st.sampled_from(["http://x.onion", "x.onion/", "example.org", "x.onion\r\nSet-Cookie: a"]),
    "telegram_token": st.text(min_size=1).filter(
        lambda s: (
            s.strip() != "" and not re.fullmatch(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,100}", s.strip())
        )
    )
    | st.sampled_from(["123456", "bot123:abc", "123:short", "123456:" + "a" * 30 + " x"]),
    "telegram_api_url": st.text().filter(
        lambda s: not s.strip().startswith(("http://", "https://"))
    )
    | st.sampled_from(["http://", "https://", "https:// a", "api.telegram.org"]),
    "retention_by_disposition": st.sampled_from(
        ["duplicate", "duplicate=", "duplicate=x", "=3", "duplicate=3,", "a=1;b=2", "Dup=3"]
    ),
    "retention_keep": st.text(min_size=1).filter(lambda s: s.strip() not in ("codes", "nothing")),
    "smtp_host": st.sampled_from(["mail example.org", "-mail", "mail/x", "[zz]", "a@b"]),
    "smtp_security": st.text(min_size=1).filter(
        lambda s: s.strip() not in ("starttls", "tls", "none")
    ),
    "smtp_user": st.sampled_from(["a b", "user\x00", "x\ty"]),
    "smtp_password": st.sampled_from(["a\x00b", "pass\x7f", "a\nb"]),
    "smtp_from": st.sampled_from(
        ["", "registry", "a@", "@example.org", "a b@example.org", "a@b c"]
    ),
}
SPACE = st.text(alphabet=" \t\n", max_size=2)
# An invalid value of a secret setting whose every rendering differs from "x".
INVALID_EXAMPLE = {"smtp_password": "x\x00"}


def _bounds(rule: Rule) -> tuple[float | None, float | None]:
    low = rule.ge if rule.ge is not None else rule.gt
    return low, rule.le


def _in_range(rule: Rule, number: float) -> bool:
    return (
        (rule.ge is None or number >= rule.ge)
        and (rule.gt is None or number > rule.gt)
        and (rule.le is None or number <= rule.le)
    )


def _valid(name: str) -> st.SearchStrategy[tuple[str, Any]]:
    """(rendering, value) pairs for the setting ``name``."""
    rule, kind = rules()[name], KINDS[name]
    if kind == "int":
        low, high = _bounds(rule)
        numbers = st.integers(
            min_value=None if low is None else math.ceil(low) + (rule.gt is not None),
            max_value=None if high is None else int(high),
        )
        forms = st.sampled_from(["{}", "+{}", "0{}"])
        return st.tuples(numbers, forms).map(
            lambda p: (p[1].format(p[0]) if p[0] >= 0 else str(p[0]), p[0])
        )
    if kind == "float":
        low, high = _bounds(rule)
        numbers = st.floats(
            min_value=low,
            max_value=high,
            exclude_min=rule.gt is not None,
            allow_nan=False,
            allow_infinity=False,
        )
        return numbers.flatmap(
            lambda x: st.sampled_from(
                [repr(x)] + ([str(int(x))] if x.is_integer() and abs(x) < 1e15 else [])
            ).map(lambda text: (text, x))
        )
    if kind == "bool":
        return st.sampled_from(sorted(BOOLEANS)).flatmap(
            lambda token: st.tuples(*[st.sampled_from([c.lower(), c.upper()]) for c in token]).map(
                lambda chars: ("".join(chars), BOOLEANS[token])
            )
        )
    if kind == "Path":
        text = st.text(
            alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
            min_size=1,
        ).filter(lambda s: s == s.strip())
        return text.map(lambda s: (s, Path(s)))
    assert kind == "str", kind
    trailing = st.sampled_from(["", "/", "//"]) if rule.strip_slash else st.just("")
    return st.tuples(VALID_TEXT[name], trailing).map(lambda p: (p[0] + p[1], p[0]))


def _invalid(name: str) -> st.SearchStrategy[str]:
    rule, kind = rules()[name], KINDS[name]
    odd = st.sampled_from(ODD_VALUES)
    if kind == "int":
        shapeless = (st.text() | odd).filter(lambda s: not re.fullmatch(r"[+-]?[0-9]+", s.strip()))
        outside = st.integers().filter(lambda n: not _in_range(rule, n)).map(str)
        return shapeless | outside | st.sampled_from(["1.0", "1e3", "1_000", "٣", "0x10", "", " "])
    if kind == "float":
        number = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
        shapeless = (st.text() | odd).filter(lambda s: not re.fullmatch(number, s.strip()))
        outside = (
            st.floats(allow_nan=False, allow_infinity=False)
            .filter(lambda x: not _in_range(rule, x))
            .map(repr)
        )
        return shapeless | outside | st.sampled_from(["nan", "inf", "-inf", "1e999", "٣", ""])
    if kind == "bool":
        return (st.text() | odd).filter(lambda s: s.strip().lower() not in BOOLEANS) | st.just("on")
    if kind == "Path":
        return SPACE | st.text().map(lambda s: s + "\x00")
    assert kind == "str", kind
    return INVALID_TEXT[name]


def test_every_setting_is_a_field_with_a_parser() -> None:
    """Each settable field has one of the parsed types; only testing and extra are not settable."""
    assert set(rules()) == {f.name for f in dataclasses.fields(Config)}
    assert set(rules()) - set(SETTABLE) == {"testing", "extra"}
    assert {KINDS[name] for name in SETTABLE} <= {"str", "int", "float", "bool", "Path"}
    assert set(_of("str")) == set(VALID_TEXT) == set(INVALID_TEXT)
    assert all(variable(name) == PREFIX + name.upper() for name in SETTABLE)


@pytest.mark.parametrize("name", list(SETTABLE))
@PROPERTY
@given(data=st.data())
def test_a_valid_rendering_parses_to_its_value(name: str, data: st.DataObject) -> None:
    text, value = data.draw(_valid(name))
    around = data.draw(st.tuples(SPACE, SPACE))
    cfg = Config.from_env({variable(name): around[0] + text + around[1]})
    assert getattr(cfg, name) == value
    assert type(getattr(cfg, name)) is type(value)


@pytest.mark.parametrize("name", list(SETTABLE))
@PROPERTY
@given(data=st.data())
def test_an_invalid_value_names_exactly_its_variable(name: str, data: st.DataObject) -> None:
    raw = data.draw(_invalid(name))
    with pytest.raises(ConfigError) as caught:
        Config.from_env({variable(name): raw})
    error = caught.value
    assert isinstance(error, ValueError)
    assert list(error.problems) == [variable(name)]
    message = str(error)
    assert message.startswith(variable(name) + " ")
    assert "\n" not in message
    if rules()[name].secret:
        # The same sentence whatever the value: nothing of a password leaks.
        assert message == str(_error({variable(name): INVALID_EXAMPLE.get(name, "x")}))
    else:
        assert "must be" in message


def _error(environ: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        Config.from_env(environ)
    return caught.value


def test_the_message_says_the_variable_and_the_form() -> None:
    assert str(_error({"REGISTRY_SERVE_THREADS": "abc"})) == (
        "REGISTRY_SERVE_THREADS must be a whole number (at least 1), got 'abc'"
    )
    assert str(_error({"REGISTRY_SECURE_COOKIES": "on"})) == (
        "REGISTRY_SECURE_COOKIES must be 1, 0, true, false, yes or no, got 'on'"
    )
    assert "REGISTRY_HSTS_SECONDS must be a whole number (at least 0)" in str(
        _error({"REGISTRY_HSTS_SECONDS": "-1"})
    )


def test_secret_values_are_never_shown() -> None:
    for name in ("REGISTRY_DATABASE_URL", "REGISTRY_RATELIMIT_STORAGE_URI"):
        message = str(_error({name: "hunter2@db.example"}))
        assert message.startswith(f"{name} is not valid")
        assert "hunter2" not in message
    # Whatever holds an address with credentials is marked secret.
    for name, rule in rules().items():
        if name.endswith(("_url", "_uri")) or "secret" in name or "token" in name:
            assert rule.secret or name == "base_url", name


def test_every_bad_variable_is_named_at_once() -> None:
    error = _error({"REGISTRY_SERVE_THREADS": "x", "REGISTRY_LOGIN_FREE_ATTEMPTS": "0"})
    assert set(error.problems) == {"REGISTRY_SERVE_THREADS", "REGISTRY_LOGIN_FREE_ATTEMPTS"}
    assert "REGISTRY_SERVE_THREADS" in str(error)
    assert "REGISTRY_LOGIN_FREE_ATTEMPTS" in str(error)


def test_out_of_range_is_refused_not_clamped() -> None:
    for name in ("LOGIN_FREE_ATTEMPTS", "LOGIN_FIRST_WAIT_SECONDS", "LOGIN_LONGEST_WAIT_SECONDS"):
        assert list(_error({PREFIX + name: "0"}).problems) == [PREFIX + name]
    assert Config.from_env({"REGISTRY_LOGIN_FREE_ATTEMPTS": "1"}).login_free_attempts == 1
    assert Config.from_env({"REGISTRY_HSTS_SECONDS": "0"}).hsts_seconds == 0


def test_argon2_bounds_match_the_crypto() -> None:
    from registry import runtime

    low = TestingConfig().with_overrides(
        password_memory_kib=int(rules()["password_memory_kib"].ge or 0),
        receipt_memory_kib=int(rules()["receipt_memory_kib"].ge or 0),
        escrow_memory_kib=int(rules()["escrow_memory_kib"].ge or 0),
    )
    high = TestingConfig().with_overrides(
        password_memory_kib=int(rules()["password_memory_kib"].le or 0),
        password_iterations=int(rules()["password_iterations"].le or 0),
    )
    for cfg in (low, high):
        runtime.password_params(cfg)
        runtime.receipt_params(cfg)
        runtime.escrow_params(cfg)


def test_defaults_are_the_dataclass_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert Config.from_env({}) == Config()
    assert TestingConfig.from_env({}) == TestingConfig()
    assert type(TestingConfig.from_env({})) is TestingConfig
    for spec in dataclasses.fields(Config):
        if spec.default is not dataclasses.MISSING:
            assert getattr(Config(), spec.name) == spec.default, spec.name
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", list(SETTABLE))
def test_every_default_is_a_valid_value(name: str) -> None:
    """A default rendered as text is accepted and read back unchanged."""
    for cls in (Config, TestingConfig):
        default = getattr(cls(), name)
        text = ("1" if default else "0") if isinstance(default, bool) else str(default)
        assert cls.from_env({variable(name): text}) == cls(), name


def test_runtime_paths_are_under_the_instance_directory(tmp_path: Path) -> None:
    paths = [name for name in rules() if KINDS[name] == "Path"]
    # keys/ holds published key material and the deployment's secret.key,
    # where README and keys/README.md say (gitignored); everything else that
    # is written at runtime follows the instance directory.
    followers = [name for name in paths if rules()[name].under_instance is not None]
    assert set(paths) - set(followers) == {"instance_dir", "keys_dir"}
    assert followers == ["storage_dir"]
    for cfg in (Config(), TestingConfig(), Config.from_env({})):
        assert cfg.storage_dir.is_relative_to(cfg.instance_dir)
        assert cfg.database_url == f"sqlite:///{cfg.instance_dir / 'registry.sqlite3'}"
    instance = tmp_path / "somewhere"
    for cfg in (
        Config.from_env({"REGISTRY_INSTANCE_DIR": str(instance)}),
        Config(instance_dir=instance),
        Config().with_overrides(instance_dir=instance),
        TestingConfig().with_overrides(instance_dir=tmp_path).with_overrides(instance_dir=instance),
    ):
        assert cfg.storage_dir == instance / "storage"
        assert cfg.database_url == f"sqlite:///{instance / 'registry.sqlite3'}"


@PROPERTY
@given(instance=st.from_regex(r"/[a-z0-9_.-]{1,12}(/[a-z0-9_.-]{1,12}){0,3}", fullmatch=True))
def test_paths_follow_any_instance_directory(instance: str) -> None:
    cfg = Config.from_env({"REGISTRY_INSTANCE_DIR": instance})
    assert cfg.instance_dir == Path(instance)
    assert cfg.storage_dir == Path(instance) / "storage"
    assert cfg.database_url == f"sqlite:///{Path(instance) / 'registry.sqlite3'}"


def test_paths_set_explicitly_stay_as_set(tmp_path: Path) -> None:
    given_paths = {
        "REGISTRY_INSTANCE_DIR": str(tmp_path / "instance"),
        "REGISTRY_STORAGE_DIR": str(Config().storage_dir),  # equal to the default, still kept
        "REGISTRY_DATABASE_URL": "postgresql+psycopg://u:pw@db/registry",
    }
    cfg = Config.from_env(given_paths)
    assert cfg.storage_dir == Config().storage_dir
    assert cfg.database_url == "postgresql+psycopg://u:pw@db/registry"
    moved = cfg.with_overrides(instance_dir=tmp_path / "other")
    assert (moved.storage_dir, moved.database_url) == (cfg.storage_dir, cfg.database_url)


def test_testing_config_for_paths(tmp_path: Path) -> None:
    cfg = TestingConfig.for_paths(tmp_path / "i", tmp_path / "k")
    assert cfg.testing
    assert not cfg.ratelimit_enabled
    assert cfg.password_memory_kib == 64
    assert cfg.database_url == f"sqlite:///{tmp_path / 'i' / 'registry.sqlite3'}"
    assert cfg.storage_dir.is_relative_to(tmp_path)
    assert cfg.with_overrides(hsts_seconds=5).hsts_seconds == 5
    with pytest.raises(TypeError):
        cfg.with_overrides(serve_thread=3)


def test_unknown_variables_are_warned_about_not_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = Config.from_env(
        {
            "REGISTRY_SERVE_THREAD": "3",
            "REGISTRY_TESTING": "1",
            "REGISTRY_TEST_PG_URL": "postgresql+psycopg://x",
            "REGISTRY_BENCH_PG_URL": "postgresql+psycopg://x",
            "PATH": "/bin",
        }
    )
    assert cfg == Config()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "REGISTRY_SERVE_THREAD " in lines[0]
    assert "did you mean REGISTRY_SERVE_THREADS?" in lines[0]
    assert "REGISTRY_TESTING" in lines[1]


TEXT = {".py", ".md", ".toml", ".ini", ".cfg", ".sh"}
RUNTIME = {"instance", "storage", "keys", "build", "node_modules", "sviedka.egg-info"}


def test_other_readers_of_registry_variables_are_known() -> None:
    """Every REGISTRY_* name the repository mentions is a setting or read elsewhere."""
    names: set[str] = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in RUNTIME]
        for file in files:
            path = Path(folder) / file
            if (path.suffix in TEXT or file == "Makefile") and path != Path(__file__).resolve():
                names.update(re.findall(r"REGISTRY_[A-Z0-9_]*", path.read_text("utf-8")))
    names.discard(PREFIX)
    for name in sorted(names):
        if name.startswith(READ_ELSEWHERE):
            continue
        # "REGISTRY_RECEIPT_*" in prose names a family of settings.
        family = name.endswith("_")
        assert any(k.startswith(name) if family else k == name for k in SETTABLE.values()), name


def test_blobs_left_at_the_old_default_stop_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "checkout-storage"
    monkeypatch.setattr(config, "LEGACY_STORAGE_DIR", old)
    environ = {"REGISTRY_INSTANCE_DIR": str(tmp_path / "instance")}
    assert Config.from_env(environ).storage_dir == tmp_path / "instance" / "storage"
    (old / "blobs").mkdir(parents=True)
    (old / "tmp").mkdir()
    assert Config.from_env(environ).storage_dir == tmp_path / "instance" / "storage"
    (old / "blobs" / "0123abcd").write_bytes(b"sealed")
    error = _error(environ)
    assert list(error.problems) == ["REGISTRY_STORAGE_DIR"]
    assert str(old) in str(error)
    kept = Config.from_env({**environ, "REGISTRY_STORAGE_DIR": str(old)})
    assert kept.storage_dir == old
    (tmp_path / "instance" / "storage" / "blobs").mkdir(parents=True)
    (tmp_path / "instance" / "storage" / "blobs" / "4567").write_bytes(b"sealed")
    assert Config.from_env(environ).storage_dir == tmp_path / "instance" / "storage"


def test_cli_says_which_variable_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("REGISTRY_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("REGISTRY_SERVE_THREADS", "abc")
    for args in (["init"], ["escrow", "create"], ["audit", "verify"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            "registry: REGISTRY_SERVE_THREADS must be a whole number (at least 1), got 'abc'\n"
        )
    assert not (tmp_path / "instance").exists()


def _readme_rows() -> list[tuple[list[str], list[str]]]:
    """(variables, defaults) of each row of README's configuration table."""
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`REGISTRY_"):
            continue
        names = re.findall(r"`(REGISTRY_[A-Z0-9_]+)`", cells[0])
        defaults = [d.strip().strip("`") for d in re.sub(r" \(off\)$", "", cells[1]).split(", ")]
        rows.append((names, defaults))
    return rows


def _as_documented(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Path):
        return value.relative_to(ROOT).as_posix() + "/"
    if value == "":
        return "(none)"
    return str(value).replace(f"{ROOT}/", "")


def test_readme_documents_every_setting() -> None:
    rows = _readme_rows()
    documented = [name for names, _ in rows for name in names]
    assert len(documented) == len(set(documented)), "a variable is documented twice"
    assert set(documented) == set(SETTABLE.values())
    by_variable = {env: name for name, env in SETTABLE.items()}
    for names, defaults in rows:
        assert len(defaults) == len(names), names
        for env, default in zip(names, defaults, strict=True):
            assert default == _as_documented(getattr(Config(), by_variable[env])), env
