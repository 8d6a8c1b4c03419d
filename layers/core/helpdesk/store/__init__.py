"""The DynamoDB store: the only code that knows keys, expressions and DynamoDB's errors.

One table (keys `PK`/`SK`, four overloaded GSIs, TTL on `expires_at`); the entity and
access-pattern charts are in docs/data-model.md and the one-line summary in `keys`. One module
per entity: each reads its items and builds the writes (with their conditions, each
explained) that use cases commit together with `Store.transact`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from helpdesk.store.audience import Audience
from helpdesk.store.budgets import Budgets
from helpdesk.store.calls import Calls
from helpdesk.store.canned import CannedReplies
from helpdesk.store.counters import Counters
from helpdesk.store.customers import Customers
from helpdesk.store.deliveries import Deliveries
from helpdesk.store.events import Events
from helpdesk.store.identities import Identities
from helpdesk.store.kb import Articles
from helpdesk.store.ledger import Ledger
from helpdesk.store.mail import Mail
from helpdesk.store.messages import Messages
from helpdesk.store.notices import Notices
from helpdesk.store.provider_messages import ProviderMessages
from helpdesk.store.rates import Rates
from helpdesk.store.reports import Reports
from helpdesk.store.table import PermanentWriteError, Table, TransactionFailed, Write, preflight
from helpdesk.store.tasks import TaskLinks
from helpdesk.store.tickets import TicketQuery, Tickets
from helpdesk.store.topics import Topics

__all__ = ["PermanentWriteError", "Store", "TicketQuery", "TransactionFailed", "Write"]


class Store:
    """The table and its entities; pass `client` (moto's in tests) or let it be made lazily."""

    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        self.table = Table(table_name, client)
        self.tickets = Tickets(self.table)
        self.messages = Messages(self.table)
        self.identities = Identities(self.table)
        self.customers = Customers(self.table)
        self.calls = Calls(self.table)
        self.events = Events(self.table)
        self.counters = Counters(self.table)
        self.provider_messages = ProviderMessages(self.table)
        self.notices = Notices(self.table)
        self.audience = Audience(self.table)
        self.deliveries = Deliveries(self.table)
        self.rates = Rates(self.table)
        self.reports = Reports(self.table)
        self.ledger = Ledger(self.table)
        self.budgets = Budgets(self.table)
        self.task_links = TaskLinks(self.table)
        self.topics = Topics(self.table)
        self.articles = Articles(self.table)
        self.canned = CannedReplies(self.table)
        self.mail = Mail(self.table)

    def transact(self, writes: Sequence[Write]) -> None:
        self.table.transact(writes)

    def preflight(self, writes: Sequence[Write]) -> None:
        preflight(writes)
