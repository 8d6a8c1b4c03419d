"""Schemathesis against the served OpenAPI document, in-process, on moto.

Each generated request goes through a `requests` transport adapter that turns it into the
API Gateway HTTP API event of the route in template.yaml and calls that function's
`lambda_handler`, as `tests/integration/conftest.py::Api` does: the tickets API and the
webhooks (the valid requests are signed for real, so that their bodies are read, not
refused at the signature). API Gateway's JWT authorizer is played: no
Authorization header, its own 401; with one, an agent's claims.

Checked on every answer: never a 5xx, the status, content type and body are the document's,
and a 4xx stores nothing (a table scan before and after each call).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import traceback
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import requests
import schemathesis
import urllib3
from hypothesis import HealthCheck, given, settings
from moto.dynamodb.models import dynamodb_backends
from schemathesis import checks

from helpdesk.settings import get_settings
from helpdesk.telephony import twilio, zadarma
from infra.lambda_runtime import (
    ACCOUNT,
    REGION,
    FunctionRoutes,
    LambdaContext,
    http_event,
    load_function,
    response_parts,
)
from infra.template import functions
from tests.integration.conftest import Api, claims
from tests.support import TG_SECRET, WA_SECRET, load_event, use_messengers

BASE = "http://helpdesk.test"
PUBLIC = "https://helpdesk.example.com"
TWILIO_TOKEN = "twilio-token-for-fuzz"
ZADARMA_SECRET = "zadarma-secret-for-fuzz"
CTI_TOKEN = "cti-token-for-fuzz"
SIGNATURE_HEADERS = (
    "x-telegram-bot-api-secret-token",
    "x-hub-signature-256",
    "x-twilio-signature",
    "signature",
    "x-cti-token",
    "authorization",  # the generic CTI's bearer token
)
SIGN = "x-fuzz-sign"  # set on valid cases: the adapter signs them as the provider would
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
TALLY: Counter[str] = Counter()


class LambdaAdapter(requests.adapters.BaseAdapter):
    """requests -> API Gateway HTTP API event -> the route's function, in-process."""

    def __init__(self, agent: dict[str, Any]) -> None:
        super().__init__()
        self.agent = agent
        self.routes = [(route, spec) for spec in functions().values() for route in spec.routes]

    def send(  # type: ignore[override]  # requests passes its options as keywords
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        method = request.method or "GET"
        body = request.body or b""
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        headers = {name.lower(): value for name, value in request.headers.items()}
        for route, spec in self.routes:  # noqa: B007  (the loop's match is used below)
            found = route.match(method, url.path)
            if found is not None:
                break
        else:
            return self._response(request, 404, {"message": "Not Found"})
        parameters = {name: unquote(value) for name, value in found.items()}
        if route.authorized and "authorization" not in headers:
            return self._response(request, 401, {"message": "Unauthorized"})  # the authorizer
        headers = self._signed(url.path, parameters, url.query, raw, headers)
        event = http_event(
            route, unquote(url.path), parameters, headers, url.query, raw,
            self.agent if route.authorized else None,
        )  # fmt: skip
        module = load_function(spec)
        try:
            result = module.lambda_handler(event, LambdaContext(spec.logical_id))
        except Exception:  # what Lambda answers (through API Gateway) for an unhandled error
            TALLY["5xx"] += 1
            return self._response(request, 500, {"traceback": traceback.format_exc()})
        status, answer_headers, data = response_parts(result)
        return self._response(request, status, data, answer_headers)

    def _signed(
        self, path: str, parameters: dict[str, str], query: str, raw: bytes, headers: dict[str, str]
    ) -> dict[str, str]:
        """A webhook request marked for it is signed for real, over the body it carries."""
        if not path.startswith("/webhooks/") or not headers.pop(SIGN, None):
            return headers
        for name in SIGNATURE_HEADERS:
            headers.pop(name, None)
        provider = parameters.get("provider")
        if path == "/webhooks/telegram":
            headers["x-telegram-bot-api-secret-token"] = TG_SECRET
        elif path == "/webhooks/whatsapp":
            digest = hmac.new(WA_SECRET.encode(), raw, hashlib.sha256).hexdigest()
            headers["x-hub-signature-256"] = f"sha256={digest}"
        elif provider in ("twilio", "zadarma"):
            try:
                form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                return headers
            if provider == "twilio":
                url = f"{PUBLIC}{path}" + (f"?{query}" if query else "")
                headers["x-twilio-signature"] = twilio.signature_for(url, form, TWILIO_TOKEN)
            else:
                headers["signature"] = zadarma.signature_for(form, ZADARMA_SECRET) or ""
        else:
            headers["x-cti-token"] = CTI_TOKEN
        return headers

    def _response(
        self,
        request: requests.PreparedRequest,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = headers or {"content-type": "application/json"}
        response = requests.Response()
        response.status_code = status
        response._content = content
        response.headers.update(headers)
        # Schemathesis reads headers off the raw urllib3 response, as a real transport has it.
        response.raw = urllib3.HTTPResponse(
            body=io.BytesIO(content), headers=headers, status=status, version=11,
            preload_content=False,
        )  # fmt: skip
        response.url = request.url or ""
        response.request = request
        response.reason = "OK" if status < 400 else "Error"
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def served_schema() -> Any:
    status, document = Api("TicketsFunction", None).call("GET", "/openapi.json")
    assert status == 200
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=BASE)
    return schema


@pytest.fixture
def world(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Secrets for every door, a few tickets to aim at, and the session that calls in."""
    use_messengers(monkeypatch)
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("ZADARMA_API_SECRET", ZADARMA_SECRET)
    monkeypatch.setenv("GENERIC_CTI_TOKEN", CTI_TOKEN)
    get_settings.cache_clear()
    agent = claims("agent", "agent-1")
    tickets = Api("TicketsFunction", agent)
    made = [
        tickets.call("POST", "/tickets", {"direction": "d0", "subject": "s", "text": "t"})[1]["id"]
        for _ in range(2)
    ]
    webhook = FunctionRoutes(functions()["MessengerWebhookFunction"])
    update = json.dumps(load_event("telegram/text_message")).encode()
    secret = {"x-telegram-bot-api-secret-token": TG_SECRET}
    assert webhook.request("POST", "/webhooks/telegram", update, secret)[0] == 200
    made.append("D0-000003")
    session = requests.Session()
    session.mount(BASE, LambdaAdapter(agent))
    yield {"aws": aws, "session": session, "tickets": made, "calls": 0}


def stored() -> list[str]:
    """Every item of the table, off moto's backend (a Scan through boto costs 50 ms here)."""
    table = dynamodb_backends[ACCOUNT][REGION].get_table(get_settings().table_name)
    return sorted(json.dumps(item.to_json(), sort_keys=True) for item in table.all_items())


POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
EXAMPLES = 25  # per operation and mode
# Drawing a WhatsApp notification from its schema costs about a second (deep arrays of
# objects); its hostile bodies are covered by test_fuzz_webhooks.py.
FEWER = {("POST /webhooks/whatsapp", POSITIVE): 4, ("POST /webhooks/whatsapp", NEGATIVE): 2}


def test_the_api_as_its_document_says(world: dict[str, Any]) -> None:
    """Every operation of the served document, positive and negative data."""
    schema = served_schema()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    problems: list[str] = []
    for operation in operations:
        for mode in (POSITIVE, NEGATIVE):
            try:
                run(operation, mode, world)
            except Exception as problem:
                problems.append(f"{operation.label} ({mode.value}): {str(problem)[:2000]}")
    print(f"\nschemathesis: {dict(TALLY)}")
    assert not problems, "\n\n".join(problems)


def run(operation: Any, mode: Any, world: dict[str, Any]) -> None:
    @settings(
        max_examples=FEWER.get((operation.label, mode), EXAMPLES),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        call_once(case, world, aim=mode == POSITIVE)

    one()


def call_once(case: Any, world: dict[str, Any], aim: bool) -> None:
    """One case; half the valid ones aimed past the first refusals (an unknown ticket or
    direction, a stale version), so that the routes' real work is reached too."""
    if aim:
        case.headers = {**(case.headers or {}), SIGN: "1"}
    if aim and world["calls"] % 2 == 0:
        if "ticket_id" in (case.path_parameters or {}):
            tickets = world["tickets"]
            case.path_parameters["ticket_id"] = tickets[world["calls"] // 2 % len(tickets)]
        if isinstance(case.body, dict):
            case.body.pop("version", None)
            if "direction" in case.body:
                case.body["direction"] = "d0"
    world["calls"] += 1
    before = stored()
    response = case.call(session=world["session"], base_url=BASE)
    TALLY["cases"] += 1
    TALLY[f"{response.status_code // 100}xx"] += 1
    assert response.status_code < 500, response.text[:3000]
    case.validate_response(response, checks=CHECKS)
    if 400 <= response.status_code < 500:
        assert stored() == before, f"{response.status_code} stored: {response.text}"
