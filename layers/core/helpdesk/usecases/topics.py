"""The staff group in Telegram: each chosen ticket a topic kept in step with the ticket, and
staff answering from the topic.

Mirroring (`TopicMirror`). A change that gives a topic news marks the ticket in the group
(`GROUP#<chat>` / `DIRTY#<n>`, in the change's own transaction) and queues a `topic_sync`
job. One mirror per group runs at a time (a lease on the group's pace item); it walks the
marked tickets oldest first and, for each, creates the topic, posts what the topic does not
show yet (several entries joined into one post: behind, it catches up in few posts), renames,
closes or reopens it, then removes the mark unless the ticket was touched meanwhile. Telegram
lets a bot post about 20 times a minute in one group: the mirror counts its calls of the last
minute and, at the limit or told to wait (429 retry_after), leaves a continuation on the queue
for when the group may take the next post, keeping the lease until then. The ticket in the
table is the truth; the topic only follows it, so nothing is lost when the group is slow or a
post fails (the mark stays until the topic caught up).

Answering (`StaffRoom`). A message in a ticket's topic from a mapped staff member becomes an
internal comment under their user id; `/reply <text>`, or Telegram's Reply to a post of the
client's words, goes to the client through the desk exactly as a reply from the API. Anyone
else, and a closed ticket, get a short notice in the topic. Bots (our own posts included) are
never listened to.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from helpdesk import tickets, topics
from helpdesk.channels import registry
from helpdesk.channels.base import PermanentSendError, RateLimited, StaffPost
from helpdesk.channels.telegram import TelegramClient
from helpdesk.errors import HelpdeskError
from helpdesk.jobs import Job, TopicSyncJob
from helpdesk.jobs.queue import MAX_DELAY_SECONDS, JobQueue
from helpdesk.models import Actor, Message, Status, Ticket, new_id, utc_now
from helpdesk.settings import DirectionConfig, Settings, StaffGroupConfig, get_settings
from helpdesk.store import Store
from helpdesk.store.topics import DIRTY_PAGE, MESSAGES_PAGE, Pace, TopicState
from helpdesk.usecases.desk import TicketDesk

logger = logging.getLogger(__name__)

WINDOW_MS = 60_000  # the group's allowance is counted over the last minute
RUN_LEASE_MS = 60_000  # a running mirror's lease (the dispatcher's timeout is 30 s)
SLACK_MS = 60_000  # a continuation's lease outlives its due time by this much
GONE = ("message thread not found", "TOPIC_DELETED", "TOPIC_ID_INVALID")


class OutOfTurn(Exception):
    """The group may take no more posts now (its minute's allowance, or a 429)."""


class TopicGone(Exception):
    """The ticket's topic was deleted in Telegram."""


@dataclass
class TopicMirror:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now
    bot: Callable[[Settings], TelegramClient] = registry.staff_bot
    deadline: float | None = None  # time.monotonic() by which a pass hands over

    def sync(self, job: Job) -> None:
        """One pass over the group's marked tickets, as far as its pace allows."""
        assert isinstance(job, TopicSyncJob)
        settings = self.settings()
        config = settings.direction_for_staff_group(job.chat_id)
        if config is None or config.staff_group is None:
            logger.warning("topic sync for a group we do not serve", extra={"chat": job.chat_id})
            return
        token = job.token or new_id()
        pace = self.store.topics.lease(job.chat_id, token, self._ms(), self._ms() + RUN_LEASE_MS)
        if pace is None:
            logger.info("another mirror has the group", extra={"chat": job.chat_id})
            return
        try:
            done = _Pass(self, settings, config, config.staff_group, pace).run()
        except Exception:
            self.store.topics.release(job.chat_id, pace, None)
            raise
        if done:
            self.store.topics.release(job.chat_id, pace, None)
            # A mark written while we held the lease had its job turned away: look again.
            if self.store.topics.dirty(job.chat_id, 1):
                self.queue.send([TopicSyncJob(chat_id=job.chat_id)])
            return
        resume = self._resume_at(pace, settings.config.rates.telegram_group_per_minute)
        if not self.store.topics.release(job.chat_id, pace, resume + SLACK_MS):
            return  # the lease ran out and another mirror has the group
        delay = min(MAX_DELAY_SECONDS, max(0, math.ceil((resume - self._ms()) / 1000)))
        self.queue.send([TopicSyncJob(chat_id=job.chat_id, token=token)], delay_seconds=delay)

    def allowed(self, pace: Pace, per_minute: int) -> bool:
        now = self._ms()
        pace.sent = [t for t in pace.sent if t > now - WINDOW_MS]
        return pace.blocked_until <= now and len(pace.sent) < per_minute

    def _resume_at(self, pace: Pace, per_minute: int) -> int:
        """When the group may take its next post."""
        now = self._ms()
        recent = sorted(t for t in pace.sent if t > now - WINDOW_MS)
        free_at = recent[-per_minute] + WINDOW_MS if len(recent) >= per_minute else now
        return max(free_at, pace.blocked_until, now)

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _ms(self) -> int:
        return int(self.clock().timestamp() * 1000)


@dataclass
class _Pass:
    """One mirror's walk over the group's marked tickets."""

    mirror: TopicMirror
    settings: Settings
    config: DirectionConfig
    group: StaffGroupConfig
    pace: Pace

    def run(self) -> bool:
        """True when every marked ticket was brought up to date; False when the group's
        pace (or the invocation's time) stopped the pass first."""
        store = self.mirror.store
        marks = store.topics.dirty(self.group.chat_id)
        for ticket_id, touched, _ in marks:
            if self.mirror.out_of_time():
                return False
            try:
                self._catch_up(ticket_id)
            except OutOfTurn:
                return False
            store.topics.caught_up(self.group.chat_id, ticket_id, touched)
        return len(marks) < DIRTY_PAGE

    def _catch_up(self, ticket_id: str) -> None:
        store = self.mirror.store
        ticket, state = store.topics.ticket_and_state(ticket_id, self.group.chat_id)
        if ticket is None:
            return
        try:
            self._steps(ticket, state)
        except TopicGone:  # deleted by hand: a new topic carries on from where it was
            store.topics.save(state, self.mirror.clock())
            self._steps(ticket, state)

    def _steps(self, ticket: Ticket, state: TopicState) -> None:
        store = self.mirror.store
        now = self.mirror.clock()
        wanted = topics.wants_topic(ticket, self.group)
        if wanted and state.thread_id is None:
            self._create(ticket, state, now)
        if state.thread_id and state.closed and not topics.topic_closed(ticket):
            self._call(state, lambda bot: bot.reopen_topic(state.chat_id, str(state.thread_id)))
            state.closed = False
            store.topics.save(state, now)
        while self._post_news(ticket, state, now):
            pass
        if state.thread_id and state.name != topics.topic_name(ticket):
            name = topics.topic_name(ticket)
            self._call(state, lambda bot: bot.edit_topic(state.chat_id, str(state.thread_id), name))
            state.name = name
            store.topics.save(state, now)
        if state.thread_id and not state.closed and topics.topic_closed(ticket):
            self._call(state, lambda bot: bot.close_topic(state.chat_id, str(state.thread_id)))
            state.closed = True
            store.topics.save(state, now)

    def _create(self, ticket: Ticket, state: TopicState, now: datetime) -> None:
        name = topics.topic_name(ticket)
        thread_id = self._call(state, lambda bot: bot.create_topic(state.chat_id, name))
        if thread_id is None:
            return  # refused for good (the bot may not manage topics): recorded on the state
        state.thread_id, state.name, state.closed, state.error = thread_id, name, False, None
        self.mirror.store.topics.created(state, now)

    def _post_news(self, ticket: Ticket, state: TopicState, now: datetime) -> bool:
        """Post a page of what the topic does not show yet; True if there may be more."""
        store = self.mirror.store
        news = store.topics.messages_from(
            ticket.id, topics.window_start(state.cursor), set(state.recent)
        )
        news = [m for m in news if state.cursor is None or m.id not in state.recent]
        if not news:
            return False
        shown = [m for m in news if self._shown(m, state)]
        batches = topics.batches([(topics.entry(m, ticket), m.id) for m in shown])
        passed_over = [m.id for m in news if m not in shown]
        for text, ids in batches:
            self._call(state, partial(_post, state.chat_id, state.thread_id, text))
            # What was passed over before this post's messages is behind the topic with it.
            self._advance(state, [*[i for i in passed_over if i < ids[-1]], *ids])
            store.topics.save(state, now)
        if passed_over and max(passed_over) > (state.cursor or ""):
            self._advance(state, passed_over)
            store.topics.save(state, now)
        return len(news) >= MESSAGES_PAGE

    def _shown(self, message: Message, state: TopicState) -> bool:
        """A ticket with a topic shows its conversation; one without, only the group's
        notices (in the general topic)."""
        if state.thread_id is None:
            return topics.for_group(message)
        return topics.mirrored(message)

    def _advance(self, state: TopicState, ids: list[str]) -> None:
        state.cursor = max([*ids, *([state.cursor] if state.cursor else [])])
        state.recent = topics.still_recent(sorted({*state.recent, *ids}), state.cursor)

    def _call(self, state: TopicState, call: Callable[[TelegramClient], Any]) -> Any:
        """One Bot API call at the group's pace. A 429 blocks the group for its retry_after;
        a refusal for good is recorded on the topic and passed over (the ticket stays the
        truth); a topic deleted by hand is forgotten, so the next pass makes a new one."""
        per_minute = self.settings.config.rates.telegram_group_per_minute
        if not self.mirror.allowed(self.pace, per_minute):
            raise OutOfTurn()
        self.pace.sent.append(self.mirror._ms())
        try:
            return call(self.mirror.bot(self.settings))
        except RateLimited as error:
            self.pace.blocked_until = self.mirror._ms() + error.retry_after_seconds * 1000
            raise OutOfTurn() from error
        except PermanentSendError as error:
            logger.warning("the staff group refused a call", extra={"error": str(error)})
            state.error = str(error)[:500]
            if state.thread_id and any(sign in str(error) for sign in GONE):
                state.thread_id, state.name, state.closed = None, None, False
                raise TopicGone() from error
            return None


def _post(chat_id: str, thread_id: str | None, text: str, bot: TelegramClient) -> str | None:
    return bot.post(chat_id, thread_id, text)


@dataclass
class StaffRoom:
    """What staff write in the group: comments and replies on the topic's ticket."""

    store: Store = field(default_factory=Store)
    desk: TicketDesk = field(default_factory=TicketDesk)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def receive(self, post: StaffPost) -> tuple[str, str | None]:
        """(what happened, the ticket): commented, replied, not_staff, closed, ignored."""
        settings = self.settings()
        config = settings.direction_for_staff_group(post.chat_id)
        if config is None or config.staff_group is None:
            return "ignored", None  # a group that is not a staff group
        if post.author_is_bot:
            return "ignored", None  # never our own posts, nor another bot's
        if post.thread_id is None:
            return "ignored", None  # the general topic: staff talking among themselves
        ticket_id = self.store.topics.ticket_of_thread(post.chat_id, post.thread_id)
        if ticket_id is None:
            return "ignored", None  # a topic staff opened by hand
        member = config.staff_group.members.get(post.author_id)
        if member is None:  # told once per person and topic, however much they write
            who = post.author_name or post.author_id
            text = _notice_text(config, "not_staff", who=who)
            return self._notice(ticket_id, f"not-staff:{post.author_id}", "not_staff", text)
        ticket = self.store.tickets.get(ticket_id)
        if ticket.status == Status.CLOSED:
            text = _notice_text(config, "closed", number=ticket.id)
            return self._notice(ticket_id, post.event_id, "closed", text)
        bot_id = settings.own_telegram_bot_id()
        answering_client = post.reply_to_author_id == bot_id and (
            post.reply_to_text or ""
        ).startswith(topics.CLIENT_MARK)
        words = topics.staff_words(_with_files(post), answering_client)
        if not words.text:  # a bare /reply
            return self._notice(ticket_id, post.event_id, "refused", _notice_text(config, "empty"))
        actor = Actor(user_id=member.user_id, roles=frozenset(member.roles))
        rule = tickets.reply if words.to_client else tickets.comment
        try:
            self.desk.apply(
                ticket_id,
                None,
                rule,
                post.event_id,
                actor=actor,
                text=words.text,
                origin=topics.FROM_TOPIC,
            )
        except HelpdeskError as refused:  # a reply to a resolved ticket, say: tell the topic
            return self._notice(ticket_id, post.event_id, "refused", f"⚠️ {refused}")
        return ("replied" if words.to_client else "commented"), ticket_id

    def _notice(self, ticket_id: str, key: str, result: str, text: str) -> tuple[str, str]:
        """The bot's answer in the topic, once per key (a replay says nothing again)."""
        self.desk.apply(ticket_id, None, topics.notice, f"topic-notice:{key}", text=text)
        return result, ticket_id


def _with_files(post: StaffPost) -> str:
    names = [a.file_name or a.kind for a in post.attachments]
    return "\n".join([post.text, *(f"📎 {name}" for name in names)]).strip()


NOTICES = {
    "ru": {
        "not_staff": "ℹ️ {who} нет в списке сотрудников: сообщение не принято.",
        "closed": "🔒 Заявка {number} закрыта: клиенту ничего не отправлено.",
        "empty": "✏️ Напишите текст после /reply: он уйдёт клиенту.",
    },
    "en": {
        "not_staff": "ℹ️ {who} is not on the staff list: the message was not taken.",
        "closed": "🔒 Ticket {number} is closed: nothing was sent to the client.",
        "empty": "✏️ Write the text after /reply: it goes to the client.",
    },
}


def _notice_text(config: DirectionConfig, name: str, **values: str) -> str:
    return NOTICES.get(config.language, NOTICES["en"])[name].format(**values)


def nudge_groups(store: Store, queue: JobQueue, settings: Settings) -> int:
    """The sweep's safety net: a group with marked tickets and no mirror coming (a job lost
    or dead-lettered, a lease run out, a change whose caller sent no job) gets one; a
    mirror already at work turns it away. How many groups were nudged."""
    waiting = [chat for chat in settings.staff_groups() if store.topics.dirty(chat, 1)]
    if waiting:
        queue.send([TopicSyncJob(chat_id=chat) for chat in waiting])
    return len(waiting)
