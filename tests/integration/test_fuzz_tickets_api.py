"""Hostile requests to the tickets API, on moto: a 4xx naming the problem, never a 5xx, and a
4xx stores nothing (the cases the probe found, and their neighbours)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.dynamodb.models import dynamodb_backends

from helpdesk import limits
from helpdesk.settings import get_settings
from infra.lambda_runtime import ACCOUNT, REGION
from tests.integration.conftest import Api, claims

BODY_ROUTES = [
    ("POST", "/tickets"),
    ("PATCH", "/tickets/{id}"),
    ("POST", "/tickets/{id}/replies"),
    ("POST", "/tickets/{id}/comments"),
    ("POST", "/tickets/{id}/assign"),
    ("POST", "/tickets/{id}/hold"),
    ("POST", "/tickets/{id}/resolve"),
    ("POST", "/tickets/{id}/close"),
    ("POST", "/tickets/{id}/reopen"),
    ("POST", "/tickets/{id}/call-review"),
]


def stored() -> list[str]:
    table = dynamodb_backends[ACCOUNT][REGION].get_table(get_settings().table_name)
    return sorted(json.dumps(item.to_json(), sort_keys=True) for item in table.all_items())


@pytest.fixture
def lead(aws: dict[str, Any]) -> Any:
    """A lead (every route is open to one) whose 4xx answers are checked to store nothing."""
    api = Api("TicketsFunction", claims("lead", "lead-1"))
    status, ticket = api.call("POST", "/tickets", {"direction": "d0", "subject": "s", "text": "t"})
    assert status == 201

    def call(method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        before = stored()
        status, body = api.call(method, path.replace("{id}", ticket["id"]), **kwargs)
        assert status < 500, body
        if status >= 400:
            assert body["error"]["code"] and body["error"]["message"], body
            assert stored() == before, f"{method} {path} answered {status} and stored"
        return status, body

    return call


# One moto account per test, the cases in a loop: each call checks its own before and after.


def test_a_body_that_is_not_utf8_is_400_on_every_route(lead: Any) -> None:
    for method, path in BODY_ROUTES:
        status, body = lead(method, path, raw=b'{"text": "caf\xe9"}')
        assert (status, body["error"]["code"]) == (400, "malformed_body"), (method, path)


def test_json_nested_1000_levels_is_400_on_every_route(lead: Any) -> None:
    raw = b'{"text":' * 1000 + b'"x"' + b"}" * 1000
    for method, path in BODY_ROUTES:
        status, body = lead(method, path, raw=raw)
        assert (status, body["error"]["code"]) == (400, "malformed_body"), (method, path)
        assert str(limits.MAX_JSON_DEPTH) in body["error"]["message"]


LONG = "a" * 2100  # over DynamoDB's 2,048-byte partition key
HOSTILE_BODIES: list[tuple[str, str, Any]] = [
    ("POST", "/tickets/{id}/assign", {"assignee": LONG}),
    ("POST", "/tickets/{id}/assign", {"assignee": "agent-\ud800"}),
    ("POST", "/tickets", {"direction": "d0", "subject": "s", "text": "я" * 250_000}),
    ("POST", "/tickets", {"direction": "d0", "subject": "s", "text": "t\ud800"}),
    ("POST", "/tickets", {"direction": LONG, "subject": "s", "text": "t"}),
    ("POST", "/tickets", {"direction": "d0", "subject": "s", "text": "t", "": 1}),
    ("POST", "/tickets/{id}/replies", {"text": "hi", "version": 10**40}),
    ("POST", "/tickets/{id}/replies", {"text": "hi", "version": 1.5}),
    ("POST", "/tickets/{id}/replies", {"text": "hi", "request_id": LONG}),
    ("PATCH", "/tickets/{id}", {"topic": LONG}),
    ("POST", "/tickets/{id}/hold", {"task_url": "https://x.example/" + LONG * 5}),
    ("POST", "/tickets/{id}/call-review", {"verdict": "ok", "note": "n" * 500_000}),
    ("POST", "/tickets/{id}/comments", []),
    ("POST", "/tickets/{id}/comments", "text"),
    ("POST", "/tickets/{id}/comments", None),
]


def test_hostile_bodies_are_refused_with_4xx(lead: Any) -> None:
    for method, path, body in HOSTILE_BODIES:
        raw = json.dumps(body).encode()  # lone surrogates travel as JSON escapes
        status, answer = lead(method, path, raw=raw)
        assert 400 <= status < 500, (method, path, str(body)[:100], answer)


def test_ticket_numbers_no_ticket_has_are_404(lead: Any) -> None:
    for path in [
        "/tickets/" + "D" * 2100,
        "/tickets/" + "я" * 600,
        "/tickets/%ED%A0%80",
        "/tickets/" + "D" * 2100 + "/close",
        "/tickets/" + "D" * 2100 + "/replies",
    ]:
        method = "GET" if path.count("/") == 2 else "POST"
        body = {"text": "hi"} if path.endswith("replies") else {}
        status, answer = lead(method, path, body=body)
        assert status == 404, (path[:40], answer)


def test_hostile_list_queries_are_refused_or_answered(lead: Any) -> None:
    for query in [
        "customer=" + LONG,
        "assignee=" + LONG,
        "cursor=" + LONG,
        "cursor=" + "A" * 2000,
        "limit=" + "9" * 40,
        "direction=%ED%A0%80",
        "status=open&status=closed",
    ]:
        status, answer = lead("GET", "/tickets", query=query)
        assert status in (200, 400, 422), (query[:40], answer)
