"""The sandbox channel: records what would be sent instead of delivering it.

With `SANDBOX_URL` set (the local stack sets it) each send is posted there, where a person
can see it; without it the send is only logged. Tickets created by hand use this channel.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict

import requests

from helpdesk.channels.base import OutboundText, SendResult, TransientSendError

logger = logging.getLogger(__name__)


class SandboxChannel:
    def __init__(self, url: str | None, session: requests.Session | None = None) -> None:
        self.url = url
        self.session = session or requests.Session()

    def send(self, message: OutboundText) -> SendResult:
        message_id = f"sandbox-{uuid.uuid4().hex[:12]}"
        payload = {"message_id": message_id, **asdict(message)}
        if self.url:
            try:
                self.session.post(f"{self.url}/messages", json=payload, timeout=5)
            except requests.RequestException as error:
                raise TransientSendError(f"sandbox unreachable: {error}") from error
        logger.info("sandbox send", extra={"sandbox_message": payload})
        return SendResult(provider_message_id=message_id)
