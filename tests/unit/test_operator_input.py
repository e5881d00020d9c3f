"""Every operator command takes its secrets from standard input: `--<name>-stdin` reads the first line (at a
terminal, a prompt that does not echo), and `--<name> VALUE`, which ps and shell history would see, is refused."""

from __future__ import annotations

import argparse
import io

import pytest
from pollgate.operator_input import add_secret_option, read_secret


def parser(*, required: bool = False) -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="operator")
    add_secret_option(command, "password", required=required)
    return command


def test_the_secret_is_the_first_line_of_standard_input_without_its_line_end() -> None:
    command = parser()
    assert command.parse_args(["--password-stdin"]).password_stdin is True
    assert command.parse_args([]).password_stdin is False
    stream = io.StringIO("correct horse battery staple\r\nnot this line\n")
    assert read_secret(command, "password", stream=stream) == "correct horse battery staple"


@pytest.mark.parametrize("argv", [["--password", "hunter22"], ["--password=hunter22"], ["--password"]])
def test_a_secret_on_the_command_line_is_refused_naming_the_flag_to_use(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(argv)
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "--password-stdin" in error and "hunter22" not in error


def test_a_required_option_must_be_given() -> None:
    with pytest.raises(SystemExit):
        parser(required=True).parse_args([])


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "no password on standard input"), ("\n", "no password"), ("short\n", "at least 12 characters")],
)
def test_an_empty_or_short_secret_ends_the_command(text: str, problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        read_secret(parser(), "password", min_length=12, stream=io.StringIO(text))
    assert exited.value.code == 2 and problem in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_at_a_terminal_the_secret_is_asked_for_without_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed, not echoed"

    monkeypatch.setattr("getpass.getpass", getpass)
    assert read_secret(parser(), "client secret", stream=Terminal("")) == "typed, not echoed"
    assert prompts == ["client secret: "]
