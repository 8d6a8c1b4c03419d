"""The OpenAPI document the API serves: Powertools' schema of the routes, made true to what
the API answers (status codes, the error body, the bearer scheme, the webhook doors).

Powertools documents the staff routes from their signatures: parameters with their patterns
and request bodies with the limits of `http/bodies.py`. What it cannot know is added here:
the status each route answers (201 for a new ticket), every error in the one shape the
resolver gives it, the typed response bodies of `http/schemas.py`, the JWT scheme and the
roles, the edge limits of `limits.py`, and the provider webhooks, which other functions of
the same HTTP API serve.
"""

from __future__ import annotations

import copy
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from helpdesk import limits
from helpdesk.channels import telegram, whatsapp
from helpdesk.http import schemas
from helpdesk.telephony import PROVIDERS, generic, twilio, zadarma

COMPONENTS = "#/components/schemas/"
ERROR = {"$ref": f"{COMPONENTS}ErrorBody"}
# Powertools' FastAPI-shaped validation error: this API never answers it.
_UNUSED = ("HTTPValidationError", "ValidationError", "ResponseValidationError")

EDGE_LIMITS = (
    f"A body is at most {limits.MAX_BODY_BYTES} bytes and must be UTF-8; JSON nests at most "
    f"{limits.MAX_JSON_DEPTH} levels deep. Anything over these is refused with 400 before it "
    "is read."
)
WEBHOOK_LIMITS = (
    f"{EDGE_LIMITS} Texts longer than {limits.MAX_INBOUND_TEXT} characters are kept cut "
    f"with a marker ('{limits.TRUNCATED.strip()}') and lone surrogates are replaced, not "
    f"refused; ids that become keys are refused (400) over {limits.MAX_ID} bytes in UTF-8 "
    f"(phone numbers and call ids over 128), numbers outside ±{limits.MAX_INTEGER}."
)

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "staffJwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT from the staff identity provider, checked by API Gateway's JWT "
        "authorizer; the roles come from its groups claim (agent, lead, commander, finance).",
    },
    "telegramSecretToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Telegram-Bot-Api-Secret-Token",
        "description": "The secret_token given to setWebhook (TELEGRAM_SECRET_TOKEN), which "
        "Telegram echoes on every update.",
    },
    "whatsappSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hub-Signature-256",
        "description": "`sha256=` and the hex HMAC-SHA256 of the exact body bytes under the "
        "app secret (WHATSAPP_APP_SECRET).",
    },
    "twilioSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "Base64 HMAC-SHA1, under the auth token (TWILIO_AUTH_TOKEN), of the "
        "public URL (PUBLIC_BASE_URL + path + query) followed by every form field's name and "
        "value, names sorted. For provider `twilio`.",
    },
    "zadarmaSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "Signature",
        "description": "Base64 of the hex HMAC-SHA1, under the API secret "
        "(ZADARMA_API_SECRET), of the event's signed fields in Zadarma's order. For provider "
        "`zadarma`; NOTIFY_IVR, SPEECH_RECOGNITION and SMS are acknowledged unsigned.",
    },
    "ctiBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The generic CTI token (GENERIC_CTI_TOKEN). For provider `generic`.",
    },
    "ctiToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CTI-Token",
        "description": "The generic CTI token, bare. For provider `generic`.",
    },
    "githubSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hub-Signature-256",
        "description": "`sha256=` and the hex HMAC-SHA256 of the body under the webhook secret "
        "(GITHUB_WEBHOOK_SECRET). For tracker `github`, with X-GitHub-Delivery as the event id.",
    },
    "gitlabToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Gitlab-Token",
        "description": "The webhook's secret token (GITLAB_WEBHOOK_TOKEN). For tracker `gitlab`.",
    },
    "jiraSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hub-Signature",
        "description": "`sha256=` and the hex HMAC-SHA256 of the body under the admin webhook's "
        "secret (JIRA_WEBHOOK_SECRET). For tracker `jira`.",
    },
    "trackerSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Tracker-Signature",
        "description": "`sha256=` and the hex HMAC-SHA256 of `<X-Tracker-Timestamp>.<body>` "
        "(GENERIC_TRACKER_SECRET); the timestamp within 300 s. For tracker `generic` "
        "(docs/generic-tracker.md).",
    },
}

# What each error status of a staff route means (the codes are the `error.code` values).
_STAFF_ERRORS: dict[int, str] = {
    400: "The body is not JSON (malformed_json), not UTF-8 or over the edge limits "
    "(malformed_body), or a list cursor is not one this API gave (bad_request). " + EDGE_LIMITS,
    401: "No valid JWT. API Gateway's authorizer answers a missing, expired or forged token "
    'itself, as `{"message": "Unauthorized"}`; a token without a subject gets the error body '
    "(unauthorized).",
    403: "The caller lacks the route's role (forbidden).",
    404: "No such ticket or customer (not_found).",
    409: "The ticket changed since `version` was read (version_conflict), its status does "
    "not allow this (invalid_transition), or nothing written can reach the client now "
    "(channel_unavailable).",
    415: "The body is not sent as `content-type: application/json` (unsupported_media_type).",
    422: "A parameter or body field is invalid or unknown, or names something not configured "
    "here (invalid_request, with `problems` naming each field), or the result could not be "
    "stored (unstorable).",
}
_SUCCESS: dict[str, tuple[int, str, str]] = {
    "GET /tickets": (200, "TicketPage", "A page of ticket summaries, newest first by default."),
    "POST /tickets": (201, "Ticket", "The ticket opened."),
    "GET /tickets/{ticket_id}": (200, "Conversation", "The ticket, its messages and history."),
    "GET /tickets/{ticket_id}/messages/{message_id}/attachments/{n}": (
        200,
        "AttachmentLink",
        "A link to the attachment's stored copy, valid 5 minutes.",
    ),
    "GET /callbacks": (200, "CallbackList", "Missed calls waiting for a callback."),
    "GET /customers/{customer_id}": (200, "CustomerView", "The customer and their tickets."),
    "PATCH /customers/{customer_id}": (200, "Customer", "The customer as they are now."),
}
_CHANGED = (200, "Ticket", "The ticket as it is now.")
# Errors of a route beyond what its method and parameters imply.
_ROUTE_ERRORS: dict[str, dict[int, str]] = {
    "GET /tickets/{ticket_id}/messages/{message_id}/attachments/{n}": {
        404: "No such ticket, no such message on it, or no attachment n (not_found).",
        409: "The attachment has no stored copy to hand out: a messenger's file, or a part "
        "kept in the original mail only (not_downloadable).",
        422: "n is not a whole number from 0, or message_id is malformed (invalid_request).",
    },
}


def document(app: APIGatewayHttpResolver, title: str) -> dict[str, Any]:
    schema = app.get_openapi_schema(
        title=title,
        version="1.0.0",
        description="The helpdesk's JSON API for staff and the webhooks providers call. "
        'Every error answers `{"error": {"code": ..., "message": ...}}`. ' + EDGE_LIMITS,
    )
    doc: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    components = doc.setdefault("components", {})
    found = components.setdefault("schemas", {})
    for name in _UNUSED:
        found.pop(name, None)
    found.update(_definitions(schemas.RESPONSE_MODELS, "serialization"))
    found.update(_webhook_definitions())
    found["GatewayError"] = GATEWAY_ERROR
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            _staff_operation(app, f"{method.upper()} {path}", operation)
    doc.setdefault("paths", {}).update(_webhook_paths())
    return doc


def _definitions(
    models: tuple[type[BaseModel], ...], mode: str, prefix: str = ""
) -> dict[str, Any]:
    """Component schemas of pydantic models, `prefix` keeping providers' names apart."""
    _, top = models_json_schema(
        [(model, mode) for model in models],  # type: ignore[misc]
        ref_template=f"{COMPONENTS}{prefix}{{model}}",
    )
    return {f"{prefix}{name}": body for name, body in top.get("$defs", {}).items()}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"{COMPONENTS}{name}"}


def _errors(statuses: dict[int, str]) -> dict[str, Any]:
    return {
        str(status): {"description": description, "content": _json(ERROR)}
        for status, description in statuses.items()
    }


# API Gateway's own answer when its JWT authorizer refuses a request (the function never runs).
GATEWAY_401 = {"anyOf": [ERROR, {"$ref": f"{COMPONENTS}GatewayError"}]}
GATEWAY_ERROR = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
    "description": "API Gateway's own error body (its JWT authorizer's 401).",
}


def _staff_operation(
    app: APIGatewayHttpResolver, route_key: str, operation: dict[str, Any]
) -> None:
    method, path = route_key.split(" ", 1)
    roles = app.roles_for(route_key) if hasattr(app, "roles_for") else ()
    has_body = "requestBody" in operation
    status, model, description = _SUCCESS.get(route_key, _CHANGED)
    errors: dict[int, str] = {}
    if has_body or route_key == "GET /tickets":
        errors[400] = _STAFF_ERRORS[400]
    if roles:
        errors[401] = _STAFF_ERRORS[401]
        errors[403] = _STAFF_ERRORS[403]
        operation["security"] = [{"staffJwt": []}]
        operation["description"] = f"Roles: {', '.join(roles)}."
    if "{ticket_id}" in path or "{customer_id}" in path:
        errors[404] = _STAFF_ERRORS[404]
        if method != "GET":
            errors[409] = _STAFF_ERRORS[409]
    errors.update(_ROUTE_ERRORS.get(route_key, {}))
    if has_body:
        errors[415] = _STAFF_ERRORS[415]
        operation["requestBody"]["description"] = f"JSON. {EDGE_LIMITS}"
    if has_body or any(param["in"] == "query" for param in operation.get("parameters", [])):
        errors[422] = _STAFF_ERRORS[422]
    operation["responses"] = {
        str(status): {"description": description, "content": _json(_ref(model))},
        **_errors(errors),
    }
    if roles:
        operation["responses"]["401"]["content"] = _json(GATEWAY_401)


# ---- the provider webhooks (served by the messenger and call webhook functions) ----------

# Fields of Twilio's voice status and recording status callbacks that the adapter reads
# (telephony/twilio.py); Twilio sends more, all strings, all signed.
_TWILIO_FIELDS = (
    "AccountSid",
    "CallSid",
    "CallStatus",
    "Direction",
    "From",
    "To",
    "Timestamp",
    "SequenceNumber",
    "CallDuration",
    "CallbackSource",
    "RecordingSid",
    "RecordingStatus",
    "RecordingUrl",
    "RecordingDuration",
)
# Fields of Zadarma's NOTIFY_* notifications (telephony/zadarma.py).
_ZADARMA_FIELDS = (
    "event",
    "call_start",
    "pbx_call_id",
    "caller_id",
    "called_did",
    "internal",
    "destination",
    "duration",
    "disposition",
    "status_code",
    "is_recorded",
    "call_id_with_rec",
)


def _form(
    title: str,
    fields: tuple[str, ...],
    required: list[str],
    about: str,
    enums: dict[str, list[str]],
) -> dict[str, Any]:
    properties: dict[str, Any] = {name: {"type": "string"} for name in fields}
    for name, values in enums.items():
        properties[name]["enum"] = values
    return {
        "title": title,
        "description": about,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": {"type": "string"},
    }


def _webhook_definitions() -> dict[str, Any]:
    found = {
        **_definitions((telegram.Update,), "validation", "Telegram"),
        **_definitions((whatsapp.Notification, whatsapp.Value), "validation", "WhatsApp"),
        **_definitions((generic.GenericCallEvent,), "validation"),
    }
    # A change's value is read as a messages value when its field is "messages".
    change = found["WhatsAppChange"]["properties"]
    change["value"] = {
        **_ref("WhatsAppValue"),
        "description": "The messages value (field 'messages'); other fields are acknowledged "
        "and ignored.",
    }
    found["TwilioCallback"] = _form(
        "TwilioCallback",
        _TWILIO_FIELDS,
        ["CallSid"],
        "A voice status callback (CallStatus) or a recording status callback "
        "(RecordingStatus, RecordingSid).",
        {
            "CallStatus": sorted(twilio._KIND_BY_STATUS),
            "RecordingStatus": sorted(twilio._RECORDING_STATUSES),
        },
    )
    found["ZadarmaNotification"] = _form(
        "ZadarmaNotification",
        _ZADARMA_FIELDS,
        ["event"],
        "A PBX notification: NOTIFY_START, NOTIFY_INTERNAL, NOTIFY_ANSWER, NOTIFY_END, "
        "NOTIFY_OUT_START, NOTIFY_OUT_END, NOTIFY_RECORD (call_start 'YYYY-MM-DD HH:MM:SS'); "
        "NOTIFY_IVR, SPEECH_RECOGNITION and SMS are acknowledged and ignored.",
        {"event": sorted(zadarma._SIGNED_FIELDS) + sorted(zadarma._IGNORED_EVENTS)},
    )
    found["WebhookAck"] = {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean", "const": True},
            "handled": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["ok", "handled"],
        "description": "What was done with each event: created, updated, duplicate, rated, "
        "status, ignored...",
    }
    found["TelegramMethodCall"] = {
        "type": "object",
        "properties": {
            "method": {"type": "string", "const": "answerCallbackQuery"},
            "callback_query_id": {"type": "string"},
            "text": {"type": "string", "maxLength": 200},
        },
        "required": ["method", "callback_query_id"],
        "description": "A Bot API call Telegram carries out itself (the answer to a button press).",
    }
    found["TrackerAck"] = {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean", "const": True},
            "task": {"type": "string", "description": "The task's key (github:owner/repo#1)."},
            "tickets": {
                "type": "object",
                "additionalProperties": {
                    "type": "string",
                    "enum": ["resolved", "returned", "noted", "unchanged", "missing"],
                },
            },
            "ignored": {"type": "string", "description": "Why nothing was done."},
        },
        "required": ["ok"],
    }
    found["CallAck"] = {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean", "const": True},
            "handled": {"type": "string"},
            "ticket": {"type": ["string", "null"]},
        },
        "required": ["ok", "handled"],
    }
    return found


TRACKERS = ["jira", "github", "gitlab", "generic"]  # helpdesk.trackers.PROVIDERS (a test holds it)


def _webhook_paths() -> dict[str, Any]:
    def signed(
        security: list[dict[str, list[str]]],
        summary: str,
        content: dict[str, Any],
        ok: dict[str, Any],
        errors: dict[int, str],
        parameters: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "tags": ["webhooks"],
            "summary": summary,
            "security": security,
            "requestBody": {"required": True, "description": WEBHOOK_LIMITS, "content": content},
            "responses": {
                "200": {"description": "Accepted (duplicates too).", "content": _json(ok)},
                **_errors(errors),
            },
        }
        if parameters:
            operation["parameters"] = parameters
        return operation

    def check(
        summary: str, parameters: list[dict[str, Any]], errors: dict[int, str]
    ) -> dict[str, Any]:
        return {
            "tags": ["webhooks"],
            "summary": summary,
            "security": [],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "The echoed value.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **_errors(errors),
            },
        }

    def query(name: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}

    bad = "The body is not what the provider sends, or over the edge limits (bad_request)."
    unsigned = "The signature or token is missing or wrong (unauthorized)."
    provider = {
        "name": "provider",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(PROVIDERS)},
    }
    unknown = "No such telephony provider (not_found)."
    return {
        "/webhooks/telegram": {
            "post": signed(
                [{"telegramSecretToken": []}],
                "An update from the Telegram Bot API",
                _json(_ref("TelegramUpdate")),
                {"anyOf": [_ref("WebhookAck"), _ref("TelegramMethodCall")]},
                {400: bad, 401: unsigned},
            )
        },
        "/webhooks/whatsapp": {
            "get": check(
                "Meta's subscription check: answers hub.challenge",
                [query("hub.mode"), query("hub.verify_token"), query("hub.challenge")],
                {403: "hub.mode is not 'subscribe' or hub.verify_token is wrong (forbidden)."},
            ),
            "post": signed(
                [{"whatsappSignature": []}],
                "A WhatsApp Cloud API notification (messages and statuses)",
                _json(_ref("WhatsAppNotification")),
                _ref("WebhookAck"),
                {400: bad, 401: unsigned},
            ),
        },
        "/webhooks/calls/{provider}": {
            "get": check(
                "Zadarma's URL check: answers zd_echo",
                [copy.deepcopy(provider), query("zd_echo")],
                {400: "Only Zadarma's zd_echo check is answered (bad_request).", 404: unknown},
            ),
            "post": signed(
                [
                    {"twilioSignature": []},
                    {"zadarmaSignature": []},
                    {"ctiBearer": []},
                    {"ctiToken": []},
                ],
                "A call notification: Twilio or Zadarma as a form, the generic CTI as JSON",
                {
                    "application/x-www-form-urlencoded": {
                        "schema": {"anyOf": [_ref("TwilioCallback"), _ref("ZadarmaNotification")]}
                    },
                    **_json(_ref("GenericCallEvent")),
                },
                _ref("CallAck"),
                {400: bad, 401: unsigned, 404: unknown},
                [provider],
            ),
        },
        "/webhooks/tracker/{provider}": {
            "post": signed(
                [
                    {"githubSignature": []},
                    {"gitlabToken": []},
                    {"jiraSignature": []},
                    {"trackerSignature": []},
                ],
                "An issue tracker's task resolved or reopened (Jira, GitHub, GitLab, generic)",
                _json({"type": "object"}),
                _ref("TrackerAck"),
                {400: bad, 401: unsigned, 404: "No such tracker (not_found)."},
                [{**copy.deepcopy(provider), "schema": {"type": "string", "enum": TRACKERS}}],
            ),
        },
    }
