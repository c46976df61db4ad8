"""What every ``registry`` command group shares: configuration and the escrow key.

One place, so that every command fails the same way: a configuration that
cannot be used is one line naming the variable (exit 2), an escrow key file
that is not one is exit 2, a wrong passphrase exit 1; never a traceback
that could quote a secret.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

import click

from config import Config, ConfigError
from registry.crypto import CannotOpen
from registry.keyring.escrow import open_escrow_file

F = TypeVar("F", bound=Callable[..., Any])


def config_or_exit(check: Callable[[Config], object] | None = None) -> Config:
    """The configuration from the environment; one line and exit 2 if it is unusable.

    ``check`` judges what only a feature can (retention's disposition codes,
    against the vocabulary); its :class:`ConfigError` is answered the same way.
    """
    try:
        cfg = Config.from_env()
        if check is not None:
            check(cfg)
        return cfg
    except ConfigError as error:
        click.echo(f"registry: {error}", err=True)
        sys.exit(2)


def escrow_key_option(
    help_text: str = "The passphrase-locked escrow private key file.", *, required: bool = True
) -> Callable[[F], F]:
    """``--escrow-key FILE`` (required unless ``required=False``)."""
    return click.option("--escrow-key", type=click.File("r"), required=required, help=help_text)


def passphrase_file_option(func: F) -> F:
    """``--passphrase-file FILE``: read the passphrase instead of asking."""
    decorated: F = click.option(
        "--passphrase-file",
        type=click.File("r"),
        default=None,
        help="Read the passphrase from this file instead of asking.",
    )(func)
    return decorated


def read_passphrase(
    passphrase_file: TextIO | None, *, prompt: str = "Escrow passphrase", confirm: bool = False
) -> str:
    """The passphrase from ``passphrase_file`` (its first line), or asked for without echo."""
    if passphrase_file is not None:
        return passphrase_file.read().rstrip("\n")
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


def unlock_escrow(key_file: TextIO, passphrase_file: TextIO | None) -> bytes:
    """The escrow private key; one line and exit status 2 or 1 if it does not open."""
    passphrase = read_passphrase(passphrase_file)
    try:
        return open_escrow_file(key_file.read(), passphrase)
    except ValueError:
        click.echo("This is not an escrow private key file.", err=True)
        sys.exit(2)
    except CannotOpen:
        click.echo("Wrong passphrase (or a damaged key file).", err=True)
        sys.exit(1)


# WHY 16: the locked escrow file may be copied with a backup or seized
# offline; Argon2id slows guessing, a long passphrase makes it hopeless.
MIN_PASSPHRASE = 16


def new_passphrase(passphrase_file: TextIO | None, *, prompt: str = "Escrow passphrase") -> str:
    """A passphrase for a new escrow key (asked twice); exit 2 if shorter than 16 characters."""
    passphrase = read_passphrase(passphrase_file, prompt=prompt, confirm=True)
    if len(passphrase) < MIN_PASSPHRASE:
        click.echo(f"The passphrase must have at least {MIN_PASSPHRASE} characters.", err=True)
        sys.exit(2)
    return passphrase
