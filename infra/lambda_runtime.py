"""Calling handlers as Lambda would: loading them, and building the events AWS delivers.

Used by the local stack and the integration tests, so both go through the same doors:
API Gateway HTTP API payload 2.0, SQS batches, EventBridge scheduled events.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

from infra.template import ROOT, FunctionSpec, Route

REGION = "us-east-1"
ACCOUNT = "123456789012"


def load_function(spec: FunctionSpec, instance: int = 0) -> ModuleType:
    """Import functions/<name>/app.py under a unique name: handlers never clash or share.
    Each `instance` is a separate copy, as separate Lambda instances are."""
    module_name = f"fn_{spec.code_dir.name}_{spec.module}" + (f"_{instance}" if instance else "")
    if module_name in sys.modules:
        return sys.modules[module_name]
    layer = str(ROOT / "layers" / "core")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    location = spec.code_dir / f"{spec.module}.py"
    module_spec = importlib.util.spec_from_file_location(module_name, location)
    assert module_spec and module_spec.loader, location
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    return module


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    timeout_seconds: int = 10

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())
        self.invoked_function_arn = (
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"
        )
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def http_event(
    route: Route,
    path: str,
    path_parameters: dict[str, str],
    headers: dict[str, str],
    query_string: str = "",
    body: bytes = b"",
    claims: dict[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
    domain: str = "127.0.0.1:3000",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) request event."""
    lowered = {name.lower(): value for name, value in headers.items()}
    query: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": route.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        event["body"] = text
    if claims is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": _claims_as_api_gateway_passes_them(claims), "scopes": None}
        }
    return event


def _claims_as_api_gateway_passes_them(claims: dict[str, Any]) -> dict[str, str]:
    """HTTP APIs hand claims to the function as strings; arrays become '[a b]'."""
    passed = {}
    for name, value in claims.items():
        if isinstance(value, list):
            passed[name] = "[" + " ".join(str(item) for item in value) + "]"
        else:
            passed[name] = str(value)
    return passed


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS event source batch from ReceiveMessage results."""
    records = []
    for message in messages:
        attributes = message.get("Attributes", {})
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
                    "SenderId": attributes.get("SenderId", ACCOUNT),
                    "ApproximateFirstReceiveTimestamp": attributes.get(
                        "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                    ),
                },
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": None,
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value.get("DataType", "String"),
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody")
                or hashlib.md5(message["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def scheduled_event(rule_name: str) -> dict[str, Any]:
    """An EventBridge scheduled event."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule_name}"],
        "detail": {},
    }


def response_parts(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body from a handler's HTTP API response (all 2.0 forms)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        body = result if isinstance(result, str) else json.dumps(result)
        return 200, {"content-type": "application/json"}, body.encode()
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    headers = {name.lower(): str(value) for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(str(value) for value in values)
    return int(result["statusCode"]), headers, raw


class FunctionRoutes:
    """One function's HttpApi routes from template.yaml, called in-process as AWS would."""

    def __init__(self, spec: FunctionSpec, claims: dict[str, Any] | None = None) -> None:
        self.spec = spec
        self.module = load_function(spec)
        self.claims = claims

    def request(
        self,
        method: str,
        path: str,
        raw: bytes = b"",
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> tuple[int, dict[str, str], bytes]:
        for route in self.spec.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                break
        else:
            raise LookupError(f"no route in template.yaml for {method} {path}")
        headers = {"content-type": "application/json", **(headers or {})}
        claims = self.claims if route.authorized else None
        event = http_event(route, path, parameters, headers, query, raw, claims)
        result = self.module.lambda_handler(event, LambdaContext(self.spec.logical_id))
        return response_parts(result)
