"""A ticket's topic in its direction's staff group (Telegram forum): which tickets get one,
what it is called, what of the conversation is posted there and how staff answer from it.

The ticket is the source of truth; the topic is a copy kept in step by usecases.topics, at
the group's pace (about 20 posts a minute), so several entries may go out as one post.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from helpdesk.models import Message, MessageKind, Priority, Status, Ticket, time_ordered_id
from helpdesk.settings import StaffGroupConfig
from helpdesk.tickets import TicketChange

NAME_MAX = 128  # createForumTopic: 1-128 characters
POST_MAX = 4096  # sendMessage: 1-4096 characters
FROM_TOPIC = "topic"  # Message.origin of what staff wrote in the topic (never posted back)
CLIENT_MARK = "👤"  # a post of the client's words begins with it: replying to one answers them

STATUS_MARKS = {
    Status.NEW: "🆕",
    Status.OPEN: "💬",
    Status.ON_HOLD: "⏸",
    Status.RESOLVED: "✅",
    Status.CLOSED: "🔒",
}
SKEW = timedelta(seconds=60)  # how much older than the newest posted a late message may be
_STAMP = "%Y%m%dT%H%M%S%fZ"  # models.time_ordered_id's prefix
_PRIORITY_ORDER = list(Priority)
_REPLY_COMMAND = re.compile(r"^/reply(?:@\w+)?(?:\s+(?P<text>.*))?$", re.DOTALL | re.IGNORECASE)


def wants_topic(ticket: Ticket, group: StaffGroupConfig) -> bool:
    """All tickets, or those from the group's priority up and of its categories."""
    if group.topics == "all":
        return True
    if group.min_priority is not None:
        wanted = _PRIORITY_ORDER.index(Priority(group.min_priority))
        if _PRIORITY_ORDER.index(ticket.priority) >= wanted:
            return True
    return ticket.category is not None and ticket.category.value in group.categories


def topic_name(ticket: Ticket) -> str:
    """'💬 D0-000123 · Ivan Petrov · Cannot log in': status, number, client, subject."""
    client = ticket.customer_name or ticket.customer_address or "client"
    parts = [f"{STATUS_MARKS[ticket.status]} {ticket.id}", client[:40], ticket.subject]
    name = " · ".join(" ".join(part.split()) for part in parts if part.strip())
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


def topic_closed(ticket: Ticket) -> bool:
    """A resolved or closed ticket's topic is closed; reopening the ticket reopens it."""
    return ticket.status in (Status.RESOLVED, Status.CLOSED)


def for_group(message: Message) -> bool:
    """A notice to the staff group itself (an SLA warning): stored with the ticket, posted
    by the mirror to the ticket's topic or the general one, never by the dispatcher."""
    return message.kind == MessageKind.NOTICE and message.delivery is None


def has_news(before: Ticket | None, change: TicketChange, group: StaffGroupConfig) -> bool:
    """Whether the change gives the group something to post, rename, close or reopen."""
    after = change.ticket
    if any(for_group(message) for message in change.messages):
        return True
    if not wants_topic(after, group):
        return False
    if before is None or not wants_topic(before, group):
        return True
    return (
        any(mirrored(message) for message in change.messages)
        or topic_name(before) != topic_name(after)
        or topic_closed(before) != topic_closed(after)
    )


def notice(ticket: Ticket, now: datetime, *, text: str) -> TicketChange:
    """A word to the staff group about the ticket (the bot answering in its topic), kept
    with the ticket and posted by the mirror; the client never sees it."""
    updated = ticket.model_copy(update={"updated_at": now, "version": ticket.version + 1})
    return TicketChange(updated, [], [group_notice(ticket, text, now)])


def group_notice(ticket: Ticket, text: str, now: datetime, sequence: int = 0) -> Message:
    """A message about the ticket for its direction's staff group (not for the dispatcher:
    no delivery state); the mirror posts it in the ticket's topic or the general one."""
    return Message(
        ticket_id=ticket.id,
        id=time_ordered_id(now, sequence),
        kind=MessageKind.NOTICE,
        author="system",
        text=text,
        at=now,
        channel=ticket.channel,
    )


def mirrored(message: Message) -> bool:
    """What the topic shows: the client's words, what staff said to them or of them (unless
    said in the topic itself) and the group's notices; not the automatic texts."""
    if message.origin == FROM_TOPIC:
        return False
    if message.kind in (MessageKind.INBOUND, MessageKind.REPLY, MessageKind.COMMENT):
        return True
    return for_group(message)


def entry(message: Message, ticket: Ticket) -> str:
    """One message as the topic shows it, attachments named."""
    client = ticket.customer_name or ticket.customer_address or "client"
    head = {
        MessageKind.INBOUND: f"{CLIENT_MARK} {client}",
        MessageKind.REPLY: f"↩️ {message.author} → {client}",
        MessageKind.COMMENT: f"📝 {message.author}",
    }.get(message.kind)
    lines = [head] if head else []
    if message.text:
        lines.append(message.text)
    for attachment in message.attachments:
        kind, name = attachment.get("kind") or "file", attachment.get("file_name")
        lines.append(f"📎 {name} ({kind})" if name else f"📎 {kind}")
    return "\n".join(lines) or "…"


def posts(entries: list[str], limit: int = POST_MAX) -> list[str]:
    """Entries joined into as few posts as fit the limit (the group's pace is the scarce
    thing); an entry longer than a post is cut into several."""
    return [text for text, _ in batches([(entry, "") for entry in entries], limit)]


def batches(entries: list[tuple[str, str]], limit: int = POST_MAX) -> list[tuple[str, list[str]]]:
    """(text, message id) entries as posts, each with the ids of the messages it carries."""
    joined: list[tuple[str, list[str]]] = []
    for text, message_id in entries:
        for piece in _pieces(text, limit):
            if joined and len(joined[-1][0]) + 2 + len(piece) <= limit:
                joined[-1] = (joined[-1][0] + "\n\n" + piece, [*joined[-1][1], message_id])
            else:
                joined.append((piece, [message_id]))
    return joined


def _pieces(text: str, limit: int) -> list[str]:
    return [text[start : start + limit] for start in range(0, len(text), limit)] or [text]


def window_start(cursor: str | None) -> str | None:
    """Where to read a topic's news from: SKEW before its cursor (message ids sort by time)."""
    moment = _stamp(cursor)
    return (moment - SKEW).strftime(_STAMP) if moment else cursor


def still_recent(ids: list[str], cursor: str | None) -> list[str]:
    """The ids a late message could still be mistaken for: those within SKEW of the cursor."""
    start = window_start(cursor)
    return [i for i in ids if start is None or i >= start]


def _stamp(message_id: str | None) -> datetime | None:
    try:
        return datetime.strptime((message_id or "").split("-", 1)[0], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class StaffWords:
    """What a staff member's post in a topic asks for: a comment, or a reply to the client."""

    to_client: bool
    text: str


def staff_words(text: str, replying_to_client_post: bool) -> StaffWords:
    """`/reply <text>` (or `/reply@bot <text>`), or Telegram's Reply to a post of the
    client's words, goes to the client; anything else is an internal comment."""
    match = _REPLY_COMMAND.match(text.strip())
    if match:
        return StaffWords(True, (match["text"] or "").strip())
    return StaffWords(replying_to_client_post, text.strip())
