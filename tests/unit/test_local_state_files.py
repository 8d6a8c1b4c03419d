"""The local stack's state files: snapshot + journal, read back exactly once, bad items aside."""

from __future__ import annotations

import json
from pathlib import Path

from infra.state import StateFiles, empty_name_in_request, unreadable_reason


def item(pk: str, **attributes: dict[str, object]) -> dict[str, object]:
    return {"PK": {"S": pk}, "SK": {"S": "#ITEM"}, **attributes}


def write_journal(path: Path, entries: list[dict[str, object]], torn: str = "") -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries) + torn, encoding="utf-8")


def entry(seq: int) -> dict[str, object]:
    return {"seq": seq, "op": "UpdateItem", "request": {"n": seq}}


def test_a_crash_between_snapshot_and_segment_removal_replays_nothing_twice(
    tmp_path: Path,
) -> None:
    """Snapshot written (it holds entries 1-3), old segment not yet deleted, then a crash."""
    (tmp_path / "state.json").write_text(
        json.dumps({"format": 2, "journal_seq": 3, "items": [item("COUNTER#d0")]})
    )
    write_journal(tmp_path / "journal-upto-000000000003.jsonl", [entry(1), entry(2), entry(3)])
    write_journal(tmp_path / "journal.jsonl", [entry(4), entry(5)])
    loaded = StateFiles(tmp_path).load()
    assert [e["seq"] for e in loaded.entries] == [4, 5]
    assert loaded.last_seq == 5
    assert loaded.items == [item("COUNTER#d0")]


def test_a_torn_last_entry_was_never_acknowledged_and_is_skipped(tmp_path: Path) -> None:
    write_journal(tmp_path / "journal.jsonl", [entry(1), entry(2)], torn='{"seq": 3, "op": "Pu')
    loaded = StateFiles(tmp_path).load()
    assert [e["seq"] for e in loaded.entries] == [1, 2]


def test_a_snapshot_of_the_old_format_loads(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"items": [item("A")]}))
    loaded = StateFiles(tmp_path).load()
    assert loaded.items == [item("A")] and loaded.last_seq == 0


def test_an_item_the_engine_cannot_read_back_is_set_aside_and_the_rest_saved(
    tmp_path: Path,
) -> None:
    state = StateFiles(tmp_path)
    state.open_journal(0)
    state.append("PutItem", {"Item": item("A")})
    bad = item("PMSG#1", conversation={"M": {"": {"S": "x"}}})
    seq = state.rotate()
    assert state.write_snapshot([item("A"), bad, item("B")], seq) == 1

    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["items"] == [item("A"), item("B")] and saved["journal_seq"] == 1
    (rejected,) = (tmp_path / "state.rejected.jsonl").read_text().splitlines()
    assert json.loads(rejected)["item"] == bad
    assert "empty attribute name" in json.loads(rejected)["reason"]
    assert not state.health.ok
    assert "set aside" in str(state.health.last_error)
    assert not list(tmp_path.glob("journal-upto-*"))  # the snapshot holds entry 1 now

    state.write_snapshot([item("A"), item("B"), item("C")], state.rotate())  # the next save
    assert state.health.ok and state.health.saves == 2
    state.close()


def test_what_the_engine_cannot_read_back() -> None:
    assert unreadable_reason(item("A", n={"N": "1"}, l={"L": [{"M": {"a": {"S": ""}}}]})) is None
    assert "empty attribute name" in str(unreadable_reason(item("A", m={"M": {"": {"S": "x"}}})))
    assert unreadable_reason(item("A", s={"SS": []})) is not None
    assert unreadable_reason(item("A", b={"B": b"raw"})) is not None
    assert unreadable_reason(item("A", x={"S": "a", "N": "1"})) is not None


def test_requests_naming_an_attribute_empty() -> None:
    assert empty_name_in_request({"Item": item("A", m={"M": {"": {"S": "x"}}})}) == "Item.m.M"
    assert empty_name_in_request({"ExpressionAttributeNames": {"#a": ""}}) is not None
    assert empty_name_in_request({"Item": item("A", m={"M": {"a": {"S": ""}}})}) is None
