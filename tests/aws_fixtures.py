"""moto-backed AWS for the integration ring, built from template.yaml so tests and the stack never disagree."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
from samcli.yamlhelper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent


def template() -> dict[str, Any]:
    return yaml_parse((ROOT / "template.yaml").read_text())  # type: ignore[no-any-return]


def create_table(name: str) -> None:
    """The table exactly as template.yaml declares it (keys, GSI, TTL)."""
    props = template()["Resources"]["Table"]["Properties"]
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
    )
    ttl = props["TimeToLiveSpecification"]
    client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def http_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    raw_body: bytes | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, as API Gateway would send it."""
    encoded = raw_body is not None
    text = (
        base64.b64encode(raw_body).decode()
        if raw_body is not None
        else (json.dumps(body) if body is not None and not isinstance(body, str) else body)
    )
    all_headers = {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}}
    return {
        "version": "2.0",
        "routeKey": f"{method} {route or path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": all_headers,
        "queryStringParameters": query,
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route or path}",
            "stage": "$default",
            "time": "22/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795000000000,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
