"""Role checks for staff views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user

from registry.models import Role

P = ParamSpec("P")
R = TypeVar("R")


def require_role(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let only logged-in staff with one of ``roles`` into the view.

    Everyone else gets 404, not 403: a page that exists only for
    administrators is not advertised to a phished reviewer account.  Login
    itself is checked earlier, by the default-deny hook (registry.web.security).
    """
    allowed = {role.value for role in roles}

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated or current_user.role not in allowed:
                abort(404)
            return view(*args, **kwargs)

        return checked

    return decorate
