"""The ThingSpace operator's commands on moto: client secrets and passwords come from standard input (or are
generated and printed once), are stored only as scrypt hashes, and are never taken from the command line."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from pollgate.passwords import verify_secret
from pollgate.thingspace.auth import CredentialStore
from pollgate.thingspace.operator import main

ACCOUNT = "0000123456-00009"


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = ""
) -> dict[str, Any]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(list(argv)) == 0
    return dict(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))


def test_a_client_secret_from_standard_input_is_stored_as_a_hash_and_not_printed(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = run(
        monkeypatch, capsys, "add-client", "--key", "ops-client", "--secret-stdin", stdin="a client secret of ours\n"
    )
    assert printed == {"clientKey": "ops-client"}
    client = CredentialStore().client("ops-client")
    assert client is not None and verify_secret("a client secret of ours", client["secretHash"])
    assert "a client secret of ours" not in json.dumps(client)


def test_a_password_from_standard_input_is_stored_as_a_hash_and_not_printed(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run(monkeypatch, capsys, "add-account", "--name", ACCOUNT)
    printed = run(
        monkeypatch,
        capsys,
        "add-user",
        "--username",
        "ops",
        "--account",
        ACCOUNT,
        "--password-stdin",
        stdin="the user's password\n",
    )
    assert printed == {"username": "ops"}
    user = CredentialStore().user("ops")
    assert user is not None and verify_secret("the user's password", user["passwordHash"])
    assert user["accounts"] == [ACCOUNT]


def test_without_stdin_a_secret_is_generated_and_printed_once(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = run(monkeypatch, capsys, "add-client", "--key", "generated")
    client = CredentialStore().client("generated")
    assert client is not None and verify_secret(printed["clientSecret"], client["secretHash"])
    run(monkeypatch, capsys, "add-account", "--name", ACCOUNT)
    printed = run(monkeypatch, capsys, "add-user", "--username", "gen", "--account", ACCOUNT)
    user = CredentialStore().user("gen")
    assert user is not None and verify_secret(printed["password"], user["passwordHash"])


@pytest.mark.parametrize(
    "argv",
    [
        ["add-client", "--key", "leaky", "--secret", "on-the-command-line"],
        ["add-user", "--username", "leaky", "--account", ACCOUNT, "--password", "on-the-command-line"],
    ],
)
def test_a_secret_on_the_command_line_is_refused_and_nothing_is_stored(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    run(monkeypatch, capsys, "add-account", "--name", ACCOUNT)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "-stdin" in capsys.readouterr().err
    assert CredentialStore().client("leaky") is None and CredentialStore().user("leaky") is None


def test_an_empty_secret_on_standard_input_is_refused(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(SystemExit):
        main(["add-client", "--key", "empty", "--secret-stdin"])
    assert "no client secret on standard input" in capsys.readouterr().err
    assert CredentialStore().client("empty") is None
