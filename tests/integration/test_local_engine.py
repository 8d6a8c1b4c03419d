"""The local stack's embedded engine: moto behind one lock, with a per-item transaction undo.

The engine runs in-process on a free loopback port and is reached with boto3 over HTTP,
as the handlers reach it under `make run`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto.dynamodb.models import DynamoDBBackend

from infra import moto_patches
from infra.engine import Engine

TABLE = "engine-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_table(client: Any, name: str = TABLE) -> None:
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
    )


@pytest.fixture
def engine() -> Iterator[Engine]:
    running = Engine(free_port(), allowed_origins={"http://127.0.0.1:3000"})
    running.start()
    yield running
    running.stop()
    running.backend().tables.pop(TABLE, None)
    moto_patches.apply()()  # leave moto as the other tests expect it


@pytest.fixture
def dynamodb(engine: Engine) -> Any:
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{engine.port}")
    create_table(client)
    return client


def key(pk: str, sk: str = "#ITEM") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def test_a_failed_transaction_loses_none_of_the_writes_made_meanwhile(
    engine: Engine, dynamodb: Any
) -> None:
    """A duplicate delivery's failed transaction must not undo another function's writes."""
    for i in range(2000):  # a table of some size: moto's whole-table undo took long enough
        engine.backend().put_item(TABLE, {**key(f"OLD#{i}"), "body": {"S": "x" * 100}})
    dynamodb.put_item(TableName=TABLE, Item={**key("EVENT#dup"), "seen": {"BOOL": True}})
    stop = threading.Event()
    failures: list[str] = []

    def duplicate_deliveries() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": TABLE,
                                "Item": {**key(f"MSG#dup-{n}"), "n": {"N": "1"}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": TABLE,
                                "Item": key("EVENT#dup"),
                                "ConditionExpression": "attribute_not_exists(PK)",
                            }
                        },
                    ]
                )
                failures.append("a duplicate went through")
            except ClientError as error:
                assert error.response["Error"]["Code"] == "TransactionCanceledException"

    def comments(worker: int) -> None:
        for i in range(40):
            dynamodb.put_item(
                TableName=TABLE,
                Item={**key(f"TICKET#{worker}", f"COMMENT#{i:03d}"), "i": {"N": "1"}},
            )

    duplicates = threading.Thread(target=duplicate_deliveries)
    duplicates.start()
    writers = [threading.Thread(target=comments, args=(w,)) for w in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    stop.set()
    duplicates.join()

    items = [
        i
        for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE)
        for i in page["Items"]
    ]
    stored = {(i["PK"]["S"], i["SK"]["S"]) for i in items}
    assert {(f"TICKET#{w}", f"COMMENT#{i:03d}") for w in range(3) for i in range(40)} <= stored
    assert not [pk for pk, _ in stored if pk.startswith("MSG#dup-")]  # all or nothing
    assert len(stored) == 2000 + 1 + 3 * 40
    assert failures == []


def test_undo_puts_back_exactly_the_items_the_transaction_touched(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item={**key("A"), "v": {"N": "1"}})
    dynamodb.put_item(TableName=TABLE, Item={**key("C"), "v": {"N": "1"}})
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key("A"),
                        "UpdateExpression": "SET v = v + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Put": {"TableName": TABLE, "Item": {**key("B"), "v": {"N": "1"}}}},
                {"Delete": {"TableName": TABLE, "Key": key("D")}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": key("C"),
                        "ConditionExpression": "v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
            ]
        )
    reasons = [r["Code"] for r in refused.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert dynamodb.get_item(TableName=TABLE, Key=key("A"))["Item"]["v"] == {"N": "1"}
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=key("B"))
    assert len(dynamodb.scan(TableName=TABLE)["Items"]) == 2


def _failed_transaction_seconds(backend: DynamoDBBackend, table: str, rounds: int) -> float:
    started = time.perf_counter()
    for n in range(rounds):
        with pytest.raises(Exception, match=r"TransactionCanceled|ConditionalCheckFailed"):
            backend.transact_write_items(
                [
                    {"Put": {"TableName": table, "Item": {**key(f"NEW#{n}"), "x": {"S": "y"}}}},
                    {
                        "Put": {
                            "TableName": table,
                            "Item": key("ITEM#0"),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                ]
            )
    return (time.perf_counter() - started) / rounds


def backend_with_tables(sizes: dict[str, int]) -> DynamoDBBackend:
    """A private moto backend (no global state) with tables of the given sizes."""
    backend = DynamoDBBackend("us-east-1", "000000000001")
    for name, size in sizes.items():
        backend.create_table(
            name,
            schema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            throughput=None,
            attr=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            global_indexes=None,
            indexes=None,
            streams=None,
            billing_mode="PAY_PER_REQUEST",
            sse_specification=None,
            tags=[],
            deletion_protection_enabled=False,
            warm_throughput=None,
        )
        for i in range(size):
            backend.put_item(name, {**key(f"ITEM#{i}"), "body": {"S": "x" * 200}})
    return backend


@pytest.fixture
def patched() -> Iterator[None]:
    revert = moto_patches.apply()
    yield
    revert()


def test_a_transaction_costs_the_same_at_100_and_at_10000_items(patched: None) -> None:
    """moto deep-copied the whole table per transaction: cost grew with the table."""
    backend = backend_with_tables({"small": 100, "large": 10_000})
    # The best of several runs: a shared machine's noise only ever adds time.
    small = min(_failed_transaction_seconds(backend, "small", 20) for _ in range(5))
    large = min(_failed_transaction_seconds(backend, "large", 20) for _ in range(5))
    assert len(backend.get_table("large").all_items()) == 10_000  # nothing half-written
    assert large < small * 5 + 0.002, f"{small * 1000:.2f} ms vs {large * 1000:.2f} ms"


def query(backend: DynamoDBBackend, table: str, pk: str, limit: int, forward: bool) -> list[Any]:
    """moto's backend query for one partition (positional, as moto's own responses call it)."""
    start: Any = None  # no ExclusiveStartKey (moto types it as a dict)
    found, _, _ = backend.query(table, {"S": pk}, None, [], limit, start, forward, None)
    return found


def _query_seconds(backend: DynamoDBBackend, table: str, rounds: int) -> float:
    started = time.perf_counter()
    for n in range(rounds):
        found = query(backend, table, f"ITEM#{n}", 100, True)
        assert {item.hash_key.value for item in found} == {f"ITEM#{n}"}
    return (time.perf_counter() - started) / rounds


def test_a_query_on_the_table_reads_one_partition_at_any_table_size(patched: None) -> None:
    """moto sorted every item of the table to answer a Query for one partition."""
    backend = backend_with_tables({"small": 100, "large": 10_000})
    for n in range(3):
        backend.put_item("large", {**key("ITEM#0", f"MSG#{n}"), "n": {"N": str(n)}})
    found = query(backend, "large", "ITEM#0", 2, False)
    assert [item.attrs["SK"].value for item in found] == ["MSG#2", "MSG#1"]  # order, limit
    small = min(_query_seconds(backend, "small", 20) for _ in range(5))
    large = min(_query_seconds(backend, "large", 20) for _ in range(5))
    assert large < small * 5 + 0.002, f"{small * 1000:.2f} ms vs {large * 1000:.2f} ms"
    assert len(backend.get_table("large").all_items()) == 10_003  # the table is whole again


def test_writes_naming_an_attribute_empty_are_refused_as_dynamodb_does(dynamodb: Any) -> None:
    """moto would store them and then answer unreadable items (and every scan failed)."""
    status = {"conversation": {"M": {"": {"S": "x"}, "id": {"S": "c1"}}}}
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=TABLE, Item={**key("PMSG#1"), **status})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Empty attribute name" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        dynamodb.update_item(
            TableName=TABLE,
            Key=key("PMSG#1"),
            UpdateExpression="SET #c = :c",
            ExpressionAttributeNames={"#c": "conversation"},
            ExpressionAttributeValues={":c": status["conversation"]},
        )
    assert dynamodb.scan(TableName=TABLE)["Items"] == []


def test_web_pages_cannot_reach_the_engine(engine: Engine, dynamodb: Any) -> None:
    url = f"http://127.0.0.1:{engine.port}/"
    credential = "x/20261126/us-east-1/dynamodb/aws4_request"

    def scan(**extra: str) -> requests.Response:
        headers = {
            "X-Amz-Target": "DynamoDB_20120810.Scan",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={credential}",
            **extra,
        }
        return requests.post(url, data=f'{{"TableName": "{TABLE}"}}', headers=headers, timeout=5)

    def cors_headers(response: requests.Response) -> list[str]:
        return [h for h in response.headers if h.lower().startswith("access-control-")]

    evil = scan(Origin="https://evil.example")
    assert evil.status_code == 403 and cors_headers(evil) == []
    preflight = requests.options(
        url,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=5,
    )
    assert preflight.status_code == 403 and cors_headers(preflight) == []
    assert scan(Host=f"evil.example:{engine.port}").status_code == 403  # DNS rebinding
    own = scan(Origin="http://127.0.0.1:3000")
    assert own.status_code == 200 and cors_headers(own) == []
    assert dynamodb.scan(TableName=TABLE)["Count"] == 0  # boto3 (no Origin) goes through
