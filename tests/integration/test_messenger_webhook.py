"""Telegram and WhatsApp webhooks through the HTTP route and the queue, on moto."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from helpdesk.channels import registry
from helpdesk.channels.base import OutboundText, SendResult
from helpdesk.settings import get_settings
from infra.sandbox import SandboxServer
from tests.e2e.conftest import free_port
from tests.integration.conftest import Api, claims
from tests.support import (
    TG_SECRET,
    WA_NUMBER,
    WA_SECRET,
    DispatchDriver,
    load_event,
    use_messengers,
    whatsapp_signature,
)

WAMID_SENT = "wamid.HBgLMTYzMTU1NTExODEVAgARGBI1QjlGMDU0RkY2QzQwNjY4RTkA"


def sample(name: str) -> dict[str, Any]:
    return load_event(name)


@pytest.fixture
def webhook(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Api:
    use_messengers(monkeypatch)
    return Api("MessengerWebhookFunction", None)


class Recorder:
    def __init__(self, provider_ids: list[str] | None = None) -> None:
        self.sent: list[OutboundText] = []
        self.provider_ids = provider_ids or []

    def send(self, message: OutboundText) -> SendResult:
        self.sent.append(message)
        pid = self.provider_ids.pop(0) if self.provider_ids else f"p-{len(self.sent)}"
        return SendResult(provider_message_id=pid)


def telegram(api: Api, body: Any, secret: str | None = TG_SECRET) -> tuple[int, Any]:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return api.call("POST", "/webhooks/telegram", raw=raw, headers=headers)


def whatsapp(api: Api, body: Any, secret: str = WA_SECRET, sign: bool = True) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = whatsapp_signature(raw, secret) if sign else {}
    return api.call("POST", "/webhooks/whatsapp", raw=raw, headers=headers)


def table_items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return aws["dynamodb"].scan(TableName=get_settings().table_name)["Items"]


def drain(aws: dict[str, Any], channel: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run every queued job through the dispatcher function, as the event source would."""
    return DispatchDriver(aws, monkeypatch).drain(channel)


def agent() -> Api:
    return Api("TicketsFunction", claims("agent", "agent-1"))


# ---- Telegram ----------------------------------------------------------------------------


def test_first_message_opens_a_ticket_with_greeting_and_acknowledgement(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, body = telegram(webhook, sample("telegram/text_message.json"))
    assert (status, body["handled"]) == (200, ["created"])
    view = agent().call("GET", "/tickets/D0-000001")[1]
    ticket = view["ticket"]
    assert (ticket["channel"], ticket["recipient_id"], ticket["status"]) == (
        "telegram",
        "111222333",
        "new",
    )
    kinds = [(m["kind"], m["author"]) for m in view["messages"]]
    assert kinds == [("inbound", "customer"), ("auto", "system"), ("auto", "system")]
    greeting, ack = view["messages"][1]["text"], view["messages"][2]["text"]
    assert "D0" in greeting and "D0-000001" in ack

    recorder = Recorder()
    assert drain(aws, recorder, monkeypatch)["batchItemFailures"] == []
    assert [m.text for m in recorder.sent] == [greeting, ack]
    assert {m.recipient_id for m in recorder.sent} == {"111222333"}


def test_a_later_message_continues_the_ticket_without_new_greeting(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sample("telegram/text_message.json")
    telegram(webhook, first)
    drain(aws, Recorder(), monkeypatch)
    later = copy.deepcopy(first)
    later["update_id"] += 1
    later["message"]["message_id"] += 1
    later["message"]["text"] = "Also the invoice is wrong"
    status, body = telegram(webhook, later)
    assert (status, body["handled"]) == (200, ["continued"])
    view = agent().call("GET", "/tickets/D0-000001")[1]
    assert view["ticket"]["message_count"] == 2
    assert view["ticket"]["version"] == 2
    assert view["messages"][-1]["text"] == "Also the invoice is wrong"
    recorder = Recorder()
    drain(aws, recorder, monkeypatch)
    assert recorder.sent == []  # no second greeting or acknowledgement
    assert agent().call("GET", "/tickets", query="status=new")[1]["tickets"][0]["id"] == "D0-000001"


def test_the_same_update_delivered_three_times_is_stored_and_answered_once(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    update = sample("telegram/text_message.json")
    outcomes = [telegram(webhook, update)[1]["handled"] for _ in range(3)]
    assert outcomes == [["created"], ["duplicate"], ["duplicate"]]
    recorder = Recorder()
    drain(aws, recorder, monkeypatch)
    assert len(recorder.sent) == 2  # greeting + acknowledgement, once
    view = agent().call("GET", "/tickets/D0-000001")[1]
    assert [m["kind"] for m in view["messages"]].count("inbound") == 1
    assert agent().call("GET", "/tickets/D0-000002")[0] == 404


def test_concurrent_duplicates_make_one_ticket(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The duplicate lands between our read of the identity and our transaction."""
    update = sample("telegram/text_message.json")
    store = webhook.module.inbox.store
    real_transact = store.transact
    raced: list[bool] = []

    def transact_after_the_other_delivery(writes):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append(True)
            monkeypatch.setattr(store, "transact", real_transact)
            assert telegram(webhook, update)[1]["handled"] == ["created"]
        return real_transact(writes)

    monkeypatch.setattr(store, "transact", transact_after_the_other_delivery)
    assert telegram(webhook, update)[1]["handled"] == ["duplicate"]
    recorder = Recorder()
    drain(aws, recorder, monkeypatch)
    assert len(recorder.sent) == 2
    (ticket,) = agent().call("GET", "/tickets")[1]["tickets"]
    assert agent().call("GET", f"/tickets/{ticket['id']}")[1]["ticket"]["message_count"] == 1


def test_two_first_messages_at_once_share_one_ticket(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sample("telegram/text_message.json")
    second = copy.deepcopy(first)
    second["update_id"] += 1
    second["message"]["text"] = "and a screenshot"
    store = webhook.module.inbox.store
    real_transact = store.transact

    def other_message_wins(writes):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(store, "transact", real_transact)
        assert telegram(webhook, second)[1]["handled"] == ["created"]
        return real_transact(writes)

    monkeypatch.setattr(store, "transact", other_message_wins)
    assert telegram(webhook, first)[1]["handled"] == ["continued"]
    ticket_id = "D0-000002"  # the winner took the second number; the loser's is a gap
    view = agent().call("GET", f"/tickets/{ticket_id}")[1]
    assert sorted(m["text"] for m in view["messages"] if m["kind"] == "inbound") == sorted(
        [first["message"]["text"], "and a screenshot"]
    )
    assert agent().call("GET", "/tickets/D0-000001")[0] == 404


def test_a_crash_between_store_and_enqueue_is_repaired_by_the_retry(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = webhook.module.inbox.queue

    def crash(jobs, delay_seconds=0):  # type: ignore[no-untyped-def]
        raise ConnectionError("lambda died before SQS answered")

    monkeypatch.setattr(queue, "send", crash)
    update = sample("telegram/text_message.json")
    with pytest.raises(ConnectionError):
        telegram(webhook, update)  # API Gateway answers 500; Telegram retries
    monkeypatch.undo()
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", TG_SECRET)
    assert telegram(webhook, update)[1]["handled"] == ["duplicate"]
    recorder = Recorder()
    drain(aws, recorder, monkeypatch)
    assert len(recorder.sent) == 2  # nothing missing, nothing twice
    view = agent().call("GET", "/tickets/D0-000001")[1]
    assert [m["kind"] for m in view["messages"]] == ["inbound", "auto", "auto"]


def test_urgent_raises_the_priority_and_says_why(webhook: Api) -> None:
    telegram(webhook, sample("telegram/text_message.json"))
    urgent = sample("telegram/urgent_message.json")
    assert telegram(webhook, urgent)[0] == 200
    view = agent().call("GET", "/tickets/D0-000001")[1]
    assert view["ticket"]["priority"] == "urgent"
    assert "СРОЧНО" in view["ticket"]["priority_reason"].upper()
    assert any(entry["action"] == "priority" for entry in view["history"])


def test_urgent_first_message_opens_an_urgent_ticket(webhook: Api) -> None:
    telegram(webhook, sample("telegram/urgent_message.json"))
    ticket = agent().call("GET", "/tickets/D0-000001")[1]["ticket"]
    assert ticket["priority"] == "urgent"


def test_photo_caption_and_file_are_kept(webhook: Api) -> None:
    body = sample("telegram/photo_with_caption.json")
    telegram(webhook, body)
    inbound = agent().call("GET", "/tickets/D0-000001")[1]["messages"][0]
    assert inbound["text"] == body["message"]["caption"]
    (attachment,) = inbound["attachments"]
    assert attachment["kind"] == "photo"
    assert (
        attachment["file_id"]
        == max(body["message"]["photo"], key=lambda p: p["width"] * p["height"])["file_id"]
    )


def test_edited_message_is_recorded_as_an_edit(webhook: Api) -> None:
    telegram(webhook, sample("telegram/text_message.json"))
    telegram(webhook, sample("telegram/edited_message.json"))
    messages = agent().call("GET", "/tickets/D0-000001")[1]["messages"]
    inbound = [m for m in messages if m["kind"] == "inbound"]
    assert [m["edited"] for m in inbound] == [False, True]


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", TG_SECRET + "x"])
def test_missing_or_wrong_secret_is_401_and_stores_nothing(
    webhook: Api, aws: dict[str, Any], secret: str | None
) -> None:
    status, body = telegram(webhook, sample("telegram/text_message.json"), secret=secret)
    assert status == 401
    assert "X-Telegram-Bot-Api-Secret-Token" in body["error"]["message"]
    assert table_items(aws) == []


def test_unset_secret_refuses_everything(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_SECRET_TOKEN")
    get_settings.cache_clear()
    assert telegram(webhook, sample("telegram/text_message.json"), secret="")[0] == 401
    assert table_items(aws) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b'{"message": {"text": "no update_id"}}', 400),
        (b'["an", "array"]', 400),
    ],
)
def test_malformed_updates_are_400_and_store_nothing(
    webhook: Api, aws: dict[str, Any], body: bytes, status: int
) -> None:
    got, answer = telegram(webhook, body)
    assert got == status
    assert answer["error"]["message"]
    assert table_items(aws) == []


@pytest.mark.parametrize("name", ["group_message.json", "my_chat_member.json"])
def test_updates_we_do_not_handle_are_acknowledged_and_ignored(
    webhook: Api, aws: dict[str, Any], name: str
) -> None:
    """200, or Telegram would retry them and hold back the updates behind them."""
    status, body = telegram(webhook, sample(f"telegram/{name}"))
    assert (status, body["handled"]) == (200, ["ignored"])
    assert table_items(aws) == []


def test_resolution_prompts_for_a_rating_and_the_first_press_counts(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram(webhook, sample("telegram/text_message.json"))
    drain(aws, Recorder(), monkeypatch)
    status, _ = agent().call("POST", "/tickets/D0-000001/resolve", {"resolution": "Fixed"})
    assert status == 200
    recorder = Recorder()
    drain(aws, recorder, monkeypatch)
    notice, prompt = recorder.sent  # the resolution, then the rating prompt with its buttons
    assert "D0-000001" in notice.text and "Fixed" in notice.text and not notice.buttons
    assert "D0-000001" in prompt.text
    assert [b.data for b in prompt.buttons] == ["csat:D0-000001:good", "csat:D0-000001:bad"]

    press = sample("telegram/callback_query.json")
    press["callback_query"]["data"] = "csat:D0-000001:good"
    again = copy.deepcopy(press)
    again["update_id"] += 1
    again["callback_query"]["id"] = "another-press"
    again["callback_query"]["data"] = "csat:D0-000001:bad"
    # Every press is answered in the webhook's own response: the spinner stops at once,
    # and no queued job can be refused later as "query is too old".
    assert telegram(webhook, press)[1] == {
        "method": "answerCallbackQuery",
        "callback_query_id": press["callback_query"]["id"],
    }
    assert telegram(webhook, again)[1] == {
        "method": "answerCallbackQuery",
        "callback_query_id": "another-press",
    }

    drain(aws, recorder, monkeypatch)
    ticket = agent().call("GET", "/tickets/D0-000001")[1]["ticket"]
    assert ticket["csat"]["value"] == "good"
    assert [m.text for m in recorder.sent][-1] == "Спасибо за оценку!"


def test_a_rating_from_someone_else_is_ignored(webhook: Api) -> None:
    telegram(webhook, sample("telegram/text_message.json"))
    agent().call("POST", "/tickets/D0-000001/resolve", {})
    press = sample("telegram/callback_query.json")
    press["callback_query"]["data"] = "csat:D0-000001:bad"
    press["callback_query"]["from"]["id"] = 999
    press["callback_query"]["message"]["chat"]["id"] = 999
    assert telegram(webhook, press)[1]["method"] == "answerCallbackQuery"
    assert agent().call("GET", "/tickets/D0-000001")[1]["ticket"]["csat"] is None


def test_a_client_writing_after_resolution_reopens_and_after_close_gets_a_new_ticket(
    webhook: Api,
) -> None:
    first = sample("telegram/text_message.json")
    telegram(webhook, first)
    agent().call("POST", "/tickets/D0-000001/resolve", {})
    second = copy.deepcopy(first)
    second["update_id"] += 1
    assert telegram(webhook, second)[1]["handled"] == ["reopened"]
    assert agent().call("GET", "/tickets/D0-000001")[1]["ticket"]["status"] == "open"
    agent().call("POST", "/tickets/D0-000001/close", {})
    third = copy.deepcopy(first)
    third["update_id"] += 2
    assert telegram(webhook, third)[1]["handled"] == ["created"]
    assert (
        agent().call("GET", "/tickets/D0-000002")[1]["ticket"]["customer_id"]
        == (agent().call("GET", "/tickets/D0-000001")[1]["ticket"]["customer_id"])
    )


def test_telegram_429_delays_the_job_and_the_message_is_sent_later(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fake Telegram on loopback answers 429 retry_after=1 once, then accepts."""
    sandbox = SandboxServer(free_port())
    sandbox.start()
    try:
        monkeypatch.setenv("TELEGRAM_API_BASE", f"http://127.0.0.1:{sandbox.port}/telegram")
        get_settings.cache_clear()
        registry.sender_for.cache_clear()
        driver = DispatchDriver(aws, monkeypatch)
        sandbox.failures.append({"status": 429, "times": 1, "retry_after": 1})
        telegram(webhook, sample("telegram/text_message.json"))
        received = driver.receive()
        assert driver.invoke(received) == {"batchItemFailures": []}
        assert len(sandbox.sent) == 0  # the number waits behind its greeting
        for message in received:
            aws["sqs"].delete_message(
                QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"]
            )
        assert aws["sqs"].receive_message(QueueUrl=aws["queue_url"]).get("Messages") is None
        time.sleep(1.2)
        delayed = driver.receive()
        assert json.loads(delayed[0]["Body"])["attempt"] == 1
        driver.invoke(delayed)
        assert len(sandbox.sent) == 2
        greeting, ack = (entry["body"]["text"] for entry in sandbox.sent)
        assert "D0-000001" in ack and "D0-000001" not in greeting
        messages = agent().call("GET", "/tickets/D0-000001")[1]["messages"]
        assert [m["delivery"] for m in messages if m["kind"] == "auto"] == ["sent", "sent"]
    finally:
        sandbox.stop()


# ---- WhatsApp ----------------------------------------------------------------------------


def test_whatsapp_verification_challenge(webhook: Api) -> None:
    query = "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444"
    assert webhook.call("GET", "/webhooks/whatsapp", query=query) == (200, b"1158201444")
    wrong = "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444"
    status, body = webhook.call("GET", "/webhooks/whatsapp", query=wrong)
    assert status == 403
    assert body["error"]["code"] == "forbidden"


def test_whatsapp_message_opens_a_ticket_for_the_phone_customer(webhook: Api) -> None:
    status, body = whatsapp(webhook, sample("whatsapp/text_message.json"))
    assert (status, body["handled"]) == (200, ["created"])
    ticket = agent().call("GET", "/tickets/D0-000001")[1]["ticket"]
    assert (ticket["channel"], ticket["recipient_id"], ticket["service_id"]) == (
        "whatsapp",
        "16315551181",
        WA_NUMBER,
    )


@pytest.mark.parametrize(
    ("secret", "sign"), [(WA_SECRET + "x", True), ("", True), (WA_SECRET, False)]
)
def test_whatsapp_bad_or_missing_signature_is_401_and_stores_nothing(
    webhook: Api, aws: dict[str, Any], secret: str, sign: bool
) -> None:
    status, _ = whatsapp(webhook, sample("whatsapp/text_message.json"), secret=secret, sign=sign)
    assert status == 401
    assert table_items(aws) == []


def test_whatsapp_signature_is_checked_on_the_raw_bytes(webhook: Api, aws: dict[str, Any]) -> None:
    raw = json.dumps(sample("whatsapp/text_message.json")).encode()
    digest = hmac.new(WA_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    tampered = raw.replace(b"pending", b"shipped")
    headers = {"X-Hub-Signature-256": f"sha256={digest}"}
    status, _ = webhook.call("POST", "/webhooks/whatsapp", raw=tampered, headers=headers)
    assert status == 401
    assert table_items(aws) == []


def test_whatsapp_for_a_number_we_do_not_serve_is_ignored(
    webhook: Api, aws: dict[str, Any]
) -> None:
    body = sample("whatsapp/text_message.json")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999"
    status, answer = whatsapp(webhook, body)
    assert (status, answer["handled"]) == (200, ["ignored"])  # 4xx would make Meta retry
    assert table_items(aws) == []


def test_whatsapp_malformed_is_400(webhook: Api, aws: dict[str, Any]) -> None:
    assert whatsapp(webhook, b"{oops")[0] == 400
    assert whatsapp(webhook, {"object": "page", "entry": "x"})[0] == 400
    assert table_items(aws) == []


def test_whatsapp_statuses_keep_pricing_and_never_go_backwards(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    whatsapp(webhook, sample("whatsapp/text_message.json"))
    drain(aws, Recorder(provider_ids=["wamid.greeting", WAMID_SENT]), monkeypatch)
    for name in ["status_sent", "status_read", "status_delivered", "status_read"]:
        status, body = whatsapp(webhook, sample(f"whatsapp/{name}.json"))
        assert status == 200
    assert body["handled"] == ["duplicate"]
    messages = agent().call("GET", "/tickets/D0-000001")[1]["messages"]
    ack = next(m for m in messages if m["provider_message_id"] == WAMID_SENT)
    assert ack["delivery"] == "read"  # 'delivered' arrived late and did not undo 'read'
    assert [entry["status"] for entry in ack["status_history"]] == ["sent", "read", "delivered"]
    priced = [entry for entry in ack["status_history"] if "pricing" in entry]
    assert priced and priced[0]["pricing"]["category"] == "utility"


def test_whatsapp_button_reply_rates_the_ticket(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    whatsapp(webhook, sample("whatsapp/text_message.json"))
    agent().call("POST", "/tickets/D0-000001/resolve", {"resolution": "Shipped"})
    press = sample("whatsapp/interactive_button_reply.json")
    value = press["entry"][0]["changes"][0]["value"]
    value["messages"][0]["interactive"]["button_reply"]["id"] = "csat:D0-000001:bad"
    value["messages"][0]["from"] = "16315551181"
    status, body = whatsapp(webhook, press)
    assert (status, body["handled"]) == (200, ["rated"])
    assert agent().call("GET", "/tickets/D0-000001")[1]["ticket"]["csat"]["value"] == "bad"


def test_whatsapp_resolution_long_after_the_last_message_uses_the_template(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"directions": [{"id": "d0", "whatsapp_resolved_template": "ticket_resolved"}]}
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(config))
    get_settings.cache_clear()
    whatsapp(webhook, sample("whatsapp/text_message.json"))  # sent in 2025: long ago
    drain(aws, Recorder(), monkeypatch)
    agent().call("POST", "/tickets/D0-000001/resolve", {"resolution": "Done"})
    recorder = Recorder()
    drain(aws, recorder, monkeypatch)
    (notice,) = recorder.sent  # one template: its approved text tells and asks
    assert notice.template_name == "ticket_resolved"
    assert notice.template_params == ("D0-000001",)
    assert [b.data for b in notice.buttons] == ["csat:D0-000001:good", "csat:D0-000001:bad"]


# ---- what we send keeps to the provider's rules -----------------------------------------


def test_a_reply_outside_whatsapps_window_is_refused_without_a_template(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    whatsapp(webhook, sample("whatsapp/text_message.json"))  # the client wrote in 2025
    drain(aws, Recorder(), monkeypatch)
    status, body = agent().call("POST", "/tickets/D0-000001/replies", {"text": "Hello?"})
    assert status == 409
    assert body["error"]["code"] == "channel_unavailable"
    assert (
        "24 hours" in body["error"]["message"]
        and "whatsapp_reply_template" in body["error"]["message"]
    )
    messages = agent().call("GET", "/tickets/D0-000001")[1]["messages"]
    assert [m["kind"] for m in messages if m["kind"] == "reply"] == []


def test_a_reply_outside_the_window_goes_as_the_reply_template(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"directions": [{"id": "d0", "whatsapp_reply_template": "agent_reply"}]}
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(config))
    get_settings.cache_clear()
    whatsapp(webhook, sample("whatsapp/text_message.json"))
    drain(aws, Recorder(), monkeypatch)
    assert agent().call("POST", "/tickets/D0-000001/replies", {"text": "Found it"})[0] == 200
    recorder = Recorder()
    drain(aws, recorder, monkeypatch)
    (sent,) = recorder.sent
    assert (sent.template_name, sent.template_params) == ("agent_reply", ("D0-000001", "Found it"))


def test_a_reply_inside_the_window_is_plain_text(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = sample("whatsapp/text_message.json")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(int(time.time()))
    whatsapp(webhook, body)
    drain(aws, Recorder(), monkeypatch)
    assert agent().call("POST", "/tickets/D0-000001/replies", {"text": "Found it"})[0] == 200
    recorder = Recorder()
    drain(aws, recorder, monkeypatch)
    (sent,) = recorder.sent
    assert (sent.text, sent.template_name) == ("Found it", None)


def test_a_resolution_outside_the_window_without_template_is_failed_visibly(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    whatsapp(webhook, sample("whatsapp/text_message.json"))
    drain(aws, Recorder(), monkeypatch)
    assert agent().call("POST", "/tickets/D0-000001/resolve", {"resolution": "Done"})[0] == 200
    recorder = Recorder()
    drain(aws, recorder, monkeypatch)
    assert recorder.sent == []
    view = agent().call("GET", "/tickets/D0-000001")[1]
    notice, prompt = view["messages"][-2:]
    assert notice["delivery"] == prompt["delivery"] == "failed"
    assert "whatsapp_resolved_template" in notice["error"]
    assert "delivery_failed" in view["ticket"]["flags"]


def test_a_long_resolution_is_sent_apart_from_the_rating_buttons(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """WhatsApp refuses a body over 1,024 characters on a message with buttons."""
    body = sample("whatsapp/text_message.json")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(int(time.time()))
    whatsapp(webhook, body)
    drain(aws, Recorder(), monkeypatch)
    resolution = "Подробно: " + "шаг " * 490
    assert agent().call("POST", "/tickets/D0-000001/resolve", {"resolution": resolution})[0] == 200
    recorder = Recorder()
    drain(aws, recorder, monkeypatch)
    notice, prompt = recorder.sent
    assert resolution.strip() in notice.text and not notice.buttons
    assert len(prompt.text) <= 1024 and len(prompt.buttons) == 2
    assert prompt.buttons_label == "Оценить"


def test_a_failure_meta_reports_later_is_kept_with_its_reason_and_flags_the_ticket(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    whatsapp(webhook, sample("whatsapp/text_message.json"))
    failed = sample("whatsapp/status_failed.json")
    wamid = failed["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    drain(aws, Recorder(provider_ids=["wamid.greeting", wamid]), monkeypatch)
    assert whatsapp(webhook, failed)[1]["handled"] == ["status"]
    view = agent().call("GET", "/tickets/D0-000001")[1]
    ack = next(m for m in view["messages"] if m["provider_message_id"] == wamid)
    assert ack["delivery"] == "failed"
    assert ack["error"].startswith("131026")
    assert "delivery_failed" in view["ticket"]["flags"]
    flagged = agent().call("GET", "/tickets", query="flag=delivery_failed")[1]["tickets"]
    assert [t["id"] for t in flagged] == ["D0-000001"]


def test_a_direction_placeholder_in_the_resolved_text_works(
    webhook: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {
        "directions": [
            {"id": "d0", "name": "Billing", "texts": {"resolved": "{direction}: {number} done"}}
        ]
    }
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(config))
    get_settings.cache_clear()
    telegram(webhook, sample("telegram/text_message.json"))
    assert agent().call("POST", "/tickets/D0-000001/resolve", {})[0] == 200
    notice = agent().call("GET", "/tickets/D0-000001")[1]["messages"][-2]
    assert notice["text"] == "Billing: D0-000001 done"
