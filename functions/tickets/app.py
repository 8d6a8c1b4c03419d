"""Tickets API for agents and leads: list, read and work tickets."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk import tickets
from helpdesk.api import (
    STAFF_ROLES,
    AssignBody,
    CallReviewBody,
    CommentBody,
    CreateTicket,
    HoldBody,
    ReopenBody,
    ReplyBody,
    ResolveBody,
    UpdateBody,
    Versioned,
    make_resolver,
    require_role,
)
from helpdesk.models import Actor
from helpdesk.presenters import conversation_view, ticket_view
from helpdesk.service import TicketService
from helpdesk.store import TicketQuery

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = make_resolver("Helpdesk tickets API", json_only=True)
service = TicketService()

StatusParam = Annotated[str | None, Query(pattern="^(new|open|on_hold|resolved|closed)$")]
CategoryParam = Annotated[
    str | None, Query(pattern="^(question|suggestion|problem|complaint|feedback)$")
]
PriorityParam = Annotated[str | None, Query(pattern="^(low|normal|high|urgent)$")]


def staff() -> Actor:
    return require_role(app.current_event.raw_event, *STAFF_ROLES)


@app.get("/tickets")
def list_tickets(
    status: StatusParam = None,
    direction: Annotated[str | None, Query(max_length=32)] = None,
    assignee: Annotated[str | None, Query(max_length=128)] = None,
    category: CategoryParam = None,
    priority: PriorityParam = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    staff()
    query = TicketQuery(status, direction, assignee, category, priority, limit, order, cursor)
    found, next_cursor = service.list(query)
    return {"tickets": found, "next_cursor": next_cursor}


@app.post("/tickets")
def create_ticket(body: Annotated[CreateTicket, Body()]) -> tuple[dict[str, Any], int]:
    ticket = service.create(staff(), **body.model_dump())
    return ticket_view(ticket), 201


@app.get("/tickets/<ticket_id>")
def get_ticket(ticket_id: str) -> dict[str, Any]:
    staff()
    return conversation_view(*service.conversation(ticket_id))


@app.post("/tickets/<ticket_id>/replies")
def reply(ticket_id: str, body: Annotated[ReplyBody, Body()]) -> dict[str, Any]:
    ticket = service.apply(
        ticket_id, body.version, tickets.reply, body.request_id, actor=staff(), text=body.text
    )
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/comments")
def comment(ticket_id: str, body: Annotated[CommentBody, Body()]) -> dict[str, Any]:
    ticket = service.apply(ticket_id, None, tickets.comment, actor=staff(), text=body.text)
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/assign")
def assign(ticket_id: str, body: Annotated[AssignBody, Body()]) -> dict[str, Any]:
    ticket = service.apply(
        ticket_id, body.version, tickets.assign, actor=staff(), assignee=body.assignee
    )
    return ticket_view(ticket)


@app.patch("/tickets/<ticket_id>")
def update(ticket_id: str, body: Annotated[UpdateBody, Body()]) -> dict[str, Any]:
    fields = body.model_dump(exclude={"version"})
    ticket = service.apply(ticket_id, body.version, tickets.update_fields, actor=staff(), **fields)
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/hold")
def hold(ticket_id: str, body: Annotated[HoldBody, Body()]) -> dict[str, Any]:
    ticket = service.apply(
        ticket_id,
        body.version,
        tickets.hold,
        actor=staff(),
        task_url=str(body.task_url),
        reason=body.reason,
    )
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/resolve")
def resolve(ticket_id: str, body: Annotated[ResolveBody, Body()]) -> dict[str, Any]:
    ticket = service.apply(
        ticket_id, body.version, tickets.resolve, actor=staff(), resolution=body.resolution
    )
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/close")
def close(ticket_id: str, body: Annotated[Versioned, Body()]) -> dict[str, Any]:
    return ticket_view(service.apply(ticket_id, body.version, tickets.close, actor=staff()))


@app.post("/tickets/<ticket_id>/reopen")
def reopen(ticket_id: str, body: Annotated[ReopenBody, Body()]) -> dict[str, Any]:
    ticket = service.apply(
        ticket_id, body.version, tickets.reopen, actor=staff(), reason=body.reason
    )
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/call-review")
def review_call(ticket_id: str, body: Annotated[CallReviewBody, Body()]) -> dict[str, Any]:
    reviewer = require_role(app.current_event.raw_event, "lead")
    ticket = service.apply(
        ticket_id,
        body.version,
        tickets.review_call,
        actor=reviewer,
        verdict=body.verdict,
        note=body.note,
    )
    return ticket_view(ticket)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
