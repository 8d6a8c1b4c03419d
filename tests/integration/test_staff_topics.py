"""The staff group in Telegram, through the HTTP routes on moto with the Bot API on loopback:
a topic per ticket kept in step (created, posted to, renamed, closed, reopened), staff
answering from the topic, strangers and bots not listened to, breach notices in the topic or
the general one, and a burst mirrored completely within the group's 20 posts a minute."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk.clock import parse_instant
from helpdesk.jobs import JOB_ADAPTER, Job
from helpdesk.models import iso
from helpdesk.settings import get_settings
from infra import moto_patches
from infra.fake_providers import FakeProviders
from infra.lambda_runtime import LambdaContext, load_function, scheduled_event
from infra.template import functions
from tests.integration.conftest import Api, claims
from tests.support import TG_SECRET, DispatchDriver, load_event, use_messengers

GROUP = "-1001987654321"
OLGA, PAVEL = "5511223344", "6600112233"
START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def config(**group: Any) -> str:
    staff_group = {"chat_id": GROUP, "members": {OLGA: {"user_id": "agent-7"}}, **group}
    direction = {
        "id": "d0",
        "language": "en",
        "staff_group": staff_group,
        "lead_chat_id": "555000111",
        "sla": {
            "targets": {
                "normal": {"first_response": "1h", "next_response": "1h", "resolution": "8h"}
            },
            "our_clients": {
                "normal": {"first_response": "1h", "next_response": "1h", "resolution": "8h"}
            },
        },
    }
    return json.dumps({"directions": [direction]})


class Desk:
    """The helpdesk's doors (webhook, tickets API, queue) and the Bot API on loopback."""

    def __init__(
        self, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, fake: FakeProviders
    ) -> None:
        self.aws, self.monkeypatch, self.fake = aws, monkeypatch, fake
        self.webhook = Api("MessengerWebhookFunction", None)
        self.agent = Api("TicketsFunction", claims("agent", "agent-1"))
        self.lead = Api("TicketsFunction", claims("lead", "lead-1"))
        self.driver = DispatchDriver(aws, monkeypatch)
        self.updates = iter(range(1_000_000, 2_000_000))

    def at(self, moment: datetime) -> None:
        self.monkeypatch.setenv("HELPDESK_NOW", iso(moment))

    def tick(self) -> None:
        """A second on: what happens within one instant of the fixed clock has no order."""
        self.at(self.now() + timedelta(seconds=1))

    def now(self) -> datetime:
        from helpdesk.models import utc_now

        return utc_now()

    def post_update(self, update: dict[str, Any]) -> dict[str, Any]:
        raw = json.dumps(update, ensure_ascii=False).encode()
        headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        status, body = self.webhook.call("POST", "/webhooks/telegram", raw=raw, headers=headers)
        assert status == 200, body
        return dict(body)

    def client_writes(self, text: str, chat: int = 111222333, name: str = "Anna") -> str:
        self.tick()
        update = load_event("telegram/text_message")
        update["update_id"] = update["message"]["message_id"] = next(self.updates)
        update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat
        update["message"]["from"]["first_name"], update["message"]["from"]["last_name"] = name, ""
        update["message"]["text"] = text
        update["message"]["date"] = int(self.now().timestamp())
        return str(self.post_update(update)["handled"][0])

    def staff_writes(self, sample: str, thread: int, text: str | None = None) -> dict[str, Any]:
        self.tick()
        update = load_event(f"telegram/forum/{sample}")
        update["update_id"] = next(self.updates)
        message = update["message"]
        for part in (message, message.get("reply_to_message") or {}):
            if "message_thread_id" in part:
                part["message_thread_id"] = thread
        if message.get("reply_to_message", {}).get("forum_topic_created"):
            message["reply_to_message"]["message_id"] = thread
        if text is not None:
            message["text"] = text
        return self.post_update(update)

    def drain(self) -> None:
        assert self.driver.drain()["batchItemFailures"] == []

    def topic(self) -> dict[str, Any]:
        (topic,) = self.fake.topics.values()
        return topic

    def thread(self) -> int:
        (thread,) = self.fake.topics
        return thread

    def methods(self) -> list[str]:
        return [method for _, method, _ in self.fake.group_calls]

    def to_client(self, chat: int = 111222333) -> list[str]:
        return [str(m["text"]) for m in self.fake.messages if m["chat_id"] == chat]

    def ticket(self, number: str = "D0-000001") -> dict[str, Any]:
        status, body = self.agent.call("GET", f"/tickets/{number}")
        assert status == 200, body
        return dict(body)


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    def clock() -> float:  # the helpdesk's own (virtual) clock
        return parse_instant(os.environ.get("HELPDESK_NOW", iso(START))).timestamp()

    providers = FakeProviders(
        telegram_per_second=1000, chat_per_second=1000, clock=clock, forum_groups=frozenset({GROUP})
    )
    yield providers.start()
    providers.stop()


@pytest.fixture
def desk(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, fake: FakeProviders
) -> Iterator[Desk]:
    # The local stack's undo log instead of moto's copy of the whole table per transaction
    # item: the burst's 500 transactions would otherwise take minutes (one thread here).
    revert = moto_patches.apply()
    use_messengers(monkeypatch)
    monkeypatch.setenv("TELEGRAM_API_BASE", fake.url)
    monkeypatch.setenv("HELPDESK_CONFIG", config())
    monkeypatch.setenv("HELPDESK_NOW", iso(START))
    get_settings.cache_clear()
    from helpdesk.channels import registry

    registry.sender_for.cache_clear()
    yield Desk(aws, monkeypatch, fake)
    revert()


def test_a_ticket_gets_a_topic_that_follows_it_to_the_end(desk: Desk) -> None:
    assert desk.client_writes("I cannot log in after the password change") == "created"
    desk.drain()
    assert desk.methods() == ["createForumTopic", "sendMessage"]
    topic = desk.topic()
    assert topic["name"] == "🆕 D0-000001 · Anna · I cannot log in after the password change"
    assert topic["posts"] == ["👤 Anna\nI cannot log in after the password change"]

    assert desk.client_writes("It says 'account locked'") == "continued"
    desk.tick()
    version = desk.ticket()["ticket"]["version"]
    body = {"text": "We unlocked it, please try again", "version": version}
    assert desk.agent.call("POST", "/tickets/D0-000001/replies", body)[0] == 200
    desk.drain()
    assert topic["posts"][1:] == [
        "👤 Anna\nIt says 'account locked'\n\n↩️ agent-1 → Anna\nWe unlocked it, please try again"
    ]
    assert topic["name"].startswith("💬 D0-000001")
    desk.tick()
    version = desk.ticket()["ticket"]["version"]
    resolve = {"resolution": "unlocked", "version": version}
    assert desk.agent.call("POST", "/tickets/D0-000001/resolve", resolve)[0] == 200
    desk.drain()
    assert topic["closed"] and topic["name"].startswith("✅ D0-000001")

    assert desk.client_writes("Locked again!") == "reopened"
    desk.drain()
    assert not topic["closed"] and topic["posts"][-1] == "👤 Anna\nLocked again!"
    assert desk.methods()[-3:] == ["reopenForumTopic", "sendMessage", "editForumTopic"]
    # The automatic texts (greeting, number, resolution notice) stay out of the topic.
    assert not any("D0-000001" in post for post in topic["posts"])


def test_staff_comment_and_answer_the_client_from_the_topic(desk: Desk) -> None:
    desk.client_writes("Здравствуйте! Не могу войти в личный кабинет после смены пароля.")
    desk.drain()
    thread, before = desk.thread(), len(desk.to_client())

    assert desk.staff_writes("staff_message", thread)["handled"] == ["commented"]
    assert desk.staff_writes("staff_document", thread)["handled"] == ["commented"]
    assert desk.staff_writes("staff_reply_command", thread)["handled"] == ["replied"]
    replay = desk.staff_writes("staff_reply_to_client_post", thread)
    assert replay["handled"] == ["replied"]
    desk.drain()

    told = desk.to_client()[before:]
    assert told == [
        "Анна, мы разблокировали вход. Попробуйте, пожалуйста, ещё раз.",
        "Подскажите, пожалуйста, с какого устройства вы входите?",
    ]
    view = desk.ticket()
    ticket, messages = view["ticket"], view["messages"]
    assert ticket["status"] == "open" and ticket["first_response_at"]
    staff = [(m["kind"], m["author"]) for m in messages if m["author"] == "agent-7"]
    assert [kind for kind, _ in staff] == ["comment", "comment", "reply", "reply"]
    assert "📎 server-log.txt" in messages[-3]["text"]
    # What staff said in the topic is not posted back into it.
    assert desk.topic()["posts"] == [
        "👤 Anna\nЗдравствуйте! Не могу войти в личный кабинет после смены пароля."
    ]


def test_a_replayed_staff_update_is_taken_once(desk: Desk) -> None:
    desk.client_writes("Cannot log in")
    desk.drain()
    thread, before = desk.thread(), len(desk.to_client())
    update = load_event("telegram/forum/staff_reply_command")
    update["message"]["message_thread_id"] = thread
    update["message"]["reply_to_message"]["message_thread_id"] = thread
    update["message"]["reply_to_message"]["message_id"] = thread
    for _ in range(3):
        assert desk.post_update(update)["handled"] == ["replied"]
        desk.drain()
    assert len(desk.to_client()) == before + 1
    replies = [m for m in desk.ticket()["messages"] if m["kind"] == "reply"]
    assert len(replies) == 1


def test_strangers_and_bots_are_not_listened_to(desk: Desk) -> None:
    desk.client_writes("Cannot log in")
    desk.drain()
    thread, before = desk.thread(), len(desk.ticket()["messages"])

    assert desk.staff_writes("stranger_message", thread)["handled"] == ["not_staff"]
    assert desk.staff_writes("stranger_message", thread, "hello?")["handled"] == ["not_staff"]
    assert desk.staff_writes("bot_post", thread)["handled"] == ["ignored"]
    assert desk.staff_writes("general_message", thread)["handled"] == ["ignored"]
    desk.drain()

    messages = desk.ticket()["messages"][before:]
    assert [m["kind"] for m in messages] == ["notice"]  # told once, nothing else taken
    assert (
        desk.topic()["posts"][-1] == "ℹ️ Pavel is not on the staff list: the message was not taken."
    )


def test_a_bare_reply_command_asks_for_the_text(desk: Desk) -> None:
    desk.client_writes("Cannot log in")
    desk.drain()
    before = len(desk.to_client())
    assert desk.staff_writes("staff_reply_command", desk.thread(), "/reply")["handled"] == [
        "refused"
    ]
    desk.drain()
    assert len(desk.to_client()) == before
    assert desk.topic()["posts"][-1] == "✏️ Write the text after /reply: it goes to the client."


def test_a_closed_ticket_says_so_in_the_topic_and_sends_nothing(desk: Desk) -> None:
    desk.client_writes("Cannot log in")
    desk.drain()
    for action in ("resolve", "close"):
        desk.tick()
        version = desk.ticket()["ticket"]["version"]
        body = {"version": version, **({"resolution": "done"} if action == "resolve" else {})}
        status, answer = desk.lead.call("POST", f"/tickets/D0-000001/{action}", body)
        assert status == 200, answer
    desk.drain()
    before = len(desk.to_client())

    assert desk.staff_writes("staff_reply_command", desk.thread())["handled"] == ["closed"]
    desk.drain()
    assert len(desk.to_client()) == before
    assert (
        desk.topic()["posts"][-1]
        == "🔒 Ticket D0-000001 is closed: nothing was sent to the client."
    )


def test_only_chosen_tickets_get_a_topic_and_a_late_one_gets_the_whole_story(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_CONFIG", config(topics="chosen", categories=["complaint"]))
    get_settings.cache_clear()
    desk.client_writes("Your service is terrible")
    desk.client_writes("Nobody answers")
    desk.drain()
    assert desk.fake.group_calls == []

    desk.tick()
    version = desk.ticket()["ticket"]["version"]
    body = {"category": "complaint", "version": version}
    assert desk.agent.call("PATCH", "/tickets/D0-000001", body)[0] == 200
    desk.drain()
    assert desk.topic()["posts"] == ["👤 Anna\nYour service is terrible\n\n👤 Anna\nNobody answers"]


def test_breach_notices_go_to_the_topic_or_to_the_general_topic(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_CONFIG", config(topics="chosen", min_priority="urgent"))
    get_settings.cache_clear()
    desk.client_writes("Cannot log in", chat=1001)  # normal: no topic
    desk.client_writes("СРОЧНО не работает оплата", chat=1002)  # urgent: a topic
    desk.drain()
    assert len(desk.fake.topics) == 1

    desk.at(START + timedelta(hours=2))
    spec = functions()["SlaSweepFunction"]
    load_function(spec).lambda_handler(scheduled_event("sla"), LambdaContext(spec.logical_id))
    desk.drain()
    breaches = [
        (body.get("message_thread_id"), body["text"])
        for _, method, body in desk.fake.group_calls
        if method == "sendMessage" and "overdue" in body["text"]
    ]
    assert sorted(breaches, key=str) == sorted(
        [
            (None, breaches[0][1] if "D0-000001" in breaches[0][1] else breaches[1][1]),
            (desk.thread(), breaches[0][1] if "D0-000002" in breaches[0][1] else breaches[1][1]),
        ],
        key=str,
    )
    assert {"D0-000001" in text for thread, text in breaches if thread is None} == {True}
    lead = [m for m in desk.fake.messages if m["chat_id"] == 555000111]
    assert len(lead) == 2  # the lead still hears of every breach in their own chat


@pytest.mark.parametrize(
    ("mirror_per_minute", "clients", "messages"),
    [(20, 50, 200), (30, 10, 40)],
    ids=["paced", "told-to-wait"],
)
def test_a_burst_is_mirrored_completely_within_the_group_limit(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, mirror_per_minute: int, clients: int, messages: int
) -> None:
    """200 messages from 50 clients within 20 s, mirrored at the group's 20 calls a minute.
    Set to 30 a minute, the mirror overruns the group and must live by the 429s'
    retry_after (a smaller burst: that is what it shows). Either way nothing is lost."""
    settings = json.loads(config())
    settings["rates"] = {"telegram_group_per_minute": mirror_per_minute}
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(settings))
    get_settings.cache_clear()
    queue = DelayedJobs(desk)
    texts: dict[int, list[str]] = {}
    for n in range(messages):
        chat = 5000 + n % clients
        text = f"message {n // clients} of client {chat}"
        texts.setdefault(chat, []).append(text)
        desk.at(START + timedelta(milliseconds=100 * n))
        desk.client_writes(text, chat=chat, name=f"Client {chat}")
        if n % 10 == 9:
            desk.drain()
    finished = queue.run_until_quiet()

    posted = "\n\n".join(post for topic in desk.fake.topics.values() for post in topic["posts"])
    assert len(desk.fake.topics) == clients
    for topic in desk.fake.topics.values():
        chat = int(topic["name"].split("Client ")[1].split(" ")[0])
        assert "\n\n".join(f"👤 Client {chat}\n{t}" for t in texts[chat]) in "\n\n".join(
            topic["posts"]
        )
    assert posted.count("👤 Client") == messages
    times = sorted(at for at, _, _ in desk.fake.group_calls)
    assert all(times[i + 20] - times[i] >= 60 for i in range(len(times) - 20))
    if mirror_per_minute == 20:
        assert desk.fake.refused["telegram_group"] == 0
    else:
        assert desk.fake.refused["telegram_group"] > 0
    calls = len(desk.fake.group_calls)
    floor = (calls - 1) // 20 * 60  # the limit's own floor for this many calls
    took = finished - START.timestamp()
    assert took <= floor + 120, (took, floor, calls)


class DelayedJobs:
    """The mirror's continuations, run when they are due on the virtual clock."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.waiting: list[tuple[float, Job]] = []
        mirror = desk.driver.module.mirror
        real = mirror.queue

        class Recording:
            def send(inner_self: Any, jobs: list[Job], delay_seconds: int = 0) -> None:
                if delay_seconds:
                    due = desk.now().timestamp() + delay_seconds
                    self.waiting += [(due, job) for job in jobs]
                else:
                    real.send(jobs)

        desk.monkeypatch.setattr(mirror, "queue", Recording())

    def run_until_quiet(self) -> float:
        """Run every continuation at its time until none is left; the last call's time."""
        self.desk.drain()
        for _ in range(1000):
            if not self.waiting:
                break
            self.waiting.sort(key=lambda entry: entry[0])
            due, job = self.waiting.pop(0)
            self.desk.at(datetime.fromtimestamp(max(due, self.desk.now().timestamp()), UTC))
            self.desk.driver.run([JOB_ADAPTER.dump_json(job).decode()])
            self.desk.drain()
        assert not self.waiting
        return max(at for at, _, _ in self.desk.fake.group_calls)
