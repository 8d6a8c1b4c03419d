"""A mail attachment handed to staff: a short-lived link to the copy the intake stored.

Only what the e-mail intake copied into the mail bucket under `attachments/` is handed out;
a messenger's file id, a part kept in the raw message only (too large) or anything else is
refused with the reason. The link is a presigned S3 GET: the console fetches this JSON with
its bearer token, then opens the link, which needs none (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from helpdesk.channels.objects import ATTACHMENTS_PREFIX, Objects, S3Objects
from helpdesk.errors import NotDownloadable, NotFound
from helpdesk.models import iso, utc_now
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store

LINK_SECONDS = 300  # long enough to click, short enough that a pasted link soon dies


def stored_copy(attachment: dict[str, Any], bucket: str | None) -> tuple[str, str]:
    """(bucket, key) of an attachment the intake stored, or NotDownloadable saying why not."""
    name = attachment.get("file_name") or attachment.get("kind") or "the attachment"
    if attachment.get("note"):
        raise NotDownloadable(f"{name} is not stored on its own: {attachment['note']}")
    file_id = str(attachment.get("file_id") or "")
    where, _, key = file_id.removeprefix("s3://").partition("/")
    if not file_id.startswith("s3://") or not bucket or where != bucket:
        raise NotDownloadable(
            f"{name} is not a stored mail attachment (a messenger's files stay with it)"
        )
    if not key.startswith(ATTACHMENTS_PREFIX):
        raise NotDownloadable(f"{name} is not under {ATTACHMENTS_PREFIX} in the mail bucket")
    return where, key


@dataclass
class AttachmentDesk:
    store: Store = field(default_factory=Store)
    objects: Objects = field(default_factory=S3Objects)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def link(self, ticket_id: str, message_id: str, number: int) -> dict[str, Any]:
        """A download link to attachment `number` (from 0) of a message of this ticket."""
        message = self.store.messages.get(ticket_id, message_id)
        if message is None:
            self.store.tickets.get(ticket_id)  # 404 naming the ticket, if that is what's missing
            raise NotFound(f"ticket {ticket_id} has no message {message_id}")
        if not 0 <= number < len(message.attachments):
            raise NotFound(
                f"message {message_id} has {len(message.attachments)} attachment(s); "
                f"there is no attachment {number} (they count from 0)",
                attachments=len(message.attachments),
            )
        attachment = message.attachments[number]
        bucket, key = stored_copy(attachment, self.settings().email_bucket)
        file_name = str(attachment.get("file_name") or key.rsplit("/", 1)[-1])
        mime_type = attachment.get("mime_type")
        url = self.objects.download_url(bucket, key, file_name, mime_type, LINK_SECONDS)
        return {
            "url": url,
            "file_name": file_name,
            "mime_type": mime_type,
            "size": attachment.get("size"),
            "expires_at": iso(self.clock() + timedelta(seconds=LINK_SECONDS)),
        }
