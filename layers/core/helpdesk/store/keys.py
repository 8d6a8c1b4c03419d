"""Every key of the one table, one builder per entity (docs/data-model.md has the charts).

ticket    TICKET#<number> / #TICKET      GSI1 DIR#<d>, GSI2 AGENT#<a>: <status>#<created>#<n>
                                         GSI3 STATUS#<s>: <created>#<n>; GSI4 CUST#<id>
message   TICKET#<number> / MSG#<time-ordered id>   (unfinished sends: GSI3 OUTBOX)
history   TICKET#<number> / HIST#<at>#<id>
counter   COUNTER#<direction> / #COUNTER
customer  CUSTOMER#<id> / #CUSTOMER
identity  IDENTITY#<kind>#<address> / #IDENTITY
dedupe    EVENT#<provider event id> / #EVENT       (TTL: longer than provider retries)
call      CALL#<provider>#<call id> / #CALL        (missed, waiting: GSI3 CALLBACK#<d>)
pmsg      PMSG#<channel>#<provider msg id> / #PMSG (delivery statuses, pricing)
report    REPORT#<direction>#<yyyy-mm> / <yyyy-mm-dd>#<kind>#<shard or agent>  (counters)
complaint COMPLAINTS#<direction> / <created>#<number>   (the complaints feed)
ledger    LEDGER#<direction>#<yyyy-mm> / <yyyy-mm-dd>#<at>#<source>  (usage and its cost)
budget    BUDGET#<direction>#<yyyy-mm> / #<threshold>   (an alert told once)
task link TASK#<task key> / TICKET#<number>       (tickets held for a tracker task)
topic     TICKET#<number> / #TOPIC                (its staff-group topic and what was posted)
thread    THREAD#<chat>#<thread> / #THREAD        (a topic's ticket)
group     GROUP#<chat> / #PACE, DIRTY#<number>    (the group's pace; tickets to bring up to date)
article   KB#<direction> / ART#<slug>; its versions VER#<slug>#<revision>  (knowledge base)
kb index  KBINDEX#<direction> / #POINTER; CHUNK#<revision>#<i>  (the search index, gzipped)
kb gap    KBGAP#<direction> / <resolved at>#<number>  (resolved with no article to cover it)
canned    CANNED#DIR#<direction> | CANNED#USER#<user> / <id>  (canned replies)
suppress  SUPPRESS#<channel>#<address> / #SUPPRESS (bounced or complained: never sent to)
"""

from __future__ import annotations

import zlib
from datetime import datetime

from helpdesk.models import iso

Key = dict[str, str]

OUTBOX = "OUTBOX"
DUE_SHARDS = 4  # the SLA timer index is spread over this many partitions


def ticket(ticket_id: str) -> Key:
    return {"PK": f"TICKET#{ticket_id}", "SK": "#TICKET"}


def ticket_partition(ticket_id: str) -> str:
    """A ticket and everything said and done on it share one partition."""
    return f"TICKET#{ticket_id}"


def message(ticket_id: str, message_id: str) -> Key:
    # Message ids sort by time (models.time_ordered_id), so the conversation reads in order.
    return {"PK": ticket_partition(ticket_id), "SK": f"MSG#{message_id}"}


def history(ticket_id: str, at: datetime, entry_id: str) -> Key:
    return {"PK": ticket_partition(ticket_id), "SK": f"HIST#{iso(at)}#{entry_id}"}


def timer(ticket_id: str) -> Key:
    return {"PK": ticket_partition(ticket_id), "SK": "#TIMER"}


def counter(direction: str) -> Key:
    return {"PK": f"COUNTER#{direction}", "SK": "#COUNTER"}


def customer(customer_id: str) -> Key:
    return {"PK": f"CUSTOMER#{customer_id}", "SK": "#CUSTOMER"}


def customer_reached(customer_id: str) -> Key:
    return {"PK": f"CUSTOMER#{customer_id}", "SK": "#REACHED"}


def customer_history(customer_id: str, at: datetime, entry_id: str) -> Key:
    return {"PK": f"CUSTOMER#{customer_id}", "SK": f"HIST#{iso(at)}#{entry_id}"}


def identity(kind: str, address: str) -> Key:
    return {"PK": f"IDENTITY#{kind}#{address}", "SK": "#IDENTITY"}


def event(event_id: str) -> Key:
    return {"PK": f"EVENT#{event_id}", "SK": "#EVENT"}


def call(provider: str, call_id: str) -> Key:
    return {"PK": f"CALL#{provider}#{call_id}", "SK": "#CALL"}


def provider_message(channel: str, provider_message_id: str) -> Key:
    return {"PK": f"PMSG#{channel}#{provider_message_id}", "SK": "#PMSG"}


# ---- index keys ------------------------------------------------------------------------


def direction_index(direction: str) -> str:
    return f"DIR#{direction}"


def agent_index(assignee: str) -> str:
    return f"AGENT#{assignee}"


def status_index(status: str) -> str:
    return f"STATUS#{status}"


def customer_index(customer_id: str) -> str:
    return f"CUST#{customer_id}"


def callback_index(direction: str) -> str:
    return f"CALLBACK#{direction}"


def status_sort_key(status: str, created_at: datetime, ticket_id: str) -> str:
    return f"{status}#{iso(created_at)}#{ticket_id}"


def created_sort_key(created_at: datetime, ticket_id: str) -> str:
    return f"{iso(created_at)}#{ticket_id}"


def outbox_sort_key(due: datetime, ticket_id: str, message_id: str) -> str:
    """When the outbox sweep should look at an unfinished send, then which message."""
    return f"{iso(due)}#{ticket_id}#{message_id}"


def shard_of(ticket_id: str) -> int:
    """A stable shard (not Python's salted hash): the same ticket always lands in one."""
    return zlib.crc32(ticket_id.encode()) % DUE_SHARDS


def due_index(shard: int) -> str:
    return f"DUE#{shard}"


def queue_index(direction: str) -> str:
    return f"QUEUE#{direction}"


def due_sort_key(due: datetime, our_client: bool, ticket_id: str) -> str:
    return f"{iso(due)}#{0 if our_client else 1}#{ticket_id}"


def notice(notice_id: str) -> Key:
    return {"PK": f"NOTICE#{notice_id}", "SK": "#NOTICE"}


def notice_progress(notice_id: str) -> Key:
    return {"PK": f"NOTICE#{notice_id}", "SK": "#PROGRESS"}


NOTICES = "NOTICES"
FAN_OUTS = "FANOUTS"  # sparse: fan-outs still under way, for the notice sweep


def notice_request(request_id: str) -> Key:
    return {"PK": f"NOTICEREQ#{request_id}", "SK": "#REQUEST"}


def fan_out(notice_id: str, revision: int, direction: str, channel: str) -> Key:
    return {"PK": f"NOTICE#{notice_id}", "SK": f"FANOUT#{revision:04d}#{direction}#{channel}"}


def channel_post(notice_id: str, direction: str) -> Key:
    return {"PK": f"NOTICE#{notice_id}", "SK": f"POST#{direction}"}


def notice_link(notice_id: str, ticket_id: str) -> Key:
    return {"PK": f"NOTICE#{notice_id}", "SK": f"TICKET#{ticket_id}"}


def banner(direction: str) -> Key:
    return {"PK": f"BANNER#{direction}", "SK": "#BANNER"}


def audience_partition(direction: str, channel: str) -> str:
    return f"AUDIENCE#{direction}#{channel}"


def audience(direction: str, channel: str, address: str) -> Key:
    return {"PK": audience_partition(direction, channel), "SK": address}


def delivery(notice_id: str, revision: int, channel: str, address: str) -> Key:
    return {"PK": f"DELIVERY#{notice_id}#{revision}", "SK": f"{channel}#{address}"}


def rate(channel: str, service: str, second: int) -> Key:
    return {"PK": f"RATE#{channel}#{service}", "SK": str(second)}


REPORT_SHARDS = 4  # a day's counters of one kind are spread over this many items


def report_partition(direction: str, month: str) -> str:
    """A direction's report counters of one month (`yyyy-mm`): a 31-day range reads at most
    two partitions, whatever the table holds."""
    return f"REPORT#{direction}#{month}"


def report_sort_key(day: str, kind: str, owner: str) -> str:
    return f"{day}#{kind}#{owner}"


def report(direction: str, day: str, kind: str, owner: str) -> Key:
    """One counters item: `day` is yyyy-mm-dd in the direction's zone, `owner` a shard number
    (spreads concurrent transactions on one direction's day) or an agent's id."""
    return {"PK": report_partition(direction, day[:7]), "SK": report_sort_key(day, kind, owner)}


def complaints_partition(direction: str) -> str:
    return f"COMPLAINTS#{direction}"


def complaint(direction: str, created_at: datetime, ticket_id: str) -> Key:
    return {"PK": complaints_partition(direction), "SK": created_sort_key(created_at, ticket_id)}


def report_shard(ticket_id: str) -> str:
    return str(zlib.crc32(ticket_id.encode()) % REPORT_SHARDS)


def ledger_partition(direction: str, month: str) -> str:
    """A direction's cost ledger of one month (`yyyy-mm`, the direction's local days)."""
    return f"LEDGER#{direction}#{month}"


def ledger(direction: str, day: str, at: datetime, source: str) -> Key:
    return {"PK": ledger_partition(direction, day[:7]), "SK": f"{day}#{iso(at)}#{source}"}


def budget_partition(direction: str, month: str) -> str:
    return f"BUDGET#{direction}#{month}"


def budget_alert(direction: str, month: str, threshold: int) -> Key:
    return {"PK": budget_partition(direction, month), "SK": f"#{threshold:03d}"}


def task_partition(task_key: str) -> str:
    """A tracker task (tasks.task_key: `github:owner/repo#123`, `jira:KEY-1`, ...)."""
    return f"TASK#{task_key}"


def task_link(task_key: str, ticket_id: str) -> Key:
    """A ticket held for a tracker task; many tickets may wait for one task."""
    return {"PK": task_partition(task_key), "SK": f"TICKET#{ticket_id}"}


def topic(ticket_id: str) -> Key:
    return {"PK": ticket_partition(ticket_id), "SK": "#TOPIC"}


def thread(chat_id: str, thread_id: str) -> Key:
    return {"PK": f"THREAD#{chat_id}#{thread_id}", "SK": "#THREAD"}


def group_partition(chat_id: str) -> str:
    return f"GROUP#{chat_id}"


def group_pace(chat_id: str) -> Key:
    return {"PK": group_partition(chat_id), "SK": "#PACE"}


def group_dirty(chat_id: str, ticket_id: str) -> Key:
    return {"PK": group_partition(chat_id), "SK": f"DIRTY#{ticket_id}"}


def kb_partition(direction: str) -> str:
    """A direction's articles and their versions."""
    return f"KB#{direction}"


def article(direction: str, slug: str) -> Key:
    return {"PK": kb_partition(direction), "SK": f"ART#{slug}"}


def article_version(direction: str, slug: str, revision: int) -> Key:
    return {"PK": kb_partition(direction), "SK": f"VER#{slug}#{revision:06d}"}


def kb_index_partition(direction: str) -> str:
    return f"KBINDEX#{direction}"


def kb_index_pointer(direction: str) -> Key:
    """Which build of the direction's search index is current, and the builds wanted."""
    return {"PK": kb_index_partition(direction), "SK": "#POINTER"}


def kb_index_chunk(direction: str, build: int, part: int) -> Key:
    return {"PK": kb_index_partition(direction), "SK": f"{kb_chunk_prefix(build)}{part:03d}"}


def kb_chunk_prefix(build: int) -> str:
    return f"CHUNK#{build:010d}#"


def kb_gaps_partition(direction: str) -> str:
    return f"KBGAP#{direction}"


def kb_gap(direction: str, at: datetime, ticket_id: str) -> Key:
    return {"PK": kb_gaps_partition(direction), "SK": f"{iso(at)}#{ticket_id}"}


def canned_partition(direction: str | None, owner: str | None) -> str:
    """A direction's canned replies, or one agent's own (`owner`)."""
    return f"CANNED#USER#{owner}" if owner else f"CANNED#DIR#{direction}"


def canned(direction: str | None, owner: str | None, reply_id: str) -> Key:
    return {"PK": canned_partition(direction, owner), "SK": reply_id}


def suppression(channel: str, address: str) -> Key:
    """An address nothing may be sent to (an e-mail that bounced for good, a complaint)."""
    return {"PK": f"SUPPRESS#{channel}#{address.lower()}", "SK": "#SUPPRESS"}
