"""Listing tickets: limits honoured with any filter, creation order across statuses, the
filters an agent expects, and unknown parameters refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Api


def create(api: Api, **overrides: Any) -> str:
    body = {"direction": "d0", "subject": "s", "text": "t", **overrides}
    status, ticket = api.call("POST", "/tickets", body)
    assert status == 201, ticket
    return str(ticket["id"])


def ids(api: Api, query: str) -> list[str]:
    status, page = api.call("GET", "/tickets", query=query)
    assert status == 200, page
    return [t["id"] for t in page["tickets"]]


def walk(api: Api, query: str) -> list[list[str]]:
    """Every page of a query, following next_cursor."""
    pages, cursor = [], None
    while True:
        status, page = api.call(
            "GET", "/tickets", query=query + (f"&cursor={cursor}" if cursor else "")
        )
        assert status == 200, page
        pages.append([t["id"] for t in page["tickets"]])
        cursor = page["next_cursor"]
        if not cursor:
            return pages


@pytest.fixture
def mixed(agent_api: Api) -> list[str]:
    """Six tickets in creation order, in four statuses, two unassigned."""
    made = [create(agent_api) for _ in range(6)]
    agent_api.call("POST", f"/tickets/{made[1]}/close", {})
    agent_api.call("POST", f"/tickets/{made[2]}/resolve", {})
    agent_api.call("POST", f"/tickets/{made[3]}/hold", {"task_url": "https://t.example/1"})
    agent_api.call("POST", f"/tickets/{made[4]}/assign", {"assignee": "agent-9"})
    agent_api.call("POST", f"/tickets/{made[5]}/assign", {"assignee": "agent-1"})
    return made


def test_limit_is_honoured_with_a_filter_and_no_cursor_to_an_empty_page(
    agent_api: Api, mixed: list[str]
) -> None:
    pages = walk(agent_api, "limit=1&assignee=none")
    assert all(len(page) == 1 for page in pages)
    assert [page[0] for page in pages] == [mixed[3], mixed[2], mixed[1], mixed[0]]


@pytest.mark.parametrize("scope", ["", "direction=d0&", "assignee=none&"])
def test_order_is_creation_order_across_statuses(
    agent_api: Api, mixed: list[str], scope: str
) -> None:
    expected = mixed if scope != "assignee=none&" else mixed[:4]
    newest_first = [i for page in walk(agent_api, f"{scope}limit=2") for i in page]
    assert newest_first == list(reversed(expected))
    oldest_first = [i for page in walk(agent_api, f"{scope}limit=2&order=asc") for i in page]
    assert oldest_first == expected


def test_the_filters_an_agent_expects(agent_api: Api, mixed: list[str], client_ticket: Any) -> None:
    from_telegram = client_ticket("Hello")
    assert ids(agent_api, "channel=telegram") == [from_telegram]
    assert set(ids(agent_api, "channel=manual")) == set(mixed)
    assert ids(agent_api, "assignee=me") == [mixed[5]]  # agent-1 is the caller
    assert ids(agent_api, "assignee=agent-9") == [mixed[4]]
    status, page = agent_api.call(
        "GET", "/tickets", query=f"customer={page_customer(agent_api, from_telegram)}"
    )
    assert status == 200 and [t["id"] for t in page["tickets"]] == [from_telegram]


def page_customer(api: Api, ticket_id: str) -> str:
    return str(api.call("GET", f"/tickets/{ticket_id}")[1]["ticket"]["customer_id"])


@pytest.mark.parametrize("query", ["channel=fax", "flag=lost", "assignee=" + "x" * 200])
def test_bad_filter_values_are_422(agent_api: Api, query: str) -> None:
    status, body = agent_api.call("GET", "/tickets", query=query)
    assert status == 422, body
    assert body["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("query", ["colour=red", "Status=new", "limit=1&sort_by=age"])
def test_unknown_query_parameters_are_422_naming_them(agent_api: Api, query: str) -> None:
    status, body = agent_api.call("GET", "/tickets", query=query)
    assert status == 422
    unknown = query.split("&")[-1].split("=")[0]
    assert unknown in body["error"]["message"]
    assert "status" in body["error"]["allowed"]


def test_summaries_show_who_the_client_is(agent_api: Api, client_ticket: Any) -> None:
    number = client_ticket("Здравствуйте")
    (summary,) = agent_api.call("GET", "/tickets", query="channel=telegram")[1]["tickets"]
    assert summary["id"] == number
    assert summary["customer_name"] == "Анна Смирнова"
    assert summary["customer_address"] == "@anna_smirnova"
    walk_in = create(agent_api, customer_name="Иван", customer_phone="8 (916) 123-45-67")
    ticket = agent_api.call("GET", f"/tickets/{walk_in}")[1]["ticket"]
    assert (ticket["customer_name"], ticket["customer_address"]) == ("Иван", "+79161234567")


def test_responses_keep_cyrillic_as_is_and_times_in_one_format(
    agent_api: Api, client_ticket: Any
) -> None:
    number = client_ticket("Не могу войти")
    status, _, raw = agent_api.request("GET", f"/tickets/{number}")
    assert status == 200
    assert "Не могу войти".encode() in raw and b"\\u04" not in raw
    view = agent_api.call("GET", f"/tickets/{number}")[1]
    times = [view["ticket"]["created_at"], view["ticket"]["updated_at"]]
    times += [m["at"] for m in view["messages"]] + [h["at"] for h in view["history"]]
    assert all(t.endswith("Z") and len(t) == 24 for t in times), times


def test_a_hand_opened_ticket_is_not_pretended_to_reach_anyone(agent_api: Api) -> None:
    number = create(agent_api)
    status, body = agent_api.call("POST", f"/tickets/{number}/replies", {"text": "Hi"})
    assert status == 409
    assert body["error"]["code"] == "channel_unavailable"
    assert agent_api.call("GET", f"/tickets/{number}")[1]["ticket"]["channel"] == "manual"


def test_a_direction_that_is_not_configured_is_422(agent_api: Api) -> None:
    status, body = agent_api.call(
        "POST", "/tickets", {"direction": "d9", "subject": "s", "text": "t"}
    )
    assert status == 422
    assert "d9" in body["error"]["message"]
    assert body["error"]["directions"] == ["d0", "d1"]
    status, body = agent_api.call("GET", "/tickets", query="direction=d9")
    assert (status, body["error"]["field"]) == (422, "direction")
