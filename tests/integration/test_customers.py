"""Customers: agents see who a client is across channels; leads change groups and names,
every change in history; the client's open tickets follow."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Api, claims


def test_a_customer_with_identities_tickets_and_history(
    agent_api: Api, lead_api: Api, client_ticket: Any
) -> None:
    number = client_ticket("Не могу войти")
    customer_id = agent_api.call("GET", f"/tickets/{number}")[1]["ticket"]["customer_id"]
    status, view = agent_api.call("GET", f"/customers/{customer_id}")
    assert status == 200
    assert view["customer"]["name"] == "Анна Смирнова"
    assert view["customer"]["identities"] == [f"telegram:{number_chat(agent_api, number)}"]
    assert [t["id"] for t in view["tickets"]] == [number]
    assert view["history"] == []

    status, changed = lead_api.call(
        "PATCH", f"/customers/{customer_id}", {"groups": ["our_clients"], "name": "Анна С."}
    )
    assert status == 200, changed
    assert (changed["groups"], changed["name"], changed["version"]) == (
        ["our_clients"],
        "Анна С.",
        1,
    )
    view = agent_api.call("GET", f"/customers/{customer_id}")[1]
    (entry,) = view["history"]
    assert (entry["actor"], entry["changes"]["groups"]) == ("lead-1", [[], ["our_clients"]])
    ticket = agent_api.call("GET", f"/tickets/{number}")
    assert ticket[1]["ticket"]["our_client"] is True
    assert ticket[1]["ticket"]["customer_name"] == "Анна С."
    notes = [e["note"] for e in ticket[1]["history"] if e["action"] == "sla"]
    assert notes == ["SLA targets re-applied: the client joined 'our clients'"]


def number_chat(api: Api, number: str) -> str:
    return str(api.call("GET", f"/tickets/{number}")[1]["ticket"]["recipient_id"])


def test_only_a_lead_changes_a_customer(agent_api: Api, client_ticket: Any, aws: Any) -> None:
    number = client_ticket()
    customer_id = agent_api.call("GET", f"/tickets/{number}")[1]["ticket"]["customer_id"]
    status, body = agent_api.call("PATCH", f"/customers/{customer_id}", {"groups": ["our_clients"]})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    finance = Api("TicketsFunction", claims("finance", "fin-1"))
    assert finance.call("GET", f"/customers/{customer_id}")[0] == 403
    assert agent_api.call("GET", f"/customers/{customer_id}")[1]["customer"]["groups"] == []


def test_unknown_customer_and_bad_changes(lead_api: Api, client_ticket: Any) -> None:
    assert lead_api.call("GET", "/customers/nobody")[0] == 404
    assert lead_api.call("PATCH", "/customers/nobody", {"name": "x"})[0] == 404
    number = client_ticket()
    customer_id = lead_api.call("GET", f"/tickets/{number}")[1]["ticket"]["customer_id"]
    path = f"/customers/{customer_id}"
    assert lead_api.call("PATCH", path, {})[0] == 400
    assert lead_api.call("PATCH", path, {"groups": ["Our Clients!"]})[0] == 422
    assert lead_api.call("PATCH", path, {"name": "x", "version": 7})[0] == 409


def test_difficulty_is_set_beside_topic_and_category(agent_api: Api) -> None:
    _, ticket = agent_api.call("POST", "/tickets", {"direction": "d0", "subject": "s", "text": "t"})
    status, changed = agent_api.call("PATCH", f"/tickets/{ticket['id']}", {"difficulty": 3})
    assert (status, changed["difficulty"]) == (200, 3)
    assert agent_api.call("PATCH", f"/tickets/{ticket['id']}", {"difficulty": 4})[0] == 422
