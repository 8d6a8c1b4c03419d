"""The sandbox answers as Telegram and WhatsApp do, including their refusals, and only locally."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from infra.sandbox import SandboxServer
from tests.integration.test_local_engine import free_port

WA = "/whatsapp/v21.0/106540352242922/messages"
TG = "/telegram/bot123:abc"
NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SandboxServer, str]]:
    monkeypatch.setenv("HELPDESK_NOW", "2026-11-30T10:00:00Z")
    server = SandboxServer(free_port(), allowed_origins={"http://127.0.0.1:3000"})
    server.start()
    yield server, f"http://127.0.0.1:{server.port}"
    server.stop()


def post(url: str, body: Any, **headers: str) -> requests.Response:
    return requests.post(url, json=body, headers=headers, timeout=5)


def text_to(wa_id: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": wa_id, "type": "text", "text": {"body": "Hi"}}


@pytest.mark.parametrize(
    "body",
    [
        {"status": 600},
        {"status": "429"},
        {"status": True},
        {"times": 1},
        {"status": 429, "times": 0},
        {"status": 429, "times": 1001},
        {"status": 429, "retry_after": -1},
        {"status": 429, "shell": "rm -rf /"},
        {"status": 500, "body": "not an object"},
        [429],
    ],
)
def test_control_bodies_are_validated(sandbox: tuple[SandboxServer, str], body: Any) -> None:
    server, url = sandbox
    refused = post(f"{url}/control/fail", body)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"]
    assert server.failures == []


def test_a_valid_failure_is_answered_next_then_reset_forgets(
    sandbox: tuple[SandboxServer, str],
) -> None:
    _server, url = sandbox
    assert post(f"{url}/control/fail", {"status": 429, "times": 2, "retry_after": 3}).ok
    for _ in range(2):
        limited = post(f"{url}{TG}/sendMessage", {"chat_id": 1, "text": "x"})
        assert limited.status_code == 429
        assert limited.json()["parameters"]["retry_after"] == 3
    assert post(f"{url}{TG}/sendMessage", {"chat_id": 1, "text": "x"}).ok
    assert post(f"{url}/control/reset", {"everything": True}).status_code == 400
    assert post(f"{url}/control/reset", {}).ok
    assert requests.get(f"{url}/outbox", timeout=5).json() == {"sent": [], "refused": []}


def test_web_pages_are_refused(sandbox: tuple[SandboxServer, str]) -> None:
    _, url = sandbox
    evil = {"Origin": "https://evil.example"}
    for response in (
        requests.get(f"{url}/outbox", headers=evil, timeout=5),
        post(f"{url}/control/reset", {}, **evil),
        requests.options(f"{url}/control/fail", headers=evil, timeout=5),
        requests.get(f"{url}/outbox", headers={"Host": "evil.example"}, timeout=5),
    ):
        assert response.status_code == 403
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]
    assert requests.get(f"{url}/outbox", timeout=5).ok  # curl, a script, a browser tab
    assert requests.get(f"{url}/outbox", headers={"Origin": "http://127.0.0.1:3000"}).ok


def test_whatsapp_free_form_needs_a_customer_message_in_the_last_24_hours(
    sandbox: tuple[SandboxServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, url = sandbox
    closed = post(f"{url}{WA}", text_to("79161234567"))
    assert closed.status_code == 400
    error = closed.json()["error"]
    assert error["code"] == 131047 and error["type"] == "OAuthException"
    assert error["message"] == "(#131047) Re-engagement message"
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert "more than 24 hours have passed" in error["error_data"]["details"]
    assert error["fbtrace_id"]
    template = {"messaging_product": "whatsapp", "to": "79161234567", "type": "template"}
    assert post(f"{url}{WA}", {**template, "template": {"name": "ticket_resolved"}}).ok

    server.note_whatsapp_inbound("79161234567", int((NOW - timedelta(hours=23)).timestamp()))
    sent = post(f"{url}{WA}", text_to("+7 916 123-45-67"))
    assert sent.ok and sent.json()["messages"][0]["id"].startswith("wamid.")
    interactive = {**text_to("79161234567"), "type": "interactive", "interactive": {}}
    assert post(f"{url}{WA}", interactive).ok

    monkeypatch.setenv("HELPDESK_NOW", "2026-11-30T11:00:01Z")  # 24 h and 1 s later
    assert post(f"{url}{WA}", interactive).status_code == 400
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}
    assert post(f"{url}{WA}", read).json() == {"success": True}
    outbox = requests.get(f"{url}/outbox", timeout=5).json()
    assert len(outbox["refused"]) == 2


def test_telegram_methods_answer_in_the_bot_api_shapes(sandbox: tuple[SandboxServer, str]) -> None:
    _, url = sandbox

    def call(method: str, body: dict[str, Any]) -> Any:
        answer = post(f"{url}{TG}/{method}", body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["ok"] is True
        return answer.json()["result"]

    message = call("sendMessage", {"chat_id": 111, "text": "Hello", "reply_markup": {"k": 1}})
    assert message["chat"] == {"id": 111, "type": "private"}
    assert message["text"] == "Hello" and message["from"]["is_bot"] is True
    assert isinstance(message["message_id"], int) and message["date"] == int(NOW.timestamp())
    edited = call(
        "editMessageText", {"chat_id": 111, "message_id": message["message_id"], "text": "Bye"}
    )
    assert edited["message_id"] == message["message_id"] and edited["edit_date"]
    assert call("answerCallbackQuery", {"callback_query_id": "42"}) is True
    topic = call("createForumTopic", {"chat_id": -100123, "name": "D0-000001"})
    assert topic["name"] == "D0-000001" and isinstance(topic["message_thread_id"], int)
    assert {"icon_color"} <= set(topic)
    thread = {"chat_id": -100123, "message_thread_id": topic["message_thread_id"]}
    assert call("editForumTopic", {**thread, "name": "D0-000001 done"}) is True
    assert call("closeForumTopic", thread) is True
    assert call("reopenForumTopic", thread) is True
    in_topic = call("sendMessage", {**thread, "text": "in the topic"})
    assert in_topic["chat"]["type"] == "supergroup" and in_topic["is_topic_message"] is True

    empty = post(f"{url}{TG}/sendMessage", {"chat_id": 111, "text": ""})
    assert empty.status_code == 400
    assert empty.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message text is empty",
    }
