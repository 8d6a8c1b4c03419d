"""Incident notices through the real doors: the broadcast function's routes, the messenger
webhook, the dispatcher function on the queue, and the sweep; the providers are a recorder."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk.channels.base import OutboundText, RateLimited, SendResult
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import iso
from helpdesk.settings import get_settings
from helpdesk.store import Store
from helpdesk.usecases.notices import NoticeDelivery
from infra.lambda_runtime import LambdaContext, load_function, scheduled_event
from infra.template import functions
from tests.integration.conftest import Api, claims
from tests.support import (
    TG_SECRET,
    WA_NUMBER,
    DispatchDriver,
    load_event,
    use_messengers,
    whatsapp_signature,
)

CHANNEL = "-1001234567890"
CONFIG = {
    "directions": [
        {
            "id": "d0",
            "whatsapp_phone_number_ids": [WA_NUMBER],
            "incident_channel_id": CHANNEL,
            "whatsapp_incident_template": "incident_notice",
        },
        {"id": "d1", "language": "en"},
    ],
    "rates": {"telegram_per_second": 1000, "whatsapp_per_second": 1000},
}
START = {
    "severity": "red",
    "directions": ["d0"],
    "text": {"ru": "Не работает вход в приложение. Чиним.", "en": "Login is down. Fixing."},
}
_ids = itertools.count(7_000_000)


class Provider:
    """Telegram and WhatsApp as the dispatcher sees them: records every send and edit."""

    def __init__(self) -> None:
        self.sent: list[OutboundText] = []
        self.edits: list[tuple[str, str, str]] = []
        self.refuse_next: list[Exception] = []
        self.ids = itertools.count(500)

    def send(self, message: OutboundText) -> SendResult:
        if self.refuse_next:
            raise self.refuse_next.pop(0)
        self.sent.append(message)
        return SendResult(provider_message_id=str(next(self.ids)))

    def edit(self, recipient_id: str, message_id: str, text: str) -> None:
        self.edits.append((recipient_id, message_id, text))

    def to(self, recipient: str) -> list[str]:
        return [m.text for m in self.sent if m.recipient_id == recipient]

    def clear(self) -> None:
        self.sent.clear()
        self.edits.clear()


class Desk:
    def __init__(self, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
        self.aws = aws
        self.monkeypatch = monkeypatch
        self.commander = Api("BroadcastFunction", claims("commander", "ic-1"))
        self.public = Api("BroadcastFunction", None)
        self.agent = Api("TicketsFunction", claims("agent", "agent-1"))
        self.webhook = Api("MessengerWebhookFunction", None)
        self.provider = Provider()
        self.driver = DispatchDriver(aws, monkeypatch)
        self.driver.use(self.provider)

    def start(self, **changes: Any) -> dict[str, Any]:
        body = {**START, "request_id": f"req-{next(_ids)}", **changes}
        status, answer = self.commander.call("POST", "/broadcasts", body)
        assert status == 201, answer
        return dict(answer)

    def telegram(self, chat: int, text: str = "Не могу войти") -> dict[str, Any]:
        update = load_event("telegram/text_message")
        number = next(_ids)
        update["update_id"] = number
        update["message"]["message_id"] = number
        update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat
        update["message"]["text"] = text
        status, body = self.webhook.call(
            "POST",
            "/webhooks/telegram",
            raw=json.dumps(update, ensure_ascii=False).encode(),
            headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
        )
        assert status == 200, body
        return dict(body)

    def whatsapp(self, wa_id: str, text: str = "Не могу войти", at: int | None = None) -> None:
        body = load_event("whatsapp/text_message")
        value = body["entry"][0]["changes"][0]["value"]
        message = value["messages"][0]
        message["from"] = value["contacts"][0]["wa_id"] = wa_id
        message["id"] = f"wamid.{next(_ids)}"
        message["text"]["body"] = text
        if at is not None:
            message["timestamp"] = str(at)
        raw = json.dumps(body).encode()
        status, answer = self.webhook.call(
            "POST", "/webhooks/whatsapp", raw=raw, headers=whatsapp_signature(raw)
        )
        assert status == 200, answer

    def drain(self) -> None:
        self.driver.drain()

    def view(self, notice_id: str) -> dict[str, Any]:
        status, body = self.commander.call("GET", f"/broadcasts/{notice_id}")
        assert status == 200, body
        return dict(body)


@pytest.fixture
def desk(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Desk:
    use_messengers(monkeypatch)
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(CONFIG))
    get_settings.cache_clear()
    # Delays (the next page, a 429's retry_after) are the queue's business: here, at once.
    send = JobQueue.send
    monkeypatch.setattr(JobQueue, "send", lambda self, jobs, delay_seconds=0: send(self, jobs))
    return Desk(aws, monkeypatch)


def stored(aws: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    items = aws["dynamodb"].scan(TableName="helpdesk-test")["Items"]
    return [item for item in items if item["PK"]["S"].startswith(prefix)]


# ---- who may post, and bad input ----------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "lead", "finance"])
def test_only_commanders_post_and_nothing_is_stored_for_anyone_else(
    desk: Desk, aws: dict[str, Any], role: str
) -> None:
    other = Api("BroadcastFunction", claims(role, "someone"))
    body = {**START, "request_id": "r-1"}
    assert other.call("POST", "/broadcasts", body)[0] == 403
    assert other.call("GET", "/broadcasts")[0] == 403
    assert desk.public.call("POST", "/broadcasts", body)[0] == 401
    assert stored(aws, "NOTICE") == [] and stored(aws, "BANNER") == []
    assert aws["sqs"].receive_message(QueueUrl=aws["queue_url"]).get("Messages") is None


@pytest.mark.parametrize(
    ("change", "status", "named"),
    [
        ({"severity": "orange"}, 422, "severity"),
        ({"text": {"ru": "   "}}, 422, "body.text.ru"),
        ({"text": {}}, 422, "text"),
        ({"text": {"de": "Kaputt"}}, 422, "text"),
        ({"directions": ["zz"]}, 422, "no direction zz"),
        ({"directions": []}, 422, "directions"),
        ({"severity": "yellow", "channels": ["whatsapp"]}, 422, "WhatsApp is for red"),
        ({"eta": "2026-11-26T18:00:00"}, 422, "time zone"),
        ({"request_id": None}, 422, "request_id"),
    ],
)
def test_bad_input_is_refused_naming_the_problem_and_nothing_is_sent(
    desk: Desk, aws: dict[str, Any], change: dict[str, Any], status: int, named: str
) -> None:
    body = {**START, "request_id": "r-bad", **change}
    answer_status, answer = desk.commander.call("POST", "/broadcasts", body)
    assert answer_status == status, answer
    assert named in json.dumps(answer, ensure_ascii=False)
    assert stored(aws, "NOTICE#") == [] and desk.provider.sent == []


def test_channels_none_tells_the_banner_and_the_incident_channel_only(desk: Desk) -> None:
    desk.telegram(7001)
    desk.drain()
    desk.provider.clear()
    notice = desk.start(channels=[])
    desk.drain()
    assert desk.provider.to("7001") == [] and len(desk.provider.to(CHANNEL)) == 1
    assert desk.commander.call("GET", f"/broadcasts/{notice['id']}")[1]["channels"] == []
    assert notice["id"] in {
        n["id"] for n in desk.commander.call("GET", "/broadcasts")[1]["broadcasts"]
    }
    status, _, raw = desk.public.request("GET", "/banner", b"", None, "direction=d0")
    assert status == 200 and notice["id"] in raw.decode()
    closing = {"text": {"ru": "Починили."}}
    assert desk.commander.call("POST", f"/broadcasts/{notice['id']}/resolve", closing)[0] == 200


def test_an_update_to_a_resolved_incident_is_refused(desk: Desk) -> None:
    notice = desk.start()
    closing = {"text": {"ru": "Починили."}}
    assert desk.commander.call("POST", f"/broadcasts/{notice['id']}/resolve", closing)[0] == 200
    desk.drain()
    desk.provider.clear()
    status, body = desk.commander.call(
        "POST", f"/broadcasts/{notice['id']}/updates", {"text": {"ru": "Ещё"}}
    )
    assert status == 409 and "resolved" in body["error"]["message"]
    status, _ = desk.commander.call("POST", f"/broadcasts/{notice['id']}/resolve", closing)
    assert status == 409
    assert desk.commander.call("GET", "/broadcasts/INC-999999")[0] == 404
    desk.drain()
    assert desk.provider.sent == [] and desk.provider.edits == []


def test_a_request_id_seen_before_answers_the_first_notice(desk: Desk) -> None:
    body = {**START, "request_id": "same-key"}
    first_status, first = desk.commander.call("POST", "/broadcasts", body)
    again_status, again = desk.commander.call("POST", "/broadcasts", body)
    assert (first_status, again_status) == (201, 200)
    assert again["id"] == first["id"] and again["revision"] == 1
    update = {"text": {"ru": "Нашли причину"}, "request_id": "upd-1"}
    path = f"/broadcasts/{first['id']}/updates"
    assert desk.commander.call("POST", path, update)[1]["revision"] == 2
    assert desk.commander.call("POST", path, update)[1]["revision"] == 2
    other = desk.start()
    status, answer = desk.commander.call("POST", f"/broadcasts/{other['id']}/updates", update)
    assert status == 409 and first["id"] in answer["error"]["message"]
    (listed, *_) = desk.commander.call("GET", "/broadcasts")[1]["broadcasts"]
    assert listed["id"] == other["id"]  # newest first


# ---- the banner ---------------------------------------------------------------------------


def test_the_banner_shows_active_notices_red_first_with_caching_headers(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.faults import AwsFaults

    yellow = desk.start(severity="yellow", text={"ru": "Медленно грузятся отчёты"})
    red = desk.start(eta="2026-11-26T18:00:00Z")
    status, headers, raw = desk.public.request("GET", "/banner", b"", None, "direction=d0&lang=en")
    assert status == 200, raw
    body = json.loads(raw)
    assert [(n["id"], n["severity"], n["colour"]) for n in body["notices"]] == [
        (red["id"], "red", "#d32f2f"),
        (yellow["id"], "yellow", "#f9a825"),
    ]
    assert body["notices"][0]["text"] == "Login is down. Fixing."
    assert body["notices"][1]["text"] == "Медленно грузятся отчёты"  # no English: Russian
    assert body["notices"][0]["eta"] == "2026-11-26T18:00:00.000Z"
    assert headers["cache-control"] == "public, max-age=30"
    tag = headers["etag"]
    # One read per request, whatever the audience: and 304 when nothing changed.
    faults = AwsFaults()
    faults.install(monkeypatch)
    with faults.recording() as trace:
        again = desk.public.request(
            "GET", "/banner", b"", {"If-None-Match": tag}, "direction=d0&lang=en"
        )
    assert again[0] == 304 and again[2] == b""
    assert [operation for operation, _ in trace] == ["GetItem"]
    desk.commander.call("POST", f"/broadcasts/{red['id']}/resolve", {"text": {"ru": "Починили"}})
    status, headers, raw = desk.public.request(
        "GET", "/banner", b"", {"If-None-Match": tag}, "direction=d0"
    )
    assert status == 200 and headers["etag"] != tag
    assert [n["id"] for n in json.loads(raw)["notices"]] == [yellow["id"]]
    assert json.loads(desk.public.request("GET", "/banner", b"", None, "direction=d1")[2]) == {
        "notices": []
    }
    assert desk.public.request("GET", "/banner", b"", None, "direction=zz")[0] == 422
    assert desk.public.request("GET", "/banner", b"", None, "")[0] == 422
    assert desk.public.request("GET", "/banner", b"", None, "direction=d0&x=1")[0] == 422


# ---- who hears what -----------------------------------------------------------------------


def test_every_subscribed_client_hears_each_revision_once_whatsapp_only_for_red(
    desk: Desk, aws: dict[str, Any]
) -> None:
    for chat in (1001, 1002, 1003):
        desk.telegram(chat)
    desk.whatsapp("79160000001")
    desk.drain()
    desk.provider.clear()

    red = desk.start()
    desk.drain()
    texts = Counter(m.recipient_id for m in desk.provider.sent)
    assert texts == {"1001": 1, "1002": 1, "1003": 1, "79160000001": 1, CHANNEL: 1}
    assert all(t.startswith("🔴 Не работает вход") for t in desk.provider.to("1001"))

    # SQS delivers again: every job of the revision, once more. Nobody hears twice.
    desk.provider.clear()
    delivery = NoticeDelivery(Store(), JobQueue())
    jobs = [*delivery.fan_out_jobs(Store().notices.get(red["id"]))]
    JobQueue().send(jobs)
    desk.drain()
    assert desk.provider.sent == []

    update = {"text": {"ru": "Нашли причину"}, "eta": "2026-11-26T18:00:00Z"}
    desk.commander.call("POST", f"/broadcasts/{red['id']}/updates", update)
    desk.drain()
    assert len(desk.provider.to("1002")) == 1
    assert "Ожидаемое время решения: 2026-11-26 18:00 UTC" in desk.provider.to("1002")[0]

    desk.provider.clear()
    desk.start(severity="yellow", text={"ru": "Отчёты медленные"})
    desk.drain()
    assert "79160000001" not in {m.recipient_id for m in desk.provider.sent}  # red only
    assert len(desk.provider.to("1003")) == 1

    progress = desk.view(red["id"])["delivery"]
    assert progress["1"]["telegram"] == {
        "queued": 3,
        "sent": 3,
        "failed": 0,
        "skipped": 0,
        "pending": 0,
        "done": False,  # until the notice sweep closes the fan-out
    }
    assert progress["1"]["whatsapp"]["sent"] == 1 and progress["2"]["telegram"]["sent"] == 3


def test_whatsapp_outside_the_window_gets_the_incident_template(desk: Desk) -> None:
    two_days_ago = int((datetime.now(UTC) - timedelta(days=2)).timestamp())
    desk.whatsapp("79160000002", at=two_days_ago)
    desk.drain()
    desk.provider.clear()
    desk.start()
    desk.drain()
    (sent,) = [m for m in desk.provider.sent if m.recipient_id == "79160000002"]
    assert (sent.template_name, sent.template_language) == ("incident_notice", "ru")
    (parameter,) = sent.template_params
    assert "\n" not in parameter and parameter.startswith("🔴 Не работает вход")


def test_opt_out_is_honoured_and_opting_back_in_works(desk: Desk, aws: dict[str, Any]) -> None:
    desk.telegram(2001)
    desk.telegram(2002)
    assert desk.telegram(2001, "/stop")["handled"] == ["unsubscribed"]
    desk.drain()
    assert "отписались" in desk.provider.to("2001")[-1]
    desk.provider.clear()

    notice = desk.start()
    desk.drain()
    assert desk.provider.to("2001") == [] and len(desk.provider.to("2002")) == 1
    assert desk.view(notice["id"])["delivery"]["1"]["telegram"]["skipped"] == 1

    assert desk.telegram(2001, "/start")["handled"] == ["subscribed"]
    desk.drain()
    assert "подписаны" in desk.provider.to("2001")[-1]
    desk.commander.call("POST", f"/broadcasts/{notice['id']}/updates", {"text": {"ru": "Ещё"}})
    desk.drain()
    assert desk.provider.to("2001")[-1] == "🔴 Ещё"
    # A command opens no ticket; a new client's /start gets the greeting.
    assert desk.telegram(2003, "/start")["handled"] == ["subscribed"]
    desk.drain()
    assert "Здравствуйте" in desk.provider.to("2003")[-1]
    body = desk.agent.call("GET", "/tickets", query="direction=d0")[1]
    assert len(body["tickets"]) == 2  # 2001's and 2002's first messages only


def test_whatsapp_stop_keyword_opts_out(desk: Desk) -> None:
    desk.whatsapp("79160000003")
    desk.whatsapp("79160000003", "СТОП")
    desk.drain()
    desk.provider.clear()
    desk.start()
    desk.drain()
    assert "79160000003" not in {m.recipient_id for m in desk.provider.sent}


def test_the_incident_channel_has_one_post_edited_in_place(desk: Desk) -> None:
    notice = desk.start()
    desk.drain()
    (post,) = [m for m in desk.provider.sent if m.recipient_id == CHANNEL]
    assert post.text.startswith(f"🔴 Сбой {notice['id']}")
    desk.commander.call("POST", f"/broadcasts/{notice['id']}/updates", {"text": {"ru": "Нашли"}})
    desk.drain()
    desk.commander.call("POST", f"/broadcasts/{notice['id']}/resolve", {"text": {"ru": "Всё"}})
    desk.drain()
    assert [m.recipient_id for m in desk.provider.sent].count(CHANNEL) == 1
    assert [(chat, mid) for chat, mid, _ in desk.provider.edits] == [(CHANNEL, "500")] * 2
    final = desk.provider.edits[-1][2]
    assert final.startswith(f"✅ Решено: {notice['id']}") and "Нашли" in final
    # Redelivered post jobs change nothing: the post already shows the latest revision.
    from helpdesk.jobs import ChannelPostJob

    JobQueue().send([ChannelPostJob(notice_id=notice["id"], direction="d0", revision=2)])
    desk.drain()
    assert len(desk.provider.edits) == 2


def test_a_ticket_opened_during_an_incident_hears_of_it_and_is_resolved_with_it(
    desk: Desk,
) -> None:
    notice = desk.start()
    desk.drain()
    desk.telegram(3001, "Ничего не работает!")
    desk.drain()
    ack = desk.provider.to("3001")[-1]
    assert "зарегистрировано" in ack and "🔴 Не работает вход в приложение" in ack
    body = desk.agent.call("GET", "/tickets", query="direction=d0")[1]
    (ticket,) = body["tickets"]
    full = desk.agent.call("GET", f"/tickets/{ticket['id']}")[1]["ticket"]
    assert full["incident_ids"] == [notice["id"]]
    desk.provider.clear()

    closing = {"text": {"ru": "Вход снова работает."}, "resolve_linked": True}
    desk.commander.call("POST", f"/broadcasts/{notice['id']}/resolve", closing)
    desk.drain()
    full = desk.agent.call("GET", f"/tickets/{ticket['id']}")[1]["ticket"]
    assert full["status"] == "resolved" and full["resolution"] == "Вход снова работает."
    told = desk.provider.to("3001")
    assert any("решено" in text for text in told)  # the ticket's resolution notice
    assert not any(text.startswith("✅") for text in told)  # not the broadcast as well


# ---- at most once, nobody skipped --------------------------------------------------------


class Crash(BaseException):
    """The process dies (not an error a handler could catch)."""


def test_a_dispatcher_dying_mid_batch_sends_nobody_twice_and_skips_nobody(
    desk: Desk, aws: dict[str, Any]
) -> None:
    for chat in range(4001, 4011):
        desk.telegram(chat)
    desk.drain()
    desk.provider.clear()
    notice = desk.start(channels=["telegram"])
    store, now = Store(), datetime.now(UTC)

    class Dying(Provider):
        def send(self, message: OutboundText) -> SendResult:
            result = super().send(message)
            if len(self.sent) == 4:
                raise Crash()  # the provider took the 4th; the process died before recording
            return result

    dying = Dying()
    delivery = NoticeDelivery(store, JobQueue(), sender_for=lambda channel, service: dying)
    fan_out = delivery.fan_out_jobs(store.notices.get(notice["id"]))[0]
    captured: list[Any] = []
    queue = JobQueue()
    delivery.queue = type(
        "Q", (), {"send": lambda self, jobs, delay_seconds=0: captured.extend(jobs)}
    )()
    delivery.fan_out(fan_out)
    (batch,) = captured
    with pytest.raises(Crash):
        delivery.deliver(batch)
    # SQS hands the batch out again: the three recorded are skipped; the one whose record
    # died with the process waits out its lease, then is failed once, never sent again.
    survivor = NoticeDelivery(store, queue, sender_for=lambda channel, service: dying)
    survivor.deliver(batch)
    assert len(dying.sent) == 10
    assert Counter(m.recipient_id for m in dying.sent) == {str(c): 1 for c in range(4001, 4011)}
    later = NoticeDelivery(
        store, queue, sender_for=lambda c, s: dying, clock=lambda: now + timedelta(minutes=20)
    )
    later.deliver(batch)
    assert len(dying.sent) == 10
    states = Counter(str(i["state"]) for i in store.deliveries.states(notice["id"], 1).values())
    assert states == {"sent": 9, "failed": 1}
    (unknown,) = [
        i for i in store.deliveries.states(notice["id"], 1).values() if i["state"] == "failed"
    ]
    assert "outcome unknown" in unknown["error"]


def test_a_429_pauses_every_consumer_and_drops_nobody(desk: Desk) -> None:
    for chat in range(5001, 5006):
        desk.telegram(chat)
    desk.drain()
    desk.provider.clear()
    desk.provider.refuse_next = [RateLimited(1, "telegram sendMessage 429: retry after 1")]
    notice = desk.start(channels=["telegram"])
    desk.drain()
    told = Counter(m.recipient_id for m in desk.provider.sent if m.recipient_id != CHANNEL)
    assert told == {str(c): 1 for c in range(5001, 5006)}
    assert desk.view(notice["id"])["delivery"]["1"]["telegram"]["sent"] == 5


def test_the_sweep_finishes_a_fan_out_whose_jobs_were_lost(
    desk: Desk, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for chat in range(6001, 6004):
        desk.telegram(chat)
    desk.drain()
    desk.provider.clear()
    notice = desk.start(channels=["telegram"])
    aws["sqs"].purge_queue(QueueUrl=aws["queue_url"])  # the jobs never made it

    def sweep() -> dict[str, Any]:
        spec = functions()["OutboxSweepFunction"]
        result: dict[str, Any] = load_function(spec).lambda_handler(
            scheduled_event("outbox"), LambdaContext(spec.logical_id)
        )
        return result

    assert sweep()["fan_outs"]["restarted"] == 0  # not stalled yet
    monkeypatch.setenv("HELPDESK_NOW", iso(datetime.now(UTC) + timedelta(minutes=6)))
    assert sweep()["fan_outs"]["restarted"] == 1
    desk.drain()
    told = Counter(m.recipient_id for m in desk.provider.sent if m.recipient_id != CHANNEL)
    assert told == {"6001": 1, "6002": 1, "6003": 1}
    # a restarted fan-out is closed once quiet, with counters taken from the deliveries
    assert sweep()["fan_outs"]["done"] == 0
    monkeypatch.setenv("HELPDESK_NOW", iso(datetime.now(UTC) + timedelta(minutes=12)))
    assert sweep()["fan_outs"]["done"] == 0  # progress seen since the restart: look again
    monkeypatch.setenv("HELPDESK_NOW", iso(datetime.now(UTC) + timedelta(minutes=18)))
    assert sweep()["fan_outs"]["done"] == 1
    assert sweep()["fan_outs"]["under_way"] == 0
    delivery = desk.view(notice["id"])["delivery"]["1"]["telegram"]
    assert delivery["pending"] == 0 and delivery["done"] is True

    nobody = desk.start(channels=["whatsapp"], request_id="nobody-in-whatsapp")
    desk.drain()
    sweep()
    empty = desk.view(nobody["id"])["delivery"]["1"]["whatsapp"]
    assert empty == {
        "queued": 0,
        "sent": 0,
        "failed": 0,
        "skipped": 0,
        "pending": 0,
        "done": True,
    }
