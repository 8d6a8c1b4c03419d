"""The OpenAPI document the API serves: Powertools' schema of the routes, made true to what
the API answers (status codes, the error body, the bearer scheme, the webhook doors)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver


def document(app: APIGatewayHttpResolver, title: str) -> dict[str, Any]:
    schema = app.get_openapi_schema(title=title, version="1.0.0")
    return schema.model_dump(mode="json", by_alias=True, exclude_none=True)
