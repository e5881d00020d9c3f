"""50 clients at once: submitting, re-sending with the same Idempotency-Key, polling, while several workers race
to complete the same operations. Conditional writes hold, no state goes backwards, nothing is processed twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from pollgate.operations import OperationStore
from pollgate.store import Table
from pollgate.uai.history import record_status_log

from tests.conftest import DeviceKey
from tests.fault_injection import serialise_dynamodb_calls
from tests.helpers.uai import REPORT, STATUS_LOG, body, poll, polling_id
from tests.integration.conftest import Function

CLIENTS = int(__import__("os").environ.get("CLIENTS", "50"))
ORDER = {"Pending": 0, "Succeeded": 1, "Failed": 1}


def test_fifty_clients_completing_polling_and_resending_at_once(
    uai: dict[str, Function], device_key: DeviceKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    serialise_dynamodb_calls(monkeypatch)
    token = device_key.token()
    seen: dict[int, list[int]] = {}
    problems: list[str] = []
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> tuple[str, str]:
        report = {**REPORT, "id": f"00:00:00:00:00:{n:02x}"}
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"client-{n}"}
        start.wait(timeout=30)
        first = uai["submit_status_log"].http("POST", STATUS_LOG, body=report, headers=headers)
        resent = uai["submit_status_log"].http("POST", STATUS_LOG, body=report, headers=headers)
        if first["statusCode"] != 202 or resent["statusCode"] != 202:
            problems.append(f"client {n}: {first['statusCode']} / {resent['statusCode']}")
        pid = polling_id(first)
        # Three workers race to finish the same operation while the client keeps polling.
        with ThreadPoolExecutor(3) as workers:
            finishing = [workers.submit(record_status_log, pid) for _ in range(3)]
            statuses = []
            for _ in range(6):
                answer = poll(uai, pid)
                statuses.append(answer["statusCode"])
                if answer["statusCode"] == 200:
                    break
            outcomes = {f.result(timeout=60) for f in finishing}
        if outcomes != {"Succeeded"}:
            problems.append(f"client {n}: workers saw {outcomes}")
        final = poll(uai, pid)
        statuses.append(final["statusCode"])
        seen[n] = statuses
        return pid, polling_id(resent)

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS), timeout=240))

    assert problems == []
    assert all(first == resent for first, resent in results), ("a re-send started new work", results)
    assert len({pid for pid, _ in results}) == CLIENTS
    for n, statuses in seen.items():  # 202s, then 200s: never back to pending once done
        done = statuses.index(200)
        assert all(s == 202 for s in statuses[:done]) and all(s == 200 for s in statuses[done:]), (n, statuses)
    store = OperationStore()
    for pid, _ in results:
        operation = store.get(pid, consistent=True)
        assert operation is not None and operation.status == "Succeeded"
        assert body(poll(uai, pid))["key"] == "statusLog.logged"  # the first outcome stands, not "duplicate"
    history = [
        entry
        for n in range(CLIENTS)
        for entry in Table().query(f"UAI#DEVICE#ETHERNET#00:00:00:00:00:{n:02x}", "STATUS#", consistent=True)
    ]
    assert len(history) == CLIENTS, "a report was logged twice or not at all"
    assert sorted(entry["pollingId"] for entry in history) == sorted(pid for pid, _ in results)
