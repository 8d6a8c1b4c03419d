"""The edge of the JSON APIs: who is calling, request bodies, and errors as HTTP.

Every handler's resolver goes through `make_resolver`, so errors map to HTTP in one place.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from helpdesk.errors import Forbidden, HelpdeskError, Unauthorized
from helpdesk.models import Actor, Category, Priority
from helpdesk.settings import get_settings

STAFF_ROLES = ("agent", "lead")


def json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, ensure_ascii=False, default=str),
    )


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


class JsonApiResolver(APIGatewayHttpResolver):
    """The staff API speaks JSON only: say so clearly instead of parsing a form."""

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        headers = event.get("headers") or {}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
        if method in ("POST", "PATCH", "PUT"):
            if content_type and content_type != "application/json":
                body = error_body(
                    "unsupported_media_type",
                    f"send JSON with 'content-type: application/json', not {content_type!r} "
                    "(curl -d sends a form unless you add -H 'content-type: application/json')",
                )
                return {
                    "statusCode": 415,
                    "headers": {"Content-Type": "application/json"},
                    "body": json.dumps(body),
                    "isBase64Encoded": False,
                }
            if not event.get("body"):
                event = {**event, "body": "{}"}  # an action without options: POST .../close
        return super().resolve(event, context)


def make_resolver(title: str, json_only: bool = False) -> APIGatewayHttpResolver:
    """A resolver with validation, OpenAPI, and the one mapping of errors to HTTP."""
    app = (JsonApiResolver if json_only else APIGatewayHttpResolver)(enable_validation=True)

    @app.exception_handler(HelpdeskError)
    def _domain_error(error: HelpdeskError) -> Response:
        return json_response(
            error.status_code, error_body(error.code, error.message, **error.details)
        )

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response:
        if any(problem.get("type") == "json_invalid" for problem in error.errors()):
            return json_response(
                400, error_body("malformed_json", "the request body is not valid JSON")
            )
        problems = [
            {
                "where": ".".join(str(part) for part in problem.get("loc", ())),
                "problem": problem.get("msg", "invalid"),
            }
            for problem in error.errors()
        ]
        summary = "; ".join(f"{p['where']}: {p['problem']}" for p in problems)
        return json_response(
            422, error_body("invalid_request", f"invalid request: {summary}", problems=problems)
        )

    @app.not_found
    def _no_route(_: Exception) -> Response:
        return json_response(404, error_body("no_route", "no such route"))

    @app.get("/openapi.json", include_in_schema=False)
    def _openapi():  # type: ignore[no-untyped-def]  # no annotation: kept out of the schema
        return Response(
            status_code=200,
            content_type="application/json",
            body=app.get_openapi_json_schema(title=title, version="1.0.0"),
        )

    return app


def raw_body(event: dict[str, Any]) -> bytes:
    """The exact bytes the caller sent (and a provider signed)."""
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")


def actor_from_event(event: Any) -> Actor:
    """The caller as API Gateway's JWT authorizer saw it: `sub` and the groups claim.

    HTTP APIs pass array claims as a string like "[agent lead]"; a real list (the local
    stack, or a custom authorizer) is accepted too.
    """
    claims = (event.get("requestContext") or {}).get("authorizer", {}).get("jwt", {}).get(
        "claims"
    ) or {}
    subject = claims.get("sub")
    if not subject:
        raise Unauthorized("no authenticated caller (missing JWT claims)")
    raw = claims.get(get_settings().groups_claim, claims.get("groups", []))
    if isinstance(raw, str):
        raw = raw.strip("[]").replace(",", " ").split()
    return Actor(user_id=str(subject), roles=frozenset(str(role) for role in raw))


def require_role(event: Any, *roles: str) -> Actor:
    actor = actor_from_event(event)
    if not actor.has_any(*roles):
        raise Forbidden(f"this needs one of the roles: {', '.join(roles)}", roles=list(roles))
    return actor


# ---- request bodies of the tickets API -------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Versioned(_Body):
    version: int | None = Field(
        default=None, description="The ticket version you last read; 409 if it moved on."
    )


class CreateTicket(_Body):
    direction: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")
    subject: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=4000)
    customer_name: str | None = Field(default=None, max_length=200)
    customer_phone: str | None = Field(default=None, max_length=32)
    priority: Priority = Priority.NORMAL


class ReplyBody(Versioned):
    text: str = Field(min_length=1, max_length=4000)
    request_id: str | None = Field(
        default=None,
        max_length=100,
        description="Your idempotency key: a retry with the same key sends nothing twice.",
    )


class CommentBody(_Body):
    text: str = Field(min_length=1, max_length=4000)


class AssignBody(Versioned):
    assignee: str | None = Field(description="User id of the agent; null to unassign.")


class UpdateBody(Versioned):
    category: Category | None = None
    topic: str | None = Field(default=None, max_length=100)
    priority: Priority | None = None


class HoldBody(Versioned):
    task_url: HttpUrl = Field(description="The developer's or analyst's task this waits for.")
    reason: str | None = Field(default=None, max_length=1000)


class ResolveBody(Versioned):
    resolution: str | None = Field(default=None, max_length=2000)


class ReopenBody(Versioned):
    reason: str | None = Field(default=None, max_length=1000)


class CallReviewBody(Versioned):
    verdict: Literal["ok", "coaching", "escalate"]
    note: str | None = Field(default=None, max_length=2000)
