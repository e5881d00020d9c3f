"""What every operator command (`python -m pollgate.<face>.operator ...`) shares: secrets come from standard input.

A password or client secret on the command line is seen by every user of the machine (`ps`, /proc/<pid>/cmdline)
and kept in shell history, so no operator command takes one there. `add_secret_option(parser, "password")` gives a
command `--password-stdin` (read the first line of standard input; at a terminal, a prompt that does not echo) and
refuses `--password VALUE` with a message naming the flag to use; `read_secret` reads it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from typing import Any, TextIO


class _RefusedOnCommandLine(argparse.Action):
    """`--password VALUE`: refused before anything runs, saying how to pass the secret instead."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        parser.error(
            f"{option_string} would put the secret on the command line, where ps and shell history see it: "
            f"pass {option_string}-stdin and write it to standard input"
        )


def add_secret_option(
    parser: argparse.ArgumentParser, name: str, *, required: bool = False, description: str | None = None
) -> None:
    """`--<name>-stdin` on `parser` (its value: `args.<name>_stdin`, True when given); `--<name> VALUE` refused."""
    parser.add_argument(
        f"--{name}-stdin",
        dest=f"{name.replace('-', '_')}_stdin",
        action="store_true",
        required=required,
        help=description or f"read the {name} from the first line of standard input",
    )
    parser.add_argument(f"--{name}", action=_RefusedOnCommandLine, nargs="?", help=argparse.SUPPRESS)


def read_secret(
    parser: argparse.ArgumentParser, what: str, *, min_length: int = 1, stream: TextIO | None = None
) -> str:
    """The secret on the first line of standard input (without its line end); at a terminal, asked for without
    echo. Shorter than `min_length` (an empty line included) ends the command with the parser's usage error."""
    source = stream if stream is not None else sys.stdin
    secret = getpass.getpass(f"{what}: ") if source.isatty() else source.readline().rstrip("\r\n")
    if len(secret) < min_length:
        if not secret:
            parser.error(f"no {what} on standard input")
        parser.error(f"the {what} must have at least {min_length} characters")
    return secret
