"""The daily digest: yesterday of each direction, to its team chat in Telegram.

Read from the report counters of the day (never tickets), the callback worklist (by key) and
the complaints feed; sent as a one-off text job through the queue, keyed by direction and
day, so a second run the same day (a retried schedule) sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from helpdesk import digest, reports
from helpdesk.jobs import ClientTextJob
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import Channel, utc_now
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store
from helpdesk.usecases.reporting import Range, ReportDesk

COMPLAINTS_READ = 100  # the newest complaints looked at for yesterday's


@dataclass
class DailyDigest:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def run(self) -> dict[str, list[str]]:
        settings = self.settings()
        now = self.clock()
        done: dict[str, list[str]] = {"sent": [], "no_team_chat": []}
        jobs = []
        for direction in settings.direction_ids():
            config = settings.direction(direction)
            if not config.team_chat_id:
                done["no_team_chat"].append(direction)
                continue
            text, day = self.text(direction, now)
            jobs.append(
                ClientTextJob(
                    key=f"digest:{direction}:{day}",
                    channel=Channel.TELEGRAM.value,
                    service_id=settings.own_telegram_bot_id(),
                    recipient_id=config.team_chat_id,
                    text=text,
                )
            )
            done["sent"].append(direction)
        if jobs:
            self.queue.send(list(jobs))
        return done

    def text(self, direction: str, now: datetime) -> tuple[str, str]:
        """The digest of the day before `now` in the direction's time zone, and that day."""
        settings = self.settings()
        config = settings.direction(direction)
        zone = config.business_calendar().zone
        day = reports.local_day(now, zone) - timedelta(days=1)
        desk = ReportDesk(self.store, self.settings, self.clock)
        total = desk.totals(direction, Range(day, day))
        waiting = len(self.store.calls.waiting_for_callback(direction))
        complaints = [
            entry
            for entry in self.store.reports.complaints(direction, COMPLAINTS_READ)
            if _on(entry, day.isoformat(), zone)
        ]
        name = config.display_name()
        return digest.text(total, name, day, config.language, waiting, complaints), str(day)


def _on(entry: dict[str, Any], day: str, zone: str) -> bool:
    """Marked a complaint on that local day."""
    marked = entry.get("marked_at")
    if not marked:
        return False
    moment = datetime.fromisoformat(str(marked).replace("Z", "+00:00"))
    return reports.local_day(moment, zone).isoformat() == day
