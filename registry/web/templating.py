"""The app's Jinja environment: Flask's, with each template reading the globals directly.

Jinja gives every template a ``ChainMap`` of its own globals over the
environment's, and every ``{% from "shared/_forms.html" import field %}``
then compares the importing template's global names with the imported
one's through that map, key by key, in Python.  The case page runs eight
such imports (each partial imports the macros it uses): about a twentieth
of the page's instructions (callgrind, bench/README.md, issue 10).

A template loaded without globals of its own (every template here: Flask
never passes any) gets a read-only view of the environment's dictionary
instead, so the comparison is one set difference in C.  Nothing else
changes: the map and the view hold the same names, and a global added to
the environment later is still seen by every template.  A template given
globals of its own still gets Jinja's map, which keeps them out of the
environment's.  WHY read-only: Jinja updates a cached template's globals
in place when it is asked for again with globals of its own; through the
environment's dictionary that would hand them to every later page, for
every visitor.  Through the view it fails loudly instead.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from types import MappingProxyType
from typing import Any, cast

from flask.templating import Environment


class RegistryEnvironment(Environment):
    """Flask's environment; templates without globals of their own read the environment's."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A read-only view of the environment's globals when ``d`` is empty; else Jinja's map."""
        if not d:
            # Typed as Jinja's (a mutable map): nothing here writes to it.
            return cast(MutableMapping[str, Any], MappingProxyType(self.globals))
        return super().make_globals(d)
