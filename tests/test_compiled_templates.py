"""Compiled templates are shared by the apps of one process, and never stale."""

from __future__ import annotations

from typing import Any

from jinja2 import DictLoader, Environment

from registry.web.compiled import ProcessBytecode


def _env(cache: ProcessBytecode, source: str, *extensions: str) -> tuple[Environment, list[str]]:
    env = Environment(
        loader=DictLoader({"page.html": source}), bytecode_cache=cache, autoescape=True
    )
    for extension in extensions:
        env.add_extension(extension)
    compiled: list[str] = []
    compile_ = env.compile

    def counting(*args: Any, **kwargs: Any) -> Any:
        compiled.append("page.html")
        return compile_(*args, **kwargs)

    env.compile = counting  # type: ignore[method-assign]
    return env, compiled


def test_a_second_app_reuses_the_compiled_template() -> None:
    cache = ProcessBytecode()
    first, compiled_first = _env(cache, "A{{ x }}")
    assert first.get_template("page.html").render(x=1) == "A1"
    second, compiled_second = _env(cache, "A{{ x }}")
    assert second.get_template("page.html").render(x=2) == "A2"
    assert compiled_first == ["page.html"]
    assert compiled_second == []


def test_an_edited_template_is_compiled_afresh() -> None:
    cache = ProcessBytecode()
    _env(cache, "A{{ x }}")[0].get_template("page.html").render(x=1)
    edited, compiled = _env(cache, "B{{ x }}")
    assert edited.get_template("page.html").render(x=1) == "B1"
    assert compiled == ["page.html"]


def test_other_extensions_get_their_own_compilation() -> None:
    cache = ProcessBytecode()
    _env(cache, "A{{ x }}")[0].get_template("page.html").render(x=1)
    with_i18n, compiled = _env(cache, "A{{ x }}", "jinja2.ext.i18n")
    with_i18n.get_template("page.html")
    assert compiled == ["page.html"]
