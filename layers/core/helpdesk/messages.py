"""Client messages from messengers: threading into tickets, exactly once.

One inbound message costs, on the common path (the client already has an active ticket):
GetItem identity, one transaction (dedupe record + message + ticket update) and no SQS
call: 2 AWS calls, 6 write units. A first contact adds the counter update and one SQS
batch (greeting and acknowledgement). A redelivery fails the transaction on its dedupe
record and re-enqueues what the first delivery enqueued, which the dispatcher's claim
makes harmless; a crash between the transaction and the enqueue is repaired the same way
by the provider's own retry (and by the outbox sweep).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk import csat, tickets
from helpdesk.channels import ButtonPress, DeliveryStatus, InboundEvent, InboundMessage
from helpdesk.errors import NotFound
from helpdesk.jobs import AnswerButtonJob, Job, SendMessageJob
from helpdesk.models import (
    Actor,
    Channel,
    Customer,
    DeliveryState,
    HistoryEntry,
    Message,
    MessageKind,
    Priority,
    Status,
    Ticket,
    new_id,
    time_ordered_id,
    utc_now,
)
from helpdesk.queue import JobQueue
from helpdesk.service import Duplicate, dedupe_write
from helpdesk.settings import Settings, get_settings
from helpdesk.store import (
    Store,
    TransactionFailed,
    changed_ticket_write,
    customer_item,
    event_key,
    history_item,
    identity_item,
    identity_key,
    message_item,
    message_key,
    new_ticket_write,
    put,
    put_new,
    ticket_key,
    update,
)
from helpdesk.tickets import ACTIVE, outbound_message

logger = logging.getLogger(__name__)

URGENT = re.compile(r"(срочно|urgent)", re.IGNORECASE)
CUSTOMER = Actor(user_id="customer", roles=frozenset())
MAX_ATTEMPTS = 4  # concurrent first messages of one client: the loser re-reads and continues


def urgency(text: str) -> str | None:
    """Why a message raises the priority ('client wrote "СРОЧНО"'), or None."""
    found = URGENT.search(text)
    return f"client wrote {found.group(0)!r}" if found else None


class TicketNotActive(Exception):
    """The identity points at a resolved or closed ticket."""


class IdentityMoved(Exception):
    """Someone else changed the client's open-ticket pointer since we read it."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one inbound event (for logs, metrics and tests)."""

    result: str  # created, continued, reopened, duplicate, ignored, rated, status
    ticket_id: str | None = None


def identity_of(message: InboundMessage | ButtonPress) -> tuple[str, str]:
    """Where a sender lives: WhatsApp senders are phone numbers, shared with calls."""
    if message.channel == "whatsapp":
        phone = getattr(message, "sender_phone", None) or f"+{message.sender_id.lstrip('+')}"
        return "phone", phone
    return "telegram", message.sender_id


@dataclass
class Inbox:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def direction_for(self, channel: str, service_id: str) -> str | None:
        settings = self.settings()
        if channel == "whatsapp":
            return settings.direction_for_whatsapp_number(service_id)
        return settings.direction_for_telegram_bot(service_id)

    def receive(self, events: list[InboundEvent]) -> list[Outcome]:
        """Each event of one webhook delivery; a failure fails the delivery (it is retried)."""
        outcomes = []
        for event in events:
            if self.direction_for(event.channel, event.service_id) is None:
                logger.warning(
                    "traffic for a number we do not serve", extra={"to": event.service_id}
                )
                outcomes.append(Outcome("ignored"))
            elif isinstance(event, InboundMessage):
                outcomes.append(self.receive_message(event))
            elif isinstance(event, ButtonPress):
                outcomes.append(self.receive_press(event))
            else:
                outcomes.append(self.receive_status(event))
        return outcomes

    # -- messages -----------------------------------------------------------------------

    def receive_message(self, message: InboundMessage) -> Outcome:
        direction = self.direction_for(message.channel, message.service_id)
        if direction is None:
            logger.warning("message for a number we do not serve", extra={"to": message.service_id})
            return Outcome("ignored")
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._receive_once(message, direction)
            except Duplicate:
                record = self.store.get(event_key(message.event_id)) or {}
                self._resend(record)
                return Outcome("duplicate", record.get("ticket_id"))
            except IdentityMoved:
                continue
        raise RuntimeError(f"could not thread {message.event_id}: identity kept changing")

    def _receive_once(self, message: InboundMessage, direction: str) -> Outcome:
        kind, address = identity_of(message)
        identity = self.store.get(identity_key(kind, address))
        slot = f"{message.channel}:{direction}"
        open_ticket = ((identity or {}).get("open") or {}).get(slot)
        now = self.clock()
        if open_ticket:
            try:
                self._continue(message, open_ticket, now)
                return Outcome("continued", open_ticket)
            except TicketNotActive:
                ticket = self.store.get_ticket(open_ticket)
                if ticket.status == Status.RESOLVED:
                    self._reopen(message, ticket, now)
                    return Outcome("reopened", ticket.id)
        number = self._open_ticket(message, direction, kind, address, identity, slot, now)
        return Outcome("created", number)

    def _inbound(self, message: InboundMessage, ticket_id: str, now: datetime) -> Message:
        return Message(
            ticket_id=ticket_id,
            id=time_ordered_id(now),
            kind=MessageKind.INBOUND,
            author="customer",
            text=message.text,
            at=message.sent_at,
            channel=Channel(message.channel),
            provider_message_id=message.provider_message_id,
            attachments=[
                {k: v for k, v in vars(a).items() if v is not None} for a in message.attachments
            ],
            edited=message.edited,
        )

    def _continue(self, message: InboundMessage, ticket_id: str, now: datetime) -> None:
        inbound = self._inbound(message, ticket_id, now)
        expression = (
            "SET last_customer_message_at = :at, updated_at = :now, "
            "version = version + :one, message_count = message_count + :one"
        )
        values: dict[str, Any] = {
            ":at": message.sent_at.isoformat(),
            ":now": now.isoformat(),
            ":one": 1,
            **{f":active{n}": status.value for n, status in enumerate(ACTIVE)},
        }
        writes = [dedupe_write(message.event_id, now, ticket_id=ticket_id)]
        writes.append(put_new(message_item(inbound)))
        if why := urgency(message.text):
            expression += ", priority = :urgent, priority_reason = :why"
            values[":urgent"] = Priority.URGENT.value
            values[":why"] = why
            writes.append(put_new(history_item(_urgent_entry(ticket_id, now, why))))
        writes.insert(
            2,
            update(
                ticket_key(ticket_id),
                expression,
                values,
                names={"#status": "status"},
                condition="attribute_exists(PK) AND #status IN (:active0, :active1, :active2)",
                on_condition_failed=TicketNotActive(),
            ),
        )
        self.store.transact(writes)

    def _reopen(self, message: InboundMessage, ticket: Ticket, now: datetime) -> None:
        """A client writing about a resolved ticket reopens it: same problem, same number."""
        change = tickets.reopen(
            ticket, now, actor=CUSTOMER, reason="the client wrote again after resolution"
        )
        values: dict[str, Any] = {
            "last_customer_message_at": message.sent_at,
            "message_count": ticket.message_count + 1,
        }
        if why := urgency(message.text):
            values.update(priority=Priority.URGENT, priority_reason=why)
        reopened = change.ticket.model_copy(update=values)
        inbound = self._inbound(message, ticket.id, now)
        self.store.transact(
            [
                dedupe_write(message.event_id, now, ticket_id=ticket.id),
                changed_ticket_write(reopened, ticket.version),
                put_new(message_item(inbound)),
                put_new(history_item(change.history)),
            ]
        )

    def _open_ticket(
        self,
        message: InboundMessage,
        direction: str,
        kind: str,
        address: str,
        identity: dict[str, Any] | None,
        slot: str,
        now: datetime,
    ) -> str:
        settings = self.settings()
        config = settings.direction(direction)
        texts = config.client_texts()
        number = self.store.next_ticket_number(direction)
        customer_id = (identity or {}).get("customer_id") or new_id()
        ticket = Ticket(
            id=number,
            direction=direction,
            channel=Channel(message.channel),
            customer_id=customer_id,
            subject=_subject(message.text),
            recipient_id=message.sender_id,
            service_id=message.service_id,
            created_at=now,
            updated_at=now,
            last_customer_message_at=message.sent_at,
            message_count=1,
            version=1,
        )
        changes: dict[str, list[Any]] = {}
        if why := urgency(message.text):
            ticket.priority = Priority.URGENT
            ticket.priority_reason = why
            changes["priority"] = ["normal", "urgent"]
        greeted_flag = f"greeted_{message.channel}"
        outbound: list[Message] = []
        jobs: list[Job] = []
        if not (identity or {}).get(greeted_flag):
            greeting, job = outbound_message(
                ticket,
                MessageKind.AUTO,
                "system",
                texts.greeting.format(direction=config.display_name(), number=number),
                now,
                time_ordered_id(now, 1),
            )
            outbound.append(greeting)
            jobs.append(job)
        ack, job = outbound_message(
            ticket,
            MessageKind.AUTO,
            "system",
            texts.acknowledgement.format(number=number, direction=config.display_name()),
            now,
            time_ordered_id(now, 2),
        )
        outbound.append(ack)
        jobs.append(job)

        writes = [
            dedupe_write(
                message.event_id,
                now,
                ticket_id=number,
                ids=[m.id for m in outbound],
            ),
            self._identity_write(kind, address, identity, customer_id, slot, number, greeted_flag),
            new_ticket_write(ticket),
            put_new(message_item(self._inbound(message, number, now))),
            *(put_new(message_item(m)) for m in outbound),
            put_new(
                history_item(
                    HistoryEntry(
                        ticket_id=number,
                        at=now,
                        actor="customer",
                        action="create",
                        changes=changes,
                        note=f"first message via {message.channel}",
                    )
                )
            ),
        ]
        if identity is None:
            customer = Customer(
                id=customer_id,
                name=message.sender_name,
                phone=message.sender_phone,
                created_at=now,
            )
            writes.append(put_new(customer_item(customer)))
        try:
            self.store.transact(writes)
        except TransactionFailed as failed:
            logger.info("lost a race opening a ticket", extra={"reasons": failed.reasons})
            raise IdentityMoved() from failed
        self.queue.send(
            [SendMessageJob(ticket_id=j.ticket_id, message_id=j.message_id) for j in jobs]
        )
        return number

    def _identity_write(
        self,
        kind: str,
        address: str,
        identity: dict[str, Any] | None,
        customer_id: str,
        slot: str,
        number: str,
        greeted_flag: str,
    ) -> Any:
        # Timeline: two first messages of one client arrive together. Both read "no open
        # ticket"; both try to point the identity at their new ticket; the condition lets
        # one win. The loser's transaction fails whole, it re-reads and continues the
        # winner's ticket (its counter value is left as a gap).
        key = identity_key(kind, address)
        if identity is None:
            item = identity_item(kind, address, customer_id, {slot: number}, **{greeted_flag: True})
            return put(item, "attribute_not_exists(PK)", None, IdentityMoved())
        previous = (identity.get("open") or {}).get(slot)
        names = {"#open": "open", "#slot": slot, "#greeted": greeted_flag}
        values: dict[str, Any] = {":number": number, ":yes": True}
        if "open" not in identity:
            expression = "SET #open = :slots, #greeted = :yes"
            values = {":slots": {slot: number}, ":yes": True}
            names = {"#open": "open", "#greeted": greeted_flag}
            condition = "attribute_not_exists(#open)"
        elif previous is None:
            expression = "SET #open.#slot = :number, #greeted = :yes"
            condition = "attribute_not_exists(#open.#slot)"
        else:
            expression = "SET #open.#slot = :number, #greeted = :yes"
            condition = "#open.#slot = :previous"
            values[":previous"] = previous
        return update(key, expression, values, names, condition, IdentityMoved())

    def _resend(self, record: dict[str, Any] | None) -> None:
        record = record or {}
        jobs = [
            SendMessageJob(ticket_id=record["ticket_id"], message_id=message_id)
            for message_id in record.get("ids", [])
        ]
        if jobs:
            self.queue.send(jobs)

    # -- button presses (CSAT) ------------------------------------------------------------

    def receive_press(self, press: ButtonPress) -> Outcome:
        """Store a rating once; every press is answered (Telegram's spinner), even ignored ones."""
        jobs: list[Job] = []
        if press.callback_query_id:
            jobs.append(AnswerButtonJob(callback_query_id=press.callback_query_id))
        outcome = self._rate(press, jobs)
        if jobs:
            self.queue.send(jobs)
        return outcome

    def _rate(self, press: ButtonPress, jobs: list[Job]) -> Outcome:
        rating = csat.parse_button(press.data)
        if rating is None:
            logger.info("press on a button we do not know", extra={"data": press.data})
            return Outcome("ignored")
        ticket_id, value = rating
        now = self.clock()
        try:
            ticket = self.store.get_ticket(ticket_id)
        except NotFound:
            logger.warning("rating for an unknown ticket", extra={"ticket_id": ticket_id})
            return Outcome("ignored")
        if ticket.recipient_id != press.sender_id or ticket.channel.value != press.channel:
            logger.warning("rating from someone else than the ticket's client")
            return Outcome("ignored", ticket_id)
        config = self.settings().direction(ticket.direction)
        thanks, thanks_job = outbound_message(
            ticket,
            MessageKind.AUTO,
            "system",
            config.client_texts().csat_thanks,
            now,
            time_ordered_id(now),
        )
        record = {"value": value, "scale": csat.scale_of(value), "at": now.isoformat()}
        writes = [
            update(
                ticket_key(ticket_id),
                "SET csat = :csat, updated_at = :now, version = version + :one",
                {":csat": record, ":now": now.isoformat(), ":one": 1},
                condition="attribute_exists(PK) AND attribute_not_exists(csat)",
                on_condition_failed=Duplicate(None),
            ),
            put_new(message_item(thanks)),
            put_new(
                history_item(
                    HistoryEntry(
                        ticket_id=ticket_id,
                        at=now,
                        actor="customer",
                        action="rate",
                        changes={"csat": [None, value]},
                    )
                )
            ),
        ]
        try:
            self.store.transact(writes)
        except Duplicate:
            return Outcome("duplicate", ticket_id)
        jobs.append(thanks_job)
        return Outcome("rated", ticket_id)

    # -- delivery statuses --------------------------------------------------------------

    def receive_status(self, status: DeliveryStatus) -> Outcome:
        """Record a provider's status (with WhatsApp's conversation and pricing) once."""
        now = self.clock()
        entry: dict[str, Any] = {"status": status.status, "at": status.at.isoformat()}
        if status.conversation:
            entry["conversation"] = status.conversation
        if status.pricing:
            entry["pricing"] = status.pricing
        if status.errors:
            entry["errors"] = list(status.errors)
        attributes = self.store.record_provider_status(
            status.channel, status.provider_message_id, status.status, entry, now
        )
        if attributes is None:
            return Outcome("duplicate")
        ticket_id, message_id = attributes.get("ticket_id"), attributes.get("message_id")
        if ticket_id and message_id:
            self._mark_message(ticket_id, message_id, status, entry)
        return Outcome("status", ticket_id)

    def _mark_message(
        self, ticket_id: str, message_id: str, status: DeliveryStatus, entry: dict[str, Any]
    ) -> None:
        state = {
            "sent": DeliveryState.SENT,
            "delivered": DeliveryState.DELIVERED,
            "read": DeliveryState.READ,
            "failed": DeliveryState.FAILED,
        }.get(status.status)
        if state is None:
            return
        # Statuses arrive out of order: never move a message back (read, then delivered).
        order = ["queued", "sending", "sent", "delivered", "read"]
        allowed = order[: order.index(state.value)] if state.value in order else order
        values: dict[str, Any] = {":state": state.value, ":entry": [entry], ":empty": []}
        placeholders = []
        for index, value in enumerate(allowed):
            values[f":s{index}"] = value
            placeholders.append(f":s{index}")
        in_list = ", ".join(placeholders)
        expression = (
            "SET status_history = list_append(if_not_exists(status_history, :empty), :entry)"
        )
        try:
            self.store.transact(
                [
                    update(
                        message_key(ticket_id, message_id),
                        expression + ", delivery = :state",
                        values,
                        condition=f"attribute_exists(PK) AND delivery IN ({in_list})",
                    )
                ]
            )
        except TransactionFailed:
            values = {":entry": [entry], ":empty": []}
            self.store.transact([update(message_key(ticket_id, message_id), expression, values)])


def _urgent_entry(ticket_id: str, now: datetime, why: str) -> HistoryEntry:
    return HistoryEntry(
        ticket_id=ticket_id,
        at=now,
        actor="customer",
        action="priority",
        changes={"priority": [None, "urgent"]},
        note=why,
    )


def _subject(text: str) -> str:
    """The first line of the first message, or a placeholder for a bare attachment."""
    lines = (text or "").strip().splitlines()
    return lines[0][:120] if lines else "(attachment)"
