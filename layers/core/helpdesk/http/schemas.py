"""Response bodies of the staff API as the OpenAPI document states them.

The routes answer plain dicts built by `http/views.py` and the store; these models only
describe those dicts (a test checks real responses against them), so that the document says
what a client really receives: the error body, a ticket, a page of summaries, a conversation.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from helpdesk.models import (
    Category,
    Channel,
    Customer,
    HistoryEntry,
    Message,
    Priority,
    Status,
    Ticket,
)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    code: str = Field(description="A stable name of the problem, e.g. version_conflict.")
    message: str = Field(description="What is wrong, for a person to read.")


class ErrorBody(BaseModel):
    """Every error of every JSON route: `{"error": {"code", "message", ...details}}`."""

    error: ErrorDetail


_ALWAYS_PRESENT = ConfigDict(json_schema_serialization_defaults_required=True)


def _view(model: type[BaseModel], name: str, *, without: tuple[str, ...] = ()) -> type[BaseModel]:
    """The JSON `model_dump(mode="json", exclude=without)` gives: every field, always present."""
    fields: dict[str, Any] = {
        field: (info.annotation, info)
        for field, info in model.model_fields.items()
        if field not in without
    }
    return create_model(name, __config__=_ALWAYS_PRESENT, __doc__=model.__doc__, **fields)


TicketView = _view(Ticket, "Ticket")
MessageView = _view(Message, "Message", without=("ticket_id",))
HistoryView = _view(HistoryEntry, "HistoryEntry", without=("ticket_id",))


class TicketSummary(BaseModel):
    """A ticket in a list: the fields the list indexes project (store/items.SUMMARY_FIELDS)."""

    model_config = _ALWAYS_PRESENT

    id: str
    direction: str
    channel: Channel
    customer_id: str
    customer_name: str | None
    customer_address: str | None
    status: Status
    category: Category | None
    topic: str | None
    priority: Priority
    assignee: str | None
    subject: str | None
    created_at: str = Field(description="UTC ISO-8601, e.g. 2024-05-14T10:17:38.000Z")
    first_response_at: str | None
    resolved_at: str | None
    flags: list[str]
    our_client: bool = Field(description="In the direction's 'our clients' group.")
    difficulty: int | None
    response_due: str | None = Field(
        description="When the client must next hear from us, if they wait (UTC ISO-8601)."
    )


class TicketPage(BaseModel):
    model_config = _ALWAYS_PRESENT

    tickets: list[TicketSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class Conversation(BaseModel):
    """A ticket with its messages (in conversation order) and its history."""

    model_config = _ALWAYS_PRESENT

    ticket: TicketView  # type: ignore[valid-type]
    messages: list[MessageView]  # type: ignore[valid-type]
    history: list[HistoryView]  # type: ignore[valid-type]


class Callback(TicketSummary):
    """A missed call on the callback worklist."""

    missed_at: str
    call_back_by: str = Field(description="The end of the second working day after the miss.")
    attempts: int
    escalated: bool
    meant_for: str | None = Field(description="The agent the call was meant for.")
    client_number: str | None


class CallbackList(BaseModel):
    model_config = _ALWAYS_PRESENT

    callbacks: list[Callback] = Field(description="Oldest missed call first.")


CustomerRecord = _view(Customer, "Customer")


class CustomerView(BaseModel):
    """A customer, their tickets across channels (newest first) and who changed them."""

    model_config = _ALWAYS_PRESENT

    customer: CustomerRecord  # type: ignore[valid-type]
    tickets: list[TicketSummary]
    history: list[HistoryView]  # type: ignore[valid-type]


class AttachmentLink(BaseModel):
    """A short-lived download link to a mail attachment (a presigned S3 GET)."""

    model_config = _ALWAYS_PRESENT

    url: str = Field(description="Open it as it is (no token): it saves the file.")
    file_name: str
    mime_type: str | None
    size: int | None = Field(description="Bytes, as the mail gave them.")
    expires_at: str = Field(description="The link works until then (5 minutes).")


RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    ErrorBody,
    TicketView,
    TicketPage,
    Conversation,
    CallbackList,
    CustomerView,
    CustomerRecord,
    AttachmentLink,
)
