"""Carrying out queued jobs: send stored messages in their channel, in order, once if we can.

A message is claimed before it is sent (queued -> sending, with a lease), so a duplicate job
or a concurrent consumer never sends it twice. The lease outlives every redelivery of the
job (the queue's visibility timeout times its receive count), so a consumer that sent but
could not record it is never followed by a redelivered copy sending again; only after the
lease does the outbox sweep pick the message up. Provider rate limits delay only the job
that hit them; permanent refusals mark the message failed with the reason and flag the
ticket; a send that keeps failing is given up, visibly, after MAX_SEND_AGE.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helpdesk.channels import registry
from helpdesk.channels.base import (
    Button,
    OutboundText,
    PermanentSendError,
    RateLimited,
    Sender,
    TransientSendError,
)
from helpdesk.jobs import Job, SendMessageJob
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import Channel, DeliveryState, Message, utc_now
from helpdesk.store import Store
from helpdesk.store.messages import Claimed, finished
from helpdesk.usecases.deliveries import apply_status, flag_failed

logger = logging.getLogger(__name__)

# The queue hands a job out again after its visibility timeout (180 s), up to 5 times before
# the dead-letter queue: 900 s. The lease outlives all of that.
LEASE = timedelta(minutes=16)
TRANSIENT_BACKOFF = timedelta(minutes=1)  # when the sweep may look again after a 5xx
MAX_RATE_LIMIT_ATTEMPTS = 50  # a job a provider keeps refusing for hours goes to the DLQ
MAX_SEND_AGE = timedelta(hours=24)  # then a message that never went out is marked failed
MAX_SEND_ATTEMPTS = 100
FINISH_ATTEMPTS = 3  # recording a send that the provider accepted is retried in place


@dataclass
class Dispatcher:
    sender_for: Callable[[Channel, str | None], Sender] = registry.sender_for
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    clock: Callable[[], datetime] = utc_now
    extra_handlers: dict[str, Callable[[Job], None]] = field(default_factory=dict)

    def handle(self, job: Job) -> None:
        if isinstance(job, SendMessageJob):
            self.send_messages(job)
            return
        handler = self.extra_handlers.get(job.type)
        if handler is None:
            raise NotImplementedError(f"no handler for {job.type} jobs")
        handler(job)

    def send_messages(self, job: SendMessageJob) -> None:
        """Send the job's messages in order; a rate limit re-enqueues the rest, in order."""
        ids = [job.message_id, *job.then]
        for index, message_id in enumerate(ids):
            message = self.store.messages.get(job.ticket_id, message_id)
            if message is None:
                logger.warning("job for a message that does not exist", extra={"id": message_id})
                continue
            try:
                self._send_one(message)
            except RateLimited as error:
                later = self.clock() + timedelta(seconds=error.retry_after_seconds)
                self._hold_back(job.ticket_id, ids[index + 1 :], later)
                if job.attempt >= MAX_RATE_LIMIT_ATTEMPTS:
                    raise TransientSendError("still rate limited after many attempts") from error
                rest = SendMessageJob(
                    ticket_id=job.ticket_id,
                    message_id=message_id,
                    then=ids[index + 1 :],
                    attempt=job.attempt + 1,
                )
                self.queue.send([rest], delay_seconds=error.retry_after_seconds)
                return
            except TransientSendError:
                self._hold_back(job.ticket_id, ids[index + 1 :], self.clock() + TRANSIENT_BACKOFF)
                raise

    def _hold_back(self, ticket_id: str, message_ids: list[str], until: datetime) -> None:
        """The messages after one the provider did not take wait as long as it does: the
        outbox sweep must not send them first (the number before the greeting)."""
        for message_id in message_ids:
            self.store.messages.hold_back(ticket_id, message_id, until)

    def _send_one(self, message: Message) -> None:
        now = self.clock()
        try:
            message = self.store.messages.claim(message, now, now + LEASE)
        except Claimed:
            logger.info("message already sent or being sent", extra={"message_id": message.id})
            return
        if message.attempts > MAX_SEND_ATTEMPTS or now - message.at > MAX_SEND_AGE:
            tried = message.attempts - 1
            reason = (
                f"gave up after {tried} attempts: {message.last_error}"
                if message.last_error
                else f"not sent within {MAX_SEND_AGE} of being written"
            )
            self._failed(message, reason)
            return
        try:
            result = self.sender_for(message.channel, message.service_id).send(
                outbound_text(message)
            )
        except RateLimited as error:
            later = now + timedelta(seconds=error.retry_after_seconds)
            self.store.messages.release(message, later, str(error))
            raise
        except PermanentSendError as error:
            self._failed(message, str(error))
            return
        except TransientSendError as error:
            self.store.messages.release(message, now + TRANSIENT_BACKOFF, str(error))
            raise
        self._sent(message, result.provider_message_id)

    def _sent(self, message: Message, provider_message_id: str | None) -> None:
        for attempt in range(FINISH_ATTEMPTS):
            try:
                record = self.store.messages.finish(
                    message, DeliveryState.SENT, self.clock(), provider_message_id
                )
                break
            except Exception:
                if attempt == FINISH_ATTEMPTS - 1:
                    raise  # the lease keeps every redelivery from sending it again
                time.sleep(0.2 * (attempt + 1))
        for entry in (record or {}).get("statuses", []):
            # Statuses that overtook our own bookkeeping waited on the provider record.
            apply_status(self.store, message.ticket_id, message.id, entry, self.clock())

    def _failed(self, message: Message, reason: str) -> None:
        now = self.clock()
        failed = finished(message, DeliveryState.FAILED, now, error=reason)
        flag_failed(self.store, message.ticket_id, message.id, reason, now, together=failed)


def outbound_text(message: Message) -> OutboundText:
    return OutboundText(
        recipient_id=message.recipient_id or "",
        text=message.text,
        buttons=tuple(Button(label=b["label"], data=b["data"]) for b in message.buttons),
        buttons_label=message.buttons_label,
        service_id=message.service_id,
        template_name=message.template_name,
        template_language=message.template_language,
        template_params=tuple(message.template_params),
        ticket_id=message.ticket_id,
        message_id=message.id,
    )
