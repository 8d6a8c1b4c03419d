"""What every suite shares: the one loader of sample events, signing, and the one driver
that runs queued jobs through the dispatcher function as the SQS event source would."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from infra.lambda_runtime import LambdaContext, load_function, sqs_event
from infra.template import functions

EVENTS = Path(__file__).resolve().parents[1] / "events"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"

TG_SECRET = "tg-secret-for-tests"
TG_BOT_TOKEN = "7012345678:test-token"
WA_SECRET = "wa-app-secret-for-tests"
WA_NUMBER = "106540352242922"
TEST_CONFIG = json.dumps(
    {
        "directions": [
            {"id": "d0", "whatsapp_phone_number_ids": [WA_NUMBER]},
            {"id": "d1", "language": "en"},
        ]
    }
)


def load_event(name: str) -> dict[str, Any]:
    """A sample from events/, e.g. 'telegram/text_message' (.json may be left out)."""
    path = _path(name)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def event_bytes(name: str) -> bytes:
    """A sample's exact bytes (what a provider signed)."""
    return _path(name).read_bytes()


def _path(name: str) -> Path:
    path = EVENTS / name
    return path if path.suffix else path.with_suffix(".json")


def whatsapp_signature(raw: bytes, secret: str = WA_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def use_messengers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The messenger secrets and numbers the tests sign with."""
    from helpdesk.settings import get_settings

    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", TG_SECRET)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TG_BOT_TOKEN)
    monkeypatch.setenv("WHATSAPP_APP_SECRET", WA_SECRET)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", "verify-me")
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "wa-access")
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", WA_NUMBER)
    get_settings.cache_clear()


class DispatchDriver:
    """Runs queued jobs through the dispatcher function with a given sender."""

    def __init__(self, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
        self.aws = aws
        self.monkeypatch = monkeypatch
        self.spec = functions()["DispatcherFunction"]
        self.module = load_function(self.spec)

    def use(self, sender: Any) -> None:
        """Every send of the dispatcher (ticket messages and incident notices) goes to
        `sender`."""
        self.monkeypatch.setattr(
            self.module.dispatcher, "sender_for", lambda channel, service_id: sender
        )
        self.monkeypatch.setattr(
            self.module.notices, "sender_for", lambda channel, service_id: sender
        )

    def invoke(self, received: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = self.module.lambda_handler(
            sqs_event(received, QUEUE_ARN), LambdaContext(self.spec.logical_id)
        )
        return result

    def receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = (
            self.aws["sqs"]
            .receive_message(
                QueueUrl=self.aws["queue_url"], MaxNumberOfMessages=10, AttributeNames=["All"]
            )
            .get("Messages", [])
        )
        return messages

    def run(self, bodies: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Send bodies through the real queue, receive one batch, hand it to the function."""
        for body in bodies:
            self.aws["sqs"].send_message(QueueUrl=self.aws["queue_url"], MessageBody=body)
        received = self.receive()
        return self.invoke(received), received

    def drain(self, sender: Any = None) -> dict[str, Any]:
        """Every job now visible, batch by batch, until the queue is empty."""
        if sender is not None:
            self.use(sender)
        result: dict[str, Any] = {"batchItemFailures": []}
        while received := self.receive():
            result["batchItemFailures"] += self.invoke(received)["batchItemFailures"]
            for message in received:
                self.aws["sqs"].delete_message(
                    QueueUrl=self.aws["queue_url"], ReceiptHandle=message["ReceiptHandle"]
                )
        return result


# ---- issue trackers ---------------------------------------------------------------------

TRACKER_SECRETS = {
    "github": "github-secret-for-tests",
    "gitlab": "gitlab-token-for-tests",
    "jira": "jira-secret-for-tests",
    "generic": "generic-tracker-secret-for-tests",
}


def use_trackers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tracker secrets the tests sign with."""
    from helpdesk.settings import get_settings

    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", TRACKER_SECRETS["github"])
    monkeypatch.setenv("GITLAB_WEBHOOK_TOKEN", TRACKER_SECRETS["gitlab"])
    monkeypatch.setenv("JIRA_WEBHOOK_SECRET", TRACKER_SECRETS["jira"])
    monkeypatch.setenv("GENERIC_TRACKER_SECRET", TRACKER_SECRETS["generic"])
    get_settings.cache_clear()


def tracker_headers(
    provider: str, raw: bytes, event_id: str, secret: str | None = None, timestamp: int = 0
) -> dict[str, str]:
    """The headers a tracker sends with `raw`: its signature (or token) and its event id."""
    from helpdesk.trackers import generic

    key = TRACKER_SECRETS[provider] if secret is None else secret
    digest = hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()
    if provider == "github":
        return {
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": event_id,
            "X-Hub-Signature-256": f"sha256={digest}",
        }
    if provider == "gitlab":
        return {"X-Gitlab-Event": "Issue Hook", "X-Gitlab-Token": key, "Idempotency-Key": event_id}
    if provider == "jira":
        return {"X-Hub-Signature": f"sha256={digest}", "X-Atlassian-Webhook-Identifier": event_id}
    return {
        "X-Tracker-Timestamp": str(timestamp),
        "X-Tracker-Signature": generic.signature_for(str(timestamp), raw, key),
    }
