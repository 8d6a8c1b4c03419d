"""Canned replies and the complaint reply: texts written once, filled in for a ticket.

A canned reply belongs to a direction (written by a lead) or to one agent (their own), has a
text per language, and may name the placeholders `PLACEHOLDERS` and no others: a text naming
another is refused when it is saved (422 naming it), never half-filled when it is sent.

The complaint reply has four parts in a fixed order (the department's rule): thank, say why
it matters, apologise, say what is being done. Each direction may word the defaults.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from helpdesk.errors import Unprocessable
from helpdesk.models import Ticket, UtcTime

Language = Literal["ru", "en"]
PLACEHOLDERS = ("client_name", "number", "agent_name", "due")
COMPLAINT_PARTS = ("thank", "why_it_matters", "apology", "action")
KNOWN = ", ".join("{" + name + "}" for name in PLACEHOLDERS)

DEFAULT_COMPLAINT: dict[str, dict[str, str]] = {
    "ru": {
        "thank": "{client_name}, спасибо, что написали нам об этом.",
        "why_it_matters": "Такие сообщения помогают нам находить то, что мы делаем плохо.",
        "apology": "Приносим извинения за доставленные неудобства.",
        "action": "Мы уже разбираемся: ответим по обращению {number} до {due}.",
    },
    "en": {
        "thank": "{client_name}, thank you for telling us about this.",
        "why_it_matters": "Messages like yours show us where we fall short.",
        "apology": "We are sorry for the trouble this caused you.",
        "action": "We are looking into it and will answer on ticket {number} by {due}.",
    },
}
NO_NAME = {"ru": "Здравствуйте", "en": "Hello"}  # {client_name} when the client gave none
NO_DUE = {"ru": "конца рабочего дня", "en": "the end of the working day"}


def placeholders(text: str) -> list[str]:
    """The placeholders a text names, in order; 422 when its braces cannot be read."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise Unprocessable(
            f"the text's braces cannot be read ({error}); write {{{{ and }}}} for a brace",
            field="text",
        ) from error
    return [name for _, name, _, _ in parsed if name is not None]


def check_placeholders(text: str) -> None:
    """422 naming the first placeholder that is not one of `PLACEHOLDERS`."""
    for name in placeholders(text):
        if name not in PLACEHOLDERS:
            raise Unprocessable(
                f"unknown placeholder {{{name}}}: use {KNOWN}",
                placeholder=name,
                allowed=list(PLACEHOLDERS),
            )


def fill(text: str, values: dict[str, str]) -> str:
    """The text with its placeholders filled (checked with `check_placeholders` first)."""
    check_placeholders(text)
    parts = []
    for literal, name, _, _ in string.Formatter().parse(text):
        parts.append(literal)
        if name is not None:
            parts.append(values[name])
    return "".join(parts)


@dataclass(frozen=True)
class Filling:
    """What a ticket puts into placeholders."""

    values: dict[str, str]
    language: str


def filling(ticket: Ticket, agent_name: str, language: str, zone: str) -> Filling:
    running = [clock.due for clock in ticket.sla.values() if clock.state == "running" and clock.due]
    due = _local_time(min(running), zone, language) if running else NO_DUE.get(language, "")
    return Filling(
        {
            "client_name": ticket.customer_name or NO_NAME.get(language, ""),
            "number": ticket.id,
            "agent_name": agent_name,
            "due": due,
        },
        language,
    )


def _local_time(moment: datetime, zone: str, language: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return local.strftime("%d.%m.%Y %H:%M" if language == "ru" else "%Y-%m-%d %H:%M")


class CannedReply(BaseModel):
    id: str
    direction: str
    owner: str | None = None  # an agent's own reply; None: the direction's
    title: str
    texts: dict[Language, str] = Field(min_length=1)
    created_by: str
    updated_at: UtcTime

    def text(self, language: str) -> str:
        """The text in `language`, else the first one written."""
        for written, text in self.texts.items():
            if written == language:
                return text
        return next(iter(self.texts.values()))


def check_canned(texts: dict[str, str]) -> None:
    for text in texts.values():
        check_placeholders(text)


def canned_text(reply: CannedReply, fill_with: Filling) -> str:
    return fill(reply.text(fill_with.language), fill_with.values)


def complaint_defaults(language: str, wording: dict[str, str]) -> dict[str, str]:
    """A direction's four parts: its own wording over the language's defaults."""
    return {**DEFAULT_COMPLAINT.get(language, DEFAULT_COMPLAINT["en"]), **wording}


def complaint_text(parts: dict[str, Any], fill_with: Filling) -> str:
    """The reply from its four parts in the department's order; 422 naming what is missing."""
    missing = [name for name in COMPLAINT_PARTS if not str(parts.get(name) or "").strip()]
    if missing:
        raise Unprocessable(
            f"a complaint reply needs all four parts; missing: {', '.join(missing)}",
            missing=missing,
            order=list(COMPLAINT_PARTS),
        )
    return "\n\n".join(fill(str(parts[name]).strip(), fill_with.values) for name in COMPLAINT_PARTS)
