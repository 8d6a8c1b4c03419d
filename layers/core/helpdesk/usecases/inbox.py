"""Client messages from messengers: threading into tickets, exactly once.

A message on an open ticket costs GetItem identity, GetItem ticket and one transaction
(dedupe record + message + ticket; no SQS call, unless the direction's staff group shows the
ticket in a topic: then its mark rides in the transaction and one `topic_sync` job follows).
A first contact adds the counter update and one SQS call (greeting, then acknowledgement,
in one ordered job). A redelivery fails the transaction on its dedupe record and re-enqueues
what the first delivery enqueued, which the dispatcher's claim makes harmless; a crash
between the transaction and the enqueue is repaired the same way by the provider's own
retry (and by the outbox sweep).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from helpdesk import csat, incidents, sla, tickets
from helpdesk.channels import registry, telegram
from helpdesk.channels.base import (
    ButtonPress,
    DeliveryStatus,
    InboundEvent,
    InboundMessage,
    StaffPost,
)
from helpdesk.errors import Conflict
from helpdesk.jobs import ClientTextJob, SendMessageJob
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import (
    Channel,
    Customer,
    Message,
    MessageKind,
    Status,
    iso,
    new_id,
    time_ordered_id,
    utc_now,
)
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store, TransactionFailed
from helpdesk.store.audience import enlisted
from helpdesk.store.customers import new_customer
from helpdesk.store.events import Duplicate, dedupe
from helpdesk.store.identities import IdentityMoved, point_at_ticket
from helpdesk.store.notices import link_item
from helpdesk.store.tickets import writes_for
from helpdesk.usecases.broadcasts import IncidentDesk
from helpdesk.usecases.changes import report_writes, ticket_writes, topic_writes, tracked
from helpdesk.usecases.charges import charge_whatsapp
from helpdesk.usecases.deliveries import apply_status
from helpdesk.usecases.desk import TicketDesk
from helpdesk.usecases.topics import StaffRoom

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4  # concurrent messages of one client: the loser re-reads and continues


class StillRacing(Exception):
    """The client's identity or ticket kept changing under us: let the provider retry."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one inbound event (for logs, metrics and tests)."""

    result: str  # created, continued, reopened, duplicate, ignored, rated, status
    ticket_id: str | None = None
    webhook_reply: dict[str, Any] | None = None  # a Bot API call answered in the response


@dataclass
class Inbox:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now
    incidents: IncidentDesk | None = None
    staff_room: StaffRoom | None = None

    def __post_init__(self) -> None:
        if self.incidents is None:
            self.incidents = IncidentDesk(self.store, self.queue, self.settings, self.clock)
        if self.staff_room is None:
            desk = TicketDesk(self.store, self.queue, self.settings, self.clock)
            self.staff_room = StaffRoom(self.store, desk, self.settings, self.clock)

    def receive(self, events: list[InboundEvent]) -> list[Outcome]:
        """Each event of one webhook delivery; a failure fails the delivery (it is retried)."""
        outcomes = []
        for event in events:
            if isinstance(event, StaffPost):  # the staff group: its own direction lookup
                assert self.staff_room is not None
                outcomes.append(Outcome(*self.staff_room.receive(event)))
                continue
            spec = registry.spec(event.channel)
            direction = spec.direction_for(self.settings(), event.service_id)
            if direction is None:
                logger.warning(
                    "traffic for a number we do not serve", extra={"to": event.service_id}
                )
                outcomes.append(Outcome("ignored"))
            elif isinstance(event, InboundMessage):
                outcomes.append(self._retrying(partial(self._message, event, direction)))
            elif isinstance(event, ButtonPress):
                outcomes.append(self._retrying(partial(self._press, event)))
            else:
                outcomes.append(self._status(event))
        return outcomes

    def _retrying(self, attempt: Callable[[], Outcome]) -> Outcome:
        for _ in range(MAX_ATTEMPTS):
            try:
                return attempt()
            except (IdentityMoved, Conflict):
                continue  # someone wrote the identity or the ticket meanwhile: re-read
        raise StillRacing("the client's ticket kept changing; the provider will retry")

    # -- messages -----------------------------------------------------------------------

    def _message(self, message: InboundMessage, direction: str) -> Outcome:
        command = None if message.attachments else incidents.subscription_command(message.text)
        try:
            if command is not None:
                return self._subscription(message, direction, command)
            return self._thread(message, direction)
        except Duplicate:
            record = self.store.events.get(message.event_id) or {}
            self._resend(record)
            return Outcome("duplicate", record.get("ticket_id"))

    def _thread(self, message: InboundMessage, direction: str) -> Outcome:
        spec = registry.spec(message.channel)
        kind, address = spec.identity_kind, spec.address_of(message)
        identity = self.store.identities.get(kind, address)
        slot = f"{message.channel}:{direction}"
        open_id = ((identity or {}).get("open") or {}).get(slot)
        now = self.clock()
        inbound = _inbound(message, now)
        ticket = self.store.tickets.find(open_id) if open_id else None
        if message.ticket_hint and identity and message.ticket_hint != open_id:
            # An e-mail reply names its ticket (headers, subject): it lands there when the
            # ticket is this client's in this channel; anyone else's mail starts their own.
            hinted = self.store.tickets.find(message.ticket_hint)
            if hinted and (hinted.customer_id, hinted.channel.value) == (
                identity.get("customer_id"),
                message.channel,
            ):
                ticket = hinted
        if ticket is not None:
            change = tickets.client_wrote(ticket, inbound, now)
            if change is not None:
                change, writes = ticket_writes(ticket, change, self.settings(), now)
                self.store.transact([dedupe(message.event_id, now, ticket_id=ticket.id), *writes])
                if change.jobs:  # the staff group's topic has news
                    self.queue.send(change.jobs)
                result = "reopened" if ticket.status == Status.RESOLVED else "continued"
                return Outcome(result, ticket.id)
        number = self._open(message, inbound, direction, identity, slot, now)
        return Outcome("created", number)

    def _subscription(self, message: InboundMessage, direction: str, subscribe: bool) -> Outcome:
        """/stop, STOP, СТОП opt out of incident notices; /start, START, СТАРТ opt back in
        (a new client's /start gets the greeting). No ticket; the answer goes out once."""
        spec = registry.spec(message.channel)
        address = spec.address_of(message)
        config = self.settings().direction(direction)
        entry = self.store.audience.get(direction, message.channel, address)
        now = self.clock()
        values = {"direction": config.display_name(), "number": ""}
        texts = config.client_texts()
        if not subscribe:
            text = texts.render("unsubscribed", **values)
        elif entry is None or entry.get("subscribed") is not False:
            text = texts.render("greeting", **values)
        else:
            text = texts.render("subscribed", **values)
        where = (direction, message.channel, address, message.sender_id, message.service_id)
        self.store.transact(
            [dedupe(message.event_id, now), enlisted(*where, message.sent_at, subscribe)]
        )
        self.queue.send([self._answer(message, text)])
        return Outcome("subscribed" if subscribe else "unsubscribed")

    def _answer(self, message: InboundMessage, text: str) -> ClientTextJob:
        return ClientTextJob(
            key=message.event_id,
            channel=message.channel,
            service_id=message.service_id,
            recipient_id=message.sender_id,
            text=text,
        )

    def _open(
        self,
        message: InboundMessage,
        inbound: Message,
        direction: str,
        identity: dict[str, Any] | None,
        slot: str,
        now: datetime,
    ) -> str:
        spec = registry.spec(message.channel)
        settings = self.settings()
        config = settings.direction(direction)
        customer_id = (identity or {}).get("customer_id") or new_id()
        known = self.store.customers.find(customer_id) if identity else None
        greeted = f"greeted_{message.channel}"
        contact = tickets.Contact(
            direction=direction,
            channel=Channel(message.channel),
            customer_id=customer_id,
            subject=message.subject or tickets.subject_of(message.text),
            customer_name=message.sender_name or (known.name if known else None),
            customer_address=spec.display_address(message),
            recipient_id=message.sender_id,
            service_id=message.service_id,
            last_customer_message_at=message.sent_at,
            our_client=bool(known and config.our_clients_group in known.groups),
        )

        def opened(number: str) -> tuple[tickets.TicketChange, list[Any]]:
            change = tracked(
                None,
                tickets.open_ticket(
                    number,
                    contact,
                    now,
                    actor="customer",
                    note=f"first message via {message.channel}",
                    first_message=inbound,
                ),
                settings,
                now,
            )
            if active or message.quiet:
                ticket = change.ticket.model_copy(
                    update={"incident_ids": [entry["id"] for entry in active]}
                    | ({"flags": [*change.ticket.flags, "no_auto_reply"]} if message.quiet else {})
                )
                change = tickets.TicketChange(ticket, change.history, change.messages, change.jobs)
            texts = config.client_texts()
            due = sla.response_due(change.ticket)
            values = {
                "number": number,
                "direction": config.display_name(),
                "due": sla.due_text(due, config) if due else "",
            }
            outbound = []
            if spec.greets and not (identity or {}).get(greeted):
                outbound.append(("greeting", 1))
            outbound.append(("acknowledgement", 2))
            if message.quiet:  # an auto-reply, a list, spam: no robot answers it
                outbound = []
            auto = [
                tickets.outbound_message(
                    change.ticket,
                    MessageKind.AUTO,
                    "system",
                    texts.render(name, **values) + (outage if name == "acknowledgement" else ""),
                    now,
                    time_ordered_id(now, sequence),
                )
                for name, sequence in outbound
            ]
            change = tickets.TicketChange(
                change.ticket,
                change.history,
                [*change.messages, *auto],
                tickets.send_in_order(auto),
            )
            change, marks = topic_writes(None, change, settings, now)
            writes = [
                dedupe(message.event_id, now, ticket_id=number, ids=[m.id for m in auto]),
                point_at_ticket(
                    spec.identity_kind,
                    spec.address_of(message),
                    identity,
                    customer_id,
                    slot,
                    number,
                    greeted,
                ),
                *writes_for(change, None),
                enlisted(
                    direction,
                    message.channel,
                    spec.address_of(message),
                    message.sender_id,
                    message.service_id,
                    message.sent_at,
                ),
                *(link_item(entry["id"], number, now) for entry in active),
                *marks,
            ]
            if identity is None:
                customer = Customer(
                    id=customer_id,
                    name=message.sender_name,
                    phone=message.sender_phone,
                    identities=[f"{spec.identity_kind}:{spec.address_of(message)}"],
                    created_at=now,
                )
                writes.append(new_customer(customer))
            writes += report_writes(None, change, settings, now, writes)
            return change, writes

        # During an incident the client hears of it in the acknowledgement, and the ticket
        # is linked to it (resolved with it, if the commander asks).
        assert self.incidents is not None
        active = self.incidents.active(direction)
        outage = "".join("\n\n" + incidents.banner_text(entry, config.language) for entry in active)

        # Check the writes can land before a number is taken for them.
        self.store.preflight(opened(tickets.ticket_number(direction, 999_999))[1])
        number = tickets.ticket_number(direction, self.store.counters.next(direction))
        change, writes = opened(number)
        try:
            self.store.transact(writes)
        except TransactionFailed as failed:
            logger.info("lost a race opening a ticket", extra={"reasons": failed.reasons})
            raise IdentityMoved() from failed
        self.queue.send(change.jobs)
        return number

    def _resend(self, record: dict[str, Any]) -> None:
        ids = record.get("ids", [])
        if ids and record.get("ticket_id"):
            job = SendMessageJob(ticket_id=record["ticket_id"], message_id=ids[0], then=ids[1:])
            self.queue.send([job])

    # -- button presses (CSAT) ------------------------------------------------------------

    def _press(self, press: ButtonPress) -> Outcome:
        """Store a rating once; every Telegram press is answered at once in the response."""
        reply = (
            telegram.answer_callback_query(press.callback_query_id)
            if press.callback_query_id
            else None
        )
        rating = csat.parse_button(press.data)
        if rating is None:
            logger.info("press on a button we do not know", extra={"data": press.data[:100]})
            return Outcome("ignored", webhook_reply=reply)
        ticket_id, value = rating
        ticket = self.store.tickets.find(ticket_id)
        if ticket is None:
            logger.warning("rating for an unknown ticket", extra={"ticket_id": ticket_id})
            return Outcome("ignored", webhook_reply=reply)
        if ticket.recipient_id != press.sender_id or ticket.channel.value != press.channel:
            logger.warning("rating from someone else than the ticket's client")
            return Outcome("ignored", ticket_id, webhook_reply=reply)
        now = self.clock()
        try:
            rated = csat.rate(ticket, value, self.settings().direction(ticket.direction), now)
        except csat.AlreadyRated:
            # This very press may be the retry of one that stored its rating and then died
            # before its enqueue: send what it stored (a different press finds no record).
            self._resend(self.store.events.get(press.event_id) or {})
            return Outcome("duplicate", ticket_id, webhook_reply=reply)
        change, writes = ticket_writes(ticket, rated, self.settings(), now)
        ids = [message.id for message in change.messages]
        try:
            self.store.transact(
                [dedupe(press.event_id, now, ticket_id=ticket_id, ids=ids), *writes]
            )
        except Duplicate:
            self._resend(self.store.events.get(press.event_id) or {})
            return Outcome("duplicate", ticket_id, webhook_reply=reply)
        self.queue.send(change.jobs)
        return Outcome("rated", ticket_id, webhook_reply=reply)

    # -- delivery statuses --------------------------------------------------------------

    def _status(self, status: DeliveryStatus) -> Outcome:
        """Record a provider's status (with WhatsApp's conversation and pricing) once."""
        now = self.clock()
        entry: dict[str, Any] = {"status": status.status, "at": iso(status.at)}
        if status.conversation:
            entry["conversation"] = status.conversation
        if status.pricing:
            entry["pricing"] = status.pricing
        if status.error:
            entry["error"] = status.error
        record = self.store.provider_messages.record_status(
            status.channel, status.provider_message_id, status.status, entry, now
        )
        # Seen before: but the delivery that recorded it may have died before its message
        # took it, and then this retry finishes the job (a message takes each status once).
        seen_before = record is None
        record = record or self.store.provider_messages.get(
            status.channel, status.provider_message_id
        )
        ticket_id, message_id = (record or {}).get("ticket_id"), (record or {}).get("message_id")
        if status.pricing:
            charge_whatsapp(self.store, self.settings(), status, ticket_id, now)
        if seen_before and self._reached(ticket_id, message_id, status.status):
            return Outcome("duplicate")
        if ticket_id and message_id:
            apply_status(self.store, ticket_id, message_id, entry, now)
        return Outcome("status", ticket_id)

    def _reached(self, ticket_id: str | None, message_id: str | None, status: str) -> bool:
        message = (
            self.store.messages.get(ticket_id, message_id) if ticket_id and message_id else None
        )
        return message is None or status in {
            entry.get("status") for entry in message.status_history
        }


def _inbound(message: InboundMessage, now: datetime) -> Message:
    return Message(
        ticket_id="",
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
        email=message.details,
    )
