"""Monthly budgets: a direction's month told once at 80 % and once at 100 % of its budget,
to its team chat (Telegram) and to the budget alerts topic (SNS, finance subscribes).

The watch (hourly) reads the month's cost counters (never the ledger entries, never tickets)
and enqueues, for each threshold reached and not yet told, a one-off text job for the team
chat and an alert job for SNS. The alert job claims its threshold with a conditional write
before publishing (and releases it if publishing fails); the watch skips claimed ones, and the
text job is sent once per key by the dispatcher's claim, so a threshold is told once even when
the watch runs again before the alert went out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from helpdesk import costs, reports
from helpdesk.jobs import BudgetAlertJob, ClientTextJob, Job
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import Channel, iso, utc_now
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store
from helpdesk.store.budgets import alert_claimed, alert_released
from helpdesk.store.events import Duplicate

logger = logging.getLogger(__name__)


@dataclass
class BudgetWatch:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def spent(self, direction: str, now: datetime) -> tuple[str, int]:
        """The direction's local month and what it has cost so far (the card's currency)."""
        config = self.settings().direction(direction)
        assert config.rate_card is not None
        today = reports.local_day(now, config.business_calendar().zone)
        first = today.replace(day=1)
        name = "cost#"
        total = 0
        for item in self.store.reports.counters(direction, first, today):
            if item.kind != "cost":
                continue
            total += sum(
                value
                for counter, value in item.counters.items()
                if counter.startswith(name) and counter.endswith(f"#{config.rate_card.currency}")
            )
        return first.strftime("%Y-%m"), total

    def run(self) -> dict[str, Any]:
        settings = self.settings()
        now = self.clock()
        jobs: list[Job] = []
        told: dict[str, list[int]] = {}
        for direction in settings.direction_ids():
            config = settings.direction(direction)
            card = config.rate_card
            if card is None or not card.monthly_budget:
                continue
            month, spent = self.spent(direction, now)
            reached = costs.crossed(spent, card.monthly_budget)
            told_before = self.store.budgets.alerted(direction, month) if reached else set()
            new = [threshold for threshold in reached if threshold not in told_before]
            for threshold in new:
                text = costs.budget_text(
                    config.display_name(),
                    month,
                    spent,
                    card.monthly_budget,
                    card.currency,
                    config.language,
                )
                if config.team_chat_id:
                    jobs.append(
                        ClientTextJob(
                            key=f"budget:{direction}:{month}:{threshold}",
                            channel=Channel.TELEGRAM.value,
                            service_id=settings.own_telegram_bot_id(),
                            recipient_id=config.team_chat_id,
                            text=text,
                        )
                    )
                jobs.append(
                    BudgetAlertJob(
                        direction=direction,
                        month=month,
                        threshold=threshold,
                        spent=spent,
                        budget=card.monthly_budget,
                        currency=card.currency,
                    )
                )
            if new:
                told[direction] = new
        if jobs:
            self.queue.send(jobs)
        return {"alerts": told}


@dataclass
class BudgetAlerts:
    """The dispatcher's side: publish a budget alert to SNS once."""

    store: Store = field(default_factory=Store)
    client: Any = None
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    @property
    def sns(self) -> Any:
        if self.client is None:
            self.client = boto3.client("sns")
        return self.client

    def send(self, job: Job) -> None:
        assert isinstance(job, BudgetAlertJob)
        now = self.clock()
        where = (job.direction, job.month, job.threshold)
        try:
            self.store.transact([alert_claimed(*where, int(now.timestamp()), iso(now))])
        except Duplicate:
            logger.info("budget alert already told", extra={"alert": list(where)})
            return
        topic = self.settings().budget_alerts_topic_arn
        if not topic:
            logger.warning("BUDGET_ALERTS_TOPIC_ARN not set: the team chat alone is told")
            return
        config = self.settings().direction(job.direction)
        text = costs.budget_text(
            config.display_name(), job.month, job.spent, job.budget, job.currency, "en"
        )
        try:
            self.sns.publish(
                TopicArn=topic,
                Subject=f"Budget {job.threshold} %: {config.display_name()} {job.month}",
                Message=text,
            )
        except Exception:
            self.store.transact([alert_released(*where)])
            raise
