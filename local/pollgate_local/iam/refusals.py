"""A refused request answered as AWS answers it, in the request's own protocol, so botocore raises the same error.

- JSON services (DynamoDB, Step Functions, Secrets Manager): 400, `x-amzn-ErrorType`, body
  `{"__type": "com.amazon.coral.service#AccessDeniedException", "message": ...}` -> AccessDeniedException.
- SQS and CloudWatch (query-compatible JSON / CBOR): 403 and `x-amzn-query-error: AccessDenied;Sender`
  -> AccessDenied, the code their query protocol always gave; the query protocol itself: 403 XML ErrorResponse.
- S3: 403 XML `<Error><Code>AccessDenied</Code>`; a HEAD has no body, so botocore reports "403", as on AWS.
- Lambda: 403, `x-amzn-ErrorType: AccessDeniedException`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from pollgate_local.iam.policies import Principal
from pollgate_local.iam.requests import Call

_ACCESS_DENIED_TYPE = "com.amazon.coral.service#AccessDeniedException"
# Services that moved from the query protocol keep its error codes through x-amzn-query-error.
_QUERY_COMPATIBLE = {"sqs", "cloudwatch"}


@dataclass(frozen=True)
class Denial:
    """A principal refused one action on one resource."""

    principal: Principal
    action: str
    resource: str
    explicit: bool = False  # an explicit Deny matched (otherwise no Allow did)

    def message(self) -> str:
        """The message AWS gives, word for word."""
        # SQS names the action in lower case in its refusals (sqs:sendmessage).
        action = self.action.lower() if self.action.startswith("sqs:") else self.action
        target = "" if self.resource == "*" else f" on resource: {self.resource}"
        reason = (
            "with an explicit deny in an identity-based policy"
            if self.explicit
            else f"because no identity-based policy allows the {action} action"
        )
        return f"User: {self.principal.arn} is not authorized to perform: {action}{target} {reason}"

    def log_line(self) -> str:
        """The one line the runtime prints: which permission was missing for which function."""
        return f"IAM denied {self.principal.logical_id}: {self.action} on {self.resource}"


@dataclass(frozen=True)
class Refusal:
    """The HTTP answer to a refused request."""

    denial: Denial
    protocol: str
    status: int
    headers: dict[str, str]
    body: bytes


def refuse(call: Call, denial: Denial, method: str = "POST") -> Refusal:
    request_id = str(uuid.uuid4())
    message = denial.message()
    if call.protocol == "rest-xml":
        body = (
            b""
            if method == "HEAD"
            else (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
                f"<HostId>{uuid.uuid4().hex}</HostId></Error>"
            ).encode()
        )
        headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
        return Refusal(denial, call.protocol, 403, headers, body)
    if call.protocol == "query":
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{escape(message)}</Message><Detail/></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        return Refusal(denial, call.protocol, 403, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body)
    if call.protocol == "rest-json":
        headers = {
            "Content-Type": "application/json",
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": "AccessDeniedException",
        }
        return Refusal(denial, call.protocol, 403, headers, json.dumps({"Type": "User", "Message": message}).encode())
    error = {"__type": _ACCESS_DENIED_TYPE, "message": message}
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": "AccessDeniedException"}
    status = 400
    if call.service in _QUERY_COMPATIBLE:
        headers["x-amzn-query-error"] = "AccessDenied;Sender"
        status = 403
    if call.protocol == "smithy-rpc-v2-cbor":
        headers.update({"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
        return Refusal(denial, call.protocol, status, headers, _cbor(error))
    headers["Content-Type"] = (
        "application/x-amz-json-1.1" if call.service == "secretsmanager" else "application/x-amz-json-1.0"
    )
    return Refusal(denial, "json", status, headers, json.dumps(error).encode())


def _cbor(error: dict[str, str]) -> bytes:
    """A map of strings in CBOR, by botocore's own serializer (the one that writes CloudWatch's requests)."""
    from botocore.model import ShapeResolver
    from botocore.serialize import CBORSerializer

    shapes: dict[str, Any] = {
        "Strings": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
        "S": {"type": "string"},
    }
    serializer: Any = CBORSerializer()
    encoded = bytearray()
    serializer._serialize_data_item(encoded, error, ShapeResolver(shapes).get_shape_by_name("Strings"))
    return bytes(encoded)
