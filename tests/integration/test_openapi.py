"""The OpenAPI document GET /openapi.json serves: a valid OpenAPI 3.1 document, and true to
the API (real answers of every route, errors included, match what it states)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from helpdesk import limits
from helpdesk.settings import get_settings
from helpdesk.telephony import twilio, zadarma
from tests.integration.conftest import Api, claims
from tests.support import TG_SECRET, load_event, use_messengers, whatsapp_signature


@pytest.fixture
def document(agent_api: Api) -> dict[str, Any]:
    status, served = Api("TicketsFunction", None).call("GET", "/openapi.json")
    assert status == 200
    return dict(served)


def operation_of(document: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented operation a concrete path falls under, and its path template."""
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the document")


def assert_documented(
    document: dict[str, Any], method: str, path: str, status: int, body: Any
) -> None:
    """The status is documented for the operation and the body matches its schema."""
    template, operation = operation_of(document, method, path)
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {template} answered undocumented {status}: {body}"
    content = responses[str(status)].get("content", {})
    media = "application/json" if "application/json" in content else next(iter(content))
    if media != "application/json":
        assert isinstance(body, bytes | str)
        return
    schema = {**content[media]["schema"], "components": document["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{method} {template} {status}: {errors[0].message} in {body}"


class Checked:
    """An Api whose every answer is checked against the served document."""

    def __init__(self, api: Api, document: dict[str, Any]) -> None:
        self.api = api
        self.document = document
        self.seen: set[tuple[str, str, int]] = set()

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        status, answer = self.api.call(method, path, body, **kwargs)
        assert_documented(self.document, method, path, status, answer)
        template, _ = operation_of(self.document, method, path)
        self.seen.add((method, template, status))
        return status, answer


def test_the_served_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_the_document_states_statuses_errors_security_and_limits(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]
    assert set(paths["/tickets"]["post"]["responses"]) == {
        "201", "400", "401", "403", "415", "422"
    }  # fmt: skip
    assert paths["/tickets"]["post"]["responses"]["201"]["content"]["application/json"] == {
        "schema": {"$ref": "#/components/schemas/Ticket"}
    }
    assert "TicketPage" in json.dumps(paths["/tickets"]["get"]["responses"]["200"])
    assert "Conversation" in json.dumps(paths["/tickets/{ticket_id}"]["get"]["responses"]["200"])
    page = document["components"]["schemas"]["TicketPage"]
    assert {"tickets", "next_cursor"} <= set(page["required"])

    staff = {path: item for path, item in paths.items() if path.startswith("/tickets")}
    for path, item in staff.items():
        for method, operation in item.items():
            assert operation["security"] == [{"staffJwt": []}], (method, path)
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
            if method in ("post", "patch"):
                assert {"400", "415", "422"} <= set(operation["responses"]), (method, path)
            if "{ticket_id}" in path:
                assert "404" in operation["responses"], (method, path)
    assert "lead" in paths["/tickets/{ticket_id}/call-review"]["post"]["description"]
    assert document["components"]["securitySchemes"]["staffJwt"]["bearerFormat"] == "JWT"

    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    for item in paths.values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                schema = response["content"].get("application/json", {}).get("schema")
                if status == "401" and "staffJwt" in json.dumps(operation["security"]):
                    # API Gateway's authorizer answers a bad token before the function runs.
                    assert schema["anyOf"][0] == error_body
                elif int(status) >= 400:
                    assert schema == error_body
    error = document["components"]["schemas"]["ErrorDetail"]
    assert error["required"] == ["code", "message"]
    assert "HTTPValidationError" not in document["components"]["schemas"]

    # The limits: body size and depth in words, field limits from the body models.
    text = json.dumps(paths["/tickets"]["post"])
    assert str(limits.MAX_BODY_BYTES) in text and str(limits.MAX_JSON_DEPTH) in text
    create = document["components"]["schemas"]["CreateTicket"]["properties"]
    assert create["text"]["maxLength"] == 4000

    webhooks = {
        ("post", "/webhooks/telegram"): "telegramSecretToken",
        ("post", "/webhooks/whatsapp"): "whatsappSignature",
        ("post", "/webhooks/calls/{provider}"): "twilioSignature",
    }
    for (method, path), scheme in webhooks.items():
        operation = paths[path][method]
        assert {scheme: []} in operation["security"]
        assert {"200", "400", "401"} <= set(operation["responses"])
        assert str(limits.MAX_BODY_BYTES) in operation["requestBody"]["description"]
    assert "403" in paths["/webhooks/whatsapp"]["get"]["responses"]
    assert "404" in paths["/webhooks/calls/{provider}"]["post"]["responses"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["whatsappSignature"]["name"] == "X-Hub-Signature-256"
    assert schemes["telegramSecretToken"]["name"] == "X-Telegram-Bot-Api-Secret-Token"


def test_real_answers_of_the_tickets_api_match_the_document(
    document: dict[str, Any], aws: dict[str, Any], client_ticket: Any
) -> None:
    agent = Checked(Api("TicketsFunction", claims("agent")), document)
    lead = Checked(Api("TicketsFunction", claims("lead", "lead-1")), document)
    number = client_ticket("Login fails")

    status, made = agent.call(
        "POST", "/tickets", {"direction": "d0", "subject": "Walk-in", "text": "Printer jams"}
    )
    assert status == 201
    manual = made["id"]
    assert agent.call("GET", "/tickets", query="limit=1")[0] == 200
    assert agent.call("GET", f"/tickets/{number}")[0] == 200
    assert agent.call("POST", f"/tickets/{number}/replies", {"text": "On it"})[0] == 200
    assert agent.call("POST", f"/tickets/{number}/comments", {"text": "SSO?"})[0] == 200
    assert agent.call("PATCH", f"/tickets/{number}", {"category": "problem"})[0] == 200
    assert agent.call("POST", f"/tickets/{number}/assign", {"assignee": "agent-2"})[0] == 200
    hold = {"task_url": "https://tracker.example/DEV-7"}
    assert agent.call("POST", f"/tickets/{number}/hold", hold)[0] == 200
    assert agent.call("POST", f"/tickets/{number}/resolve", {})[0] == 200
    assert agent.call("POST", f"/tickets/{number}/close", {})[0] == 200
    assert agent.call("POST", f"/tickets/{number}/reopen", {})[0] == 200
    review = {"verdict": "ok"}
    assert lead.call("POST", f"/tickets/{manual}/call-review", review)[0] in (200, 409)

    # Every error the API gives, in the one documented shape.
    assert agent.call("POST", "/tickets", raw=b"{not json")[0] == 400
    assert agent.call("POST", "/tickets", raw=b'{"text": "\xff"}')[0] == 400
    deep = b"[" * (limits.MAX_JSON_DEPTH + 1) + b"]" * (limits.MAX_JSON_DEPTH + 1)
    assert agent.call("PATCH", f"/tickets/{number}", raw=deep)[0] == 400
    assert agent.call("GET", "/tickets", query="cursor=garbage")[0] == 400
    assert Checked(Api("TicketsFunction", {}), document).call("GET", "/tickets")[0] == 401
    finance = Checked(Api("TicketsFunction", claims("finance")), document)
    assert finance.call("GET", "/tickets")[0] == 403
    assert agent.call("POST", f"/tickets/{manual}/call-review", review)[0] == 403
    assert agent.call("GET", "/tickets/D0-999999")[0] == 404
    assert agent.call("POST", "/tickets/D0-999999/close", {})[0] == 404
    attachment = f"/tickets/{number}/messages/20261126T000000000000Z-0abc/attachments/0"
    assert agent.call("GET", attachment)[0] == 404
    assert agent.call("GET", attachment.replace("/0", "/x"))[0] == 422
    assert agent.call("POST", f"/tickets/{number}/replies", {"text": "x", "version": 0})[0] == 409
    assert agent.call("POST", f"/tickets/{manual}/replies", {"text": "x"})[0] == 409
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert agent.call("POST", "/tickets", raw=b"a=b", headers=form)[0] == 415
    assert agent.call("POST", "/tickets", {"direction": "d0"})[0] == 422
    assert agent.call("GET", "/tickets", query="colour=red")[0] == 422
    assert agent.call("GET", "/tickets", query="limit=0")[0] == 422
    assert agent.call("POST", "/tickets", {"direction": "d9", "subject": "s", "text": "t"})[0] == (
        422
    )
    statuses = {status for _, _, status in agent.seen | lead.seen}
    assert statuses >= {200, 201, 400, 403, 404, 409, 415, 422}


def test_real_answers_of_the_webhooks_match_the_document(
    document: dict[str, Any], aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_messengers(monkeypatch)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://helpdesk.example.com")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "twilio-token")
    monkeypatch.setenv("ZADARMA_API_SECRET", "zadarma-secret")
    monkeypatch.setenv("GENERIC_CTI_TOKEN", "cti-token")
    get_settings.cache_clear()
    messenger = Checked(Api("MessengerWebhookFunction", None), document)
    calls = Checked(Api("CallWebhookFunction", None), document)
    secret = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}

    update = json.dumps(load_event("telegram/text_message")).encode()
    assert messenger.call("POST", "/webhooks/telegram", raw=update, headers=secret)[0] == 200
    assert messenger.call("POST", "/webhooks/telegram", raw=b"[]", headers=secret)[0] == 400
    assert messenger.call("POST", "/webhooks/telegram", raw=update)[0] == 401
    raw = json.dumps(load_event("whatsapp/text_message")).encode()
    signed = whatsapp_signature(raw)
    assert messenger.call("POST", "/webhooks/whatsapp", raw=raw, headers=signed)[0] == 200
    assert messenger.call("POST", "/webhooks/whatsapp", raw=raw)[0] == 401
    challenge = "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42"
    assert messenger.call("GET", "/webhooks/whatsapp", query=challenge)[0] == 200
    assert messenger.call("GET", "/webhooks/whatsapp", query="hub.mode=x")[0] == 403

    params = {"CallSid": "CA1", "CallStatus": "ringing", "From": "+79161234567"}
    url = "https://helpdesk.example.com/webhooks/calls/twilio"
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio.signature_for(url, params, "twilio-token"),
    }
    form = urlencode(params).encode()
    assert calls.call("POST", "/webhooks/calls/twilio", raw=form, headers=headers)[0] == 200
    zd = {"event": "NOTIFY_START", "call_start": "2024-05-14 13:15:02", "pbx_call_id": "in_1"}
    zd_headers = {
        "content-type": "application/x-www-form-urlencoded",
        "Signature": zadarma.signature_for(zd, "zadarma-secret") or "",
    }
    zd_form = urlencode(zd).encode()
    assert calls.call("POST", "/webhooks/calls/zadarma", raw=zd_form, headers=zd_headers)[0] == 200
    assert calls.call("POST", "/webhooks/calls/zadarma", raw=zd_form)[0] == 401
    cti = {"Authorization": "Bearer cti-token"}
    assert calls.call("POST", "/webhooks/calls/generic", {"event": "x"}, headers=cti)[0] == 400
    assert calls.call("POST", "/webhooks/calls/other", {}, headers=cti)[0] == 404
    assert calls.call("GET", "/webhooks/calls/zadarma", query="zd_echo=abc") == (200, b"abc")
    assert calls.call("GET", "/webhooks/calls/twilio")[0] == 400
    assert calls.call("GET", "/webhooks/calls/other")[0] == 404
