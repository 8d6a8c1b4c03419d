"""Incident notices: what commanders post, what the banner shows, who is told where.

A notice has a severity (red, yellow, green), the directions it affects, a text per
language, a lifecycle (started, updates with an ETA, resolved) and a revision that grows with
each post: every revision is told to the audience once (the clients a direction knows in
Telegram; in WhatsApp only for red incidents), posted in the direction's incident channel as
one living message edited in place, and shown on the in-app banner while it is active.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from helpdesk.errors import InvalidTransition
from helpdesk.models import Actor, UtcTime, iso

Severity = Literal["red", "yellow", "green"]
COLOURS: dict[str, str] = {"red": "#d32f2f", "yellow": "#f9a825", "green": "#2e7d32"}
CHANNELS_BY_SEVERITY: dict[str, tuple[str, ...]] = {
    "red": ("telegram", "whatsapp"),  # WhatsApp costs money and interrupts: red only
    "yellow": ("telegram",),
    "green": ("telegram",),
}
BANNER_MAX_AGE = 30  # seconds the client application may cache the banner


class Post(BaseModel):
    """One step of a notice's life, as the audience reads it."""

    revision: int
    kind: Literal["started", "update", "resolved"]
    text: dict[str, str]
    eta: UtcTime | None = None
    at: UtcTime
    by: str


class Notice(BaseModel):
    id: str
    severity: Severity
    directions: list[str]
    # Who is told: telegram, whatsapp (by severity, narrowed by the post); none: the banner
    # and the incident channel only (stored without the attribute, as every empty list).
    channels: list[str] = Field(default_factory=list)
    state: Literal["active", "resolved"] = "active"
    text: dict[str, str]  # the latest text per language
    eta: UtcTime | None = None
    started_at: UtcTime
    updated_at: UtcTime
    resolved_at: UtcTime | None = None
    created_by: str
    posts: list[Post] = Field(default_factory=list)
    resolve_linked: bool = False  # resolving resolves the tickets linked to it
    version: int = 1

    @property
    def revision(self) -> int:
        return len(self.posts)


def start(
    notice_id: str,
    *,
    actor: Actor,
    severity: Severity,
    directions: list[str],
    text: dict[str, str],
    eta: datetime | None,
    channels: list[str] | None,
    now: datetime,
) -> Notice:
    allowed = CHANNELS_BY_SEVERITY[severity]
    wanted = allowed if channels is None else channels
    chosen = [channel for channel in wanted if channel in allowed]
    return Notice(
        id=notice_id,
        severity=severity,
        directions=sorted(set(directions)),
        channels=chosen,
        text=text,
        eta=eta,
        started_at=now,
        updated_at=now,
        created_by=actor.user_id,
        posts=[Post(revision=1, kind="started", text=text, eta=eta, at=now, by=actor.user_id)],
    )


def update(
    notice: Notice, *, actor: Actor, text: dict[str, str], eta: datetime | None, now: datetime
) -> Notice:
    _active(notice, "update")
    post = Post(
        revision=notice.revision + 1, kind="update", text=text, eta=eta, at=now, by=actor.user_id
    )
    return notice.model_copy(
        update={
            "text": text,
            "eta": eta or notice.eta,
            "updated_at": now,
            "posts": [*notice.posts, post],
            "version": notice.version + 1,
        }
    )


def resolve(
    notice: Notice,
    *,
    actor: Actor,
    text: dict[str, str],
    now: datetime,
    resolve_linked: bool = False,
) -> Notice:
    _active(notice, "resolve")
    post = Post(revision=notice.revision + 1, kind="resolved", text=text, at=now, by=actor.user_id)
    return notice.model_copy(
        update={
            "state": "resolved",
            "text": text,
            "eta": None,
            "updated_at": now,
            "resolved_at": now,
            "posts": [*notice.posts, post],
            "resolve_linked": resolve_linked,
            "version": notice.version + 1,
        }
    )


def _active(notice: Notice, action: str) -> None:
    if notice.state != "active":
        raise InvalidTransition(
            f"cannot {action} notice {notice.id}: it is resolved", status=notice.state
        )


def in_language(text: dict[str, str], language: str) -> str:
    """The text in the wanted language, else Russian, else any."""
    return text.get(language) or text.get("ru") or next(iter(text.values()), "")


def banner_entry(notice: Notice) -> dict[str, Any]:
    """What the banner keeps of an active notice (all languages: one read serves them all)."""
    return {
        "id": notice.id,
        "severity": notice.severity,
        "colour": COLOURS[notice.severity],
        "text": notice.text,
        "started_at": iso(notice.started_at),
        "updated_at": iso(notice.updated_at),
        "eta": iso(notice.eta) if notice.eta else None,
    }


def banner_view(entries: list[dict[str, Any]], language: str) -> tuple[dict[str, Any], str]:
    """The banner for one language, red first, and its ETag."""
    order = {"red": 0, "yellow": 1, "green": 2}
    notices = [
        {**entry, "text": in_language(entry["text"], language)}
        for entry in sorted(entries, key=lambda e: (order[e["severity"]], e["started_at"]))
    ]
    body = {"notices": notices}
    tag = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return body, f'"{tag[:32]}"'


ICONS = {"red": "🔴", "yellow": "🟡", "green": "🟢"}


def banner_text(entry: dict[str, Any], language: str) -> str:
    """An active notice as a line under a client's acknowledgement."""
    return f"{ICONS[entry['severity']]} {in_language(entry['text'], language)}"


def client_text(notice: Notice, post: Post, language: str) -> str:
    """The message a client receives for one post of a notice."""
    icon = ICONS[notice.severity]
    if post.kind == "resolved":
        icon = "✅"
    text = in_language(post.text, language)
    if post.eta and post.kind != "resolved":
        label = "Ожидаемое время решения" if language == "ru" else "Expected fix"
        text += f"\n{label}: {iso(post.eta)[:16].replace('T', ' ')} UTC"
    return f"{icon} {text}"


MAX_TEXT = 1000  # per language: fits a Telegram message, a WhatsApp template parameter
STOP_WORDS = frozenset({"/stop", "stop", "стоп", "/unsubscribe", "отписаться", "unsubscribe"})
START_WORDS = frozenset({"/start", "start", "старт", "/subscribe", "подписаться", "subscribe"})


def subscription_command(text: str) -> bool | None:
    """False for an opt-out (/stop, STOP, СТОП), True for opting back in (/start, START,
    СТАРТ), None for anything else. Telegram adds the bot's name (/stop@bot) or a deep-link
    payload (/start abc) to commands."""
    words = text.strip().lower().split()
    if not words or len(words) > 2:
        return None
    first = words[0].split("@", 1)[0]
    if len(words) == 2 and first != "/start":
        return None
    if first in STOP_WORDS:
        return False
    if first in START_WORDS:
        return True
    return None


def audience_address(channel: str, recipient_id: str) -> str:
    """The audience key of a client: the chat id in Telegram, the E.164 phone in WhatsApp
    (what the channel registry calls the client's address)."""
    if channel == "whatsapp":
        return f"+{recipient_id.lstrip('+')}"
    return recipient_id


def template_text(text: str) -> str:
    """A WhatsApp template parameter: no new lines, tabs or more than four spaces in a row
    (Meta refuses those), at most MAX_TEXT + room for the icon."""
    flat = " · ".join(line.strip() for line in text.splitlines() if line.strip())
    return " ".join(flat.replace("\t", " ").split())[: MAX_TEXT + 100]


def channel_text(notice: Notice, language: str) -> str:
    """The one living post in a direction's incident channel: state, times, the latest text
    and every update so far, newest first."""
    ru = language == "ru"
    icon = ICONS[notice.severity]
    if notice.state == "resolved":
        head = f"✅ {'Решено' if ru else 'Resolved'}: {notice.id}"
    else:
        head = f"{icon} {'Сбой' if ru else 'Incident'} {notice.id}"

    def moment(value: datetime) -> str:
        return iso(value)[:16].replace("T", " ") + " UTC"

    lines = [head, in_language(notice.text, language), ""]
    lines.append(f"{'Начало' if ru else 'Started'}: {moment(notice.started_at)}")
    if notice.eta and notice.state == "active":
        lines.append(f"{'Ожидаем решения' if ru else 'Expected fix'}: {moment(notice.eta)}")
    if notice.resolved_at:
        lines.append(f"{'Решено' if ru else 'Resolved'}: {moment(notice.resolved_at)}")
    earlier = [post for post in reversed(notice.posts[:-1])]
    if earlier:
        lines.append("")
        lines.append("Ранее:" if ru else "Earlier:")
        for post in earlier:
            lines.append(f"• {moment(post.at)}: {in_language(post.text, language)}")
    text = "\n".join(lines)
    return text if len(text) <= 4096 else text[:4093] + "…"


@dataclass(frozen=True)
class LineAnswer:
    """What a caller hears before anything else: the incident (then on to an agent), or
    the out-of-hours message (then the call ends: a missed call, called back)."""

    reason: Literal["incident", "out_of_hours"]
    text: str
    hang_up: bool


def line_answer(
    active: list[dict[str, Any]], language: str, working: bool, out_of_hours_text: str
) -> LineAnswer | None:
    """A red incident of the direction is told to every caller; outside working hours the
    calendar's message is; otherwise the call goes on as usual (None)."""
    red = [entry for entry in active if entry["severity"] == "red"]
    if red:
        text = " ".join(in_language(entry["text"], language) for entry in red)
        return LineAnswer("incident", text, hang_up=False)
    if not working:
        return LineAnswer("out_of_hours", out_of_hours_text, hang_up=True)
    return None
