"""A results document larger than Lambda can return (6 MiB as it carries it) is the vendor's On-Demand Failure, a
400 with the size, and recorded as such; a client that accepts gzip gets it compressed instead. Never API
Gateway's own error."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
from pollgate import clock
from pollgate.api import LAMBDA_RESPONSE_LIMIT_BYTES, response_bytes
from pollgate.densify.records import RecordsDocument, RecordStore

from tests.helpers.densify import NOW, RECORDS, Densify, assert_error, body

# 3000 systems (the default limit) of about 2.6 kB each, as JSON: 7.9 MB of results.
SYSTEMS = 3000


@pytest.fixture
def large(densify: Densify) -> Densify:
    notes = "rightsizing analysis: CPU p95 under 20 % for 30 days; memory p95 under 35 %; " * 30
    with clock.frozen(NOW):
        RecordStore().publish(
            "cloud",
            RecordsDocument.model_validate(
                {
                    **RECORDS,
                    "systems": [
                        {
                            "id": f"i-{n:06d}",
                            "properties": {
                                "recommendationType": "Downsize",
                                "savings": n,
                                "region": "us-east-1",
                                "notes": f"{n}: {notes}",
                            },
                        }
                        for n in range(SYSTEMS)
                    ],
                }
            ),
        )
    return densify


def results(densify: Densify, token: str, ref: str, **headers: str) -> dict[str, Any]:
    return densify.call("get_results", "GET", f"/subscriptions/cloud/{ref}", token, headers=headers)


def test_a_document_too_large_to_return_is_400_on_demand_failure_with_its_size(large: Densify) -> None:
    alice = large.token("alice")
    ref = large.create_one(alice)
    answer = results(large, alice, ref)
    assert response_bytes(answer) <= LAMBDA_RESPONSE_LIMIT_BYTES
    message = assert_error(answer, 400)
    assert message.startswith(f"On-Demand Failure. The results document of {SYSTEMS} systems is ")
    size = int(message.split(" is ", 1)[1].split(" bytes", 1)[0])
    assert size > LAMBDA_RESPONSE_LIMIT_BYTES
    assert f"more than the {LAMBDA_RESPONSE_LIMIT_BYTES} bytes" in message
    assert "Accept-Encoding: gzip" in message
    assert body(large.status(alice, ref, "cloud"))["lastTriggered"] == "On-Demand Failure. Wed Nov 18 11:06:40 UTC 2026"


def test_a_client_that_accepts_gzip_gets_the_document_compressed(large: Densify) -> None:
    alice = large.token("alice")
    ref = large.create_one(alice)
    answer = results(large, alice, ref, **{"Accept-Encoding": "gzip, deflate"})
    assert answer["statusCode"] == 200
    assert response_bytes(answer) <= LAMBDA_RESPONSE_LIMIT_BYTES
    assert answer["isBase64Encoded"] and answer["headers"]["Content-Encoding"] == "gzip"
    document = json.loads(gzip.decompress(base64.b64decode(answer["body"])))
    assert document["count"] == SYSTEMS == len(document["results"])
    assert document["results"][7]["notes"].startswith("7: rightsizing analysis")
    assert body(large.status(alice, ref, "cloud"))["lastTriggered"].startswith("On-Demand Success. ")


def test_a_narrower_subscription_is_answered_as_it_is(large: Densify) -> None:
    alice = large.token("alice")
    ref = large.create_one(
        alice, propertyReferences=[{"propertyID": "savings", "operator": "[]", "values": ["0", "999"]}]
    )
    answer = results(large, alice, ref, **{"Accept-Encoding": "gzip"})
    assert answer["statusCode"] == 200 and not answer["isBase64Encoded"]  # 2.6 MB fits: nothing to compress
    assert body(answer)["count"] == 1000
