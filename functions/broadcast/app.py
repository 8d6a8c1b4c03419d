"""Incident notices for commanders (start, update, resolve, watch) and the public banner.

No Powertools Tracer, as in the tickets API: the banner is polled by every client
application, its cold start stays short (decisions.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk import incidents
from helpdesk.http import bodies
from helpdesk.http.params import known_query
from helpdesk.http.resolver import dumps, make_resolver
from helpdesk.usecases.broadcasts import IncidentDesk, notice_view

logger = Logger(service="broadcast")
metrics = Metrics()
app = make_resolver(
    "Helpdesk incident notices API",
    default_roles=("commander",),
    roles={"GET /banner": (), "GET /openapi.json": ()},
    json_only=True,
    validation=True,
)
desk = IncidentDesk()


@app.post("/broadcasts")
def start(body: Annotated[bodies.StartNotice, Body()]) -> tuple[dict[str, Any], int]:
    """Start an incident notice: the banner, the incident channel, every subscribed client."""
    notice, new = desk.start(
        app.actor(),
        severity=body.severity,
        directions=body.directions,
        text=body.text,
        request_id=body.request_id,
        eta=body.eta,
        channels=list(body.channels) if body.channels is not None else None,
    )
    return notice_view(notice, None), 201 if new else 200


@app.post("/broadcasts/<notice_id>/updates")
def update(notice_id: str, body: Annotated[bodies.NoticeUpdate, Body()]) -> dict[str, Any]:
    notice = desk.update(
        app.actor(), notice_id, text=body.text, eta=body.eta, request_id=body.request_id
    )
    return notice_view(notice, None)


@app.post("/broadcasts/<notice_id>/resolve")
def resolve(notice_id: str, body: Annotated[bodies.NoticeResolve, Body()]) -> dict[str, Any]:
    notice = desk.resolve(
        app.actor(),
        notice_id,
        text=body.text,
        request_id=body.request_id,
        resolve_linked=body.resolve_linked,
    )
    return notice_view(notice, None)


@app.get("/broadcasts")
def recent(limit: Annotated[int, Query(ge=1, le=100)] = 50) -> dict[str, Any]:
    """The latest notices, newest first."""
    known_query(app.current_event.query_string_parameters, recent)
    return {"broadcasts": desk.recent(limit)}


@app.get("/broadcasts/<notice_id>")
def view(notice_id: str) -> dict[str, Any]:
    """A notice with its posts and its delivery per revision and channel."""
    return desk.view(notice_id)


@app.get("/banner")
def banner(
    direction: Annotated[str, Query(min_length=1, max_length=32, pattern="^[a-z0-9_-]+$")],
    lang: Annotated[str | None, Query(pattern="^(ru|en)$")] = None,
) -> Response[str]:
    """The direction's active notices for the in-app banner (public; poll it, with ETag)."""
    known_query(app.current_event.query_string_parameters, banner)
    body, tag = desk.banner(direction, lang)
    headers = {
        "Cache-Control": f"public, max-age={incidents.BANNER_MAX_AGE}",
        "ETag": tag,
    }
    if tag in (app.current_event.headers.get("if-none-match") or "").split(", "):
        return Response(status_code=304, headers=headers, body="")
    return Response(
        status_code=200, content_type="application/json", body=dumps(body), headers=headers
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
