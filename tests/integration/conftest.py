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
from infra.lambda_runtime import FunctionRoutes
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


class Api(FunctionRoutes):
    """A function's routes with JSON in and out, for tests."""

    def __init__(self, function: str, claims: dict[str, Any] | None) -> None:
        super().__init__(functions()[function], claims)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> tuple[int, Any]:
        if raw is None:
            raw = json.dumps(body).encode() if body is not None else b""
        status, response_headers, data = self.request(method, path, raw, headers, query)
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
