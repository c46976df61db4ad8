"""The app's Jinja environment: Flask's, with each template reading the globals directly.

Jinja gives every template a ``ChainMap`` of its own globals over the
environment's, and every ``{% from "shared/_forms.html" import field %}``
then compares the importing template's global names with the imported
one's through that map, key by key, in Python.  The case page runs eight
such imports (each partial imports the macros it uses): about a twentieth
of the page's instructions (callgrind, bench/README.md, issue 10).

A template loaded without globals of its own (every template here: Flask
never passes any) gets the environment's dictionary itself instead, so
the comparison is one set difference in C.  Nothing else changes: the map
and the dictionary hold the same names, and a global added to the
environment later is still seen by every template, since it is the same
dictionary.  A template given globals of its own still gets Jinja's map,
which keeps them out of the environment's.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from flask.templating import Environment


class RegistryEnvironment(Environment):
    """Flask's environment; templates without globals of their own share the environment's."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """The environment's globals themselves when ``d`` is empty; else Jinja's overlay."""
        if not d:
            return self.globals
        return super().make_globals(d)
