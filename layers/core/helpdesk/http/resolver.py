"""Errors as HTTP, in one place, and the doors every request goes through first.

`make_resolver` builds the resolver of one function: domain errors map to their status with a
JSON body naming the problem (`{"error": {"code", "message", ...}}`); a request is checked
for its caller's role (before its body, so a caller without the role learns nothing about
the body), for being JSON (415), for being UTF-8 and within the edge limits (400).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from helpdesk import limits
from helpdesk.errors import HelpdeskError
from helpdesk.http.auth import require_role
from helpdesk.models import Actor
from helpdesk.store import PermanentWriteError


def dumps(body: Any) -> str:
    """JSON as clients read it: Cyrillic as is, not as \\u escapes."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status, content_type="application/json", body=dumps(body), headers=headers
    )


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def _early(status: int, code: str, message: str) -> dict[str, Any]:
    """A response made before routing (API Gateway HTTP API payload 2.0)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": dumps(error_body(code, message)),
        "isBase64Encoded": False,
    }


class HelpdeskResolver(APIGatewayHttpResolver):
    """Routes with the doors above: roles by route key, JSON only where asked."""

    def __init__(
        self,
        *,
        roles: dict[str, tuple[str, ...]] | None = None,
        default_roles: tuple[str, ...] = (),
        json_only: bool = False,
        enable_validation: bool = False,
    ) -> None:
        super().__init__(enable_validation=enable_validation, serializer=dumps)
        self.route_roles = roles or {}
        self.default_roles = default_roles
        self.json_only = json_only

    def roles_for(self, route_key: str) -> tuple[str, ...]:
        return self.route_roles.get(route_key, self.default_roles)

    def actor(self) -> Actor:
        """The caller of the current request (its role was checked before routing)."""
        event = self.current_event.raw_event
        return require_role(event, *self.roles_for(event.get("routeKey", "")))

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        roles = self.roles_for(event.get("routeKey", ""))
        if roles:
            try:
                require_role(event, *roles)
            except HelpdeskError as error:
                return _early(error.status_code, error.code, error.message)
        method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
        if self.json_only and method in ("POST", "PATCH", "PUT"):
            problem = self._body_problem(event)
            if problem:
                return problem
            if not event.get("body"):
                event = {**event, "body": "{}"}  # an action without options: POST .../close
        return super().resolve(event, context)

    def _body_problem(self, event: Mapping[str, Any]) -> dict[str, Any] | None:
        headers = event.get("headers") or {}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and content_type != "application/json":
            return _early(
                415,
                "unsupported_media_type",
                f"send JSON with 'content-type: application/json', not {content_type!r} "
                "(curl -d sends a form unless you add -H 'content-type: application/json')",
            )
        raw = raw_body(event)
        if not raw:
            return None
        try:
            limits.parse_json(raw)
        except UnicodeDecodeError:
            return _early(400, "malformed_body", "the body is not UTF-8")
        except limits.LimitExceeded as error:
            return _early(400, "malformed_body", str(error))
        except (ValueError, RecursionError):
            return _early(400, "malformed_json", "the request body is not valid JSON")
        return None


def make_resolver(
    title: str,
    *,
    roles: dict[str, tuple[str, ...]] | None = None,
    default_roles: tuple[str, ...] = (),
    json_only: bool = False,
    validation: bool = False,
) -> HelpdeskResolver:
    """A resolver with the one mapping of errors to HTTP (and, for JSON APIs, OpenAPI)."""
    app = HelpdeskResolver(
        roles=roles, default_roles=default_roles, json_only=json_only, enable_validation=validation
    )

    def domain_error(error: HelpdeskError) -> Response[str]:
        return json_response(
            error.status_code, error_body(error.code, error.message, **error.details)
        )

    def unstorable(error: PermanentWriteError) -> Response[str]:
        return json_response(422, error_body("unstorable", str(error)))

    def no_route(_: Exception) -> Response[str]:
        return json_response(404, error_body("no_route", "no such route"))

    app.exception_handler(HelpdeskError)(domain_error)
    app.exception_handler(PermanentWriteError)(unstorable)
    app.not_found(no_route)

    if validation:
        _validation_errors(app)
        _openapi_route(app, title)
    return app


def _validation_errors(app: HelpdeskResolver) -> None:
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

    def invalid_request(error: RequestValidationError) -> Response[str]:
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

    app.exception_handler(RequestValidationError)(invalid_request)


OpenApiHook = Callable[[dict[str, Any]], dict[str, Any]]


def _openapi_route(app: HelpdeskResolver, title: str) -> None:
    @app.get("/openapi.json", include_in_schema=False)
    def _openapi():  # type: ignore[no-untyped-def]  # no annotation: kept out of the schema
        from helpdesk.http.openapi import document

        return Response(
            status_code=200, content_type="application/json", body=dumps(document(app, title))
        )


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The exact bytes the caller sent (and a provider signed)."""
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
