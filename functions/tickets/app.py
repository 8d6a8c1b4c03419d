"""Tickets API for agents and leads: list, read and work tickets.

No Powertools Tracer here: the X-Ray SDK costs this user-facing function about 150-300 ms
of every cold start; Lambda's active tracing still records each invocation (decisions.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk import kb, tickets
from helpdesk.http import bodies
from helpdesk.http.auth import STAFF_ROLES
from helpdesk.http.params import known_query, ticket_query
from helpdesk.http.resolver import make_resolver
from helpdesk.http.views import conversation_view, ticket_view
from helpdesk.usecases.attachments import AttachmentDesk
from helpdesk.usecases.callbacks import CallbackDesk
from helpdesk.usecases.customers import CustomerDesk
from helpdesk.usecases.desk import TicketDesk
from helpdesk.usecases.replies import ReplyDesk

logger = Logger(service="tickets")
metrics = Metrics()
app = make_resolver(
    "Helpdesk tickets API",
    default_roles=STAFF_ROLES,
    roles={
        "POST /tickets/{ticket_id}/call-review": ("lead",),
        "PATCH /customers/{customer_id}": ("lead",),
        "GET /openapi.json": (),
    },
    json_only=True,
    validation=True,
)
desk = TicketDesk()
customers = CustomerDesk()
callbacks = CallbackDesk()
composer = ReplyDesk(store=desk.store)
attachments = AttachmentDesk(store=desk.store)

StatusParam = Annotated[str | None, Query(pattern="^(new|open|on_hold|resolved|closed)$")]
CategoryParam = Annotated[
    str | None, Query(pattern="^(question|suggestion|problem|complaint|feedback)$")
]
PriorityParam = Annotated[str | None, Query(pattern="^(low|normal|high|urgent)$")]
ChannelParam = Annotated[str | None, Query(pattern="^(telegram|whatsapp|phone|manual|sandbox)$")]
FlagParam = Annotated[
    str | None,
    Query(pattern="^(needs_callback|missed_call|problem_call|delivery_failed|task_done)$"),
]
Text = Annotated[str | None, Query(max_length=128)]


@app.get("/tickets")
def list_tickets(
    status: StatusParam = None,
    direction: Annotated[str | None, Query(max_length=32)] = None,
    assignee: Annotated[
        str | None, Query(max_length=128, description="a user id, 'me', or 'none'")
    ] = None,
    category: CategoryParam = None,
    priority: PriorityParam = None,
    channel: ChannelParam = None,
    flag: FlagParam = None,
    customer: Text = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    sort: Annotated[
        str,
        Query(
            pattern="^(created|due)$",
            description="due: a direction's tickets waiting for an answer, soonest first "
            "('our clients' first at the same minute)",
        ),
    ] = "created",
) -> dict[str, Any]:
    known_query(app.current_event.query_string_parameters, list_tickets)
    query = ticket_query(app.actor(), locals(), desk.settings())
    found, next_cursor = desk.tickets(query)
    return {"tickets": found, "next_cursor": next_cursor}


@app.post("/tickets")
def create_ticket(body: Annotated[bodies.CreateTicket, Body()]) -> tuple[dict[str, Any], int]:
    ticket = desk.create(app.actor(), **body.model_dump())
    return ticket_view(ticket), 201


@app.get("/tickets/<ticket_id>")
def get_ticket(ticket_id: str) -> dict[str, Any]:
    return conversation_view(*desk.conversation(ticket_id))


@app.get("/tickets/<ticket_id>/messages/<message_id>/attachments/<n>")
def attachment_link(
    ticket_id: str,
    message_id: Annotated[str, Path(max_length=64, pattern="^[0-9A-Za-z-]+$")],
    n: Annotated[int, Path(ge=0, le=999)],
) -> dict[str, Any]:
    """A short-lived download link to a mail attachment the intake stored."""
    return attachments.link(ticket_id, message_id, n)


@app.post("/tickets/<ticket_id>/replies")
def reply(ticket_id: str, body: Annotated[bodies.ReplyBody, Body()]) -> dict[str, Any]:
    actor = app.actor()
    parts = body.complaint.model_dump() if body.complaint else None
    text = composer.reply_text(ticket_id, actor, body.text, body.template_id, parts)
    ticket = desk.reply(ticket_id, body.version, actor, text, body.request_id, body.wait_for_client)
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/comments")
def comment(ticket_id: str, body: Annotated[bodies.CommentBody, Body()]) -> dict[str, Any]:
    ticket = desk.apply(ticket_id, None, tickets.comment, actor=app.actor(), text=body.text)
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/assign")
def assign(ticket_id: str, body: Annotated[bodies.AssignBody, Body()]) -> dict[str, Any]:
    ticket = desk.apply(
        ticket_id, body.version, tickets.assign, actor=app.actor(), assignee=body.assignee
    )
    return ticket_view(ticket)


@app.patch("/tickets/<ticket_id>")
def update(ticket_id: str, body: Annotated[bodies.UpdateBody, Body()]) -> dict[str, Any]:
    fields = body.model_dump(exclude={"version"})
    ticket = desk.apply(ticket_id, body.version, tickets.update_fields, actor=app.actor(), **fields)
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/hold")
def hold(ticket_id: str, body: Annotated[bodies.HoldBody, Body()]) -> dict[str, Any]:
    ticket = desk.apply(
        ticket_id,
        body.version,
        tickets.hold,
        actor=app.actor(),
        task_url=str(body.task_url),
        reason=body.reason,
    )
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/resolve")
def resolve(ticket_id: str, body: Annotated[bodies.ResolveBody, Body()]) -> dict[str, Any]:
    rule = kb.resolve_uncovered if body.no_article else tickets.resolve
    ticket = desk.apply(
        ticket_id, body.version, rule, actor=app.actor(), resolution=body.resolution
    )
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/close")
def close(ticket_id: str, body: Annotated[bodies.Versioned, Body()]) -> dict[str, Any]:
    return ticket_view(desk.apply(ticket_id, body.version, tickets.close, actor=app.actor()))


@app.post("/tickets/<ticket_id>/reopen")
def reopen(ticket_id: str, body: Annotated[bodies.ReopenBody, Body()]) -> dict[str, Any]:
    ticket = desk.apply(
        ticket_id, body.version, tickets.reopen, actor=app.actor(), reason=body.reason
    )
    return ticket_view(ticket)


@app.post("/tickets/<ticket_id>/call-review")
def review_call(ticket_id: str, body: Annotated[bodies.CallReviewBody, Body()]) -> dict[str, Any]:
    ticket = desk.apply(
        ticket_id,
        body.version,
        tickets.review_call,
        actor=app.actor(),
        verdict=body.verdict,
        note=body.note,
    )
    return ticket_view(ticket)


@app.get("/callbacks")
def callback_worklist(
    direction: Annotated[str, Query(min_length=1, max_length=32, pattern="^[a-z0-9_-]+$")],
) -> dict[str, Any]:
    """Missed calls waiting for a callback, oldest first, with the attempts so far."""
    known_query(app.current_event.query_string_parameters, callback_worklist)
    ticket_query(app.actor(), {"direction": direction}, desk.settings())  # 422 if unknown
    return {"callbacks": callbacks.worklist(direction)}


@app.get("/customers/<customer_id>")
def get_customer(customer_id: str) -> dict[str, Any]:
    return customers.view(customer_id)


@app.patch("/customers/<customer_id>")
def update_customer(
    customer_id: str, body: Annotated[bodies.CustomerBody, Body()]
) -> dict[str, Any]:
    customer = customers.change(
        app.actor(), customer_id, body.version, name=body.name, groups=body.groups
    )
    return customer.model_dump(mode="json")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
