"""Carrying out queued jobs: send a stored message in its channel, exactly once if we can.

A message is claimed before it is sent (queued -> sending, with a lease), so a duplicate
job or a concurrent consumer never sends it twice; a consumer that dies mid-send leaves
a lease that expires, and the job's SQS retry then sends it. Provider rate limits delay
only the job that hit them (re-enqueued with a delay); permanent refusals mark the
message failed on its ticket and stop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helpdesk.channels import (
    Button,
    Channel,
    OutboundText,
    PermanentSendError,
    RateLimited,
    TransientSendError,
)
from helpdesk.jobs import AnswerButtonJob, Job, ProblemCallNoticeJob, SendMessageJob
from helpdesk.models import Channel as ChannelName
from helpdesk.models import DeliveryState, Message, utc_now
from helpdesk.queue import JobQueue
from helpdesk.store import (
    Store,
    TransactionFailed,
    message_key,
    provider_message_key,
    update,
)

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)  # longer than one send can take (client timeouts are 10 s)
MAX_RATE_LIMIT_ATTEMPTS = 50  # a job a provider keeps refusing for hours goes to the DLQ


class Claimed(Exception):
    """Someone else holds (or finished) this message's send."""


@dataclass
class Dispatcher:
    channel_for: Callable[[ChannelName], Channel]
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    clock: Callable[[], datetime] = utc_now
    extra_handlers: dict[str, Callable[[Job], None]] = field(default_factory=dict)

    def handle(self, job: Job) -> None:
        match job:
            case SendMessageJob():
                self.send_message(job)
            case AnswerButtonJob() | ProblemCallNoticeJob():
                handler = self.extra_handlers.get(job.type)
                if handler is None:
                    raise NotImplementedError(f"no handler for {job.type} jobs")
                handler(job)

    def send_message(self, job: SendMessageJob) -> None:
        message = self.store.get_message(job.ticket_id, job.message_id)
        if message is None:
            logger.warning("job for a message that does not exist", extra={"job": job.model_dump()})
            return
        now = self.clock()
        try:
            self._claim(message, now)
        except Claimed:
            logger.info("message already sent or being sent", extra={"message_id": message.id})
            return
        try:
            result = self.channel_for(message.channel).send(outbound_text(message))
        except RateLimited as error:
            self._release(message)
            if job.attempt >= MAX_RATE_LIMIT_ATTEMPTS:
                raise TransientSendError("still rate limited after many attempts") from error
            retry = job.model_copy(update={"attempt": job.attempt + 1})
            self.queue.send([retry], delay_seconds=error.retry_after_seconds)
            return
        except PermanentSendError as error:
            self._finish(message, DeliveryState.FAILED, error=str(error))
            return
        except TransientSendError:
            self._release(message)
            raise
        self._finish(message, DeliveryState.SENT, provider_message_id=result.provider_message_id)

    def _claim(self, message: Message, now: datetime) -> None:
        # Timeline: consumer A claims (queued -> sending, lease until t+120 s). A duplicate job
        # in consumer B finds 'sending' with a live lease and stops. If A dies before sending,
        # the lease expires and the retried job claims it again. 'sent' never matches.
        write = update(
            message_key(message.ticket_id, message.id),
            "SET delivery = :sending, lease_until = :lease REMOVE GSI3PK, GSI3SK",
            {
                ":sending": DeliveryState.SENDING.value,
                ":queued": DeliveryState.QUEUED.value,
                ":lease": (now + LEASE).isoformat(),
                ":now": now.isoformat(),
            },
            condition=(
                "attribute_exists(PK) AND (delivery = :queued OR "
                "(delivery = :sending AND lease_until < :now))"
            ),
            on_condition_failed=Claimed(),
        )
        self.store.transact([write])

    def _release(self, message: Message) -> None:
        write = update(
            message_key(message.ticket_id, message.id),
            "SET delivery = :queued REMOVE lease_until",
            {":queued": DeliveryState.QUEUED.value, ":sending": DeliveryState.SENDING.value},
            condition="delivery = :sending",
        )
        try:
            self.store.transact([write])
        except TransactionFailed:
            logger.warning("could not release a claim", extra={"message_id": message.id})

    def _finish(
        self,
        message: Message,
        state: DeliveryState,
        provider_message_id: str | None = None,
        error: str | None = None,
    ) -> None:
        values = {":state": state.value, ":at": self.clock().isoformat()}
        expression = "SET delivery = :state, sent_at = :at"
        if provider_message_id:
            expression += ", provider_message_id = :pid"
            values[":pid"] = provider_message_id
        if error:
            expression += ", #error = :error"
            values[":error"] = error[:500]
        writes = [
            update(
                message_key(message.ticket_id, message.id),
                expression + " REMOVE lease_until",
                values,
                names={"#error": "error"} if error else None,
            )
        ]
        if provider_message_id:
            # Lets a delivery status (which names only the provider's id) find our message.
            writes.append(
                update(
                    provider_message_key(message.channel.value, provider_message_id),
                    "SET ticket_id = :ticket, message_id = :message, #type = :type",
                    {
                        ":ticket": message.ticket_id,
                        ":message": message.id,
                        ":type": "provider_message",
                    },
                    names={"#type": "type"},
                )
            )
        self.store.transact(writes)


def outbound_text(message: Message) -> OutboundText:
    return OutboundText(
        recipient_id=message.recipient_id or "",
        text=message.text,
        buttons=tuple(Button(label=b["label"], data=b["data"]) for b in message.buttons),
        service_id=message.service_id,
        template_name=message.template_name,
        template_language=message.template_language,
        template_params=tuple(message.template_params),
    )
