"""Every function declares AWS_ENDPOINT_URL, empty: SAM CLI's `--env-vars` sets only variables the template
declares, so this is what lets `sam local` point the functions at pollgate's local services, and on AWS an empty
endpoint variable is no endpoint at all (botocore skips it and uses the service's own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_every_function_declares_an_empty_aws_endpoint_url() -> None:
    stacks, _ = SamLocalStackProvider.get_stacks(str(TEMPLATE))
    functions = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True).get_all()
    declared = {function.name: (function.environment or {}).get("Variables", {}) for function in functions}
    assert len(declared) > 20
    assert {name: variables.get("AWS_ENDPOINT_URL") for name, variables in declared.items()} == dict.fromkeys(
        declared, ""
    )


@pytest.mark.parametrize(
    ("service", "endpoint"),
    [
        ("dynamodb", "https://dynamodb.us-east-1.amazonaws.com"),
        ("stepfunctions", "https://states.us-east-1.amazonaws.com"),
        ("sqs", "https://sqs.us-east-1.amazonaws.com"),
    ],
)
def test_an_empty_aws_endpoint_url_leaves_every_client_on_the_services_own_endpoint(
    service: str, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")
    for variable in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SFN", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(variable, raising=False)
    session: Any = boto3.session.Session()  # service names vary here: no per-service overload applies
    client = session.client(
        service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    assert client.meta.endpoint_url == endpoint
