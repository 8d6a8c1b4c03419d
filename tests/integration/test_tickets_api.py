"""The tickets API through API Gateway HTTP API events, on moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from helpdesk.jobs import SendMessageJob
from helpdesk.settings import get_settings
from helpdesk.store import keys
from tests.integration.conftest import Api, claims


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    body = {"direction": "d0", "subject": "Cannot log in", "text": "Login fails", **overrides}
    status, ticket = api.call("POST", "/tickets", body)
    assert status == 201, ticket
    return ticket


def queued_jobs(aws: dict[str, Any]) -> list[dict[str, Any]]:
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def stored_ticket(aws: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    key = {name: {"S": value} for name, value in keys.ticket(ticket_id).items()}
    return aws["dynamodb"].get_item(TableName=get_settings().table_name, Key=key)["Item"]


def test_tickets_get_readable_numbers_per_direction(agent_api: Api) -> None:
    assert create(agent_api)["id"] == "D0-000001"
    assert create(agent_api)["id"] == "D0-000002"
    assert create(agent_api, direction="d1")["id"] == "D1-000001"


def test_working_a_ticket_end_to_end(
    agent_api: Api, aws: dict[str, Any], client_ticket: Any
) -> None:
    number = client_ticket("Login fails")

    status, replied = agent_api.call(
        "POST", f"/tickets/{number}/replies", {"text": "We are on it", "version": 1}
    )
    assert status == 200, replied
    assert (replied["status"], replied["assignee"], replied["version"]) == ("open", "agent-1", 2)
    (job,) = queued_jobs(aws)
    assert job["type"] == "send_message" and job["ticket_id"] == number

    steps = [
        ("POST", "comments", {"text": "Looks like the SSO bug"}),
        ("PATCH", "", {"category": "problem", "topic": "login", "priority": "high"}),
        ("POST", "assign", {"assignee": "agent-2"}),
        ("POST", "hold", {"task_url": "https://tracker.example/DEV-7", "reason": "bug"}),
        ("POST", "resolve", {"resolution": "SSO fixed"}),
        ("POST", "close", {}),
        ("POST", "reopen", {"reason": "client says it is back"}),
    ]
    for method, action, body in steps:
        path = f"/tickets/{number}" + (f"/{action}" if action else "")
        status, result = agent_api.call(method, path, body)
        assert status == 200, (action, result)

    status, view = agent_api.call("GET", f"/tickets/{number}")
    assert status == 200
    assert view["ticket"]["status"] == "open"
    assert view["ticket"]["category"] == "problem"
    assert view["ticket"]["assignee"] == "agent-2"
    assert view["ticket"]["external_task_url"] == "https://tracker.example/DEV-7"
    kinds = [m["kind"] for m in view["messages"]]
    # the client's message, greeting and number, the reply, the comment, then the
    # resolution notice and the rating prompt as two messages
    assert kinds == ["inbound", "auto", "auto", "reply", "comment", "auto", "auto"]
    resolved_notice, prompt = view["messages"][-2:]
    assert "D0-000001" in resolved_notice["text"] and "SSO fixed" in resolved_notice["text"]
    assert resolved_notice["buttons"] == []
    assert [b["data"] for b in prompt["buttons"]] == [
        "csat:D0-000001:good",
        "csat:D0-000001:bad",
    ]
    actions = [entry["action"] for entry in view["history"]]
    assert actions == [
        "create", "reply", "comment", "update", "sla", "assign", "hold", "resolve", "close",
        "reopen",
    ]  # fmt: skip
    assert view["history"][0]["actor"] == "customer"
    sla = view["history"][4]  # the PATCH raised the priority: the targets were re-applied
    assert (sla["actor"], sla["note"]) == (
        "system",
        "SLA targets re-applied: priority normal -> high (set by agent-1)",
    )
    assert all(e["actor"] == "agent-1" for e in view["history"][1:] if e["action"] != "sla")
    assign = next(e for e in view["history"] if e["action"] == "assign")
    assert assign["changes"] == {"assignee": ["agent-1", "agent-2"]}


def test_list_filters_and_pages_with_an_opaque_cursor(agent_api: Api) -> None:
    made = [create(agent_api)["id"] for _ in range(5)]
    create(agent_api, direction="d1")
    agent_api.call("PATCH", f"/tickets/{made[0]}", {"priority": "urgent"})
    agent_api.call("POST", f"/tickets/{made[1]}/assign", {"assignee": "agent-9"})

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = "direction=d0&limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page = agent_api.call("GET", "/tickets", query=query)
        assert status == 200, page
        assert len(page["tickets"]) <= 2
        seen += [t["id"] for t in page["tickets"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)
    assert seen == sorted(made, reverse=True)  # newest first by default

    def ids(query: str) -> list[str]:
        status, page = agent_api.call("GET", "/tickets", query=query)
        assert status == 200, page
        return [t["id"] for t in page["tickets"]]

    assert ids("priority=urgent") == [made[0]]
    assert ids("assignee=agent-9") == [made[1]]
    assert ids("assignee=agent-9&status=open") == []
    assert ids("direction=d1") == ["D1-000001"]
    assert len(ids("status=new&limit=100")) == 6
    assert made[1] not in ids("direction=d0&assignee=none")


def test_staff_roles_only(aws: dict[str, Any]) -> None:
    lead = Api("TicketsFunction", claims("lead", "lead-1"))
    assert lead.call("GET", "/tickets")[0] == 200
    finance = Api("TicketsFunction", claims("finance", "fin-1"))
    status, body = finance.call("GET", "/tickets")
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    anonymous = Api("TicketsFunction", {})
    assert anonymous.call("GET", "/tickets")[0] == 401


def test_openapi_document_lists_the_routes(agent_api: Api) -> None:
    status, document = agent_api.call("GET", "/openapi.json")
    assert status == 200
    assert {"/tickets", "/tickets/{ticket_id}", "/tickets/{ticket_id}/replies"} <= set(
        document["paths"]
    )


# ---- bad input: 4xx with a JSON body naming the problem, stored data unchanged ----------


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b'{"text": 42}', 422, "invalid_request"),
        (b'{"text": "hi", "version": "three"}', 422, "invalid_request"),
        (b'{"text": "hi", "colour": "red"}', 422, "invalid_request"),
        (b"[]", 422, "invalid_request"),
    ],
)
def test_malformed_or_mistyped_bodies(
    agent_api: Api, aws: dict[str, Any], raw: bytes, status: int, code: str
) -> None:
    number = create(agent_api)["id"]
    before = stored_ticket(aws, number)
    got, body = agent_api.call("POST", f"/tickets/{number}/replies", raw=raw)
    assert (got, body["error"]["code"]) == (status, code)
    assert body["error"]["message"]
    assert stored_ticket(aws, number) == before
    assert queued_jobs(aws) == []


def test_wrong_enum_in_patch_is_named(agent_api: Api) -> None:
    number = create(agent_api)["id"]
    status, body = agent_api.call("PATCH", f"/tickets/{number}", {"category": "rant"})
    assert status == 422
    assert "category" in body["error"]["message"]


def test_unknown_ticket_is_404(agent_api: Api) -> None:
    for method, path, body in [
        ("GET", "/tickets/D0-999999", None),
        ("POST", "/tickets/D0-999999/replies", {"text": "hi"}),
        ("POST", "/tickets/D0-999999/close", {}),
    ]:
        status, answer = agent_api.call(method, path, body)
        assert status == 404, (path, answer)
        assert answer["error"]["code"] == "not_found"
        assert "D0-999999" in answer["error"]["message"]


def test_illegal_transition_changes_nothing(agent_api: Api, aws: dict[str, Any]) -> None:
    number = create(agent_api)["id"]
    agent_api.call("POST", f"/tickets/{number}/close", {})
    before = stored_ticket(aws, number)
    status, body = agent_api.call("POST", f"/tickets/{number}/replies", {"text": "late"})
    assert status == 409
    assert body["error"]["code"] == "invalid_transition"
    assert "reopen" in body["error"]["message"]
    assert stored_ticket(aws, number) == before
    assert agent_api.call("GET", f"/tickets/{number}")[1]["messages"][-1]["text"] == "Login fails"


def test_stale_version_is_a_conflict_and_changes_nothing(
    agent_api: Api, aws: dict[str, Any]
) -> None:
    number = create(agent_api)["id"]
    assert agent_api.call("PATCH", f"/tickets/{number}", {"topic": "a", "version": 1})[0] == 200
    before = stored_ticket(aws, number)
    status, body = agent_api.call("PATCH", f"/tickets/{number}", {"topic": "b", "version": 1})
    assert status == 409
    assert body["error"]["code"] == "version_conflict"
    assert body["error"]["current_version"] == 2
    assert stored_ticket(aws, number) == before


def test_a_write_racing_another_loses_with_409(
    agent_api: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two agents read version 1; the other's write lands between our read and our write."""
    number = create(agent_api)["id"]
    tickets = agent_api.module.desk.store.tickets
    real_get = tickets.get

    def read_then_someone_else_writes(ticket_id: str):  # type: ignore[no-untyped-def]
        ticket = real_get(ticket_id)
        monkeypatch.setattr(tickets, "get", real_get)
        other = Api("TicketsFunction", claims("agent", "agent-2"))
        assert other.call("PATCH", f"/tickets/{number}", {"topic": "theirs"})[0] == 200
        return ticket

    monkeypatch.setattr(tickets, "get", read_then_someone_else_writes)
    status, body = agent_api.call("PATCH", f"/tickets/{number}", {"topic": "mine"})
    assert status == 409, body
    assert agent_api.call("GET", f"/tickets/{number}")[1]["ticket"]["topic"] == "theirs"


def test_invalid_cursor_and_limits(agent_api: Api) -> None:
    status, body = agent_api.call("GET", "/tickets", query="cursor=not-a-cursor")
    assert (status, body["error"]["code"]) == (400, "bad_request")
    assert agent_api.call("GET", "/tickets", query="limit=0")[0] == 422
    assert agent_api.call("GET", "/tickets", query="status=lost")[0] == 422


def test_empty_hold_url_and_empty_text_are_refused(agent_api: Api) -> None:
    number = create(agent_api)["id"]
    assert agent_api.call("POST", f"/tickets/{number}/hold", {"task_url": "nope"})[0] == 422
    assert agent_api.call("POST", f"/tickets/{number}/comments", {"text": "   "})[0] in (400, 422)


def test_reply_retried_with_the_same_request_id_is_stored_once(
    agent_api: Api, aws: dict[str, Any], client_ticket: Any
) -> None:
    """A crash after storing and before enqueueing is repaired by the client's retry."""
    number = client_ticket()
    queue = agent_api.module.desk.queue
    original_send = queue.send
    queue.send = lambda jobs, delay_seconds=0: (_ for _ in ()).throw(RuntimeError("crash"))
    try:
        with pytest.raises(RuntimeError):
            agent_api.call("POST", f"/tickets/{number}/replies", {"text": "Hi", "request_id": "r1"})
    finally:
        queue.send = original_send
    assert queued_jobs(aws) == []

    status, ticket = agent_api.call(
        "POST", f"/tickets/{number}/replies", {"text": "Hi", "request_id": "r1"}
    )
    assert status == 200
    assert ticket["version"] == 2
    messages = agent_api.call("GET", f"/tickets/{number}")[1]["messages"]
    replies = [m for m in messages if m["kind"] == "reply"]
    assert len(replies) == 1
    (job,) = queued_jobs(aws)
    assert SendMessageJob.model_validate(job).message_id == replies[0]["id"]


@pytest.mark.parametrize("raw", [b"{not json", b'{"text": 42}', b"\xff\xfe"])
def test_the_role_is_checked_before_the_body(aws: dict[str, Any], raw: bytes) -> None:
    """A caller without the role learns nothing about the body: 403, not 400 or 422."""
    commander = Api("TicketsFunction", claims("commander", "cmd-1"))
    status, body = commander.call("POST", "/tickets/D0-000001/replies", raw=raw)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    agent = Api("TicketsFunction", claims("agent", "agent-1"))
    status, body = agent.call("POST", "/tickets/D0-000001/call-review", raw=raw)
    assert (status, body["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/tickets", "POST"),
        ("/tickets/D0-000001", "PATCH"),
        ("/tickets/D0-000001/replies", "POST"),
        ("/tickets/D0-000001/close", "POST"),
    ],
)
def test_a_body_that_is_not_utf8_is_400(agent_api: Api, path: str, method: str) -> None:
    status, body = agent_api.call(method, path, raw=b'{"text": "\xff\xfe"}')
    assert (status, body["error"]["code"]) == (400, "malformed_body")
    assert "UTF-8" in body["error"]["message"]
