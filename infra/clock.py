"""The local clock: the current time, or the instant `HELPDESK_NOW` names.

`HELPDESK_NOW` (an ISO-8601 UTC instant such as 2026-11-30T10:00:00Z) is the documented
override of "now" for the local stack; the core honours it too, so a developer can replay
old sample events (WhatsApp's 24-hour window, SLA deadlines) as if they had just arrived.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

VARIABLE = "HELPDESK_NOW"


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant with an explicit offset (`Z` or `+00:00`), as an aware datetime."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{VARIABLE}={text!r} has no time zone; write UTC, e.g. ...T10:00:00Z")
    return value.astimezone(UTC)


def now() -> datetime:
    """`HELPDESK_NOW` when it is set (read on every call: tests change it), else the time."""
    override = os.environ.get(VARIABLE, "").strip()
    return parse_instant(override) if override else datetime.now(UTC)
