"""The SLA sweep: marks each warning and breach once, tells the team, keeps the waiting rules.

It reads only what is due: the sparse, sharded timer index (`store.tickets.due_for_attention`)
holds one entry per ticket with a pending moment. For each ticket it marks what `now` has
reached (`sla.lapses`), reminds a silent client or resolves the ticket after a second
silence, and writes all of it with the ticket's version, so two sweeps running at once (or a
rerun) do the work once: the loser's write fails its condition, it re-reads and finds it done.
The notices to the team chat and the lead are messages stored in the same transaction and
sent by the dispatcher, so a crash between the write and the enqueue loses none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from helpdesk import sla, tickets, topics
from helpdesk.channels import registry
from helpdesk.errors import ChannelUnavailable, Conflict, NotFound
from helpdesk.jobs import Job
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import (
    Actor,
    DeliveryState,
    HistoryEntry,
    Message,
    MessageKind,
    Ticket,
    iso,
    utc_now,
)
from helpdesk.settings import DirectionConfig, Settings, get_settings
from helpdesk.store import Store
from helpdesk.tickets import TicketChange
from helpdesk.usecases.changes import ticket_writes
from helpdesk.usecases.outbound import fit_reply, staff_notices

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
SYSTEM = Actor(user_id="system", roles=frozenset())
TARGET_NAMES = {
    "ru": {"first_response": "первый ответ", "next_response": "ответ", "resolution": "решение"},
    "en": {
        "first_response": "first response",
        "next_response": "reply",
        "resolution": "resolution",
    },
}


@dataclass
class SweepResult:
    looked_at: int = 0
    warned: int = 0
    breached: int = 0
    reminded: int = 0
    auto_resolved: int = 0


@dataclass
class SlaSweep:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def run(self) -> SweepResult:
        now = self.clock()
        result = SweepResult()
        jobs: list[Job] = []
        try:
            for ticket_id in self.store.tickets.due_for_attention(now):
                result.looked_at += 1
                self._look(ticket_id, now, result, jobs)
        finally:
            if jobs:  # together, ten to a call; on a crash the outbox sweep finds the rest
                self.queue.send(jobs)
        return result

    def _look(self, ticket_id: str, now: datetime, result: SweepResult, jobs: list[Job]) -> None:
        for _ in range(MAX_ATTEMPTS):
            try:
                ticket = self.store.tickets.get(ticket_id)
            except NotFound:
                return
            change, counts = self._due(ticket, now)
            change, writes = ticket_writes(ticket, change, self.settings(), now)
            try:
                self.store.transact(writes)
            except Conflict:
                continue  # another sweep, or a change, landed first: re-read and decide again
            for name, value in counts.items():
                setattr(result, name, getattr(result, name) + value)
            jobs.extend(change.jobs)
            return
        logger.warning("ticket kept changing under the SLA sweep", extra={"ticket_id": ticket_id})

    def _due(self, ticket: Ticket, now: datetime) -> tuple[TicketChange, dict[str, int]]:
        config = self.settings().direction(ticket.direction)
        clocks, lapses = sla.lapses(ticket, now)
        ticket = ticket.model_copy(update={"sla": clocks})
        history: list[HistoryEntry] = []
        notices: list[Message] = []
        counts = {"warned": 0, "breached": 0, "reminded": 0, "auto_resolved": 0}
        for lapse in lapses:
            counts[lapse.kind] += 1
            history.append(
                HistoryEntry(
                    ticket_id=ticket.id,
                    at=now,
                    actor="system",
                    action=f"sla_{lapse.kind}",
                    changes={lapse.target: [None, iso(lapse.due)]},
                    note=f"{lapse.target} due {iso(lapse.due)}",
                )
            )
            notices += self._notices(ticket, config, lapse, now)
        change = TicketChange(
            ticket.model_copy(update={"updated_at": now, "version": ticket.version + 1}),
            history,
            notices,
            tickets.send_in_order(notices) if notices else [],
        )
        change = self._waiting(change, config, now, counts)
        return change, counts

    def _notices(
        self, ticket: Ticket, config: DirectionConfig, lapse: sla.Lapse, now: datetime
    ) -> list[Message]:
        """The team hears of every warning and breach (in the staff group's topic of the
        ticket, or its general topic, when the direction has one; else the team chat); the
        lead of every breach."""
        text = _notice_text(ticket, config, lapse, self.settings())
        team = [] if config.staff_group else [config.team_chat_id]
        chats = [*team, config.lead_chat_id] if lapse.kind == "breached" else team
        bot = self.settings().own_telegram_bot_id()
        notices = staff_notices(ticket, chats, text, now, bot, first=1)
        if config.staff_group:
            notices.insert(0, topics.group_notice(ticket, text, now))
        return notices

    def _waiting(
        self, change: TicketChange, config: DirectionConfig, now: datetime, counts: dict[str, int]
    ) -> TicketChange:
        """A client we wait for gets one reminder; after a second silence, the ticket resolves."""
        ticket = change.ticket
        if not ticket.waiting_on_client or ticket.waiting_since is None:
            return change
        policy = sla.policy_for(config, ticket.priority.value, ticket.our_client)
        texts = config.client_texts()
        values = {"number": ticket.id, "direction": config.display_name()}
        if ticket.reminded_at is None and now >= ticket.waiting_since + policy.remind_after:
            counts["reminded"] += 1
            ticket = ticket.model_copy(update={"reminded_at": now})
            reminder = self._to_client(ticket, config, texts.render("reminder", **values), now)
            entry = HistoryEntry(ticket_id=ticket.id, at=now, actor="system", action="reminder")
            return _with(change, ticket, [entry], reminder)
        if ticket.reminded_at and now >= ticket.reminded_at + policy.resolve_after:
            counts["auto_resolved"] += 1
            resolved = tickets.resolve(
                ticket.model_copy(update={"waiting_on_client": False}),
                now,
                actor=SYSTEM,
                resolution="no answer from the client",
            )
            notice = self._to_client(
                resolved.ticket, config, texts.render("auto_resolved", **values), now
            )
            return _with(change, resolved.ticket, resolved.history, notice)
        return change

    def _to_client(
        self, ticket: Ticket, config: DirectionConfig, text: str, now: datetime
    ) -> list[Message]:
        if not registry.can_send(ticket.channel):
            return []
        message = tickets.outbound_message(ticket, MessageKind.AUTO, "system", text, now)
        try:
            return [fit_reply(ticket, message, config, now)]
        except ChannelUnavailable as closed:  # WhatsApp's window, no template: visibly failed
            failed = {"delivery": DeliveryState.FAILED, "error": closed.message}
            return [message.model_copy(update=failed)]


def _with(
    change: TicketChange, ticket: Ticket, history: list[HistoryEntry], messages: list[Message]
) -> TicketChange:
    queued = [m for m in messages if m.delivery == DeliveryState.QUEUED]
    return TicketChange(
        ticket,
        [*change.history, *history],
        [*change.messages, *messages],
        [*change.jobs, *tickets.send_in_order(queued)],
    )


def _notice_text(
    ticket: Ticket, config: DirectionConfig, lapse: sla.Lapse, settings: Settings
) -> str:
    names = TARGET_NAMES.get(config.language, TARGET_NAMES["en"])
    due = sla.due_text(lapse.due, config)
    who = ticket.assignee or ("не назначено" if config.language == "ru" else "unassigned")
    client = ticket.customer_name or ticket.customer_address or ticket.customer_id
    if config.language == "ru":
        head = (
            f"🚨 Просрочен {names[lapse.target]}"
            if lapse.kind == "breached"
            else f"⚠️ Скоро срок: {names[lapse.target]}"
        )
        line = f"{head} по {ticket.id} (срок {due}). Исполнитель: {who}. Клиент: {client}."
    else:
        head = (
            f"🚨 {names[lapse.target].capitalize()} overdue"
            if lapse.kind == "breached"
            else f"⚠️ {names[lapse.target].capitalize()} due soon"
        )
        line = f"{head}: {ticket.id} (due {due}). Assignee: {who}. Client: {client}."
    link = (
        f"{settings.public_base_url.rstrip('/')}/tickets/{ticket.id}"
        if settings.public_base_url
        else ""
    )
    return "\n".join(part for part in (line, ticket.subject, link) if part)
