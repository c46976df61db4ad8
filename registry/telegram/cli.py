"""``registry telegram run``: the bot beside the website (README "Telegram")."""

from __future__ import annotations

import sys

import click
from telegram import Update
from telegram.error import InvalidToken, TelegramError

from registry import create_app
from registry.cli_common import config_or_exit
from registry.telegram.bot import Settings, build


@click.group()
def telegram() -> None:
    """The Telegram intake bot."""


@telegram.command("run")
def run() -> None:
    """Answer the bot's chats by long polling until stopped (Ctrl-C, SIGTERM)."""
    cfg = config_or_exit()
    if not cfg.telegram_token:
        click.echo(
            "registry: REGISTRY_TELEGRAM_TOKEN is not set: there is no bot to run.", err=True
        )
        sys.exit(2)
    # WHY its own KDF slots: a semaphore cannot be shared between processes,
    # so the bot bounds its own receipt derivations (README "Telegram" gives
    # the machine's total: workers × receipt slots + the bot's).
    app = create_app(cfg.with_overrides(receipt_kdf_slots=cfg.telegram_kdf_slots))
    application, _desk = build(
        app, Settings.from_config(cfg), token=cfg.telegram_token, api_url=cfg.telegram_api_url
    )
    click.echo("Telegram bot running (long polling); Ctrl-C stops it.", err=True)
    try:
        application.run_polling(
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
            # Retry forever: a network outage at start must not end the bot.
            bootstrap_retries=-1,
        )
    except InvalidToken:
        click.echo("registry: Telegram refused REGISTRY_TELEGRAM_TOKEN.", err=True)
        sys.exit(2)
    except TelegramError as error:
        # The type only: a message may quote a URL, and the URL holds the token.
        click.echo(f"registry: the bot stopped: {type(error).__name__}", err=True)
        sys.exit(1)
