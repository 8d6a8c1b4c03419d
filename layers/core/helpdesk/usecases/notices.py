"""Telling clients about an incident: the fan-out, paced and at most once per recipient.

A revision of a notice (started, each update, resolved) is told in each of its channels to
every subscribed client of each affected direction:

1. A fan-out job reads one page of the direction's audience (500 clients), takes the page
   (the fan-out record's cursor moves on, conditionally: a redelivered page job finds it taken
   and does nothing), enqueues delivery batches of 25 and the next page, delayed by most of the
   time the page takes to send, so the queue never holds the whole audience and replies to
   clients are not stuck behind it.
2. A batch job takes send tokens from the provider's budget for the current second (a counter
   in the table shared by every consumer), no more than it can send before the second is over
   (it learns how long a recipient takes), and sends in the slots it was given, spread over
   the second; a slot the second ran out on is not sent late, where it would crowd the next.
   Each recipient is claimed just before the send and recorded just after (see
   store.deliveries): a redelivered or duplicated batch skips whoever is done. A 429 spends the
   next `retry_after` seconds for every consumer and puts the rest of the batch back on the
   queue, delayed; an invocation close to its timeout puts the rest back at once.
3. The notice sweep (with the outbox sweep, every minute) finishes what a crash or a lost job
   left: a fan-out whose pages stopped is expanded again from the start (claims skip everyone
   already told), one whose batches stopped is swept up once, then closed with exact counters.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from helpdesk import incidents
from helpdesk.channels import registry
from helpdesk.channels.base import (
    Editor,
    OutboundText,
    PermanentSendError,
    RateLimited,
    Sender,
    TransientSendError,
)
from helpdesk.errors import InvalidTransition, NotFound
from helpdesk.incidents import Notice, Post
from helpdesk.jobs import (
    ChannelPostJob,
    ClientTextJob,
    Job,
    NoticeBatchJob,
    NoticeFanOutJob,
    Recipient,
    ResolveLinkedJob,
)
from helpdesk.jobs.queue import MAX_DELAY_SECONDS, JobQueue
from helpdesk.models import Actor, Channel, iso, utc_now
from helpdesk.settings import DirectionConfig, Settings, get_settings
from helpdesk.store import Store
from helpdesk.store.deliveries import UNKNOWN, finished
from helpdesk.store.notices import fan_out_started

logger = logging.getLogger(__name__)

PAGE = 500  # audience entries a fan-out job reads
BATCH = 25  # recipients a batch job tells
LEASE = timedelta(minutes=16)  # outlives every SQS redelivery of a batch (6 x 180 s ... 900 s)
PAGE_LEAD = 0.8  # the next page is enqueued to arrive when 80 % of this one is sent
TRANSIENT_PAUSE = 5  # seconds a batch waits after a provider's 5xx or a refused connection
MAX_ATTEMPTS = 60  # re-enqueues of one batch (429s, timeouts) before its rest is given up
STALL = timedelta(minutes=5)  # no page, no progress this long: the sweep steps in
MAX_PAUSE = 60  # seconds of a provider's retry_after honoured by pausing every consumer
WINDOW = timedelta(hours=24)
GIVEN_UP = "not sent: refused for now (429 or a provider error) and not taken up again in time"
NOTICE_JOBS = ("notice_fan_out", "notice_batch", "channel_post", "resolve_linked", "client_text")


@dataclass
class NoticeDelivery:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    sender_for: Callable[[Channel, str | None], Sender] = registry.sender_for
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], float] = time.time  # the pacing seconds (shared by every consumer)
    deadline: float = math.inf  # time.monotonic() past which an invocation sends no more
    send_seconds: float = 0.05  # how long one recipient takes here (claim, send, record), learnt

    def handle(self, job: Job) -> None:
        match job:
            case NoticeFanOutJob():
                self.fan_out(job)
            case NoticeBatchJob():
                self.deliver(job)
            case ChannelPostJob():
                self.channel_post(job)
            case ResolveLinkedJob():
                self.resolve_linked(job)
            case ClientTextJob():
                self.client_text(job)
            case _:
                raise NotImplementedError(f"not a notice job: {job.type}")

    # -- starting -----------------------------------------------------------------------

    def fan_out_jobs(self, notice: Notice) -> list[NoticeFanOutJob]:
        """The first page of every (direction, channel) the latest revision goes to."""
        return [
            NoticeFanOutJob(
                notice_id=notice.id, revision=notice.revision, direction=direction, channel=channel
            )
            for direction in notice.directions
            for channel in notice.channels
        ]

    def start_writes(self, notice: Notice, now: datetime) -> list[Any]:
        """The fan-out records of the latest revision, written with the notice itself: if
        its jobs never reach the queue, the sweep finds them stalled and starts them."""
        return [
            fan_out_started(notice.id, notice.revision, direction, channel, now)
            for direction in notice.directions
            for channel in notice.channels
        ]

    # -- the fan-out --------------------------------------------------------------------

    def fan_out(self, job: NoticeFanOutJob) -> None:
        now = self.clock()
        entries, following = self.store.audience.page(job.direction, job.channel, job.after, PAGE)
        taken = self.store.notices.advance(
            job.notice_id,
            job.revision,
            job.direction,
            job.channel,
            job.generation,
            job.after,
            following,
            now,
        )
        if not taken:
            logger.info("fan-out page already taken", extra={"job": job.model_dump()})
            return
        recipients: dict[str, list[Recipient]] = {}
        skipped = 0
        for entry in entries:
            if entry.get("subscribed") is False:
                skipped += 1
                continue
            service = str(entry.get("service_id") or "")
            recipients.setdefault(service, []).append(
                Recipient(
                    address=str(entry["SK"]),
                    recipient_id=str(entry.get("recipient_id") or entry["SK"]),
                    service_id=service or None,
                    last_inbound_at=entry.get("last_inbound_at"),
                )
            )
        batches = []
        for service, group in recipients.items():
            for start in range(0, len(group), BATCH):
                batches.append(
                    NoticeBatchJob(
                        notice_id=job.notice_id,
                        revision=job.revision,
                        direction=job.direction,
                        channel=job.channel,
                        batch=f"{job.generation}:{job.after or ''}:{service}:{start}",
                        recipients=group[start : start + BATCH],
                    )
                )
        self.queue.send(batches)
        told = sum(len(group) for group in recipients.values())
        if following is not None:
            cap = self.settings().config.rates.notice_cap(job.channel)
            delay = min(MAX_DELAY_SECONDS, int(told / cap * PAGE_LEAD))
            self.queue.send([job.model_copy(update={"after": following})], delay_seconds=delay)
        if job.generation == 1:  # a sweep-up's pages are the same people again
            counts = {"queued": told, "skipped": skipped}
            self.store.notices.count(job.notice_id, job.revision, job.channel, counts, now)

    # -- a batch ------------------------------------------------------------------------

    def deliver(self, job: NoticeBatchJob) -> None:
        notice = self.store.notices.get(job.notice_id)
        post = notice.posts[job.revision - 1]
        config = self.settings().direction(job.direction)
        cap = self.settings().config.rates.notice_cap(job.channel)
        service = job.recipients[0].service_id or "" if job.recipients else ""
        counts: Counter[str] = Counter()
        pending = list(job.recipients)
        try:
            while pending:
                if time.monotonic() > self.deadline:
                    self._again(job, pending, 0, counts)
                    return
                now = self.wall()
                second = int(now)
                # No more than this consumer can send before the second is over: budget it
                # cannot use is budget the others cannot either.
                room = max(1, int((second + 1 - now) / self.send_seconds))
                granted, first = self.store.rates.take(
                    job.channel, service, second, min(len(pending), room), cap
                )
                if not granted:
                    self.sleep(max(0.0, second + 1 - self.wall()))
                    continue
                told = 0
                for slot, recipient in enumerate(pending[:granted]):
                    if self.wall() >= second + 1:
                        break  # a slot sent late would crowd the next second past the cap
                    wait = second + (first + slot) / cap - self.wall()
                    if wait > 0:
                        self.sleep(wait)
                    started = time.monotonic()
                    outcome = self._tell(notice, post, config, job, recipient)
                    took = time.monotonic() - started
                    self.send_seconds = 0.8 * self.send_seconds + 0.2 * max(took, 0.001)
                    if isinstance(outcome, int):  # seconds the provider asked us to wait
                        self._pause(job.channel, service, outcome, cap)
                        self._again(job, pending[slot:], outcome, counts)
                        return
                    if outcome:
                        counts[outcome] += 1
                    told += 1
                pending = pending[told:]
        finally:
            self.store.notices.count(job.notice_id, job.revision, job.channel, counts, self.clock())

    def _tell(
        self,
        notice: Notice,
        post: Post,
        config: DirectionConfig,
        job: NoticeBatchJob,
        recipient: Recipient,
    ) -> str | int | None:
        """Tell one recipient: 'sent' / 'failed' (counted by us), None (someone else's),
        or the seconds to wait before trying again (the claim is released)."""
        now = self.clock()
        where = (job.notice_id, job.revision, job.channel, recipient.address)
        claim = self.store.deliveries.claim(*where, now, now + LEASE)
        if not claim.ours:
            return "failed" if claim.error == UNKNOWN and claim.state == "failed" else None
        message = self._message(notice, post, config, job.channel, recipient, now)
        if isinstance(message, str):
            self._finish(finished(*where, "failed", error=message))
            return "failed"
        try:
            result = self.sender_for(Channel(job.channel), recipient.service_id).send(message)
        except RateLimited as error:
            self.store.deliveries.release(*where)
            return max(1, error.retry_after_seconds)
        except PermanentSendError as error:
            self._finish(finished(*where, "failed", error=str(error)))
            return "failed"
        except TransientSendError as error:
            if error.maybe_sent:
                self._finish(finished(*where, "failed", error=f"{error}; {UNKNOWN}"))
                return "failed"
            self.store.deliveries.release(*where)
            return TRANSIENT_PAUSE
        self._finish(finished(*where, "sent", provider_message_id=result.provider_message_id))
        return "sent"

    def _finish(self, write: Any) -> None:
        for attempt in range(3):
            try:
                self.store.deliveries.finish(write)
                return
            except Exception:
                if attempt == 2:
                    raise  # the lease keeps anyone from sending it again
                self.sleep(0.2 * (attempt + 1))

    def _message(
        self,
        notice: Notice,
        post: Post,
        config: DirectionConfig,
        channel: str,
        recipient: Recipient,
        now: datetime,
    ) -> OutboundText | str:
        """What goes to one recipient, or why nothing can (WhatsApp outside its window)."""
        text = incidents.client_text(notice, post, config.language)
        plain = OutboundText(
            recipient_id=recipient.recipient_id, text=text, service_id=recipient.service_id
        )
        if channel != Channel.WHATSAPP.value:
            return plain
        last = recipient.last_inbound_at
        if last and now - datetime.fromisoformat(last) < WINDOW:
            return plain
        if not config.whatsapp_incident_template:
            return (
                "not sent: the client last wrote more than 24 hours ago and direction "
                f"{config.id} has no whatsapp_incident_template"
            )
        return OutboundText(
            recipient_id=recipient.recipient_id,
            text=text,
            service_id=recipient.service_id,
            template_name=config.whatsapp_incident_template,
            template_language=config.whatsapp_template_language,
            template_params=(incidents.template_text(text),),
        )

    def _pause(self, channel: str, service: str, seconds: int, cap: int) -> None:
        """The provider said wait: spend the next seconds' budget so no consumer sends."""
        now = int(self.wall())
        for second in range(now, now + min(seconds, MAX_PAUSE) + 1):
            self.store.rates.take(channel, service, second, cap, cap)

    def _again(
        self, job: NoticeBatchJob, rest: list[Recipient], delay: int, counts: Counter[str]
    ) -> None:
        """The rest of the batch goes back on the queue; after too many tries, it is given
        up visibly (each delivery failed with the reason)."""
        if job.attempt + 1 >= MAX_ATTEMPTS:
            reason = f"given up after {MAX_ATTEMPTS} attempts (rate limits or provider errors)"
            for recipient in rest:
                where = (job.notice_id, job.revision, job.channel, recipient.address)
                claim = self.store.deliveries.claim(*where, self.clock(), self.clock() + LEASE)
                if claim.ours:
                    self._finish(finished(*where, "failed", error=reason))
                    counts["failed"] += 1
            return
        again = job.model_copy(update={"recipients": rest, "attempt": job.attempt + 1})
        self.queue.send([again], delay_seconds=delay)

    # -- the channel post ---------------------------------------------------------------

    def channel_post(self, job: ChannelPostJob) -> None:
        """One post per incident in the direction's channel, edited to the latest revision."""
        config = self.settings().direction(job.direction)
        chat = config.incident_channel_id
        if not chat:
            return
        notice = self.store.notices.get(job.notice_id)
        text = incidents.channel_text(notice, config.language)
        bot = self.settings().own_telegram_bot_id()
        sender = self.sender_for(Channel.TELEGRAM, bot)
        now = self.clock()
        record = self.store.notices.channel_post(notice.id, job.direction)
        if record is None:
            record = self.store.notices.claim_channel_post(
                notice.id, job.direction, now, now + LEASE
            )
            if record is None:
                self._first_post(notice, job, sender, chat, text)
                return
        if record.get("state") == "posting":
            if str(record.get("lease_until", "")) < iso(now):
                self.store.notices.channel_posted(notice.id, job.direction, None, 0, UNKNOWN)
                return
            self.queue.send([job], delay_seconds=TRANSIENT_PAUSE)  # being posted: edit after
            return
        if record.get("state") != "posted" or int(record.get("revision", 0)) >= notice.revision:
            return
        if not isinstance(sender, Editor):
            raise PermanentSendError("this channel's sender cannot edit a post")
        try:
            sender.edit(chat, str(record["message_id"]), text)
        except RateLimited as error:  # 20 a minute per channel
            self.queue.send([job], delay_seconds=max(1, error.retry_after_seconds))
            return
        self.store.notices.channel_edited(notice.id, job.direction, notice.revision)

    def _first_post(
        self, notice: Notice, job: ChannelPostJob, sender: Sender, chat: str, text: str
    ) -> None:
        try:
            result = sender.send(OutboundText(recipient_id=chat, text=text))
        except RateLimited as error:  # 20 posts a minute per channel: try again later
            self.store.notices.release_channel_post(notice.id, job.direction)
            self.queue.send([job], delay_seconds=max(1, error.retry_after_seconds))
            return
        except PermanentSendError as error:
            self.store.notices.channel_posted(notice.id, job.direction, None, 0, str(error))
            return
        except TransientSendError as error:
            if error.maybe_sent:
                reason = f"{error}; {UNKNOWN}"
                self.store.notices.channel_posted(notice.id, job.direction, None, 0, reason)
                return
            self.store.notices.release_channel_post(notice.id, job.direction)
            self.queue.send([job], delay_seconds=TRANSIENT_PAUSE)
            return
        # A revision that came while we posted has its own job, which edits after this.
        self.store.notices.channel_posted(
            notice.id, job.direction, result.provider_message_id, notice.revision, None
        )

    # -- linked tickets -----------------------------------------------------------------

    def resolve_linked(self, job: ResolveLinkedJob) -> None:
        """Resolve a page of the incident's linked tickets (each client hears once, in their
        ticket), then the next page; the ticket desk's request key makes each resolve once."""
        from helpdesk import tickets
        from helpdesk.usecases.desk import TicketDesk

        notice = self.store.notices.get(job.notice_id)
        post = notice.posts[-1]
        desk = TicketDesk(self.store, self.queue, self.settings, self.clock)
        actor = Actor(user_id=post.by, roles=frozenset({"commander"}))
        ticket_ids, following = self.store.notices.linked(notice.id, job.after)
        told: Counter[str] = Counter()
        now = self.clock()
        for ticket_id in ticket_ids:
            try:
                ticket = self.store.tickets.get(ticket_id)
                language = self.settings().direction(ticket.direction).language
                desk.apply(
                    ticket_id,
                    None,
                    tickets.resolve,
                    request_id=f"incident-{notice.id}",
                    actor=actor,
                    resolution=incidents.in_language(post.text, language),
                )
            except (InvalidTransition, NotFound):
                continue  # resolved or closed by an agent meanwhile
            if ticket.channel.value in notice.channels and ticket.recipient_id:
                # The client heard it in their ticket: the fan-out of the resolution skips
                # them (unless it reached them first).
                address = incidents.audience_address(ticket.channel.value, ticket.recipient_id)
                where = (notice.id, notice.revision, ticket.channel.value, address)
                if self.store.deliveries.claim(*where, now, now + LEASE).ours:
                    self._finish(finished(*where, "sent", error=f"told in ticket {ticket_id}"))
                    told[ticket.channel.value] += 1
        for channel, count in told.items():
            self.store.notices.count(notice.id, notice.revision, channel, {"sent": count}, now)
        if following:
            self.queue.send([job.model_copy(update={"after": following})])

    # -- a client's one-off text --------------------------------------------------------

    def client_text(self, job: ClientTextJob) -> None:
        now = self.clock()
        where = ("TEXT", 0, job.channel, job.key)
        claim = self.store.deliveries.claim(*where, now, now + LEASE)
        if not claim.ours:
            return
        message = OutboundText(
            recipient_id=job.recipient_id, text=job.text, service_id=job.service_id
        )
        try:
            result = self.sender_for(Channel(job.channel), job.service_id).send(message)
        except (PermanentSendError, TransientSendError, RateLimited) as error:
            self._finish(finished(*where, "failed", error=str(error)))
            logger.warning("a client's one-off text failed", extra={"error": str(error)})
            return
        self._finish(finished(*where, "sent", provider_message_id=result.provider_message_id))

    # -- the sweep ----------------------------------------------------------------------

    def sweep(self) -> dict[str, int]:
        """Finish what a crash or a lost job left of every fan-out under way."""
        now = self.clock()
        counts = {"under_way": 0, "restarted": 0, "swept_up": 0, "done": 0}
        under_way = self.store.notices.under_way()
        self._repost({str(f["notice_id"]) for f in under_way}, now)
        progress: dict[str, dict[str, dict[str, dict[str, int]]]] = {}
        for fan_out in under_way:
            counts["under_way"] += 1
            notice_id, revision, channel = (
                str(fan_out["notice_id"]),
                int(fan_out["revision"]),
                str(fan_out["channel"]),
            )
            if notice_id not in progress:
                progress[notice_id] = self.store.notices.progress(notice_id)
            tally = progress[notice_id].get(str(revision), {}).get(channel, {})
            finished_count = tally.get("sent", 0) + tally.get("failed", 0)
            complete = finished_count >= tally.get("queued", 0)
            siblings = [f for f in under_way if _same_revision(f, fan_out)]
            expanded = all(f["state"] == "expanded" for f in siblings)
            if expanded and complete and int(fan_out["generation"]) == 1:
                self.store.notices.done(fan_out, now)
                counts["done"] += 1
                continue
            updated = datetime.fromisoformat(str(fan_out["updated_at"]))
            if now - updated < STALL:
                continue
            if fan_out["state"] == "expanded" and finished_count > int(
                fan_out.get("seen_done", -1)
            ):
                self.store.notices.touch({**fan_out, "seen_done": finished_count}, now)
                continue  # batches still finishing: look again later
            if fan_out["state"] == "expanded" and int(fan_out["generation"]) > 1:
                # restarted: the counters missed pages, so the deliveries are counted
                if self._reconcile(notice_id, revision, channel, now):
                    self.store.notices.done(fan_out, now)
                    counts["done"] += 1
                else:
                    self.store.notices.touch(fan_out, now)
                continue
            generation = self.store.notices.restart(fan_out, now)
            if generation is None:
                continue
            job = NoticeFanOutJob(
                notice_id=notice_id,
                revision=revision,
                direction=str(fan_out["direction"]),
                channel=channel,
                generation=generation,
            )
            self.queue.send([job])
            counts["swept_up" if fan_out["state"] == "expanded" else "restarted"] += 1
        return counts

    def _repost(self, notice_ids: set[str], now: datetime) -> None:
        """A channel post behind its notice for long (its job was lost): post it again."""
        jobs: list[Job] = []
        for notice_id in sorted(notice_ids):
            notice = self.store.notices.get(notice_id)
            if now - notice.updated_at < STALL:
                continue
            for direction in notice.directions:
                if not self.settings().direction(direction).incident_channel_id:
                    continue
                record = self.store.notices.channel_post(notice_id, direction)
                behind = record is None or (
                    record.get("state") == "posted"
                    and int(record.get("revision", 0)) < notice.revision
                )
                if behind:
                    jobs.append(
                        ChannelPostJob(
                            notice_id=notice_id, direction=direction, revision=notice.revision
                        )
                    )
        if jobs:
            self.queue.send(jobs)

    def _reconcile(self, notice_id: str, revision: int, channel: str, now: datetime) -> bool:
        """Exact counters from the deliveries: a claim whose sender died is failed (outcome
        unknown), one released and never taken up again is failed with that reason. False,
        and nothing counted, while a claim's lease is still live: its sender may finish."""
        states: Counter[str] = Counter()
        for key, item in self.store.deliveries.states(notice_id, revision, channel).items():
            state = str(item.get("state"))
            where = (notice_id, revision, channel, key.split("#", 1)[1])
            if state == "sending":
                if self.store.deliveries.claim(*where, now, now).error != UNKNOWN:
                    return False
                state = "failed"
            elif state == "retry":
                self._finish(finished(*where, "failed", error=GIVEN_UP))
                state = "failed"
            states[state] += 1
        self.store.notices.set_counts(
            notice_id,
            revision,
            channel,
            {"queued": sum(states.values()), "sent": states["sent"], "failed": states["failed"]},
        )
        return True


def _same_revision(one: dict[str, Any], other: dict[str, Any]) -> bool:
    return (one["notice_id"], one["revision"], one["channel"]) == (
        other["notice_id"],
        other["revision"],
        other["channel"],
    )
