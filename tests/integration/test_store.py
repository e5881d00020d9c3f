"""The store on moto: conditional writes answer whether their condition held, a cancelled transaction says why
of each write, and batches send again what DynamoDB leaves unprocessed, boundedly."""

from __future__ import annotations

from typing import Any

import pytest
from pollgate import aws as clients
from pollgate import store
from pollgate.store import BatchIncomplete, Delete, Key, Put, Table, TransactionCancelled, Update

A, B = Key("TEST#a", "ITEM"), Key("TEST#b", "ITEM")


def test_conditional_writes_answer_whether_their_condition_held(aws: None) -> None:
    table = Table()
    assert table.put(A, {"n": 1}, condition="attribute_not_exists(pk)")
    assert not table.put(A, {"n": 2}, condition="attribute_not_exists(pk)")
    assert table.get(A) == {"pk": "TEST#a", "sk": "ITEM", "n": 1}
    assert table.update(A, "SET n = :two", condition="n = :one", values={":one": 1, ":two": 2}) == {
        "pk": "TEST#a",
        "sk": "ITEM",
        "n": 2,
    }
    assert table.update(A, "SET n = :three", condition="n = :one", values={":one": 1, ":three": 3}) is None
    assert not table.update_if(A, "SET n = :three", condition="n = :one", values={":one": 1, ":three": 3})
    assert table.update_if(A, "SET n = :three", condition="n = :two", values={":two": 2, ":three": 3})
    assert not table.delete(A, condition="n = :two", values={":two": 2})
    assert table.get(A, consistent=True) == {"pk": "TEST#a", "sk": "ITEM", "n": 3}
    assert table.delete(A, condition="attribute_exists(pk)")
    assert table.get(A) is None


def test_a_cancelled_transaction_writes_nothing_and_says_why_of_each_write(aws: None) -> None:
    table = Table()
    table.put(A, {"n": 1})
    writes = (
        Put(B, {"n": 1}, condition="attribute_not_exists(pk)"),
        Update(A, "SET n = :two", condition="n = :five", values={":two": 2, ":five": 5}),
        Delete(Key("TEST#c", "ITEM")),
    )
    with pytest.raises(TransactionCancelled) as cancelled:
        table.transact(*writes)
    assert cancelled.value.reasons == ["None", "ConditionalCheckFailed", "None"]
    assert not cancelled.value.condition_failed(0) and cancelled.value.condition_failed(1)
    assert cancelled.value.refused == [writes[1]]
    assert table.get(B) is None and table.get(A) == {"pk": "TEST#a", "sk": "ITEM", "n": 1}
    table.transact(Put(B, {"n": 1}), Update(A, "SET n = :two", values={":two": 2}))
    assert table.get(B) is not None and table.get(A)["n"] == 2  # type: ignore[index]


class Unprocessing:
    """A DynamoDB client that processes only `per_call` items of each batch call (leaving the rest unprocessed, as a
    throttled table does) for its first `rounds` calls (None: all of them)."""

    def __init__(self, real: Any, rounds: int | None, per_call: int) -> None:
        self.real, self.rounds, self.per_call, self.calls = real, rounds, per_call, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def _holding_back(self) -> bool:
        self.calls += 1
        return self.rounds is None or self.calls <= self.rounds

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        ((name, requests),) = RequestItems.items()
        if not self._holding_back():
            return dict(self.real.batch_write_item(RequestItems=RequestItems))
        if self.per_call:
            self.real.batch_write_item(RequestItems={name: requests[: self.per_call]})
        return {"UnprocessedItems": {name: requests[self.per_call :]} if requests[self.per_call :] else {}}

    def batch_get_item(self, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:
        ((name, request),) = RequestItems.items()
        if not self._holding_back():
            return dict(self.real.batch_get_item(RequestItems=RequestItems))
        keys = request["Keys"]
        found = (
            self.real.batch_get_item(RequestItems={name: {**request, "Keys": keys[: self.per_call]}})
            if self.per_call
            else {"Responses": {}}
        )
        rest = {name: {**request, "Keys": keys[self.per_call :]}} if keys[self.per_call :] else {}
        return {"Responses": found["Responses"], "UnprocessedKeys": rest}


@pytest.fixture
def unprocessing(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(store, "BATCH_FIRST_WAIT_SECONDS", 0.001)  # the waits are the backoff's, not the test's

    def install(rounds: int | None, per_call: int = 1) -> Unprocessing:
        client = Unprocessing(clients.dynamodb(), rounds, per_call)
        monkeypatch.setattr(clients, "dynamodb", lambda: client)
        return client

    return install


def test_a_batch_is_sent_again_until_every_item_is_processed(unprocessing: Any) -> None:
    keys = [Key(f"TEST#{n}", "ITEM") for n in range(30)]
    client = unprocessing(rounds=5)
    Table().write_batch(puts=[(key, {"n": n}) for n, key in enumerate(keys)])
    assert client.calls > 2  # (two batches of at most 25, each held back at first)
    found = Table().get_many(keys)
    assert sorted(item["n"] for item in found) == list(range(30))


def test_a_batch_still_unprocessed_after_every_round_fails_loudly(unprocessing: Any) -> None:
    unprocessing(rounds=None, per_call=0)
    with pytest.raises(BatchIncomplete):
        Table().write_batch(puts=[(Key(f"TEST#{n}", "ITEM"), {"n": n}) for n in range(3)])
    with pytest.raises(BatchIncomplete):
        Table().get_many([Key(f"TEST#{n}", "ITEM") for n in range(3)])
