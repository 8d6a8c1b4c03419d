"""Integration fixtures: moto's in-process AWS with the table and queues of template.yaml."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from helpdesk.channels import registry
from helpdesk.settings import get_settings
from infra import moto_patches
from infra.lambda_runtime import FunctionRoutes
from infra.provision import provision
from infra.template import functions
from tests.support import TEST_CONFIG, DispatchDriver, load_event, use_messengers

TABLE = "helpdesk-test"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A fresh moto account: table and queues from the template, env pointing at them."""
    revert = moto_patches.apply()
    with mock_aws():
        dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        urls = {name: url for name, (url, _) in provision(dynamodb, sqs, TABLE, "test").items()}
        monkeypatch.setenv("TABLE_NAME", TABLE)
        monkeypatch.setenv("QUEUE_URL", urls["JobQueue"])
        monkeypatch.setenv("HELPDESK_CONFIG", TEST_CONFIG)
        get_settings.cache_clear()
        registry.sender_for.cache_clear()
        yield {"dynamodb": dynamodb, "sqs": sqs, "queue_url": urls["JobQueue"], "urls": urls}
        get_settings.cache_clear()
        registry.sender_for.cache_clear()
    revert()


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


@pytest.fixture
def dispatcher(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> DispatchDriver:
    return DispatchDriver(aws, monkeypatch)


_updates = itertools.count(900_000)


@pytest.fixture
def client_ticket(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, dispatcher: DispatchDriver
) -> Any:
    """Opens a ticket the way clients do (a Telegram message); returns its number."""
    use_messengers(monkeypatch)
    driver = dispatcher
    webhook = Api("MessengerWebhookFunction", None)

    def open_ticket(text: str = "Login fails", chat: int | None = None) -> str:
        update = load_event("telegram/text_message")
        number = next(_updates)
        update["update_id"] = number
        update["message"]["message_id"] = number
        update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat or number
        update["message"]["text"] = text
        status, body = webhook.call(
            "POST",
            "/webhooks/telegram",
            raw=json.dumps(update, ensure_ascii=False).encode(),
            headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret-for-tests"},
        )
        assert (status, body["handled"]) == (200, ["created"]), body
        (job,) = aws["sqs"].receive_message(QueueUrl=aws["queue_url"])["Messages"]
        # The greeting and number go out here, so that tests see only their own sends.
        sender = driver.module.dispatcher.sender_for
        driver.use(_Accepting())
        driver.invoke([job])
        aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=job["ReceiptHandle"])
        monkeypatch.setattr(driver.module.dispatcher, "sender_for", sender)
        return str(json.loads(job["Body"])["ticket_id"])

    return open_ticket


class _Accepting:
    def send(self, message: Any) -> Any:
        from helpdesk.channels.base import SendResult

        return SendResult(provider_message_id=None)
