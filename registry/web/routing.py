"""Numbers from addresses and forms stay within the range of the id columns.

Werkzeug's ``<int:…>`` takes any run of digits.  An id past the column's
range then reaches the database, where SQLite's driver raises OverflowError
(past 64 bits) and PostgreSQL "integer out of range" (past 32 bits for an
``Integer`` column): a 500 for a hand-edited address, where promise 9 wants
a clear 4xx.  Bounded here, such an address matches no route: a 404.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

# The ids in addresses (accounts, invites, links) are ``Integer`` columns:
# 32-bit signed on PostgreSQL.  A rule over a ``BigInteger`` id (``RowId``)
# must say so: ``<int(max=9223372036854775807):…>``.
MAX_INTEGER_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` from 0 to :data:`MAX_INTEGER_ID` unless the rule gives its own ``max``."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        bound = MAX_INTEGER_ID if max is None else max
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=bound, signed=signed)


def init_app(app: Flask) -> None:
    """Use :class:`IdConverter` for every ``<int:…>`` rule (call before the blueprints)."""
    app.url_map.converters["int"] = IdConverter
