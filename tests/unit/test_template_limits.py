"""Every HTTP API is throttled (stage and, lower, its credential routes), writes a JSON access log without headers
or tokens, kept LogRetentionDays; the functions that run scrypt for anyone have reserved concurrency (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

TEMPLATE = yaml_parse((Path(__file__).resolve().parents[2] / "template.yaml").read_text())
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
APIS = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::HttpApi"}
CREDENTIAL_ROUTES = {
    "DensifyApi": {"POST /authorize"},
    "ThingSpaceApi": {"POST /api/ts/v1/oauth2/token", "POST /api/m2m/v1/session/login"},
}
HASHING_FUNCTIONS = {"DensifyAuthorizeFunction", "ThingSpaceOAuthTokenFunction", "ThingSpaceSessionLoginFunction"}


def routes_of(api: str) -> set[str]:
    return {
        f"{e['Properties']['Method']} {e['Properties']['Path']}"
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Serverless::Function"
        for e in (r["Properties"].get("Events") or {}).values()
        if e["Type"] == "HttpApi" and e["Properties"].get("ApiId") == {"Ref": api}
    }


def test_every_api_has_stage_throttling_from_the_parameters() -> None:
    assert set(APIS) == {"UaiApi", "DensifyApi", "ThingSpaceApi"}
    for properties in APIS.values():
        assert properties["DefaultRouteSettings"] == {
            "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        }


def test_credential_routes_are_throttled_lower_and_exist() -> None:
    parameters = TEMPLATE["Parameters"]
    assert parameters["CredentialThrottlingRateLimit"]["Default"] < parameters["ApiThrottlingRateLimit"]["Default"]
    assert parameters["CredentialThrottlingBurstLimit"]["Default"] < parameters["ApiThrottlingBurstLimit"]["Default"]
    for api, expected in CREDENTIAL_ROUTES.items():
        settings = APIS[api]["RouteSettings"]
        assert set(settings) == expected
        assert expected <= routes_of(api)  # API Gateway refuses settings for a route it does not have
        for route in settings.values():
            assert route == {
                "ThrottlingRateLimit": {"Ref": "CredentialThrottlingRateLimit"},
                "ThrottlingBurstLimit": {"Ref": "CredentialThrottlingBurstLimit"},
            }


def test_every_api_writes_a_json_access_log_without_headers_or_tokens_kept_log_retention_days() -> None:
    line = TEMPLATE["Mappings"]["AccessLog"]["Format"]["Line"]
    fields = json.loads(line)
    assert {"requestId", "routeKey", "status", "responseLatency", "integrationLatency"} <= set(fields)
    assert all(value.startswith("$context.") for value in fields.values())
    for forbidden in ("header", "authorizer", "userAgent", "Authorization", "token", "body"):
        assert forbidden.lower() not in line.lower(), forbidden
    for properties in APIS.values():
        settings = properties["AccessLogSettings"]
        assert settings["Format"] == {"Fn::FindInMap": ["AccessLog", "Format", "Line"]}
        group = RESOURCES[settings["DestinationArn"]["Fn::GetAtt"][0]]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_functions_that_hash_passwords_have_reserved_concurrency() -> None:
    for name in HASHING_FUNCTIONS:
        reserved = RESOURCES[name]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved == {
            "Fn::If": ["CapsPasswordHashing", {"Ref": "PasswordHashingConcurrency"}, {"Ref": "AWS::NoValue"}]
        }
