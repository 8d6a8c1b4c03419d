"""Tracker tasks, pure: the task key of a URL, each tracker's payload read into a TaskEvent,
and what a done or reopened task does to a ticket."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk import tasks, tickets
from helpdesk.errors import BadRequest, InvalidTransition, NotFound, Unauthorized
from helpdesk.models import Actor, Channel, MessageKind, Status, Ticket
from helpdesk.settings import get_settings
from helpdesk.trackers import Ignored, TrackerRequest, read_event
from tests.support import event_bytes, load_event, tracker_headers, use_trackers

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TRACKER = Actor(user_id="tracker:github", roles=frozenset())


# ---- the task key of a URL ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://github.com/acme/billing-app/issues/123", "github:acme/billing-app#123"),
        ("https://github.com/Acme/Billing-App/issues/123/", "github:acme/billing-app#123"),
        (
            "https://www.github.com/acme/billing-app/issues/123#issuecomment-1",
            "github:acme/billing-app#123",
        ),
        ("https://gitlab.com/group/project/-/issues/42", "gitlab:group/project#42"),
        (
            "https://gitlab.example.com/acme/apps/mobile-app/-/issues/42",
            "gitlab:acme/apps/mobile-app#42",
        ),
        ("https://gitlab.com/group/project/-/work_items/7", "gitlab:group/project#7"),
        ("https://acme.atlassian.net/browse/PAY-77", "jira:PAY-77"),
        ("https://jira.example.com/browse/pay-77", "jira:PAY-77"),
        (
            "https://acme.atlassian.net/jira/software/projects/PAY/boards/1?selectedIssue=PAY-77",
            "jira:PAY-77",
        ),
        ("https://tracker.example.com/DEV-7", "url:https://tracker.example.com/DEV-7"),
        ("https://tracker.example.com/DEV-7/#top", "url:https://tracker.example.com/DEV-7"),
        # a GitHub-shaped path on another host is not GitHub's (Gitea, GitHub Enterprise)
        (
            "https://git.example.com/acme/app/issues/5",
            "url:https://git.example.com/acme/app/issues/5",
        ),
    ],
)
def test_task_key_of_a_url(url: str, key: str) -> None:
    assert tasks.task_key(url) == key


def test_a_very_long_url_is_keyed_by_its_hash_the_same_way_every_time() -> None:
    url = "https://tracker.example.com/" + "a" * 2000
    key = tasks.task_key(url)
    assert key.startswith("sha256:") and len(key) == 7 + 64
    assert tasks.task_key(url) == key


def test_keys_from_payloads_match_keys_from_urls() -> None:
    assert tasks.github_key("Acme/Billing-App", 123) == tasks.task_key(
        "https://github.com/acme/billing-app/issues/123"
    )
    assert tasks.gitlab_key("acme/apps/mobile-app", 42) == tasks.task_key(
        "https://gitlab.example.com/acme/apps/mobile-app/-/issues/42"
    )
    assert tasks.jira_key("PAY-77") == tasks.task_key("https://acme.atlassian.net/browse/PAY-77")


# ---- reading each tracker's notifications ----------------------------------------------------


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch) -> Any:
    use_trackers(monkeypatch)
    monkeypatch.setenv("HELPDESK_NOW", NOW.isoformat())
    yield
    get_settings.cache_clear()


def read(provider: str, raw: bytes, event_id: str = "ev-1", **options: Any) -> tasks.TaskEvent:
    timestamp = int(NOW.timestamp())
    headers = tracker_headers(provider, raw, event_id, timestamp=timestamp, **options)
    return read_event(provider, TrackerRequest({k.lower(): v for k, v in headers.items()}, raw))


SAMPLES = [
    ("github", "trackers/github/issues_closed", "github:acme/billing-app#123", "resolved"),
    ("github", "trackers/github/issues_reopened", "github:acme/billing-app#123", "reopened"),
    ("gitlab", "trackers/gitlab/issue_close", "gitlab:acme/apps/mobile-app#42", "resolved"),
    ("gitlab", "trackers/gitlab/issue_reopen", "gitlab:acme/apps/mobile-app#42", "reopened"),
    ("jira", "trackers/jira/issue_updated_resolved", "jira:PAY-77", "resolved"),
    ("jira", "trackers/jira/issue_updated_reopened", "jira:PAY-77", "reopened"),
    ("generic", "trackers/generic/resolved", "url:https://tracker.example.com/DEV-7", "resolved"),
    ("generic", "trackers/generic/reopened", "url:https://tracker.example.com/DEV-7", "reopened"),
]


@pytest.mark.parametrize(("provider", "sample", "key", "kind"), SAMPLES)
def test_each_sample_reads_into_a_task_event(
    signed: None, provider: str, sample: str, key: str, kind: str
) -> None:
    event = read(provider, event_bytes(sample), "delivery-1")
    assert (event.provider, event.task_key, event.kind, event.fixed) == (provider, key, kind, True)
    expected_id = "delivery-1" if provider != "generic" else load_event(sample)["event_id"]
    assert event.event_id == expected_id


def test_what_each_tracker_says_about_the_task(signed: None) -> None:
    github = read("github", event_bytes("trackers/github/issues_closed"))
    assert (github.task_url, github.by, github.resolution) == (
        "https://github.com/acme/billing-app/issues/123",
        "octocat",
        "completed",
    )
    jira = read("jira", event_bytes("trackers/jira/issue_updated_resolved"))
    assert (jira.task_url, jira.resolution, jira.by) == (
        "https://acme.atlassian.net/browse/PAY-77",
        "Done",
        "Paula Developer",
    )
    generic = read("generic", event_bytes("trackers/generic/resolved"))
    assert (
        tasks.client_resolution(generic) == load_event("trackers/generic/resolved")["client_text"]
    )
    assert tasks.client_resolution(github) == "completed"


@pytest.mark.parametrize(("provider", "sample", "_key", "_kind"), SAMPLES)
def test_a_wrong_or_missing_signature_is_refused(
    signed: None, provider: str, sample: str, _key: str, _kind: str
) -> None:
    raw = event_bytes(sample)
    with pytest.raises(Unauthorized):
        read(provider, raw, secret="not-the-secret")
    with pytest.raises(Unauthorized):
        read_event(provider, TrackerRequest({}, raw))
    tampered = raw + b" " if provider != "gitlab" else None
    if tampered:  # GitLab's token does not sign the body
        headers = tracker_headers(provider, raw, "ev", timestamp=int(NOW.timestamp()))
        with pytest.raises(Unauthorized):
            read_event(
                provider, TrackerRequest({k.lower(): v for k, v in headers.items()}, tampered)
            )


def test_an_unset_secret_refuses_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET", raising=False)
    get_settings.cache_clear()
    raw = event_bytes("trackers/github/issues_closed")
    with pytest.raises(Unauthorized):
        read("github", raw, secret="")


def test_a_generic_timestamp_out_of_the_window_is_refused(signed: None) -> None:
    raw = event_bytes("trackers/generic/resolved")
    stale = int(NOW.timestamp()) - 301
    headers = tracker_headers("generic", raw, "x", timestamp=stale)
    with pytest.raises(Unauthorized):
        read_event("generic", TrackerRequest({k.lower(): v for k, v in headers.items()}, raw))


def test_an_unknown_tracker_is_not_found(signed: None) -> None:
    with pytest.raises(NotFound):
        read_event("trello", TrackerRequest({}, b"{}"))


@pytest.mark.parametrize(
    ("provider", "body", "why"),
    [
        ("github", {"action": "labeled"}, "labeled"),
        ("gitlab", {"object_kind": "note"}, "note"),
        ("gitlab", {"object_kind": "issue", "object_attributes": {"action": "update"}}, "update"),
        ("jira", {"webhookEvent": "comment_created"}, "comment_created"),
    ],
)
def test_events_the_helpdesk_does_not_act_on_are_ignored(
    signed: None, provider: str, body: dict[str, Any], why: str
) -> None:
    with pytest.raises(Ignored, match=why):
        read(provider, json.dumps(body).encode())


def test_a_jira_update_that_does_not_finish_the_issue_is_ignored(signed: None) -> None:
    body = load_event("trackers/jira/issue_updated_resolved")
    body["changelog"]["items"] = [{"field": "summary", "fromString": "a", "toString": "b"}]
    with pytest.raises(Ignored, match="neither"):
        read("jira", json.dumps(body).encode())
    body = load_event("trackers/jira/issue_updated_reopened")
    body["changelog"]["items"] = [{"field": "status", "fromString": "To Do", "toString": "Doing"}]
    with pytest.raises(Ignored, match="not done"):
        read("jira", json.dumps(body).encode())


def test_closed_without_a_fix_never_resolves(signed: None) -> None:
    github = load_event("trackers/github/issues_closed")
    github["issue"]["state_reason"] = "not_planned"
    assert read("github", json.dumps(github).encode()).fixed is False
    jira = load_event("trackers/jira/issue_updated_resolved")
    jira["issue"]["fields"]["resolution"]["name"] = "Won't Do"
    assert read("jira", json.dumps(jira).encode()).fixed is False


@pytest.mark.parametrize(
    ("provider", "body", "names"),
    [
        ("github", {"action": "closed", "issue": {}, "repository": {}}, "issue.number"),
        ("gitlab", {"object_kind": "issue", "object_attributes": {"action": "close"}}, "iid"),
        ("jira", {"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1"}}, "fields"),
        ("generic", {"event": "resolved"}, "event_id"),
        ("generic", [1, 2], "body"),
    ],
)
def test_a_signed_body_that_cannot_be_read_is_a_400_naming_the_field(
    signed: None, provider: str, body: Any, names: str
) -> None:
    with pytest.raises(BadRequest, match=names):
        read(provider, json.dumps(body).encode())


def test_signed_garbage_is_a_400(signed: None) -> None:
    with pytest.raises(BadRequest):
        read("github", b"{not json")


def test_github_needs_its_delivery_id(signed: None) -> None:
    raw = event_bytes("trackers/github/issues_closed")
    headers = {k.lower(): v for k, v in tracker_headers("github", raw, "x").items()}
    del headers["x-github-delivery"]
    with pytest.raises(BadRequest, match="X-GitHub-Delivery"):
        read_event("github", TrackerRequest(headers, raw))


# ---- the ticket rules ---------------------------------------------------------------------


def ticket(status: Status) -> Ticket:
    return Ticket(
        id="D0-000001",
        direction="d0",
        channel=Channel.TELEGRAM,
        customer_id="c1",
        status=status,
        external_task_url="https://github.com/acme/billing-app/issues/123",
        hold_reason="needs a fix",
        created_at=NOW,
        updated_at=NOW,
        version=3,
    )


def test_draft_hands_the_ticket_back_with_the_note_and_a_flag() -> None:
    change = tasks.task_done(
        ticket(Status.ON_HOLD), NOW, actor=TRACKER, note="Task done", resolution=None, resolve=False
    )
    assert change.ticket.status == Status.OPEN
    assert change.ticket.flags == [tasks.TASK_DONE_FLAG]
    assert change.ticket.hold_reason is None
    assert change.ticket.version == 4
    (note,) = change.messages
    assert (note.kind, note.text) == (MessageKind.COMMENT, "Task done")
    assert change.jobs == []  # nothing goes to the client
    assert [entry.action for entry in change.history] == ["comment", "task_done"]


def test_the_agents_answer_or_resolution_settles_the_returned_task() -> None:
    returned = tasks.task_done(
        ticket(Status.ON_HOLD), NOW, actor=TRACKER, note="Task done", resolution=None, resolve=False
    ).ticket
    agent = Actor(user_id="agent-1", roles=frozenset({"agent"}))
    replied = tickets.reply(returned, NOW, actor=agent, text="Fixed, please try again")
    assert tasks.TASK_DONE_FLAG not in replied.ticket.flags
    resolved = tickets.resolve(returned, NOW, actor=agent, resolution="fixed")
    assert tasks.TASK_DONE_FLAG not in resolved.ticket.flags
    assert resolved.history[0].changes["flags"] == [[tasks.TASK_DONE_FLAG], []]
    commented = tickets.comment(returned, NOW, actor=agent, text="looking")
    assert commented.ticket.flags == [tasks.TASK_DONE_FLAG]  # a note is not an answer


def test_resolve_resolves_with_the_trackers_resolution() -> None:
    change = tasks.task_done(
        ticket(Status.ON_HOLD),
        NOW,
        actor=TRACKER,
        note="Task done",
        resolution="Done",
        resolve=True,
    )
    assert (change.ticket.status, change.ticket.resolution) == (Status.RESOLVED, "Done")
    assert change.ticket.version == 4
    assert [m.kind for m in change.messages] == [MessageKind.COMMENT]


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
def test_a_resolved_or_closed_ticket_is_left_alone(status: Status) -> None:
    with pytest.raises(InvalidTransition):
        tasks.task_done(ticket(status), NOW, actor=TRACKER, note="n", resolution=None, resolve=True)


def test_a_reopened_task_only_adds_a_note() -> None:
    change = tasks.task_reopened(ticket(Status.RESOLVED), NOW, actor=TRACKER, note="Reopened")
    assert change.ticket.status == Status.RESOLVED
    assert [m.kind for m in change.messages] == [MessageKind.COMMENT]


def test_the_agent_note_names_the_task_and_never_goes_to_the_client() -> None:
    event = tasks.TaskEvent(
        provider="jira",
        event_id="e",
        task_key="jira:PAY-77",
        kind="resolved",
        task_url="https://acme.atlassian.net/browse/PAY-77",
        title="Card payments declined",
        resolution="Done",
        by="Paula",
    )
    note = tasks.agent_note(event)
    assert "https://acme.atlassian.net/browse/PAY-77 is done by Paula" in note
    assert "Card payments declined" in note
    assert tasks.client_resolution(event) == "Done"  # the title stays internal


def test_the_api_document_names_every_tracker() -> None:
    from helpdesk import trackers
    from helpdesk.http import openapi

    assert list(trackers.PROVIDERS) == openapi.TRACKERS


def test_a_tasks_links_are_read_page_by_page(store: Any) -> None:
    from helpdesk.store.tasks import link_item

    numbers = [f"D0-{n:06d}" for n in range(1, 8)]
    store.transact([link_item("jira:PAY-77", n, "https://x/browse/PAY-77", NOW) for n in numbers])
    store.transact([link_item("jira:PAY-78", "D0-000099", "https://x/browse/PAY-78", NOW)])
    first, following = store.task_links.linked("jira:PAY-77", limit=3)
    assert first == numbers[:3] and following == "D0-000003"
    assert store.task_links.all_linked("jira:PAY-77") == numbers
    assert store.task_links.all_linked("jira:NOPE-1") == []
