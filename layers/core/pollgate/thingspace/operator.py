"""Operator commands for the ThingSpace face, against the table named by TABLE_NAME.

    python -m pollgate.thingspace.operator add-client --key KEY [--secret-stdin]     # else generates and prints one
    python -m pollgate.thingspace.operator add-account --name ACCOUNT
    python -m pollgate.thingspace.operator add-user --username USER --account ACCOUNT [--account ...] [--password-stdin]
    python -m pollgate.thingspace.operator unlock-user --username USER
    python -m pollgate.thingspace.operator add-device --account ACCOUNT --id imei=3500... [--id iccid=8914...]
                                                      [--state pre-active|active|suspend|deactive]
    python -m pollgate.thingspace.operator list-devices --account ACCOUNT

Secrets and passwords are read from standard input, never from the command line (which other users and shell
history see); without --secret-stdin / --password-stdin one is generated and printed once. Either way only its
scrypt hash is stored.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Sequence

from pollgate.operator_input import add_secret_option, read_secret
from pollgate.thingspace.auth import CredentialStore
from pollgate.thingspace.inventory import DEVICE_STATES, InventoryStore


def _device_ids(pairs: Sequence[str]) -> dict[str, str]:
    ids = {}
    for pair in pairs:
        kind, equals, value = pair.partition("=")
        if not equals or not value:
            raise SystemExit(f"--id takes kind=value, not {pair!r}")
        ids[kind.strip().lower()] = value.strip()
    return ids


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pollgate.thingspace.operator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    client = commands.add_parser("add-client", help="an OAuth client key and secret")
    client.add_argument("--key", required=True)
    add_secret_option(
        client,
        "secret",
        description="read the client secret from the first line of standard input "
        "(else one is generated and printed once)",
    )
    account = commands.add_parser("add-account", help="an account")
    account.add_argument("--name", required=True)
    user = commands.add_parser("add-user", help="an M2M user of one or more accounts")
    user.add_argument("--username", required=True)
    add_secret_option(
        user,
        "password",
        description="read the password from the first line of standard input (else one is generated and printed once)",
    )
    user.add_argument("--account", action="append", required=True)
    unlock = commands.add_parser("unlock-user", help="clear a lockout after failed logins")
    unlock.add_argument("--username", required=True)
    device = commands.add_parser("add-device", help="a device in an account's inventory")
    device.add_argument("--account", required=True)
    device.add_argument("--id", action="append", required=True, metavar="KIND=VALUE")
    device.add_argument("--state", default="pre-active", choices=DEVICE_STATES)
    listing = commands.add_parser("list-devices", help="an account's devices and their states")
    listing.add_argument("--account", required=True)
    args = parser.parse_args(argv)

    credentials, inventory = CredentialStore(), InventoryStore()
    if args.command == "add-client":
        secret = read_secret(parser, "client secret") if args.secret_stdin else secrets.token_urlsafe(24)
        credentials.add_client(args.key, secret)
        print(json.dumps({"clientKey": args.key, **({} if args.secret_stdin else {"clientSecret": secret})}))
    elif args.command == "add-account":
        inventory.add_account(args.name)
        print(json.dumps({"accountName": args.name}))
    elif args.command == "add-user":
        missing = [name for name in args.account if not inventory.account_exists(name)]
        if missing:
            raise SystemExit(f"no such account: {', '.join(missing)} (add-account first)")
        password = read_secret(parser, "password") if args.password_stdin else secrets.token_urlsafe(16)
        credentials.add_user(args.username, password, args.account)
        print(json.dumps({"username": args.username, **({} if args.password_stdin else {"password": password})}))
    elif args.command == "unlock-user":
        if not credentials.unlock_user(args.username):
            raise SystemExit(f"no such user: {args.username}")
        print(json.dumps({"username": args.username, "locked": False}))
    elif args.command == "add-device":
        if not inventory.account_exists(args.account):
            raise SystemExit(f"no such account: {args.account} (add-account first)")
        key = inventory.add_device(args.account, _device_ids(args.id), args.state)
        print(json.dumps({"accountName": args.account, "deviceKey": key}))
    elif args.command == "list-devices":
        for item in inventory.devices(args.account):
            print(json.dumps({"deviceKey": item["deviceKey"], "ids": item["ids"], "state": item["state"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
