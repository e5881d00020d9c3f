"""Operator commands for the Densify face, run against the table named by TABLE_NAME:

    python -m pollgate.densify.operator add-user --user alice --password-stdin [--admin] [--replace]
    python -m pollgate.densify.operator load-records --platform cloud records.json

Passwords are read from standard input, never from the command line (which other users and shell history see).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from pathlib import Path

from pollgate.densify.auth import UserStore
from pollgate.densify.models import PLATFORMS
from pollgate.densify.records import RecordsDocument, RecordStore
from pollgate.operator_input import add_secret_option, read_secret

MIN_PASSWORD_LENGTH = 12
# User names end up in keys (DENSIFY#USER#<name>, DENSIFY#OWNED#<name>): no "#", no spaces, nothing odd.
USER_NAME = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")
SAMPLE_RECORDS = Path(__file__).with_name("sample_records.json")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pollgate.densify.operator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_user = commands.add_parser("add-user", help="create a user (or --replace its password)")
    add_user.add_argument("--user", required=True)
    add_secret_option(add_user, "password", required=True)
    add_user.add_argument("--admin", action="store_true", help="may manage global subscriptions")
    add_user.add_argument("--replace", action="store_true", help="set a new password for an existing user")
    load = commands.add_parser("load-records", help="publish a platform's result records (replaces the set)")
    load.add_argument("--platform", choices=PLATFORMS, required=True)
    load.add_argument("file", type=Path, help=f"a records document, e.g. {SAMPLE_RECORDS}")
    args = parser.parse_args(argv)

    if args.command == "add-user":
        if not USER_NAME.match(args.user):
            parser.error("a user name is 1-128 letters, digits and . _ @ + -")
        password = read_secret(parser, "password", min_length=MIN_PASSWORD_LENGTH)
        try:
            UserStore().add(args.user, password, admin=args.admin, replace=args.replace)
        except ValueError as failure:
            parser.error(str(failure))
        print(f"user {args.user} {'replaced' if args.replace else 'added'}{' (admin)' if args.admin else ''}")
        return 0
    raw = json.loads(args.file.read_text())
    if isinstance(raw, dict) and "systems" not in raw and args.platform in raw:
        raw = raw[args.platform]  # a file holding every platform, keyed by platform type (the sample set)
    document = RecordsDocument.model_validate(raw)
    count = RecordStore().publish(args.platform, document)
    print(f"{count} {args.platform} records published")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
