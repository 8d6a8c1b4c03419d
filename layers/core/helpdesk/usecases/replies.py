"""Canned replies and the complaint reply, filled in for a ticket (the kb API lists them, the
tickets API sends them: `template_id` or `complaint` on a reply)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk import replies
from helpdesk.errors import BadRequest, Forbidden
from helpdesk.models import Actor, Category, Ticket, utc_now
from helpdesk.replies import CannedReply, Filling
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store
from helpdesk.store.canned import new_reply, removed

DIRECTION_WRITERS = ("lead",)  # a direction's canned replies; anyone keeps their own


@dataclass
class ReplyDesk:
    store: Store = field(default_factory=Store)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def create(
        self, actor: Actor, direction: str, title: str, texts: dict[str, str], personal: bool
    ) -> CannedReply:
        """A canned reply; a text naming an unknown placeholder is 422 naming it."""
        self.settings().known_direction(direction)
        if not personal and not actor.has_any(*DIRECTION_WRITERS):
            raise Forbidden(
                "only a lead writes a direction's canned replies; save yours with personal=true",
                roles=list(DIRECTION_WRITERS),
            )
        replies.check_canned(texts)
        reply = CannedReply(
            id=("u-" if personal else "d-") + uuid.uuid4().hex[:12],
            direction=direction,
            owner=actor.user_id if personal else None,
            title=title,
            texts=texts,
            created_by=actor.user_id,
            updated_at=self.clock(),
        )
        self.store.transact([new_reply(reply)])
        return reply

    def delete(self, actor: Actor, direction: str, reply_id: str) -> None:
        reply = self.store.canned.get(reply_id, direction, actor.user_id)
        if reply.owner is None and not actor.has_any(*DIRECTION_WRITERS):
            raise Forbidden("only a lead removes a direction's canned replies")
        self.store.transact([removed(reply)])

    def listed(self, actor: Actor, direction: str | None, ticket_id: str | None) -> dict[str, Any]:
        """The direction's and the caller's canned replies; for a ticket, each with its text
        filled in, in the ticket's language."""
        ticket = self.store.tickets.get(ticket_id) if ticket_id else None
        direction = ticket.direction if ticket else direction
        if not direction:
            raise BadRequest("give direction or ticket_id", field="direction")
        found = self.store.canned.listed(direction, actor.user_id)
        views = [reply.model_dump(mode="json") for reply in found]
        if ticket is not None:
            filled = self._filling(ticket, actor)
            for view, reply in zip(views, found, strict=True):
                view["text"] = replies.canned_text(reply, filled)
        return {"direction": direction, "replies": views}

    def reply_text(
        self,
        ticket_id: str,
        actor: Actor,
        text: str | None,
        template_id: str | None,
        complaint: dict[str, str] | None,
    ) -> str:
        """What a reply says: its text as given, a canned reply or the complaint's four
        parts, filled in for the ticket."""
        if text is not None:
            return text
        ticket = self.store.tickets.get(ticket_id)
        filled = self._filling(ticket, actor)
        if template_id is not None:
            reply = self.store.canned.get(template_id, ticket.direction, actor.user_id)
            return replies.canned_text(reply, filled)
        return replies.complaint_text(complaint or {}, filled)

    def complaint_form(self, ticket_id: str, actor: Actor) -> dict[str, Any]:
        """The four parts with the direction's default wording filled in, and whether to
        offer the client to the lead for the "our clients" group."""
        ticket = self.store.tickets.get(ticket_id)
        config = self.settings().direction(ticket.direction)
        filled = self._filling(ticket, actor)
        wording = {str(part): text for part, text in config.complaint_reply.items()}
        defaults = replies.complaint_defaults(config.language, wording)
        complaint = ticket.category == Category.COMPLAINT
        return {
            "ticket_id": ticket.id,
            "complaint": complaint,
            "order": list(replies.COMPLAINT_PARTS),
            "parts": {name: replies.fill(text, filled.values) for name, text in defaults.items()},
            "offer_our_clients": {
                "customer_id": ticket.customer_id,
                "group": config.our_clients_group,
                "offer": complaint and not ticket.our_client and actor.has_any("lead"),
            },
        }

    def _filling(self, ticket: Ticket, actor: Actor) -> Filling:
        config = self.settings().direction(ticket.direction)
        return replies.filling(ticket, actor.user_id, config.language, config.timezone)
