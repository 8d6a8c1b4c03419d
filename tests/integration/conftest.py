"""Integration fixtures: moto's in-process AWS with the table and queues of template.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from helpdesk import providers
from helpdesk.settings import get_settings
from infra.lambda_runtime import LambdaContext, http_event, load_function, response_parts
from infra.provision import provision
from infra.template import functions

TABLE = "helpdesk-test"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A fresh moto account: table and queues from the template, env pointing at them."""
    with mock_aws():
        dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        urls = {name: url for name, (url, _) in provision(dynamodb, sqs, TABLE, "test").items()}
        monkeypatch.setenv("TABLE_NAME", TABLE)
        monkeypatch.setenv("QUEUE_URL", urls["JobQueue"])
        get_settings.cache_clear()
        providers.channel_for.cache_clear()
        providers.telegram_client.cache_clear()
        yield {"dynamodb": dynamodb, "sqs": sqs, "queue_url": urls["JobQueue"], "urls": urls}
        get_settings.cache_clear()
        providers.channel_for.cache_clear()
        providers.telegram_client.cache_clear()


class Api:
    """Calls a function's HTTP routes with API Gateway HTTP API events, as AWS would."""

    def __init__(self, function: str, claims: dict[str, Any] | None) -> None:
        self.spec = functions()[function]
        self.module = load_function(self.spec)
        self.claims = claims

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> tuple[int, Any]:
        for route in self.spec.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                break
        else:
            raise AssertionError(f"no route in template.yaml for {method} {path}")
        payload = (
            raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        )
        event = http_event(
            route,
            path,
            parameters,
            {"content-type": "application/json", **(headers or {})},
            query,
            payload,
            self.claims if route.authorized else None,
        )
        result = self.module.lambda_handler(event, LambdaContext(self.spec.logical_id))
        status, response_headers, data = response_parts(result)
        is_json = response_headers.get("content-type", "").startswith("application/json")
        return status, json.loads(data) if is_json and data else data


def claims(role: str, sub: str = "agent-1") -> dict[str, Any]:
    return {"sub": sub, "cognito:groups": [role], "iss": "https://issuer.test", "aud": "helpdesk"}


@pytest.fixture
def agent_api(aws: dict[str, Any]) -> Api:
    return Api("TicketsFunction", claims("agent", "agent-1"))


@pytest.fixture
def lead_api(aws: dict[str, Any]) -> Api:
    return Api("TicketsFunction", claims("lead", "lead-1"))
