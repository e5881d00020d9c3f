"""A raw AWS API request -> the IAM actions and resources AWS authorizes it on (moto checks resource "*" only).

Read from what is on the wire, so one mapping serves a moto server (WSGI) and botocore in process: the service from
the SigV4 credential scope (else the X-Amz-Target prefix or the host), the operation from X-Amz-Target, `Action=`
or the REST path, the resource from the request's own parameters.

- DynamoDB: the table ARN from TableName (`.../index/<IndexName>` for Query and Scan on an index);
  TransactWriteItems -> each item's PutItem / UpdateItem / DeleteItem / ConditionCheckItem on its table;
  TransactGetItems -> GetItem on each; BatchWriteItem / BatchGetItem on each table named.
- SQS (JSON and query protocols): the queue ARN from QueueUrl (QueueName for CreateQueue / GetQueueUrl); the batch
  operations need their single actions (SendMessageBatch -> sqs:SendMessage), as IAM has no batch actions.
- Step Functions: stateMachineArn, executionArn (or another *Arn parameter).
- Secrets Manager: SecretId as a name, a partial or a full ARN -> the secret's ARN (with its suffix, when known).
- S3 (path-style and virtual-host): GetObject (HEAD too), PutObject, DeleteObject on bucket/key; ListObjects(V2)
  and HeadBucket -> s3:ListBucket on the bucket; DeleteObjects -> s3:DeleteObject on each key.
- Lambda: Invoke -> lambda:InvokeFunction on the function ARN, with its qualifier.
- STS GetCallerIdentity needs nothing (AWS never refuses it); CloudWatch PutMetricData and anything else: the
  operation as the action, on resource "*".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.etree import ElementTree

from pollgate_local import ACCOUNT, REGION

Need = tuple[str, str]  # (IAM action, resource ARN or "*")

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
# The SigV4 signing name -> the IAM action prefix, where they differ.
_ACTION_PREFIX = {"monitoring": "cloudwatch"}
# X-Amz-Target prefixes -> IAM action prefix, for requests without a credential scope.
_TARGET_PREFIX = {
    "DynamoDB_20120810": "dynamodb",
    "AmazonSQS": "sqs",
    "AWSStepFunctions": "states",
    "secretsmanager": "secretsmanager",
    "GraniteServiceVersion20100801": "cloudwatch",
    "Logs_20140328": "logs",
    "AWSEvents": "events",
    "TrentService": "kms",
}
_S3_VIRTUAL_HOST = re.compile(r"^(?P<bucket>.+?)\.(?:s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com|localhost)$")
_LAMBDA_INVOKE = re.compile(r"^/[0-9-]+/functions/(?P<function>[^/]+)/invocations$")
_CBOR_OPERATION = re.compile(r"^/service/[^/]+/operation/(?P<operation>[^/]+)$")


@dataclass(frozen=True)
class Call:
    """What one request asks of IAM: every (action, resource) in `needs` must be allowed."""

    service: str  # the IAM action prefix: dynamodb, sqs, states, secretsmanager, s3, lambda, sts, cloudwatch, ...
    operation: str  # the API operation ("" when the request does not say)
    protocol: str  # json | query | rest-xml | rest-json | smithy-rpc-v2-cbor: how the refusal must be written
    needs: tuple[Need, ...]
    region: str = REGION


def access_key_of(headers: Mapping[str, Any], url: str) -> str | None:
    """The access key id a request is signed with (Authorization header, or a presigned URL's X-Amz-Credential)."""
    lowered = _lowered(headers)
    match = _CREDENTIAL.search(lowered.get("authorization", ""))
    if match:
        return match.group(1)
    credential = parse_qs(urlsplit(url).query).get("X-Amz-Credential")
    return credential[0].split("/", 1)[0] if credential else None


def needs_body(method: str, url: str, headers: Mapping[str, Any]) -> bool:
    """Whether describe() reads the body: not for S3 (except DeleteObjects) or Lambda, whose bodies are payloads
    (and may be streamed in aws-chunked encoding, which a middleware must not consume)."""
    lowered = _lowered(headers)
    scope = _CREDENTIAL.search(lowered.get("authorization", ""))
    service = scope.group(3) if scope else _service_from_host(urlsplit(url).hostname or "")
    if service == "s3":
        return method == "POST" and "delete" in parse_qs(urlsplit(url).query, keep_blank_values=True)
    return service != "lambda"


def describe(
    method: str,
    url: str,
    headers: Mapping[str, Any],
    body: bytes | str | None = b"",
    *,
    secret_arns: Sequence[str] = (),
) -> Call:
    """The actions and resources `method url` with these headers and body needs (secret_arns: the known secrets,
    to name a secret given by name or partial ARN by its full ARN)."""
    lowered = _lowered(headers)
    raw = body.encode() if isinstance(body, str) else (body or b"")
    parts = urlsplit(url)
    scope = _CREDENTIAL.search(lowered.get("authorization", ""))
    signing_service = scope.group(3) if scope else ""
    region = scope.group(2) if scope else REGION
    target = lowered.get("x-amz-target", "")
    if not signing_service and target:
        signing_service = _TARGET_PREFIX.get(target.split(".", 1)[0], "")
    if not signing_service:
        signing_service = _service_from_host(parts.hostname or "")
    service = _ACTION_PREFIX.get(signing_service, signing_service)

    if service == "s3":
        return Call("s3", "", "rest-xml", tuple(_s3_needs(method, parts, lowered, raw)), region)
    if service == "lambda":
        return _lambda_call(method, parts, region)

    protocol, operation, params = _rpc_request(lowered, parts.path, parts.query, raw)
    needs: tuple[Need, ...]
    if service == "dynamodb":
        needs = tuple(_dynamodb_needs(operation, params, region))
    elif service == "sqs":
        needs = _sqs_needs(operation, params, region)
    elif service == "states":
        needs = (("states:" + operation, _first_arn(params)),)
    elif service == "secretsmanager":
        needs = (("secretsmanager:" + operation, _secret_arn(operation, params, region, secret_arns)),)
    elif service == "sts" and operation == "GetCallerIdentity":
        needs = ()
    else:
        needs = (((service or "unknown") + ":" + (operation or f"{method} {parts.path}"), "*"),)
    return Call(service, operation, protocol, needs, region)


def _lowered(headers: Mapping[str, Any]) -> dict[str, str]:
    """Header names in lower case, values as text (botocore keeps some as bytes)."""
    return {str(k).lower(): v.decode("latin-1") if isinstance(v, bytes) else str(v) for k, v in headers.items()}


def _service_from_host(host: str) -> str:
    """sqs.us-east-1.amazonaws.com -> sqs; bucket.s3.amazonaws.com -> s3 (requests without a credential scope)."""
    labels = host.split(".")
    if "s3" in labels or any(label.startswith("s3-") for label in labels):
        return "s3"
    return labels[0] if host.endswith(".amazonaws.com") else ""


def _rpc_request(headers: Mapping[str, Any], path: str, query: str, body: bytes) -> tuple[str, str, dict[str, Any]]:
    """(protocol, operation, parameters) of a JSON, smithy CBOR or query-protocol request."""
    target = headers.get("x-amz-target")
    if target:
        return "json", target.rsplit(".", 1)[-1], _json_object(body)
    cbor = _CBOR_OPERATION.match(path)
    if cbor and headers.get("smithy-protocol") == "rpc-v2-cbor":
        return "smithy-rpc-v2-cbor", cbor.group("operation"), {}  # parameters unread: no CBOR call names a resource
    form = parse_qs(query)
    if "form-urlencoded" in headers.get("content-type", ""):
        form.update(parse_qs(body.decode("utf-8", "replace")))
    params = {key: values[0] for key, values in form.items()}
    return "query", str(params.get("Action", "")), params


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------------------------------------ DynamoDB
_TRANSACT_WRITE_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _table_arn(name: Any, region: str) -> str:
    text = str(name)
    return text if text.startswith("arn:") else f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{text}"


def _dynamodb_needs(operation: str, params: dict[str, Any], region: str) -> Iterator[Need]:
    if operation == "TransactWriteItems":
        for item in params.get("TransactItems") or []:
            for kind, action in _TRANSACT_WRITE_ACTIONS.items():
                if isinstance(item, dict) and kind in item:
                    yield action, _table_arn(item[kind].get("TableName"), region)
    elif operation == "TransactGetItems":
        for item in params.get("TransactItems") or []:
            if isinstance(item, dict) and "Get" in item:
                yield "dynamodb:GetItem", _table_arn(item["Get"].get("TableName"), region)
    elif operation in ("BatchWriteItem", "BatchGetItem"):
        for table in params.get("RequestItems") or {}:
            yield "dynamodb:" + operation, _table_arn(table, region)
    elif "TableName" in params:
        arn = _table_arn(params["TableName"], region)
        if operation in ("Query", "Scan") and params.get("IndexName"):
            arn += f"/index/{params['IndexName']}"
        yield "dynamodb:" + operation, arn
    else:
        yield "dynamodb:" + operation, "*"


# ------------------------------------------------------------------------------------------------ SQS
_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _sqs_needs(operation: str, params: dict[str, Any], region: str) -> tuple[Need, ...]:
    action = "sqs:" + _SQS_BATCH.get(operation, operation)
    url = params.get("QueueUrl")
    if url:
        return ((action, _queue_arn(str(url), region)),)
    name = params.get("QueueName")
    if name:
        owner = params.get("QueueOwnerAWSAccountId") or ACCOUNT
        return ((action, f"arn:aws:sqs:{region}:{owner}:{name}"),)
    return ((action, "*"),)


def _queue_arn(url: str, region: str) -> str:
    """https://sqs.<region>.amazonaws.com/<account>/<name> (or a local endpoint's /<account>/<name>) -> its ARN."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    name = segments[-1] if segments else ""
    account = segments[-2] if len(segments) >= 2 else ACCOUNT
    host = (parts.hostname or "").split(".")
    if len(host) >= 4 and host[-2:] == ["amazonaws", "com"]:
        region = host[1] if host[0] == "sqs" else host[0]  # sqs.<region>.amazonaws.com or <region>.queue...
    return f"arn:aws:sqs:{region}:{account}:{name}"


# ------------------------------------------------------------------------------------------------ Step Functions
def _first_arn(params: dict[str, Any]) -> str:
    for key in ("stateMachineArn", "executionArn", "resourceArn", "activityArn", "mapRunArn"):
        if params.get(key):
            return str(params[key])
    return "*"


# ------------------------------------------------------------------------------------------------ Secrets Manager
def _secret_arn(operation: str, params: dict[str, Any], region: str, known: Sequence[str]) -> str:
    given = params.get("SecretId") or (params.get("Name") if operation == "CreateSecret" else None)
    if not given:
        return "*"
    given = str(given)
    for arn in known:
        # A full ARN; a partial ARN (no random suffix); or the name (the ARN ends ":secret:<name>-XXXXXX").
        if given == arn or arn.startswith(given + "-") or arn.rpartition(":secret:")[2].rpartition("-")[0] == given:
            return arn
    return given if given.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{given}"


# ------------------------------------------------------------------------------------------------ S3
_S3_OBJECT_ACTIONS = {
    "GET": "s3:GetObject",
    "HEAD": "s3:GetObject",
    "PUT": "s3:PutObject",
    "POST": "s3:PutObject",
    "DELETE": "s3:DeleteObject",
}
_S3_OBJECT_SUBRESOURCES = {
    ("GET", "tagging"): "s3:GetObjectTagging",
    ("PUT", "tagging"): "s3:PutObjectTagging",
    ("DELETE", "tagging"): "s3:DeleteObjectTagging",
    ("GET", "acl"): "s3:GetObjectAcl",
    ("PUT", "acl"): "s3:PutObjectAcl",
    ("GET", "uploadId"): "s3:ListMultipartUploadParts",
    ("DELETE", "uploadId"): "s3:AbortMultipartUpload",
    ("POST", "restore"): "s3:RestoreObject",
    ("GET", "attributes"): "s3:GetObjectAttributes",
}
_S3_BUCKET_SUBRESOURCES = {
    ("GET", "location"): "s3:GetBucketLocation",
    ("GET", "versions"): "s3:ListBucketVersions",
    ("GET", "uploads"): "s3:ListBucketMultipartUploads",
}
_S3_LISTING_PARAMETERS = {
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "encoding-type",
    "fetch-owner",
    "marker",
    "x-id",
}


def _s3_needs(method: str, parts: Any, headers: Mapping[str, Any], body: bytes) -> Iterator[Need]:
    bucket, key = _s3_bucket_and_key(parts)
    query = parse_qs(parts.query, keep_blank_values=True)
    subresources = [
        name for name in query if name not in _S3_LISTING_PARAMETERS and name != "versionId" and name != "partNumber"
    ]
    if not bucket:
        yield "s3:ListAllMyBuckets", "*"
    elif key:
        resource = f"arn:aws:s3:::{bucket}/{key}"
        found = next(
            (_S3_OBJECT_SUBRESOURCES[(method, s)] for s in subresources if (method, s) in _S3_OBJECT_SUBRESOURCES), None
        )
        yield found or _S3_OBJECT_ACTIONS.get(method, f"s3:{method}Object"), resource
        source = headers.get("x-amz-copy-source")
        if method == "PUT" and source:
            yield "s3:GetObject", "arn:aws:s3:::" + unquote(source.split("?", 1)[0].lstrip("/"))
    elif method == "POST" and "delete" in query:
        for deleted in _deleted_keys(body):
            yield "s3:DeleteObject", f"arn:aws:s3:::{bucket}/{deleted}"
    else:
        resource = f"arn:aws:s3:::{bucket}"
        found = next(
            (_S3_BUCKET_SUBRESOURCES[(method, s)] for s in subresources if (method, s) in _S3_BUCKET_SUBRESOURCES), None
        )
        if found:
            yield found, resource
        elif subresources:
            # IAM mostly names bucket configuration actions this way: GetBucketPolicy, PutBucketTagging, ...
            verb = {"GET": "Get", "HEAD": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, method.title())
            yield f"s3:{verb}Bucket{subresources[0][:1].upper()}{subresources[0][1:]}", resource
        else:
            yield {"PUT": "s3:CreateBucket", "DELETE": "s3:DeleteBucket"}.get(method, "s3:ListBucket"), resource


def _s3_bucket_and_key(parts: Any) -> tuple[str, str]:
    host = (parts.hostname or "").lower()
    path = unquote(parts.path)
    virtual = _S3_VIRTUAL_HOST.match(host)
    if virtual and not host.startswith(("s3.", "s3-")):
        return virtual.group("bucket"), path.lstrip("/")
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, key


def _deleted_keys(body: bytes) -> list[str]:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - the body a local client sent, not untrusted input
    except ElementTree.ParseError:
        return ["*"]
    return [element.text or "" for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "Key"] or ["*"]


# ------------------------------------------------------------------------------------------------ Lambda
def _lambda_call(method: str, parts: Any, region: str) -> Call:
    match = _LAMBDA_INVOKE.match(parts.path)
    if method == "POST" and match:
        qualifier = parse_qs(parts.query).get("Qualifier", [None])[0]
        arn = invoked_function_arn(unquote(match.group("function")), qualifier, region)
        return Call("lambda", "Invoke", "rest-json", (("lambda:InvokeFunction", arn),), region)
    return Call("lambda", "", "rest-json", ((f"lambda:{method} {parts.path}", "*"),), region)


def invoked_function_arn(identifier: str, qualifier: str | None = None, region: str = REGION) -> str:
    """`Name`, `Name:qualifier`, `account:function:Name` or an ARN (qualified or not) -> the (qualified) ARN."""
    parts = identifier.split(":")
    if "function" in parts:
        at = parts.index("function")
        account = parts[at - 1] if at >= 1 and parts[at - 1] else ACCOUNT
        region = parts[at - 2] if at >= 2 and parts[at - 2] else region
        name = parts[at + 1]
        qualifier = qualifier or (parts[at + 2] if len(parts) > at + 2 else None)
    else:
        account, name = ACCOUNT, parts[0]
        qualifier = qualifier or (parts[1] if len(parts) > 1 else None)
    return f"arn:aws:lambda:{region}:{account}:function:{name}" + (f":{qualifier}" if qualifier else "")
