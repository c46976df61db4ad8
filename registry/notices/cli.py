"""``registry notices send``: send the quiet e-mail notices that are due now.

``registry maintain`` does the same among its jobs; this command is for an
operator who wants to see it happen (or a cron line of its own).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from registry import create_app, db
from registry.cli_common import config_or_exit
from registry.notices.sending import send_due


@click.group()
def notices() -> None:
    """Quiet e-mail notices of new activity."""


@notices.command("send")
def send() -> None:
    """Send the notices that are due; one summary line; exit 1 if a delivery failed."""
    cfg = config_or_exit()
    if not cfg.smtp_host:
        click.echo("registry: REGISTRY_SMTP_HOST is not set: no notices are sent.", err=True)
        sys.exit(2)
    app = create_app(cfg)
    with app.app_context():
        try:
            result = send_due(db.session(), cfg, now=datetime.now(UTC))
        finally:
            db.session().close()
            db.engine().dispose()
    click.echo(
        f"notices: {result.sent} sent, {result.failed} failed (retried later), "
        f"{result.scheduled} scheduled for the end of the period"
    )
    if result.failed:
        sys.exit(1)
