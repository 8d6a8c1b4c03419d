"""Saving the local table: journal replay, failed saves that are loud and never stop the next."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra import moto_patches
from infra.engine import Engine
from infra.state import StateFiles
from tests.integration.test_local_engine import TABLE, create_table, free_port, key


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    state = StateFiles(tmp_path / "state")
    running = Engine(free_port(), state=state)
    running.start()
    state.open_journal(0)
    yield running
    running.stop()
    state.close()
    running.backend().tables.pop(TABLE, None)
    moto_patches.apply()()


@pytest.fixture
def dynamodb(engine: Engine) -> Any:
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{engine.port}")
    create_table(client)
    return client


def table_items(dynamodb: Any) -> list[dict[str, Any]]:
    return sorted(
        dynamodb.scan(TableName=TABLE)["Items"], key=lambda i: (i["PK"]["S"], i["SK"]["S"])
    )


def restart(engine: Engine, dynamodb: Any) -> None:
    """What a new process does: an empty table, the snapshot, then the journal over it."""
    engine.backend().tables.pop(TABLE)
    create_table(dynamodb)
    assert engine.state is not None
    loaded = engine.state.load()
    assert engine.load_items(TABLE, loaded.items) == []
    for entry in loaded.entries:
        assert engine.replay(entry["op"], entry["request"])[0] == 200


def test_every_acknowledged_write_is_journaled_and_replays_to_the_same_table(
    engine: Engine, dynamodb: Any
) -> None:
    for _ in range(3):
        dynamodb.update_item(
            TableName=TABLE,
            Key=key("COUNTER#d0"),
            UpdateExpression="ADD #v :one",
            ExpressionAttributeNames={"#v": "value"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {**key("TICKET#1"), "s": {"S": "new"}}}},
            {"Put": {"TableName": TABLE, "Item": key("EVENT#1")}},
        ]
    )
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):  # not journaled
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": key("TICKET#2")}},
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": key("EVENT#1"),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    dynamodb.batch_write_item(
        RequestItems={TABLE: [{"PutRequest": {"Item": key(f"MSG#{i}")}} for i in range(3)]}
    )
    dynamodb.delete_item(TableName=TABLE, Key=key("MSG#0"))
    before = table_items(dynamodb)
    assert engine.state is not None and engine.state.health.journal_entries == 6

    restart(engine, dynamodb)
    assert table_items(dynamodb) == before

    assert engine.save(TABLE)  # compacted: the snapshot alone gives the same table
    restart(engine, dynamodb)
    assert table_items(dynamodb) == before

    # the next saves copy only what changed since the last one (under the engine lock)
    assert engine.save(TABLE)
    dynamodb.delete_item(TableName=TABLE, Key=key("MSG#1"))
    dynamodb.update_item(
        TableName=TABLE,
        Key=key("TICKET#1"),
        UpdateExpression="SET s = :open",
        ExpressionAttributeValues={":open": {"S": "open"}},
    )
    dynamodb.put_item(TableName=TABLE, Item=key("MSG#9"))
    after = table_items(dynamodb)
    assert engine.save(TABLE)
    assert engine.copies.cached is not None and not engine.copies.dirty
    restart(engine, dynamodb)
    assert table_items(dynamodb) == after != before


def test_a_failed_save_is_loud_keeps_the_journal_and_does_not_stop_the_next(
    engine: Engine, dynamodb: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    dynamodb.put_item(TableName=TABLE, Item=key("TICKET#1"))
    state = engine.state
    assert state is not None
    real_dump = json.dump

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", disk_full)
    assert engine.save(TABLE) is False
    assert "No space left on device" in str(state.health.last_error)
    assert "No space left on device" in caplog.text
    assert [e["request"]["Item"]["PK"]["S"] for e in state.load().entries] == ["TICKET#1"]

    monkeypatch.setattr(json, "dump", real_dump)
    dynamodb.put_item(TableName=TABLE, Item=key("TICKET#2"))
    assert engine.save(TABLE) is True
    assert state.health.ok and state.health.failed_saves == 1
    restart(engine, dynamodb)
    assert [i["PK"]["S"] for i in table_items(dynamodb)] == ["TICKET#1", "TICKET#2"]


def test_an_unreadable_item_in_the_engine_does_not_freeze_saving(
    engine: Engine, dynamodb: Any
) -> None:
    """An empty map key (moto stored it; every scan failed after) must not stop saves."""
    dynamodb.put_item(TableName=TABLE, Item=key("TICKET#1"))
    engine.backend().put_item(TABLE, {**key("PMSG#1"), "conversation": {"M": {"": {"S": "x"}}}})
    assert engine.save(TABLE)
    state = engine.state
    assert state is not None and "set aside" in str(state.health.last_error)
    saved = json.loads(state.snapshot_file.read_text())["items"]
    assert [i["PK"]["S"] for i in saved] == ["TICKET#1"]
    assert "PMSG#1" in state.rejected_file.read_text()

    dynamodb.put_item(TableName=TABLE, Item=key("TICKET#2"))
    assert engine.save(TABLE)  # the next save saves the rest again
    saved = json.loads(state.snapshot_file.read_text())["items"]
    assert [i["PK"]["S"] for i in saved] == ["TICKET#1", "TICKET#2"]
