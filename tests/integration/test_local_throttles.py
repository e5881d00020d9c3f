"""`pollgate run`'s HTTP port applies the template's route throttles (issue 10): the credential routes' lower
limits, from the same parameters API Gateway gets, answered 429 as API Gateway answers them."""

from __future__ import annotations

import http.client
import json

import pytest
from moto import mock_aws
from pollgate_local.api import LocalHttpApi
from pollgate_local.stack import MOTO_CONFIG, LocalStack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_credential_routes_are_throttled_locally_as_the_template_says() -> None:
    parameters = {"CredentialThrottlingRateLimit": "0.001", "CredentialThrottlingBurstLimit": "2"}
    with mock_aws(config=MOTO_CONFIG), LocalStack(parameters=parameters) as stack:
        stack.provision()
        api = LocalHttpApi(stack, 0, log_line=lambda _: None)
        try:
            url = api.start().removeprefix("http://")
            statuses, bodies = [], []
            for path in ("/authorize", "/authorize", "/authorize", "/subscriptions"):
                connection = http.client.HTTPConnection(url, timeout=30)
                connection.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
                answer = connection.getresponse()
                statuses.append(answer.status)
                bodies.append(json.loads(answer.read()))
                connection.close()
        finally:
            api.stop()
    assert statuses == [400, 400, 429, 400]  # the burst of 2, then refused; other routes keep the stage's limits
    assert bodies[2] == {"message": "Too Many Requests"}
