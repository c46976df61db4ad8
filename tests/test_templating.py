"""The app's Jinja environment (registry.web.templating): templates share its globals."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string

from registry.web.templating import RegistryEnvironment


def test_the_app_renders_with_the_registry_environment(sqlite_app: Flask) -> None:
    assert isinstance(sqlite_app.jinja_env, RegistryEnvironment)


def test_a_template_without_globals_of_its_own_reads_the_environments(sqlite_app: Flask) -> None:
    env = sqlite_app.jinja_env
    forms = env.get_template("shared/_forms.html")
    assert dict(forms.globals) == env.globals
    assert forms.globals.keys() == env.globals.keys()
    # A global added after the template was loaded is seen all the same.
    late = env.from_string("{{ added_later }}")
    env.globals["added_later"] = "seen"
    try:
        assert late.render() == "seen"
    finally:
        del env.globals["added_later"]


def test_a_template_cannot_write_into_the_environments_globals(sqlite_app: Flask) -> None:
    env = sqlite_app.jinja_env
    env.get_template("shared/_sealed.html")
    before = dict(env.globals)
    # Jinja updates a cached template's globals in place when asked again
    # with globals: that must not reach the environment (every visitor's pages).
    with pytest.raises(AttributeError):  # a read-only view has no update()
        env.get_template("shared/_sealed.html", globals={"leaked": "x"})
    assert env.globals == before
    assert env.from_string("{{ leaked is defined }}").render() == "False"


def test_globals_of_a_template_stay_its_own(sqlite_app: Flask) -> None:
    env = sqlite_app.jinja_env
    own = env.from_string("{{ mine }} {{ url_for is defined }}", {"mine": "x"})
    assert own.render() == "x True"  # its own global over the environment's
    assert "mine" not in env.globals


def test_imported_macros_still_render(sqlite_app: Flask) -> None:
    page = (
        '{% from "shared/_sealed.html" import sealed_text %}'
        '{% from "shared/_forms.html" import required_mark %}'
        "{{ sealed_text(none) }}|{{ sealed_text(text, id='n') }}"
    )
    with sqlite_app.test_request_context("/", headers={"Accept-Language": "en"}):
        html = render_template_string(page, text="<i>said</i>")
    assert "failed its integrity check" in html
    assert '<div class="text" id="n">&lt;i&gt;said&lt;/i&gt;</div>' in html
