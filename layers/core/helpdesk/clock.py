"""The core's clock: real UTC time, or a fixed instant for the local stack and tests.

`HELPDESK_NOW` (an ISO-8601 instant, e.g. 2026-11-30T10:00:00Z) moves the clock for a demo or
a test; `HELPDESK_NOW_OFFSET_SECONDS` shifts real time instead (the clock keeps running). Both
are refused inside AWS Lambda (`AWS_EXECUTION_ENV` is set there, never by the local stack),
so only the local stack and tests can move time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta


def now() -> datetime:
    fixed = os.environ.get("HELPDESK_NOW")
    offset = os.environ.get("HELPDESK_NOW_OFFSET_SECONDS")
    if not fixed and not offset:
        return datetime.now(UTC)
    if os.environ.get("AWS_EXECUTION_ENV"):
        raise RuntimeError("HELPDESK_NOW is for the local stack and tests, not AWS Lambda")
    if fixed:
        return parse_instant(fixed)
    return datetime.now(UTC) + timedelta(seconds=float(offset or 0))


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant with a zone ('Z' or an offset), as UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add Z or an offset")
    return moment.astimezone(UTC)
