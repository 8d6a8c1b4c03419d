"""Tickets' topics in the staff group and the group's pace.

- `TICKET#<n>` / `#TOPIC`: the ticket's topic (thread id) and what is already there: the last
  message posted (`cursor`), the name and open or closed state it was given.
- `THREAD#<chat>#<thread>` / `#THREAD`: which ticket a topic belongs to (staff write there).
- `GROUP#<chat>` / `DIRTY#<n>`: the ticket has something the topic does not show yet; written
  in the change's own transaction (usecases.changes), removed when the topic caught up, unless
  touched again meanwhile (`touched` differs).
- `GROUP#<chat>` / `#PACE`: one mirror at a time per group (a lease), the times of its recent
  posts (the group's per-minute allowance) and a provider's "retry after".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk.models import Message, Ticket, iso, new_id
from helpdesk.store import keys
from helpdesk.store.codec import to_dynamo
from helpdesk.store.items import message_from_item, ticket_from_item
from helpdesk.store.table import Table, Write, put_new, update

DIRTY_PAGE = 200  # tickets looked at per pass of a group's mirror
MESSAGES_PAGE = 200  # messages a topic catches up per read


class TouchedAgain(Exception):
    """The ticket changed again while its topic was being brought up to date."""


@dataclass
class TopicState:
    """What the ticket's topic shows; thread_id None: no topic (its notices go to general)."""

    ticket_id: str
    chat_id: str
    thread_id: str | None = None
    name: str | None = None
    closed: bool = False
    cursor: str | None = None  # the newest message id posted (or deliberately passed over)
    # Ids taken within SKEW of the cursor: a message written late with a slightly older id
    # (another function's clock) is still found, and one already posted is not posted again.
    recent: list[str] = field(default_factory=list)
    error: str | None = None  # the last post the group refused, and why


@dataclass
class Pace:
    """The group's lease and the times (epoch ms) of its recent calls."""

    token: str
    sent: list[int] = field(default_factory=list)
    blocked_until: int = 0


def marked(chat_id: str, ticket_id: str, now: datetime) -> Write:
    """The ticket has news for its topic: a new `touched` token each time, so the mirror
    removes the mark only if nothing came after what it read."""
    return update(
        keys.group_dirty(chat_id, ticket_id),
        "SET touched = :touched, ticket_id = :ticket, since = if_not_exists(since, :now)",
        {":touched": new_id(), ":ticket": ticket_id, ":now": iso(now)},
    )


class Topics:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- a ticket and its topic ---------------------------------------------------------

    def ticket_and_state(self, ticket_id: str, chat_id: str) -> tuple[Ticket | None, TopicState]:
        """The ticket and its topic record in one Query (`#TICKET` .. `#TOPIC` sort together)."""
        items, _ = self.table.query_page(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": keys.ticket_partition(ticket_id)},
                ":first": {"S": "#TICKET"},
                ":last": {"S": "#TOPIC"},
            },
        )
        ticket = next((ticket_from_item(i) for i in items if i["SK"] == "#TICKET"), None)
        found = next((i for i in items if i["SK"] == "#TOPIC"), None)
        state = TopicState(ticket_id, chat_id)
        if found:
            state = TopicState(
                ticket_id=ticket_id,
                chat_id=str(found["chat_id"]),
                thread_id=found.get("thread_id"),
                name=found.get("name"),
                closed=bool(found.get("closed")),
                cursor=found.get("cursor"),
                recent=list(found.get("recent", [])),
                error=found.get("error"),
            )
        return ticket, state

    def messages_from(self, ticket_id: str, start: str | None, skip: set[str]) -> list[Message]:
        """The ticket's messages from the id `start` on, oldest first, less `skip` (a page)."""
        items, _ = self.table.query_page(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :start AND :end",
            ExpressionAttributeValues={
                ":pk": {"S": keys.ticket_partition(ticket_id)},
                ":start": {"S": f"MSG#{start or ''}"},
                ":end": {"S": "MSG#~"},
            },
            Limit=MESSAGES_PAGE + len(skip),
        )
        messages = [message_from_item(item) for item in items]
        return [m for m in messages if m.id not in skip][:MESSAGES_PAGE]

    def created(self, state: TopicState, now: datetime) -> None:
        """The topic exists: its record and the thread's pointer back, together."""
        assert state.thread_id is not None
        self.table.transact(
            [
                self._record(state, now),
                put_new(
                    {
                        **keys.thread(state.chat_id, state.thread_id),
                        "type": "thread",
                        "ticket_id": state.ticket_id,
                        "at": iso(now),
                    }
                ),
            ]
        )

    def save(self, state: TopicState, now: datetime) -> None:
        """What the topic shows now (one write after each call that changed it)."""
        self.table.transact([self._record(state, now)])

    def _record(self, state: TopicState, now: datetime) -> Write:
        values: dict[str, Any] = {":type": "topic", ":at": iso(now)}
        sets, removes = ["#type = :type", "updated_at = :at"], []
        names = {"#type": "type"}
        for name in ("chat_id", "thread_id", "name", "closed", "cursor", "recent", "error"):
            value = getattr(state, name)
            if value == []:
                value = None  # an empty list is not stored
            names[f"#{name}"] = name  # name and cursor are reserved words
            if value is None:
                removes.append(f"#{name}")
            else:
                sets.append(f"#{name} = :{name}")
                values[f":{name}"] = value
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return update(keys.topic(state.ticket_id), expression, values, names=names)

    def ticket_of_thread(self, chat_id: str, thread_id: str) -> str | None:
        item = self.table.get(keys.thread(chat_id, thread_id))
        return str(item["ticket_id"]) if item else None

    # -- the group: what waits, and its pace ----------------------------------------------

    def dirty(self, chat_id: str, limit: int = DIRTY_PAGE) -> list[tuple[str, str, str]]:
        """(ticket id, touched token, since) of tickets whose topic is behind, oldest first."""
        items, _ = self.table.query_page(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": keys.group_partition(chat_id)},
                ":prefix": {"S": "DIRTY#"},
            },
            Limit=limit,
        )
        found = [(str(i["ticket_id"]), str(i["touched"]), str(i.get("since", ""))) for i in items]
        return sorted(found, key=lambda entry: entry[2])

    def caught_up(self, chat_id: str, ticket_id: str, touched: str) -> bool:
        """Remove the mark unless the ticket was touched after it was read (False then)."""
        write = Write(
            {
                "Delete": {
                    "Key": to_dynamo(keys.group_dirty(chat_id, ticket_id)),
                    "ConditionExpression": "touched = :touched",
                    "ExpressionAttributeValues": to_dynamo({":touched": touched}),
                }
            },
            TouchedAgain(),
        )
        try:
            self.table.transact([write])
        except TouchedAgain:
            return False
        return True

    def lease(self, chat_id: str, token: str, now_ms: int, until_ms: int) -> Pace | None:
        """Take the group's lease (free, run out, or ours already); None: someone has it."""
        write = update(
            keys.group_pace(chat_id),
            "SET lease_token = :token, lease_until = :until",
            {":token": token, ":until": until_ms, ":now": now_ms},
            condition=(
                "attribute_not_exists(lease_until) OR lease_until < :now OR lease_token = :token"
            ),
        )
        item = self.table.update_returning(write)
        if item is None:
            return None
        return Pace(
            token=token,
            sent=[int(t) for t in item.get("sent", [])],
            blocked_until=int(item.get("blocked_until", 0)),
        )

    def release(self, chat_id: str, pace: Pace, until_ms: int | None) -> bool:
        """Keep the lease until `until_ms` (a continuation is on the queue) or give it up;
        the recent posts and the block are kept either way. False: the lease was lost."""
        values: dict[str, Any] = {
            ":token": pace.token,
            ":sent": pace.sent,
            ":blocked": pace.blocked_until,
        }
        if until_ms is None:
            expression = "SET sent = :sent, blocked_until = :blocked REMOVE lease_until"
        else:
            expression = "SET sent = :sent, blocked_until = :blocked, lease_until = :until"
            values[":until"] = until_ms
        write = update(
            keys.group_pace(chat_id), expression, values, condition="lease_token = :token"
        )
        return self.table.update_returning(write, "NONE") is not None
