"""Configuration: the only module that reads the environment and HELPDESK_CONFIG.

`get_settings()` reads once per process (cached); tests call `get_settings.cache_clear()`
after changing the environment. Secrets have no defaults: an unset secret makes the webhook
that needs it refuse everything (fail closed). Deployed, a secret comes from Secrets Manager
(`<NAME>_SECRET_ARN`) and HELPDESK_CONFIG from a versioned S3 object (`s3://bucket/key`);
locally and in tests a plain value, a path or inline JSON does. Everything is validated at
start, and an error names the field (`HELPDESK_CONFIG: directions[0].texts.resolved: ...`).
"""

from __future__ import annotations

import json
import os
import re
import string
from datetime import date, time, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic import model_validator as model_check

if TYPE_CHECKING:
    from helpdesk.calendar import BusinessCalendar

Language = Literal["ru", "en"]
MAX_INTERACTIVE_BODY = 1024  # WhatsApp interactive message body
MAX_BUTTON_TITLE = 20  # WhatsApp reply button title (also list button text)
MAX_PLACEHOLDER_VALUE = {"number": 20, "direction": 100, "resolution": 2000, "due": 60}


class ConfigError(ValueError):
    """HELPDESK_CONFIG or the environment is not usable; the message names the field."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Which placeholders each client text may use; anything else is refused at start.
TEXT_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "greeting": frozenset({"direction", "number"}),
    "acknowledgement": frozenset({"direction", "number", "due"}),
    "reminder": frozenset({"direction", "number"}),
    "auto_resolved": frozenset({"direction", "number"}),
    "unreachable": frozenset({"direction", "number"}),
    "resolved": frozenset({"direction", "number", "resolution"}),
    "csat_prompt": frozenset({"direction", "number"}),
    "csat_thanks": frozenset({"direction", "number"}),
    "csat_good": frozenset(),
    "csat_bad": frozenset(),
    "csat_choose": frozenset(),
    "unsubscribed": frozenset({"direction"}),
    "subscribed": frozenset({"direction"}),
    "out_of_hours_call": frozenset({"direction"}),
}
BUTTON_TEXTS = ("csat_good", "csat_bad", "csat_choose")


class DirectionTexts(_Config):
    """Client-facing texts of one direction; placeholders in braces are filled in."""

    greeting: str
    acknowledgement: str
    reminder: str
    auto_resolved: str
    unreachable: str
    resolved: str
    csat_prompt: str
    csat_thanks: str
    csat_good: str
    csat_bad: str
    csat_choose: str
    unsubscribed: str  # the answer to /stop, STOP, СТОП
    subscribed: str  # the answer to /start, START, СТАРТ
    out_of_hours_call: str  # what a caller hears outside working hours

    @model_check(mode="after")
    def _check(self) -> DirectionTexts:
        for name, allowed in TEXT_PLACEHOLDERS.items():
            text: str = getattr(self, name)
            if not text.strip():
                raise ValueError(f"{name}: must not be empty")
            used = placeholders(text, name)
            if unknown := used - allowed:
                allowed_list = ", ".join(f"{{{p}}}" for p in sorted(allowed)) or "none"
                raise ValueError(
                    f"{name}: unknown placeholder {{{sorted(unknown)[0]}}} "
                    f"(allowed: {allowed_list})"
                )
        for name in BUTTON_TEXTS:
            if len(getattr(self, name)) > MAX_BUTTON_TITLE:
                raise ValueError(
                    f"{name}: a button label holds at most {MAX_BUTTON_TITLE} characters "
                    "(WhatsApp's limit)"
                )
        if self.csat_good == self.csat_bad:
            raise ValueError("csat_good and csat_bad must differ (WhatsApp needs unique titles)")
        used = placeholders(self.csat_prompt, "csat_prompt")
        longest = len(self.csat_prompt) + sum(MAX_PLACEHOLDER_VALUE[name] for name in used)
        if longest > MAX_INTERACTIVE_BODY:
            raise ValueError(
                f"csat_prompt: with its placeholders filled it may pass WhatsApp's "
                f"{MAX_INTERACTIVE_BODY}-character limit for a message with buttons"
            )
        return self

    def render(self, name: str, **values: str) -> str:
        """A text with its placeholders filled (validated at start, so this cannot fail)."""
        allowed = TEXT_PLACEHOLDERS[name]
        text: str = getattr(self, name)
        return text.format(**{key: value for key, value in values.items() if key in allowed})


def known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from error
    return value


def placeholders(text: str, name: str = "text") -> set[str]:
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError as error:
        raise ValueError(f"{name}: {error} (write a literal brace as {{{{ or }}}})") from error


DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "greeting": (
            "Здравствуйте! Вы пишете в поддержку «{direction}»: вам отвечают люди. "
            "Опишите проблему: что вы делали, что ожидали, что произошло, "
            "и приложите снимок экрана, если можете."
        ),
        "acknowledgement": "Обращение {number} зарегистрировано. Мы ответим до {due}.",
        "reminder": (
            "По обращению {number} мы ждём вашего ответа. Напишите, пожалуйста, "
            "помогло ли решение или что ещё нужно."
        ),
        "auto_resolved": (
            "Мы не получили ответа и закрываем обращение {number}. Если вопрос остался, "
            "просто напишите сюда."
        ),
        "unreachable": (
            "Мы не смогли до вас дозвониться по обращению {number}. Напишите сюда, "
            "когда вам удобно, и мы ответим."
        ),
        "resolved": "Обращение {number} решено. {resolution}",
        "csat_prompt": "Оцените, пожалуйста, ответ по обращению {number}.",
        "csat_thanks": "Спасибо за оценку!",
        "csat_good": "👍 Хорошо",
        "csat_bad": "👎 Плохо",
        "csat_choose": "Оценить",
        "unsubscribed": (
            "Вы отписались от уведомлений о сбоях «{direction}». Чтобы подписаться снова, "
            "отправьте /start (в WhatsApp: СТАРТ)."
        ),
        "subscribed": (
            "Вы подписаны на уведомления о сбоях «{direction}». Чтобы отписаться, "
            "отправьте /stop (в WhatsApp: СТОП)."
        ),
        "out_of_hours_call": (
            "Вы позвонили в поддержку «{direction}» в нерабочее время. Напишите нам в "
            "мессенджер, и мы ответим в рабочее время."
        ),
    },
    "en": {
        "greeting": (
            "Hello! You are writing to {direction} support: real people answer here. "
            "Please describe the problem: what you did, what you expected, what happened, "
            "and attach a screenshot if you can."
        ),
        "acknowledgement": "Your request {number} is registered. We will answer by {due}.",
        "reminder": (
            "We are waiting for your answer on request {number}: did the solution help, "
            "or is anything else needed?"
        ),
        "auto_resolved": (
            "We have not heard back, so we are closing request {number}. If the question "
            "remains, just write here."
        ),
        "unreachable": (
            "We could not reach you by phone about request {number}. Write here whenever "
            "it suits you and we will answer."
        ),
        "resolved": "Your request {number} is resolved. {resolution}",
        "csat_prompt": "Please rate the answer to your request {number}.",
        "csat_thanks": "Thank you for your rating!",
        "csat_good": "👍 Good",
        "csat_bad": "👎 Bad",
        "csat_choose": "Rate",
        "unsubscribed": (
            "You will no longer get outage notices from {direction}. To subscribe again, "
            "send /start (in WhatsApp: START)."
        ),
        "subscribed": (
            "You will get outage notices from {direction}. To unsubscribe, send /stop "
            "(in WhatsApp: STOP)."
        ),
        "out_of_hours_call": (
            "You have called {direction} support outside working hours. Write to us in a "
            "messenger and we will answer during working hours."
        ),
    },
}


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_ranges(ranges: list[str], where: str) -> tuple[tuple[time, time | None], ...]:
    """'09:00-13:00' ranges of one day, in order, not overlapping; '24:00' ends at midnight."""
    parsed: list[tuple[time, time | None]] = []
    for text in ranges:
        found = _RANGE.match(text.strip())
        if not found:
            raise ValueError(f"{where}: {text!r} is not a range like 09:00-18:00")
        start = time(int(found.group(1)), int(found.group(2)))
        end = None if found.group(3) == "24:00" else time(int(found.group(4)), int(found.group(5)))
        if end is not None and end <= start:
            raise ValueError(f"{where}: {text!r} ends before it starts")
        if parsed and (parsed[-1][1] is None or start < parsed[-1][1]):
            raise ValueError(f"{where}: {text!r} overlaps or precedes the range before it")
        parsed.append((start, end))
    return tuple(parsed)


def parse_duration(text: str | int, where: str) -> timedelta:
    """'1h30m', '45m', '2d' (days of 24 hours of working time), or whole minutes."""
    if isinstance(text, int):
        minutes = text
    else:
        found = _DURATION.match(text.strip())
        if not found or not text.strip():
            raise ValueError(f"{where}: {text!r} is not a duration like 4h, 30m or 1h30m")
        days, hours, mins = (int(part or 0) for part in found.groups())
        minutes = days * 24 * 60 + hours * 60 + mins
    if minutes <= 0:
        raise ValueError(f"{where}: a duration must be positive, not {text!r}")
    return timedelta(minutes=minutes)


class CalendarConfig(_Config):
    """When a direction works. Without one a direction works 24/7 in its time zone."""

    hours: dict[str, list[str]] = Field(
        default_factory=lambda: {day: ["09:00-18:00"] for day in WEEKDAYS[:5]}
    )
    holidays: list[date] = Field(default_factory=list)
    working_days: dict[date, list[str]] = Field(default_factory=dict)  # transferred ones
    country: str | None = None  # its public holidays and transferred days (holidays package)

    @model_check(mode="after")
    def _check(self) -> CalendarConfig:
        for day, ranges in self.hours.items():
            if day not in WEEKDAYS:
                raise ValueError(f"hours: {day!r} is not one of {', '.join(WEEKDAYS)}")
            parse_ranges(ranges, f"hours.{day}")
        for workday, day_ranges in self.working_days.items():
            parse_ranges(day_ranges, f"working_days.{workday}")
        if self.country:
            from helpdesk.calendar import known_country

            if not known_country(self.country):
                raise ValueError(f"country: {self.country!r} has no holiday calendar")
        if not any(self.hours.values()):
            raise ValueError("hours: a calendar needs some working time (or leave it out: 24/7)")
        return self

    def business_calendar(self, zone: str) -> BusinessCalendar:
        from helpdesk.calendar import BusinessCalendar

        week = tuple(parse_ranges(self.hours.get(day, []), day) for day in WEEKDAYS)
        return BusinessCalendar(
            zone=zone,
            week=week,
            holidays=frozenset(self.holidays),
            working_days={day: parse_ranges(r, str(day)) for day, r in self.working_days.items()},
            country=self.country.upper() if self.country else None,
        )


Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
CategoryName = Literal["question", "suggestion", "problem", "complaint", "feedback"]
MAX_FIRST_RESPONSE = timedelta(hours=24)


class Targets(_Config):
    """One priority's promises, each in working time: '4h', '30m', '1h30m'."""

    first_response: str | int
    next_response: str | int
    resolution: str | int

    def durations(self) -> dict[str, timedelta]:
        return {
            name: parse_duration(getattr(self, name), name)
            for name in ("first_response", "next_response", "resolution")
        }

    @model_check(mode="after")
    def _check(self) -> Targets:
        durations = self.durations()
        if durations["first_response"] > MAX_FIRST_RESPONSE:
            raise ValueError("first_response: 24 hours is the outer limit for a first answer")
        return self


DEFAULT_TARGETS: dict[Priority, Targets] = {
    "urgent": Targets(first_response="1h", next_response="2h", resolution="8h"),
    "high": Targets(first_response="4h", next_response="4h", resolution="24h"),
    "normal": Targets(first_response="8h", next_response="8h", resolution="40h"),
    "low": Targets(first_response="24h", next_response="24h", resolution="80h"),
}
DEFAULT_OUR_CLIENTS: dict[Priority, Targets] = {
    "urgent": Targets(first_response="30m", next_response="1h", resolution="4h"),
    "high": Targets(first_response="2h", next_response="2h", resolution="16h"),
    "normal": Targets(first_response="4h", next_response="4h", resolution="24h"),
    "low": Targets(first_response="8h", next_response="8h", resolution="40h"),
}


def _halved(target: Any) -> Any:
    """Half of each of a priority's targets (whole minutes), or the value as given when it
    is not a valid set of targets (validation then names the problem)."""
    try:
        durations = (
            target if isinstance(target, Targets) else Targets.model_validate(target)
        ).durations()
    except (ValueError, TypeError):
        return target
    return {name: max(1, int(d.total_seconds()) // 120) for name, d in durations.items()}


class SlaConfig(_Config):
    """A direction's SLA policy: targets per priority (tighter for 'our clients'), when to
    warn, whether a hold pauses the resolution clock, and the waiting-on-the-client rules."""

    targets: dict[Priority, Targets] = Field(default_factory=lambda: dict(DEFAULT_TARGETS))
    our_clients: dict[Priority, Targets] = Field(default_factory=lambda: dict(DEFAULT_OUR_CLIENTS))
    warn_at: float = Field(default=0.8, gt=0, lt=1)  # share of a target elapsed: warn
    pause_on_hold: bool = False
    remind_after: str | int = "48h"  # wall-clock silence of a client we wait for
    resolve_after: str | int = "72h"  # after the reminder: resolved with a notice

    @model_check(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        """Given priorities override the defaults one by one; 'our clients' targets not given
        are half the direction's own (never looser than everyone's)."""
        if not isinstance(data, dict):
            return data
        given: dict[str, Any] = data.get("targets") or {}
        ours: dict[str, Any] = data.get("our_clients") or {}
        if not isinstance(given, dict) or not isinstance(ours, dict) or not (given or ours):
            return data  # nothing to merge (or not a mapping: validation names it)
        targets: dict[str, Any] = {**dict(DEFAULT_TARGETS.items()), **given}
        halved = {priority: _halved(target) for priority, target in targets.items()}
        return {**data, "targets": targets, "our_clients": {**halved, **ours}}

    @model_check(mode="after")
    def _check(self) -> SlaConfig:
        parse_duration(self.remind_after, "remind_after")
        parse_duration(self.resolve_after, "resolve_after")
        return self


class CallbackConfig(_Config):
    """The missed-call rule: call back within two working days, N attempts."""

    working_days: int = Field(default=2, ge=1, le=10)
    max_attempts: int = Field(default=3, ge=1, le=20)


class StaffedAgent(_Config):
    """One agent of a direction for the load report: who, in which team, how many hours."""

    id: str = Field(min_length=1, max_length=128)
    team: str = Field(default="team", min_length=1, max_length=64)
    hours_per_week: float = Field(default=40, gt=0, le=168)


class StaffingConfig(_Config):
    """Who works a direction and for how long: the load report's denominator."""

    agents: list[StaffedAgent] = Field(default_factory=list)

    @field_validator("agents")
    @classmethod
    def _unique(cls, agents: list[StaffedAgent]) -> list[StaffedAgent]:
        seen: set[str] = set()
        for agent in agents:
            if agent.id in seen:
                raise ValueError(f"agent {agent.id!r} is listed twice")
            seen.add(agent.id)
        return agents

    def hours_per_week(self) -> float:
        return sum(agent.hours_per_week for agent in self.agents)

    def team_of(self, agent_id: str) -> str | None:
        return next((agent.team for agent in self.agents if agent.id == agent_id), None)


Price = Annotated[int, Field(ge=0, le=10**9)]  # minor units (kopecks, cents): never negative


class RateCard(_Config):
    """What a direction's usage costs, in integer minor units of one currency: a started
    minute of a call (per support line, else the card's default), a billable WhatsApp message
    per pricing category (as Meta's status webhooks name it); Telegram is free."""

    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. RUB, USD")
    call_minute: Price = 0
    call_minute_by_line: dict[str, Price] = Field(default_factory=dict)
    whatsapp: dict[str, Price] = Field(default_factory=dict)
    monthly_budget: Price | None = None

    def minute_price(self, line: str | None) -> int:
        return self.call_minute_by_line.get(line or "", self.call_minute)


StaffRole = Literal["agent", "lead"]


def _agent() -> list[StaffRole]:
    return ["agent"]


class StaffMember(_Config):
    """A Telegram user of the staff group and who they are in the helpdesk."""

    user_id: str = Field(min_length=1, max_length=128)
    roles: list[StaffRole] = Field(default_factory=_agent, min_length=1)


class StaffGroupConfig(_Config):
    """The direction's staff supergroup with topics (forum) on, the bot an admin that may
    manage topics: a topic per chosen ticket, the general topic for the rest's notices."""

    chat_id: str = Field(pattern=r"^-100\d{1,16}$")  # a supergroup's id, as the Bot API gives it
    # Which tickets get a topic: every one, or those from `min_priority` up and those of
    # `categories` (both empty under "chosen": none).
    topics: Literal["all", "chosen"] = "all"
    min_priority: Priority | None = None
    categories: list[CategoryName] = Field(default_factory=list)
    # Telegram user id -> the staff user who writes from it; anyone else is ignored.
    members: dict[str, StaffMember] = Field(default_factory=dict)

    @field_validator("members")
    @classmethod
    def _numeric_ids(cls, members: dict[str, StaffMember]) -> dict[str, StaffMember]:
        for telegram_id in members:
            if not telegram_id.isdigit() or len(telegram_id) > 20:
                raise ValueError(f"members: {telegram_id!r} is not a Telegram user id")
        return members


class WhatsAppTemplate(_Config):
    """An approved message template (Meta approves its wording; we fill its parameters)."""

    name: str = Field(min_length=1, max_length=512)
    language: str = Field(default="ru", min_length=2, max_length=15)


class EmailConfig(_Config):
    """A direction's e-mail: the mailboxes clients write to (the first one sends), the name
    shown as the sender, and the signature under every message we send."""

    mailboxes: list[str] = Field(default_factory=list)
    sender_name: str = Field(default="", max_length=100)
    signature: str = Field(default="", max_length=2000)

    @field_validator("mailboxes")
    @classmethod
    def _addresses(cls, mailboxes: list[str]) -> list[str]:
        for mailbox in mailboxes:
            if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", mailbox):
                raise ValueError(f"{mailbox!r} is not an e-mail address")
        return [mailbox.lower() for mailbox in mailboxes]


class DirectionConfig(_Config):
    """One business line: its numbers, bots, texts and thresholds."""

    id: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    name: str = Field(default="", max_length=100)
    language: Language = "ru"
    timezone: str = "Europe/Moscow"
    phone_numbers: list[str] = Field(default_factory=list)  # support lines (E.164)
    telegram_bot_ids: list[str] = Field(default_factory=list)
    whatsapp_phone_number_ids: list[str] = Field(default_factory=list)
    texts: DirectionTexts | None = None
    csat_scale: Literal["binary", "stars"] = "binary"
    # Outside WhatsApp's 24-hour window only approved templates go out: the resolution notice
    # (parameters: number; quick-reply buttons carry the rating) and an agent's reply
    # (parameters: number, text). Without one, such a send is refused with a clear reason.
    whatsapp_resolved_template: str | None = None
    whatsapp_reply_template: str | None = None
    whatsapp_template_language: str = "ru"
    problem_call_seconds: int = Field(default=300, gt=0)
    calendar: CalendarConfig | None = None  # None: 24/7
    sla: SlaConfig = Field(default_factory=SlaConfig)
    callbacks: CallbackConfig = Field(default_factory=CallbackConfig)
    our_clients_group: str = "our_clients"
    team_chat_id: str | None = None  # the direction's team chat in Telegram (SLA escalations)
    # The direction's Telegram channel for incidents: one living post per incident.
    incident_channel_id: str | None = Field(default=None, pattern=r"^(-?\d{1,20}|@\w{5,32})$")
    # Red incident notices to WhatsApp clients outside the 24-hour window (parameter: text).
    whatsapp_incident_template: str | None = None
    # What callers hear first (a red incident; out of hours). Zadarma plays only files
    # uploaded to its PBX (their ids here); Twilio speaks the text, then hands the call to
    # `twilio_voice_url`, the TwiML that rings the agents.
    zadarma_incident_file: str | None = Field(default=None, max_length=100)
    zadarma_out_of_hours_file: str | None = Field(default=None, max_length=100)
    twilio_voice_url: str | None = Field(default=None, pattern=r"^https://\S+$", max_length=500)
    lead_chat_id: str | None = None  # the lead's chat: breaches and missed calls escalate here
    staffing: StaffingConfig = Field(default_factory=StaffingConfig)  # the load report
    rate_card: RateCard | None = None  # usage costs (finance); None: nothing is charged
    # A linked tracker task is done: "draft" puts its resolution on the ticket as a note and
    # hands the ticket back to the agent; "resolve" resolves it at once (the client is told).
    tracker_resolution: Literal["draft", "resolve"] = "draft"
    # The staff group in Telegram: a topic per ticket, answered from the topic (usecases.topics).
    staff_group: StaffGroupConfig | None = None
    # The complaint reply's default wording, part by part, over the language's own
    # (helpdesk.replies.DEFAULT_COMPLAINT); placeholders as in canned replies.
    complaint_reply: dict[Literal["thank", "why_it_matters", "apology", "action"], str] = Field(
        default_factory=dict
    )
    email: EmailConfig = Field(default_factory=EmailConfig)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @model_check(mode="before")
    @classmethod
    def _texts_over_defaults(cls, data: Any) -> Any:
        """Given texts override the language's defaults one by one."""
        if isinstance(data, dict) and isinstance(data.get("texts"), dict):
            language = data.get("language", "ru")
            defaults = DEFAULT_TEXTS.get(language, DEFAULT_TEXTS["ru"])
            data = {**data, "texts": {**defaults, **data["texts"]}}
        return data

    def display_name(self) -> str:
        return self.name or self.id.upper()

    def business_calendar(self) -> BusinessCalendar:
        """The direction's calendar, built once per configuration."""
        key = (id(self), self.timezone)
        if key not in _CALENDARS:
            from helpdesk.calendar import BusinessCalendar

            built = self.calendar.business_calendar(self.timezone) if self.calendar else None
            _CALENDARS[key] = (self, built or BusinessCalendar(zone=self.timezone))
        return _CALENDARS[key][1]

    def client_texts(self) -> DirectionTexts:
        return self.texts or _default_texts(self.language)


@cache
def _default_direction(direction_id: str) -> DirectionConfig:
    """The defaults, for a direction nobody configured (the default direction, usually)."""
    return DirectionConfig.model_construct(id=direction_id)


_CALENDARS: dict[tuple[int, str], tuple[DirectionConfig, BusinessCalendar]] = {}


@cache
def _default_texts(language: Language) -> DirectionTexts:
    return DirectionTexts.model_validate(DEFAULT_TEXTS[language])


class SendRates(_Config):
    """What the providers take, per second unless named otherwise (their documented limits:
    Telegram about 30 messages a second per bot, 1 a second per chat, 20 a minute per group
    or channel; WhatsApp 80 a second per business number by default). Incident fan-out
    keeps to `notice_share` of the per-bot and per-number caps, leaving room for replies."""

    telegram_per_second: int = Field(default=30, ge=1, le=1000)
    telegram_chat_per_second: int = Field(default=1, ge=1, le=100)
    telegram_group_per_minute: int = Field(default=20, ge=1, le=1000)
    whatsapp_per_second: int = Field(default=80, ge=1, le=1000)
    notice_share: float = Field(default=1.0, gt=0, le=1)

    def notice_cap(self, channel: str) -> int:
        """Sends a second the incident fan-out may use in a channel."""
        cap = self.whatsapp_per_second if channel == "whatsapp" else self.telegram_per_second
        return max(1, int(cap * self.notice_share))


class AwsPrices(_Config):
    """Published on-demand prices (USD, us-east-1) the cost estimates multiply counted usage by;
    configuration, not code, so that a price change is an edit and a region another file."""

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    dynamodb_write_per_million: float = Field(default=0.625, ge=0)
    dynamodb_read_per_million: float = Field(default=0.125, ge=0)
    lambda_request_per_million: float = Field(default=0.20, ge=0)
    lambda_gb_second: float = Field(default=0.0000166667, ge=0)
    http_api_per_million: float = Field(default=1.00, ge=0)
    sqs_per_million: float = Field(default=0.40, ge=0)
    dynamodb_storage_gb_month: float = Field(default=0.25, ge=0)


class ReportsConfig(_Config):
    """Reports: the longest range one request may ask, and how many ratings an agent or team
    needs before the CSAT leaderboard ranks them."""

    max_days: int = Field(default=366, ge=1, le=3660)
    min_ratings: int = Field(default=5, ge=1, le=10_000)
    complaints_feed: int = Field(default=50, ge=1, le=500)


class HelpdeskConfig(_Config):
    directions: list[DirectionConfig] = Field(default_factory=list)
    rates: SendRates = Field(default_factory=SendRates)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    aws_prices: AwsPrices = Field(default_factory=AwsPrices)

    @field_validator("directions")
    @classmethod
    def _unique(cls, directions: list[DirectionConfig]) -> list[DirectionConfig]:
        seen: set[str] = set()
        mailboxes: dict[str, str] = {}
        for direction in directions:
            if direction.id in seen:
                raise ValueError(f"direction {direction.id!r} is configured twice")
            seen.add(direction.id)
            for mailbox in direction.email.mailboxes:
                if mailboxes.setdefault(mailbox, direction.id) != direction.id:
                    raise ValueError(
                        f"mailbox {mailbox!r} belongs to {mailboxes[mailbox]!r} and "
                        f"{direction.id!r}: mail to it must go to one direction"
                    )
        return directions


# Settings whose values are secrets: from the variable itself, or Secrets Manager by ARN.
SECRET_NAMES = (
    "telegram_bot_token",
    "telegram_secret_token",
    "whatsapp_app_secret",
    "whatsapp_verify_token",
    "whatsapp_access_token",
    "twilio_auth_token",
    "zadarma_api_secret",
    "generic_cti_token",
    # issue trackers (POST /webhooks/tracker/{provider})
    "github_webhook_secret",
    "gitlab_webhook_token",
    "jira_webhook_secret",
    "generic_tracker_secret",
)


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = "local"
    table_name: str = "helpdesk"
    queue_url: str = ""
    problem_calls_topic_arn: str | None = None
    budget_alerts_topic_arn: str | None = None
    export_bucket: str | None = None  # deployed: where the table's daily export goes (Athena)
    groups_claim: str = "cognito:groups"
    default_direction: str = Field(default="d0", pattern=r"^[a-z0-9_-]{1,32}$")
    telegram_bot_token: SecretStr | None = None
    telegram_bot_id: str | None = None  # the bot's public id (the token's part before ':')
    telegram_secret_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_api_base: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_phone_number_id: str | None = None
    twilio_auth_token: SecretStr | None = None
    zadarma_api_secret: SecretStr | None = None
    zadarma_timezone: str = "UTC"
    generic_cti_token: SecretStr | None = None
    github_webhook_secret: SecretStr | None = None
    gitlab_webhook_token: SecretStr | None = None
    jira_webhook_secret: SecretStr | None = None
    generic_tracker_secret: SecretStr | None = None
    public_base_url: str | None = None
    sandbox_url: str | None = None  # the local stack's stand-in client (never deployed)
    email_mailbox: str | None = None  # the default direction's mailbox (more in HELPDESK_CONFIG)
    email_bucket: str | None = None  # raw inbound mail and its attachments
    email_configuration_set: str | None = None  # SES: bounces and complaints to our topic
    email_outbox_url: str | None = None  # set: mail goes there (the local sandbox), not to SES
    config: HelpdeskConfig = Field(default_factory=HelpdeskConfig)

    @field_validator("zadarma_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    def direction(self, direction_id: str) -> DirectionConfig:
        """A configured direction, or the defaults for the default direction."""
        for direction in self.config.directions:
            if direction.id == direction_id:
                return direction
        return _default_direction(direction_id)

    def direction_ids(self) -> list[str]:
        ids = [direction.id for direction in self.config.directions]
        return ids if self.default_direction in ids else [*ids, self.default_direction]

    def has_direction(self, direction_id: str) -> bool:
        return direction_id in self.direction_ids()

    def known_direction(self, direction_id: str) -> str:
        """The direction, or 422 naming it and the configured ones (a request's direction)."""
        if not self.has_direction(direction_id):
            from helpdesk.errors import Unprocessable

            raise Unprocessable(
                f"direction {direction_id!r} is not configured",
                field="direction",
                directions=self.direction_ids(),
            )
        return direction_id

    def direction_for_phone_line(self, number: str | None) -> str:
        for direction in self.config.directions:
            if number and number in direction.phone_numbers:
                return direction.id
        return self.default_direction

    def direction_for_telegram_bot(self, bot_id: str) -> str:
        for direction in self.config.directions:
            if bot_id in direction.telegram_bot_ids:
                return direction.id
        return self.default_direction

    def direction_for_whatsapp_number(self, phone_number_id: str) -> str | None:
        """None means: not our number, ignore the traffic."""
        for direction in self.config.directions:
            if phone_number_id in direction.whatsapp_phone_number_ids:
                return direction.id
        if phone_number_id == self.whatsapp_phone_number_id:
            return self.default_direction
        return None

    def direction_for_staff_group(self, chat_id: str) -> DirectionConfig | None:
        """The direction whose staff group this is; None: a group we do not serve."""
        for direction in self.config.directions:
            if direction.staff_group and direction.staff_group.chat_id == chat_id:
                return direction
        return None

    def staff_groups(self) -> list[str]:
        return [d.staff_group.chat_id for d in self.config.directions if d.staff_group]

    def direction_for_mailbox(self, address: str) -> str | None:
        """None means: not one of our mailboxes, ignore the mail."""
        address = address.lower()
        for direction in self.config.directions:
            if address in direction.email.mailboxes:
                return direction.id
        if self.email_mailbox and address == self.email_mailbox.lower():
            return self.default_direction
        return None

    def own_mailboxes(self) -> frozenset[str]:
        """Every mailbox we send from or receive at: mail from these is never a client's."""
        mailboxes = {m for d in self.config.directions for m in d.email.mailboxes}
        return frozenset(
            {*mailboxes, *([self.email_mailbox.lower()] if self.email_mailbox else [])}
        )

    def own_telegram_bot_id(self) -> str:
        if self.telegram_bot_id:
            return self.telegram_bot_id
        token = self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else ""
        return token.split(":", 1)[0] or "bot"

    def secret(self, name: str) -> str:
        """A secret's value, '' when unset (callers then refuse: fail closed)."""
        value: SecretStr | None = getattr(self, name)
        return value.get_secret_value() if value else ""


_ENV_NAMES = {
    "stage": "STAGE",
    "table_name": "TABLE_NAME",
    "queue_url": "QUEUE_URL",
    "problem_calls_topic_arn": "PROBLEM_CALLS_TOPIC_ARN",
    "budget_alerts_topic_arn": "BUDGET_ALERTS_TOPIC_ARN",
    "export_bucket": "EXPORT_BUCKET",
    "groups_claim": "GROUPS_CLAIM",
    "default_direction": "DEFAULT_DIRECTION",
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "telegram_bot_id": "TELEGRAM_BOT_ID",
    "telegram_secret_token": "TELEGRAM_SECRET_TOKEN",
    "telegram_api_base": "TELEGRAM_API_BASE",
    "whatsapp_app_secret": "WHATSAPP_APP_SECRET",
    "whatsapp_verify_token": "WHATSAPP_VERIFY_TOKEN",
    "whatsapp_access_token": "WHATSAPP_ACCESS_TOKEN",
    "whatsapp_api_base": "WHATSAPP_API_BASE",
    "whatsapp_api_version": "WHATSAPP_API_VERSION",
    "whatsapp_phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "zadarma_api_secret": "ZADARMA_API_SECRET",
    "zadarma_timezone": "ZADARMA_TIMEZONE",
    "generic_cti_token": "GENERIC_CTI_TOKEN",
    "github_webhook_secret": "GITHUB_WEBHOOK_SECRET",
    "gitlab_webhook_token": "GITLAB_WEBHOOK_TOKEN",
    "jira_webhook_secret": "JIRA_WEBHOOK_SECRET",
    "generic_tracker_secret": "GENERIC_TRACKER_SECRET",
    "public_base_url": "PUBLIC_BASE_URL",
    "sandbox_url": "SANDBOX_URL",
    "email_mailbox": "EMAIL_MAILBOX",
    "email_bucket": "EMAIL_BUCKET",
    "email_configuration_set": "EMAIL_CONFIGURATION_SET",
    "email_outbox_url": "EMAIL_OUTBOX_URL",
}


def load_config(raw: str | None) -> HelpdeskConfig:
    """HELPDESK_CONFIG as inline JSON, a file path, or `s3://bucket/key[?versionId=...]`."""
    if not raw or not raw.strip():
        return HelpdeskConfig()
    source = raw.strip()
    if source.startswith("{"):
        text = source
    elif source.startswith("s3://"):
        text = _read_s3(source)
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"HELPDESK_CONFIG: cannot read {source}: {error}") from error
    if not text.strip():
        return HelpdeskConfig()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"HELPDESK_CONFIG: not valid JSON: {error}") from error
    try:
        return HelpdeskConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"HELPDESK_CONFIG: {_describe(error)}") from None


def _read_s3(url: str) -> str:
    """The config object; a bucket without it yet (first deploy) means no configuration."""
    import boto3
    from botocore.exceptions import ClientError

    parts = urlsplit(url)
    request: dict[str, Any] = {"Bucket": parts.netloc, "Key": parts.path.lstrip("/")}
    if version := parse_qs(parts.query).get("versionId"):
        request["VersionId"] = version[0]
    try:
        body = boto3.client("s3").get_object(**request)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return ""
        raise ConfigError(f"HELPDESK_CONFIG: cannot read {url}: {error}") from error
    return str(body.decode("utf-8"))


def _describe(error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        where = ""
        for part in problem["loc"]:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        message = str(problem["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def _secret_from_arn(arn: str) -> str:
    import boto3

    return str(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def config_source() -> str | None:
    """Deployed: the bucket, key and optional version the template gives; else HELPDESK_CONFIG."""
    bucket = os.environ.get("HELPDESK_CONFIG_BUCKET")
    if not bucket:
        return os.environ.get("HELPDESK_CONFIG")
    key = os.environ.get("HELPDESK_CONFIG_KEY") or "helpdesk-config.json"
    version = os.environ.get("HELPDESK_CONFIG_VERSION")
    return f"s3://{bucket}/{key}" + (f"?versionId={version}" if version else "")


@cache
def get_settings() -> Settings:
    # An empty variable counts as unset: CloudFormation passes "" for optional parameters.
    values: dict[str, object] = {
        field: os.environ[name] for field, name in _ENV_NAMES.items() if os.environ.get(name)
    }
    for field in SECRET_NAMES:
        arn = os.environ.get(f"{_ENV_NAMES[field]}_SECRET_ARN")
        if field not in values and arn:
            values[field] = _secret_from_arn(arn)
    values["config"] = load_config(config_source())
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        raise ConfigError(f"environment: {_describe(error)}") from None
