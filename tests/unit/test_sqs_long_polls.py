"""SQS long polls in the services process (local/pollgate_local/services.py `Serialized`): a send wakes polls of
its own queue, as many as it made messages visible, and no poll of another queue (each woken poll is one more
request under the services' one lock). Runs `Serialized` in front of a small fake SQS app: no AWS, no sockets."""

from __future__ import annotations

import io
import json
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from pollgate_local import services
from pollgate_local.services import Serialized

from tests.helpers.waiting import eventually


class FakeSqs:
    """Queues of message bodies; counts the ReceiveMessage attempts each queue was asked."""

    def __init__(self) -> None:
        self.queues: dict[str, list[str]] = defaultdict(list)
        self.receives: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        queue = request["QueueUrl"].rsplit("/", 1)[-1]
        with self._lock:
            match environ["HTTP_X_AMZ_TARGET"]:
                case "AmazonSQS.SendMessage":
                    self.queues[queue].append(request["MessageBody"])
                    answer: dict[str, Any] = {"MessageId": "m"}
                case "AmazonSQS.SendMessageBatch":
                    self.queues[queue].extend(entry["MessageBody"] for entry in request["Entries"])
                    answer = {"Successful": []}
                case "AmazonSQS.ReceiveMessage":
                    self.receives[queue] += 1
                    taken = self.queues[queue][:1]
                    del self.queues[queue][:1]
                    answer = {"Messages": [{"Body": body} for body in taken]} if taken else {}
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [json.dumps(answer).encode()]


def call(app: Serialized, target: str, **request: Any) -> dict[str, Any]:
    body = json.dumps(request).encode()
    environ = {"HTTP_X_AMZ_TARGET": target, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    answer: dict[str, Any] = json.loads(b"".join(app(environ, lambda status, headers, exc_info=None: None)))
    return answer


def url(queue: str) -> str:
    return f"http://127.0.0.1:4566/000000000000/{queue}"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> FakeSqs:
    # Polls look again by themselves only long after the test ends: any further attempt is a wakeup.
    monkeypatch.setattr(services, "_LONG_POLL_RECHECK_SECONDS", 60.0)
    return FakeSqs()


@pytest.fixture
def app(sqs: FakeSqs) -> Iterator[Serialized]:
    serialized = Serialized(sqs)
    yield serialized
    serialized.wake()


def poll(app: Serialized, queue: str, received: list[list[str]]) -> threading.Thread:
    def receive() -> None:
        answer = call(app, "AmazonSQS.ReceiveMessage", QueueUrl=url(queue), WaitTimeSeconds=20)
        received.append([message["Body"] for message in answer.get("Messages", [])])

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    return thread


def test_a_send_wakes_a_poll_of_its_queue_and_none_of_another(app: Serialized, sqs: FakeSqs) -> None:
    other: list[list[str]] = []
    others = [poll(app, "quiet", other) for _ in range(3)]
    eventually(lambda: sqs.receives["quiet"] == 3, timeout=10, what="three polls waiting on the quiet queue")
    mine: list[list[str]] = []
    waiting = poll(app, "busy", mine)
    eventually(lambda: sqs.receives["busy"] == 1, timeout=10, what="a poll waiting on the busy queue")

    for n in range(5):
        call(app, "AmazonSQS.SendMessage", QueueUrl=url("busy"), MessageBody=f"message {n}")
    waiting.join(10)

    assert mine == [["message 0"]]
    assert sqs.receives["quiet"] == 3  # sends to another queue woke none of them
    assert all(thread.is_alive() for thread in others)
    app.wake()
    for thread in others:
        thread.join(10)
    assert other == [[], [], []]


def test_a_batch_wakes_as_many_polls_as_it_sent_messages(app: Serialized, sqs: FakeSqs) -> None:
    received: list[list[str]] = []
    polls = [poll(app, "batch", received) for _ in range(4)]
    eventually(lambda: sqs.receives["batch"] == 4, timeout=10, what="four polls waiting")

    entries = [{"Id": str(n), "MessageBody": f"message {n}"} for n in range(3)]
    call(app, "AmazonSQS.SendMessageBatch", QueueUrl=url("batch"), Entries=entries)
    eventually(lambda: len(received) == 3, timeout=10, what="three polls answered")

    assert sorted(body for bodies in received for body in bodies) == ["message 0", "message 1", "message 2"]
    assert sum(thread.is_alive() for thread in polls) == 1  # the fourth still waits: nothing for it
    assert sqs.receives["batch"] == 4 + 3
