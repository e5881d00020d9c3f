"""The operator's commands on moto: users with scrypt hashes, and publishing result records."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pollgate.densify.auth import UserStore
from pollgate.densify.operator import SAMPLE_RECORDS, main
from pollgate.densify.records import RecordStore
from pollgate.passwords import verify_secret

PASSWORD = "a long enough password"


def add_user(monkeypatch: pytest.MonkeyPatch, *args: str, password: str = PASSWORD) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["add-user", *args, "--password-stdin"])


def test_add_user_stores_only_a_scrypt_hash(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert add_user(monkeypatch, "--user", "alice", "--admin") == 0
    user = UserStore().get("alice")
    assert user is not None and user.admin
    assert user.password_hash.startswith("scrypt$") and "a long enough password" not in user.password_hash
    assert verify_secret("a long enough password", user.password_hash)


@pytest.mark.parametrize(
    ("args", "password"),
    [
        (["--user", "bob"], "short"),
        (["--user", "bob#admin"], "a long enough password"),
        (["--user", "bob smith"], "a long enough password"),
    ],
)
def test_add_user_refuses_weak_passwords_and_odd_names(
    aws: None, monkeypatch: pytest.MonkeyPatch, args: list[str], password: str
) -> None:
    with pytest.raises(SystemExit):
        add_user(monkeypatch, *args, password=password)
    assert UserStore().get(args[1]) is None


def test_an_existing_user_is_replaced_only_when_asked(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(monkeypatch, "--user", "carol")
    with pytest.raises(SystemExit):
        add_user(monkeypatch, "--user", "carol", password="another long password")
    assert add_user(monkeypatch, "--user", "carol", "--replace", password="another long password") == 0
    user = UserStore().get("carol")
    assert user is not None and verify_secret("another long password", user.password_hash)


def test_load_records_replaces_a_platforms_set(aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load-records", "--platform", "cloud", str(SAMPLE_RECORDS)]) == 0
    assert "24 cloud records published" in capsys.readouterr().out
    smaller = tmp_path / "records.json"
    smaller.write_text(
        json.dumps(
            {"properties": [{"id": "region"}], "systems": [{"id": "i-1", "properties": {"region": "eu-west-1"}}]}
        )
    )
    assert main(["load-records", "--platform", "cloud", str(smaller)]) == 0
    store = RecordStore()
    assert [s["id"] for s in store.systems("cloud")] == ["i-1"]  # the old systems are gone
    assert store.catalogue("cloud").properties == {"region": "region"}
    assert store.systems("containers") == []


def test_a_password_on_the_command_line_is_refused(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["add-user", "--user", "dave", "--password", "a long enough password"])
    assert exited.value.code == 2 and "--password-stdin" in capsys.readouterr().err
    assert UserStore().get("dave") is None
