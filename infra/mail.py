"""E-mail on the local stack: an SMTP server on loopback that takes mail for our mailboxes and
hands it to the same intake SES would (raw message into the bucket, then SES's receipt
notification through SNS), and the sandbox's reading of the mail we send.

    python - <<'EOF'
    import smtplib
    from email.message import EmailMessage
    m = EmailMessage(); m["From"] = "anna@example.com"; m["To"] = "support@helpdesk.local"
    m["Subject"] = "Payment fails"; m.set_content("It says error 500.")
    smtplib.SMTP("127.0.0.1", 2525).send_message(m)
    EOF

then GET http://127.0.0.1:3001/outbox shows the acknowledgement (subject, headers, both parts).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any

log = logging.getLogger("local-stack.mail")

SHOWN_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "X-Auto-Response-Suppress",
    "X-Helpdesk-Ticket",
)
PASS = {name: "PASS" for name in ("spam", "virus", "spf", "dkim", "dmarc")}


def ses_id() -> str:
    """An id shaped like SES receiving's (40 lower-case letters and digits)."""
    return secrets.token_hex(20)


def receipt_event(
    bucket: str,
    key: str,
    message_id: str,
    recipients: list[str],
    source: str,
    verdicts: dict[str, str] | None = None,
    topic: str = "arn:aws:sns:us-east-1:123456789012:helpdesk-local-mail",
) -> dict[str, Any]:
    """The Lambda event SNS delivers for SES's receipt notification (S3 action with a topic)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    receipt: dict[str, Any] = {
        "timestamp": now,
        "processingTimeMillis": 1,
        "recipients": recipients,
        **{f"{name}Verdict": {"status": status} for name, status in (verdicts or PASS).items()},
        "action": {
            "type": "S3",
            "topicArn": topic,
            "bucketName": bucket,
            "objectKeyPrefix": "inbound/",
            "objectKey": key,
        },
    }
    notification = {
        "notificationType": "Received",
        "mail": {
            "timestamp": now,
            "source": source,
            "messageId": message_id,
            "destination": recipients,
            "headersTruncated": False,
        },
        "receipt": receipt,
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:local",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": secrets.token_hex(16),
                    "TopicArn": topic,
                    "Subject": "Amazon SES Email Receipt Notification",
                    "Message": json.dumps(notification),
                    "Timestamp": now,
                    "MessageAttributes": {},
                },
            }
        ]
    }


def mail_summary(raw: bytes) -> dict[str, Any]:
    """What a person checks in a mail we would have sent: headers and both parts."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    parts = {}
    for kind in ("plain", "html"):
        part = message.get_body((kind,))
        parts[kind] = part.get_content() if part is not None else None
    return {
        "headers": {name: str(message[name]) for name in SHOWN_HEADERS if message[name]},
        "subject": str(message["Subject"] or ""),
        "text": parts["plain"],
        "html": parts["html"],
    }


class Handler:
    """aiosmtpd's handler: our mailboxes only (550 for the rest), each mail to `deliver`."""

    def __init__(
        self,
        accepts: Callable[[str], bool],
        deliver: Callable[[bytes, list[str], str], str],
    ) -> None:
        self.accepts = accepts
        self.deliver = deliver

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not self.accepts(address):
            return "550 5.1.1 no such mailbox at this helpdesk"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                None, self.deliver, data, list(envelope.rcpt_tos), envelope.mail_from or ""
            )
        except Exception:
            log.exception("the intake failed on a mail; the sender may try again")
            return "451 4.3.0 could not take the message now, try again later"
        return f"250 2.0.0 accepted ({outcome})"


class SmtpServer:
    """The loopback SMTP server (aiosmtpd's Controller, one thread of its own)."""

    def __init__(self, port: int, handler: Handler) -> None:
        self.port = port
        self.handler = handler
        self.controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            data_size_limit=40 * 1024 * 1024,  # SES receiving's limit
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
