"""Fault injection for the fault suites: AWS errors at the botocore boundary, a scripted
messenger provider, and the SQS event source as AWS runs it (failed records come back after
the visibility timeout; after maxReceiveCount receives they go to the dead-letter queue).

Faults are injected below every client the code makes (`BaseClient._make_api_call`), so the
code under test runs unchanged: its own retries, conditions and error mapping included.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from helpdesk.channels.base import OutboundText, SendResult
from helpdesk.settings import get_settings
from tests.support import DispatchDriver

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"})
VISIBILITY_TIMEOUT = 180  # template.yaml: JobQueue
MAX_RECEIVES = 5  # template.yaml: JobQueue's maxReceiveCount

# ---- AWS faults --------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """How one AWS call goes wrong."""

    name: str
    code: str
    status: int = 400
    after: bool = False  # the call took effect; only its answer was lost
    reasons: str | None = None  # TransactWriteItems: the cancellation reason of every item

    def error(self, operation: str, params: dict[str, Any]) -> ClientError:
        response: dict[str, Any] = {
            "Error": {"Code": self.code, "Message": f"injected: {self.name}"},
            "ResponseMetadata": {"HTTPStatusCode": self.status},
        }
        if self.reasons:
            items = params.get("TransactItems", [])
            response["CancellationReasons"] = [
                {"Code": self.reasons if index == len(items) - 1 else "None"}
                for index, _ in enumerate(items)
            ]
        return ClientError(response, operation)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return self.name


THROTTLED = Fault("throttled", "ProvisionedThroughputExceededException")
SQS_THROTTLED = Fault("throttled", "RequestThrottled", 403)
LOST_ANSWER = Fault("5xx after the write", "InternalServerError", 500, after=True)
TRANSACTION_CONFLICT = Fault(
    "transaction conflict", "TransactionCanceledException", reasons="TransactionConflict"
)


def throttled(operation: str) -> Fault:
    """The throttling error each service answers once the SDK's own retries are used up."""
    return THROTTLED if operation not in ("SendMessageBatch", "SendMessage") else SQS_THROTTLED


@dataclass
class _Rule:
    operation: str
    nth: int  # the nth matching call after the rule was set
    fault: Fault | None
    times: int
    action: Callable[[], None] | None = None  # run before the call (an interleaving)
    partial: bool = False  # SendMessageBatch: the first entry goes, the rest are Failed
    seen: int = 0
    fired: int = 0


class AwsFaults:
    """Every AWS call the code makes, and the faults to inject into them."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.refused: set[int] = set()  # indexes of calls AWS itself refused (a condition)
        self._rules: list[_Rule] = []
        self._busy = False  # a hook's own calls are not counted nor faulted
        self._real: Callable[..., Any] = getattr(BaseClient, "_make_api_call")  # noqa: B009

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        faults, real = self, self._real

        def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            return faults._call(real, client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)

    def fail(
        self, operation: str, fault: Fault | None = None, nth: int = 1, times: int = 1
    ) -> None:
        """The `nth` call of `operation` from now on (and the next `times - 1`) fails."""
        self._rules.append(_Rule(operation, nth, fault or throttled(operation), times))

    def fail_partly(self, operation: str = "SendMessageBatch", nth: int = 1) -> None:
        """SQS takes the first entry of the batch and answers the others as Failed."""
        self._rules.append(_Rule(operation, nth, None, 1, partial=True))

    def before_write(self, nth: int, action: Callable[[], None]) -> None:
        """Run `action` (another delivery) just before the `nth` write from now on."""
        self._rules.append(_Rule("<write>", nth, None, 1, action=action))

    def clear(self) -> None:
        self._rules.clear()

    @contextmanager
    def unobserved(self) -> Iterator[None]:
        """Calls the test harness makes itself (the event source, reading the state)."""
        busy, self._busy = self._busy, True
        try:
            yield
        finally:
            self._busy = busy

    @property
    def pending(self) -> list[str]:
        return [rule.operation for rule in self._rules if rule.fired < rule.times]

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, bool]]]:
        """The AWS operations made inside the block, in order, and whether each succeeded."""
        start = len(self.calls)
        trace: list[tuple[str, bool]] = []
        yield trace
        trace.extend(
            (operation, start + index not in self.refused)
            for index, operation in enumerate(self.calls[start:])
        )

    def _call(
        self, real: Callable[..., Any], client: BaseClient, operation: str, params: dict[str, Any]
    ) -> Any:
        if self._busy:
            return real(client, operation, params)
        self.calls.append(operation)
        rule = self._match(operation)
        if rule is not None and rule.action is not None:
            self._busy = True
            try:
                rule.action()
            finally:
                self._busy = False
        elif rule is not None and rule.partial:
            return self._partly(real, client, operation, params)
        elif rule is not None and rule.fault is not None and not rule.fault.after:
            raise rule.fault.error(operation, params)
        try:
            result = real(client, operation, params)
        except ClientError:
            self.refused.add(len(self.calls) - 1)
            raise
        if rule is not None and rule.fault is not None and rule.fault.after:
            raise rule.fault.error(operation, params)
        return result

    def _match(self, operation: str) -> _Rule | None:
        for rule in self._rules:
            applies = (
                operation in WRITES if rule.operation == "<write>" else rule.operation == operation
            )
            if not applies or rule.fired >= rule.times:
                continue
            rule.seen += 1
            if rule.seen >= rule.nth:
                rule.fired += 1
                return rule
        return None

    @staticmethod
    def _partly(
        real: Callable[..., Any], client: BaseClient, operation: str, params: dict[str, Any]
    ) -> Any:
        first, *rest = params["Entries"]
        answer = real(client, operation, {**params, "Entries": [first]})
        answer["Failed"] = [
            {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError", "Message": "x"}
            for entry in rest
        ]
        return answer


READS = frozenset({"GetItem", "Query", "BatchGetItem", "Scan"})
FAULTS = [THROTTLED, LOST_ANSWER, TRANSACTION_CONFLICT]


def faults_for(trace: list[tuple[str, bool]]) -> list[tuple[Fault, str, int]]:
    """Each fault at each call of a trace where it means something: a lost answer only after
    a write that succeeded, a transaction conflict only on a transaction."""
    return [
        (fault, operation, nth)
        for fault in FAULTS
        for operation, nth, succeeded in each_call(trace)
        if not (fault == LOST_ANSWER and (operation in READS or not succeeded))
        and not (fault == TRANSACTION_CONFLICT and operation != "TransactWriteItems")
    ]


def each_call(trace: list[tuple[str, bool]]) -> Iterator[tuple[str, int, bool]]:
    """(operation, which occurrence of it, whether it succeeded) for each call of a trace."""
    seen: Counter[str] = Counter()
    for operation, succeeded in trace:
        seen[operation] += 1
        yield operation, seen[operation], succeeded


# ---- the provider ------------------------------------------------------------------------


class FakeProvider:
    """A messenger provider: records what each client received; scripted errors come first
    (an entry of None lets that send through)."""

    def __init__(self) -> None:
        self.sent: list[OutboundText] = []
        self.script: list[Exception | None] = []
        self.provider_ids: list[str] = []  # what the provider answers as its message ids

    def fail_next(self, *errors: Exception | None) -> None:
        self.script.extend(errors)

    def send(self, message: OutboundText) -> SendResult:
        if self.script and (error := self.script.pop(0)) is not None:
            raise error
        self.sent.append(message)
        pid = self.provider_ids.pop(0) if self.provider_ids else f"p-{len(self.sent)}"
        return SendResult(provider_message_id=pid)

    def texts(self) -> list[str]:
        return [message.text for message in self.sent]

    def reset(self) -> None:
        self.sent.clear()
        self.script.clear()
        self.provider_ids.clear()


def sends_per_message(
    provider: FakeProvider, ticket: dict[str, Any], messages: list[dict[str, Any]]
) -> dict[str, int]:
    """How often each outbound message of a ticket reached its client (by what was sent)."""
    received = Counter((m.recipient_id, m.text) for m in provider.sent)
    recipient = ticket["recipient_id"]
    return {
        message["id"]: received[(recipient, message["text"])]
        for message in messages
        if message["kind"] in ("auto", "reply")
    }


# ---- the doors ---------------------------------------------------------------------------


def through_api_gateway(call: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
    """A request as its caller sees it: an unhandled error is API Gateway's 500."""
    try:
        return call()
    except Exception as error:  # the function failed; Lambda reports it, API Gateway says 500
        return 500, {"message": "Internal Server Error", "cause": repr(error)}


def as_provider(call: Callable[[], tuple[int, Any]], attempts: int = 5) -> list[int]:
    """Send a request the way providers do: the same request again after a 5xx."""
    statuses = []
    for _ in range(attempts):
        status, _body = through_api_gateway(call)
        statuses.append(status)
        if status < 500:
            break
    return statuses


class EventSource:
    """The SQS event source mapping on the real (moto) queue: receive a batch, invoke the
    dispatcher, delete what succeeded. What failed becomes visible again after the visibility
    timeout: the clock is moved on by that much and the message made visible at once."""

    def __init__(self, driver: DispatchDriver, clock: Clock, faults: AwsFaults) -> None:
        self.driver = driver
        self.aws = driver.aws
        self.clock = clock
        self.faults = faults
        self.failures: list[dict[str, Any]] = []

    @property
    def sqs(self) -> Any:
        return self.aws["sqs"]

    def poll(self) -> int:
        """One receive and invoke; how many records were handed to the function."""
        with self.faults.unobserved():
            received = self.sqs.receive_message(
                QueueUrl=self.aws["queue_url"],
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        if not received:
            return 0
        failed = {f["itemIdentifier"] for f in self.driver.invoke(received)["batchItemFailures"]}
        with self.faults.unobserved():
            for message in received:
                if message["MessageId"] in failed:
                    self.failures.append(message)
                    continue
                self.sqs.delete_message(
                    QueueUrl=self.aws["queue_url"], ReceiptHandle=message["ReceiptHandle"]
                )
        return len(received)

    def visibility_timeout_passes(self) -> None:
        with self.faults.unobserved():
            for message in self.failures:
                self.sqs.change_message_visibility(
                    QueueUrl=self.aws["queue_url"],
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
        self.failures.clear()
        self.clock.advance(VISIBILITY_TIMEOUT)

    def run(self, rounds: int = 12) -> None:
        """Until the queue is empty: each round one batch, then failed records come back."""
        for _ in range(rounds):
            while self.poll():
                pass
            if not self.failures:
                return
            self.visibility_timeout_passes()
        raise AssertionError("the queue did not empty")

    def dead_letters(self) -> list[dict[str, Any]]:
        """What the dead-letter queue holds (received and left there, visible again)."""
        url = self.aws["urls"]["JobDeadLetterQueue"]
        found = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", [])
        return [json.loads(message["Body"]) for message in found]


@dataclass
class Clock:
    """The core's clock, moved on through HELPDESK_NOW_OFFSET_SECONDS (it keeps running)."""

    monkeypatch: pytest.MonkeyPatch
    offset: float = 0.0

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self.monkeypatch.setenv("HELPDESK_NOW_OFFSET_SECONDS", str(self.offset))


def table_items(aws: dict[str, Any], keys_only: bool = False) -> list[dict[str, Any]]:
    table, client = get_settings().table_name, aws["dynamodb"]
    projection = {"ProjectionExpression": "PK, SK"} if keys_only else {}
    pages = client.get_paginator("scan").paginate(
        TableName=table, ConsistentRead=True, **projection
    )
    return [item for page in pages for item in page["Items"]]


def wipe(aws: dict[str, Any], keep: list[dict[str, Any]] | None = None) -> None:
    """Empty both queues, and the table but for the items in `keep` (one moto account per
    test, many runs in it)."""
    table, client = get_settings().table_name, aws["dynamodb"]
    kept = {(item["PK"]["S"], item["SK"]["S"]) for item in keep or []}
    deletes = [
        {"DeleteRequest": {"Key": {"PK": item["PK"], "SK": item["SK"]}}}
        for item in table_items(aws, keys_only=True)
        if (item["PK"]["S"], item["SK"]["S"]) not in kept
    ]
    puts = [{"PutRequest": {"Item": item}} for item in keep or []]
    requests = deletes + puts
    for start in range(0, len(requests), 25):
        client.batch_write_item(RequestItems={table: requests[start : start + 25]})
    for url in aws["urls"].values():  # PurgeQueue: once a minute only
        while (
            found := aws["sqs"]
            .receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            .get("Messages")
        ):
            for message in found:
                aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def desk_state(items: list[dict[str, Any]], provider: FakeProvider | None) -> list[dict[str, Any]]:
    """Every ticket as stored (the table's items), without ids and times (they differ between
    runs; a ticket's own number is written <number>), with how often each of its messages
    reached the client."""
    from helpdesk.store.codec import from_dynamo

    by_ticket: dict[str, list[dict[str, Any]]] = {}
    for item in sorted((from_dynamo(i) for i in items), key=lambda i: (i["PK"], i["SK"])):
        if item["PK"].startswith("TICKET#"):
            by_ticket.setdefault(item["PK"], []).append(item)
    state = []
    for parts in by_ticket.values():
        ticket = next(i for i in parts if i["SK"] == "#TICKET")
        messages = [i for i in parts if i["SK"].startswith("MSG#")]
        history = [i for i in parts if i["SK"].startswith("HIST#")]
        number = ticket["id"]

        def plain(text: str | None, number: str = number) -> str | None:
            # The acknowledgement says when we will answer: a time that moves between runs.
            return (
                re.sub(r"\d{2}:\d{2}, [^.]*", "<due>", text.replace(number, "<number>"))
                if text
                else text
            )

        call = {k: v for k, v in (ticket.get("call") or {}).items() if k != "timeline"}
        fields = ("channel", "direction", "status", "priority", "assignee", "message_count")
        state.append(
            {
                "ticket": {
                    **{name: ticket.get(name) for name in (*fields, "version")},
                    "flags": ticket.get("flags", []),
                    "csat": (ticket.get("csat") or {}).get("value"),
                    "call": call,
                    "subject": plain(ticket.get("subject")),
                },
                "messages": [
                    (
                        m["kind"],
                        m["author"],
                        plain(m["text"]),
                        m.get("delivery"),
                        m.get("error"),
                        [entry["status"] for entry in m.get("status_history", [])],
                    )
                    for m in messages
                ],
                "history": [(h["actor"], h["action"]) for h in history],
                "sends": sorted(sends_per_message(provider, ticket, messages).values())
                if provider
                else None,
            }
        )
    return state


@dataclass(frozen=True)
class Snapshot:
    items: list[dict[str, Any]]
    sent: list[OutboundText]
    jobs: list[str]


class Desk:
    """The helpdesk as its callers reach it, with the fault injectors at hand: the messenger
    webhook, the tickets API (an agent), the queue with its event source, a fake provider."""

    def __init__(self, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
        from tests.integration.conftest import Api, claims
        from tests.support import use_messengers

        use_messengers(monkeypatch)
        self.aws = aws
        self.faults = AwsFaults()
        self.faults.install(monkeypatch)
        self.clock = Clock(monkeypatch)
        self.provider = FakeProvider()
        self.driver = DispatchDriver(aws, monkeypatch)
        self.driver.use(self.provider)
        self.queue = EventSource(self.driver, self.clock, self.faults)
        self.messenger = Api("MessengerWebhookFunction", None)
        self.agent = Api("TicketsFunction", claims("agent", "agent-1"))
        monkeypatch.setattr("helpdesk.usecases.dispatch.time.sleep", lambda seconds: None)
        # moto lexes every condition expression with regular expressions it compiles each
        # time; its URL patterns crowd them out of re's cache (512): a larger one halves
        # the suites' time.
        monkeypatch.setattr(re, "_MAXCACHE", 4096)

    def telegram(self, update: dict[str, Any]) -> Callable[[], tuple[int, Any]]:
        """Telegram's request for this update (call it again to retry it)."""
        from tests.support import TG_SECRET

        raw = json.dumps(update, ensure_ascii=False).encode()
        headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        return lambda: self.messenger.call("POST", "/webhooks/telegram", raw=raw, headers=headers)

    def whatsapp(self, body: dict[str, Any]) -> Callable[[], tuple[int, Any]]:
        """Meta's signed request for this notification."""
        from tests.support import whatsapp_signature

        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = whatsapp_signature(raw)
        return lambda: self.messenger.call("POST", "/webhooks/whatsapp", raw=raw, headers=headers)

    def drain(self) -> None:
        self.queue.run()

    def state(self) -> list[dict[str, Any]]:
        with self.faults.unobserved():
            return desk_state(table_items(self.aws), self.provider)

    def snapshot(self) -> Snapshot:
        """What is stored, queued and sent so far, to start each run from (quicker than
        making it again through the doors)."""
        with self.faults.unobserved():
            return Snapshot(table_items(self.aws), list(self.provider.sent), self._jobs())

    def _jobs(self) -> list[str]:
        sqs, url, held = self.aws["sqs"], self.aws["queue_url"], []
        while found := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            held.extend(found)
        for message in held:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [message["Body"] for message in held]

    def restore(self, snapshot: Snapshot) -> None:
        self.faults.clear()
        with self.faults.unobserved():
            wipe(self.aws, keep=snapshot.items)
            for body in snapshot.jobs:
                self.aws["sqs"].send_message(QueueUrl=self.aws["queue_url"], MessageBody=body)
        self.provider.reset()
        self.provider.sent.extend(snapshot.sent)
        self.queue.failures.clear()

    def sweep(self) -> int:
        """The outbox sweep's scheduled run, its clock at this desk's now (HELPDESK_NOW)."""
        from helpdesk.models import iso, utc_now
        from infra.lambda_runtime import LambdaContext, load_function, scheduled_event
        from infra.template import functions

        spec = functions()["OutboxSweepFunction"]
        self.clock.monkeypatch.setenv("HELPDESK_NOW", iso(utc_now()))
        try:
            result = load_function(spec).lambda_handler(
                scheduled_event("sweep"), LambdaContext(spec.logical_id)
            )
        finally:
            self.clock.monkeypatch.delenv("HELPDESK_NOW")
        return int(result["requeued"])

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        view: dict[str, Any] = self.agent.call("GET", f"/tickets/{ticket_id}")[1]
        return view


def each_fault_is_healed_by_a_retry(
    desk: Desk, request: Callable[[], tuple[int, Any]], state: Callable[[], Any] | None = None
) -> None:
    """The fault-free run of `request` from what is stored now, then, from the same start, a
    fault at each AWS call it makes in turn; the caller sends the request again after a 5xx
    (a conflict may be retried inside). Each run must end in the fault-free run's state."""
    state = state or desk.state
    before = desk.snapshot()
    with desk.faults.recording() as trace:
        assert as_provider(request) == [200]
    desk.drain()
    expected = state()
    for fault, operation, nth in faults_for(trace):
        where = f"{fault} at {operation} #{nth}"
        desk.restore(before)
        desk.faults.fail(operation, fault, nth)

        statuses = as_provider(request)

        assert desk.faults.pending == [], where
        retried = ([200], [500, 200]) if fault == TRANSACTION_CONFLICT else ([500, 200],)
        assert statuses in retried, where
        desk.drain()
        assert state() == expected, where
