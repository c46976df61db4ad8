"""Fixtures for the people and escrow tests."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.helpers import ESCROW_PASSPHRASE

PASSPHRASE = ESCROW_PASSPHRASE


@pytest.fixture
def escrowed(app: Flask) -> Flask:
    """The app with its escrow key (its private half in tmp_path/escrow.key).

    tests/conftest.py installs the key for every test app now: without a
    key holder the form refuses reports.
    """
    return app
