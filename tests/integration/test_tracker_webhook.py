"""Issue-tracker webhooks through the HTTP route, on moto: a hold links the ticket to its
task; the task's end tells every linked ticket's client once, whatever is replayed."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from helpdesk.channels.base import OutboundText, SendResult
from helpdesk.settings import get_settings
from tests.integration.conftest import Api, claims
from tests.support import (
    WA_NUMBER,
    DispatchDriver,
    event_bytes,
    load_event,
    tracker_headers,
    use_messengers,
    use_trackers,
    whatsapp_signature,
)

GITHUB_TASK = "https://github.com/acme/billing-app/issues/123"
TASKS = {
    "github": ("trackers/github/issues_closed", GITHUB_TASK),
    "gitlab": (
        "trackers/gitlab/issue_close",
        "https://gitlab.example.com/acme/apps/mobile-app/-/issues/42",
    ),
    "jira": ("trackers/jira/issue_updated_resolved", "https://acme.atlassian.net/browse/PAY-77"),
    "generic": ("trackers/generic/resolved", "https://tracker.example.com/DEV-7"),
}
REOPENED = {
    "github": "trackers/github/issues_reopened",
    "gitlab": "trackers/gitlab/issue_reopen",
    "jira": "trackers/jira/issue_updated_reopened",
    "generic": "trackers/generic/reopened",
}


class Recorder:
    """The sender every dispatched message goes to: what each client was told."""

    def __init__(self) -> None:
        self.sent: list[OutboundText] = []

    def send(self, message: OutboundText) -> SendResult:
        self.sent.append(message)
        return SendResult(provider_message_id=f"p-{len(self.sent)}")

    def per_client(self) -> Counter[str]:
        return Counter(message.recipient_id for message in self.sent)


def configure(monkeypatch: pytest.MonkeyPatch, mode: str = "draft") -> None:
    direction = {
        "id": "d0",
        "tracker_resolution": mode,
        "whatsapp_phone_number_ids": [WA_NUMBER],
        "whatsapp_resolved_template": "ticket_resolved",
    }
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps({"directions": [direction]}))
    get_settings.cache_clear()


@pytest.fixture
def tracker(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Api:
    use_messengers(monkeypatch)
    use_trackers(monkeypatch)
    configure(monkeypatch)
    return Api("TrackerWebhookFunction", None)


def post(
    api: Api,
    provider: str,
    raw: bytes,
    event_id: str = "delivery-1",
    secret: str | None = None,
    signed: bool = True,
) -> tuple[int, Any]:
    headers = tracker_headers(provider, raw, event_id, secret, timestamp=int(time.time()))
    if not signed:
        headers = {k: v for k, v in headers.items() if "signature" not in k.lower()}
        headers.pop("X-Gitlab-Token", None)
    headers["content-type"] = "application/json"
    return api.call("POST", f"/webhooks/tracker/{provider}", raw=raw, headers=headers)


def hold(agent_api: Api, number: str, url: str) -> None:
    status, body = agent_api.call("POST", f"/tickets/{number}/hold", {"task_url": url})
    assert status == 200, body


def ticket(number: str) -> dict[str, Any]:
    return Api("TicketsFunction", claims("lead")).call("GET", f"/tickets/{number}")[1]


def items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return aws["dynamodb"].scan(TableName=get_settings().table_name)["Items"]


def links(aws: dict[str, Any], key: str) -> list[str]:
    found = aws["dynamodb"].query(
        TableName=get_settings().table_name,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TASK#{key}"}},
    )["Items"]
    return [item["ticket_id"]["S"] for item in found]


# ---- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(TASKS))
def test_each_trackers_signature_is_accepted_and_a_wrong_or_missing_one_refused(
    provider: str,
    tracker: Api,
    aws: dict[str, Any],
    agent_api: Api,
    client_ticket: Any,
) -> None:
    sample, url = TASKS[provider]
    number = client_ticket()
    hold(agent_api, number, url)
    raw = event_bytes(sample)
    before = items(aws)
    for refused in (
        post(tracker, provider, raw, secret="wrong"),
        post(tracker, provider, raw, signed=False),
    ):
        status, body = refused
        assert (status, body["error"]["code"]) == (401, "unauthorized"), body
    assert items(aws) == before  # nothing stored
    status, body = post(tracker, provider, raw)
    assert status == 200, body
    assert body["tickets"] == {number: "returned"}


def test_an_unknown_tracker_is_404(tracker: Api) -> None:
    status, body = post(tracker, "github", event_bytes("trackers/github/issues_closed"))
    assert status == 200
    status, body = tracker.call("POST", "/webhooks/tracker/trello", raw=b"{}")
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert "github" in body["error"]["providers"]


def test_a_signed_body_that_cannot_be_read_is_400_naming_the_problem(
    tracker: Api, aws: dict[str, Any]
) -> None:
    before = items(aws)
    status, body = post(tracker, "github", b'{"action": "closed", "issue": {"number": "x"}}')
    assert status == 400 and "issue.number" in body["error"]["message"], body
    status, body = post(tracker, "generic", b"{not json")
    assert status == 400 and "JSON" in body["error"]["message"], body
    assert items(aws) == before


def test_events_the_helpdesk_does_not_act_on_are_answered_200_ignored(tracker: Api) -> None:
    status, body = post(tracker, "github", json.dumps({"action": "labeled"}).encode())
    assert status == 200 and "labeled" in body["ignored"], body


# ---- linking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (GITHUB_TASK, "github:acme/billing-app#123"),
        (TASKS["gitlab"][1], "gitlab:acme/apps/mobile-app#42"),
        (TASKS["jira"][1], "jira:PAY-77"),
        (TASKS["generic"][1], "url:https://tracker.example.com/DEV-7"),
    ],
)
def test_a_hold_with_a_task_link_links_the_ticket_in_the_same_write(
    url: str, key: str, tracker: Api, aws: dict[str, Any], agent_api: Api, client_ticket: Any
) -> None:
    number = client_ticket()
    hold(agent_api, number, url)
    assert links(aws, key) == [number]


def test_a_hold_that_cannot_be_made_links_nothing(
    tracker: Api, aws: dict[str, Any], agent_api: Api, client_ticket: Any
) -> None:
    number = client_ticket()
    agent_api.call("POST", f"/tickets/{number}/resolve", {"resolution": "done"})
    status, _ = agent_api.call("POST", f"/tickets/{number}/hold", {"task_url": GITHUB_TASK})
    assert status == 409
    assert links(aws, "github:acme/billing-app#123") == []


# ---- a done task --------------------------------------------------------------------------


def test_draft_puts_the_trackers_note_on_the_ticket_and_hands_it_back(
    tracker: Api,
    aws: dict[str, Any],
    agent_api: Api,
    client_ticket: Any,
    dispatcher: DispatchDriver,
) -> None:
    number = client_ticket()
    hold(agent_api, number, TASKS["jira"][1])
    status, body = post(tracker, "jira", event_bytes(TASKS["jira"][0]))
    assert (status, body["tickets"]) == (200, {number: "returned"})
    view = ticket(number)
    assert view["ticket"]["status"] == "open"
    assert "task_done" in view["ticket"]["flags"]
    note = view["messages"][-1]
    assert note["kind"] == "comment" and note["author"] == "tracker:jira"
    assert (
        "PAY-77 is done by Paula Developer" in note["text"] and "Resolution: Done" in note["text"]
    )
    recorder = Recorder()
    dispatcher.drain(recorder)
    assert recorder.sent == []  # the client hears nothing until the agent answers
    listed = agent_api.call("GET", "/tickets", query="flag=task_done")[1]["tickets"]
    assert [t["id"] for t in listed] == [number]


@pytest.mark.parametrize("provider", list(TASKS))
def test_resolve_resolves_through_the_desk_and_tells_the_client_once(
    provider: str,
    tracker: Api,
    aws: dict[str, Any],
    agent_api: Api,
    client_ticket: Any,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, "resolve")
    sample, url = TASKS[provider]
    number = client_ticket()
    hold(agent_api, number, url)
    raw = event_bytes(sample)
    status, body = post(tracker, provider, raw)
    assert (status, body["tickets"]) == (200, {number: "resolved"}), body
    replay_status, replay = post(tracker, provider, raw)  # the tracker retries: same event id
    assert replay_status == 200, replay
    recorder = Recorder()
    dispatcher.drain(recorder)
    view = ticket(number)
    assert view["ticket"]["status"] == "resolved"
    notice, prompt = recorder.sent  # the resolution notice and the rating prompt, once
    assert number in notice.text and prompt.buttons
    if provider == "generic":
        assert load_event(sample)["client_text"] in notice.text
    assert "billing-app" not in notice.text and "SSO certificate" not in notice.text


def test_a_replayed_event_changes_nothing_and_tells_no_one_again(
    tracker: Api,
    aws: dict[str, Any],
    agent_api: Api,
    client_ticket: Any,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, "resolve")
    number = client_ticket()
    hold(agent_api, number, GITHUB_TASK)
    raw = event_bytes("trackers/github/issues_closed")
    post(tracker, "github", raw, "delivery-7")
    recorder = Recorder()
    dispatcher.drain(recorder)
    stored = items(aws)
    for _ in range(3):
        assert post(tracker, "github", raw, "delivery-7")[0] == 200
        assert dispatcher.drain(recorder)["batchItemFailures"] == []
    assert len(recorder.sent) == 2
    assert len(items(aws)) == len(stored)
    # a second event about the same task (another delivery) finds the ticket resolved
    status, body = post(tracker, "github", raw, "delivery-8")
    assert status == 200
    assert body["tickets"] == {number: "unchanged"}
    dispatcher.drain(recorder)
    assert len(recorder.sent) == 2


def held_for_github_task(
    client_ticket: Any, agent_api: Api, first_chat: int, count: int
) -> list[str]:
    """`count` clients' tickets (chats from `first_chat`), all held for the GitHub task."""
    numbers = [client_ticket(chat=first_chat + i) for i in range(count)]
    for number in numbers:
        hold(agent_api, number, GITHUB_TASK)
    return numbers


def test_one_task_many_tickets_each_client_told_once(
    tracker: Api,
    aws: dict[str, Any],
    agent_api: Api,
    client_ticket: Any,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, "resolve")
    numbers = held_for_github_task(client_ticket, agent_api, 7000, 4)
    assert sorted(links(aws, "github:acme/billing-app#123")) == sorted(numbers)
    raw = event_bytes("trackers/github/issues_closed")
    status, body = post(tracker, "github", raw, "delivery-1")
    assert status == 200
    assert body["tickets"] == dict.fromkeys(numbers, "resolved")
    post(tracker, "github", raw, "delivery-1")
    post(tracker, "github", raw, "delivery-2")
    recorder = Recorder()
    dispatcher.drain(recorder)
    assert recorder.per_client() == {str(7000 + i): 2 for i in range(4)}


def test_a_task_with_more_tickets_than_a_page_hands_the_rest_to_the_queue(
    tracker: Api,
    aws: dict[str, Any],
    agent_api: Api,
    client_ticket: Any,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages of 2 here (100 deployed): the webhook resolves the first page and answers at
    once; the queue carries the rest a page per job; a replay still tells nobody twice."""
    configure(monkeypatch, "resolve")
    numbers = held_for_github_task(client_ticket, agent_api, 7100, 5)
    monkeypatch.setattr(tracker.module.updates, "page", 2)
    monkeypatch.setattr(
        dispatcher.module.dispatcher.extra_handlers["task_event"].__self__, "page", 2
    )
    raw = event_bytes("trackers/github/issues_closed")
    status, body = post(tracker, "github", raw, "delivery-paged")
    assert status == 200 and len(body["tickets"]) == 2 and "more" in body
    recorder = Recorder()
    dispatcher.drain(recorder)  # the other three, two jobs, and every client's messages
    assert all(ticket(n)["ticket"]["status"] == "resolved" for n in numbers)
    post(tracker, "github", raw, "delivery-paged")  # the tracker retries the same delivery
    dispatcher.drain(recorder)
    assert recorder.per_client() == {str(7100 + i): 2 for i in range(5)}


def test_a_ticket_held_again_for_another_task_follows_only_the_new_one(
    tracker: Api, agent_api: Api, client_ticket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, "resolve")
    number = client_ticket()
    hold(agent_api, number, TASKS["jira"][1])
    agent_api.call("POST", f"/tickets/{number}/reopen", {"reason": "wrong task"})
    hold(agent_api, number, GITHUB_TASK)
    status, body = post(tracker, "jira", event_bytes(TASKS["jira"][0]))
    assert (status, body["tickets"]) == (200, {number: "unchanged"})
    assert ticket(number)["ticket"]["status"] == "on_hold"
    status, body = post(tracker, "github", event_bytes(TASKS["github"][0]))
    assert (status, body["tickets"]) == (200, {number: "resolved"})


def test_an_unknown_task_is_ignored(tracker: Api, aws: dict[str, Any]) -> None:
    before = items(aws)
    status, body = post(tracker, "gitlab", event_bytes("trackers/gitlab/issue_close"))
    assert status == 200
    assert body["ignored"] == "no ticket is linked to task gitlab:acme/apps/mobile-app#42"
    assert items(aws) == before


def test_a_task_closed_as_not_planned_never_resolves(
    tracker: Api,
    agent_api: Api,
    client_ticket: Any,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, "resolve")
    number = client_ticket()
    hold(agent_api, number, GITHUB_TASK)
    payload = load_event("trackers/github/issues_closed")
    payload["issue"]["state_reason"] = "not_planned"
    status, body = post(tracker, "github", json.dumps(payload).encode())
    assert (status, body["tickets"]) == (200, {number: "returned"})
    recorder = Recorder()
    dispatcher.drain(recorder)
    assert recorder.sent == []


@pytest.mark.parametrize("provider", list(TASKS))
def test_a_reopened_task_adds_a_note_and_leaves_the_ticket(
    provider: str,
    tracker: Api,
    agent_api: Api,
    client_ticket: Any,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, "resolve")
    sample, url = TASKS[provider]
    number = client_ticket()
    hold(agent_api, number, url)
    post(tracker, provider, event_bytes(sample), "closed-1")
    status, body = post(tracker, provider, event_bytes(REOPENED[provider]), "reopened-1")
    assert (status, body["tickets"]) == (200, {number: "noted"}), body
    view = ticket(number)
    assert view["ticket"]["status"] == "resolved"
    assert "reopened" in view["messages"][-1]["text"]


# ---- WhatsApp's 24 hours ------------------------------------------------------------------


def test_a_whatsapp_client_outside_24_hours_gets_the_resolution_template(
    tracker: Api,
    aws: dict[str, Any],
    agent_api: Api,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, "resolve")
    webhook = Api("MessengerWebhookFunction", None)
    raw = event_bytes("whatsapp/text_message")  # the client wrote in 2025: long ago
    assert (
        webhook.call("POST", "/webhooks/whatsapp", raw=raw, headers=whatsapp_signature(raw))[0]
        == 200
    )
    dispatcher.drain(Recorder())
    hold(agent_api, "D0-000001", GITHUB_TASK)
    post(tracker, "github", event_bytes("trackers/github/issues_closed"))
    recorder = Recorder()
    dispatcher.drain(recorder)
    (notice,) = recorder.sent  # one template: its approved text tells and asks
    assert (notice.template_name, notice.template_params) == ("ticket_resolved", ("D0-000001",))
    assert [b.data for b in notice.buttons] == ["csat:D0-000001:good", "csat:D0-000001:bad"]


# ---- hostile signed bodies ----------------------------------------------------------------


def _hostile(provider: str) -> list[bytes]:
    sample = load_event(TASKS[provider][0])
    long_text = "я" * 300_000
    bodies: list[Any] = [[], "text", None, 1, {"a": [[[[[[[[[[]]]]]]]]]]}]
    for key in list(sample):
        bodies.append({**sample, key: None})
        bodies.append({**sample, key: long_text})
        bodies.append({**sample, key: {"nested": [1, 2, 3]}})
    raws = [json.dumps(body).encode() for body in bodies]
    return [*raws, b"\xff\xfe", b'{"a":' * 100 + b"1" + b"}" * 100, b""]


@pytest.mark.parametrize("provider", list(TASKS))
def test_hostile_signed_bodies_are_refused_or_ignored_never_a_500(
    provider: str, tracker: Api, aws: dict[str, Any], agent_api: Api, client_ticket: Any
) -> None:
    hold(agent_api, client_ticket(), TASKS[provider][1])
    for raw in _hostile(provider):
        status, body = post(tracker, provider, raw, event_id=f"h-{len(raw)}")
        assert status in (200, 400), (raw[:80], status, body)
        if status == 400:
            assert body["error"]["message"], body
