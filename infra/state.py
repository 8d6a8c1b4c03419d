"""The local table's durable state: a snapshot plus a journal of every write since.

Every DynamoDB write the engine acknowledges is appended to `journal.jsonl` before its
response leaves the process (infra/engine.py), so `kill -9` loses nothing that was
answered. At start the snapshot is loaded and the journal replayed over it; now and then
the journal is compacted into a new snapshot. Each journal entry carries a sequence number
and the snapshot records the last one it contains, so a crash at any step of a compaction
(rotate the journal, write the snapshot, delete the old segment) replays exactly the
entries the snapshot lacks.

Durability: `os.write` hands each entry to the kernel before the response goes out, which
alone survives the process dying (`kill -9`, a crash); `os.fsync` (on by default,
`LOCAL_JOURNAL_FSYNC=0` turns it off) also survives the machine losing power. The fsync runs
outside the engine lock, so concurrent writers share one flush instead of queueing behind it.

A value the engine cannot read back (moto stores an empty map key but answers garbage for
it, and every later scan failed) never enters the snapshot: such items are set aside in
`state.rejected.jsonl` with the reason, the rest is saved, and the failure is logged and
shown at GET /_local/health.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("local-stack.state")

SNAPSHOT = "state.json"
JOURNAL = "journal.jsonl"
REJECTED = "state.rejected.jsonl"
_SEGMENT = re.compile(r"journal-upto-(\d+)\.jsonl")
_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})


# ---- what the engine can read back ---------------------------------------------------------


def unreadable_reason(item: Any) -> str | None:
    """Why an item (DynamoDB JSON) would not survive a save and a read, or None if it would."""
    if not isinstance(item, dict) or not item:
        return "an item must be a non-empty object of attributes"
    return _attributes_problem(item, "")


def _attributes_problem(attributes: dict[Any, Any], path: str) -> str | None:
    for name, value in attributes.items():
        if not isinstance(name, str) or name == "":
            return f"empty attribute name at {path or 'the top level'}"
        problem = _value_problem(value, f"{path}.{name}" if path else name)
        if problem:
            return problem
    return None


def _value_problem(value: Any, path: str) -> str | None:
    if not isinstance(value, dict) or len(value) != 1:
        return f"{path}: not an attribute value"
    kind, inner = next(iter(value.items()))
    if kind not in _TYPES:
        return f"{path}: unknown type {kind!r}"
    if kind in ("S", "N", "B") and not isinstance(inner, str):
        return f"{path}: {kind} must be a string, got {type(inner).__name__}"
    if kind in ("SS", "NS", "BS") and (
        not isinstance(inner, list) or not inner or not all(isinstance(x, str) for x in inner)
    ):
        return f"{path}: {kind} must be a non-empty list of strings"
    if kind == "BOOL" and not isinstance(inner, bool):
        return f"{path}: BOOL must be true or false"
    if kind == "NULL" and inner is not True:
        return f"{path}: NULL must be true"
    if kind == "M":
        return (
            _attributes_problem(inner, path) if isinstance(inner, dict) else f"{path}: M not a map"
        )
    if kind == "L":
        if not isinstance(inner, list):
            return f"{path}: L must be a list"
        for index, element in enumerate(inner):
            problem = _value_problem(element, f"{path}[{index}]")
            if problem:
                return problem
    return None


def empty_name_in_request(request: Any) -> str | None:
    """Where a DynamoDB request names an attribute "" (DynamoDB refuses those everywhere)."""

    def walk(value: Any, path: str) -> str | None:
        if isinstance(value, dict):
            for name, inner in value.items():
                if name == "":
                    return path or "the request"
                if name == "ExpressionAttributeNames" and isinstance(inner, dict):
                    for placeholder, attribute in inner.items():
                        if attribute == "":
                            return f"ExpressionAttributeNames[{placeholder}]"
                found = walk(inner, f"{path}.{name}" if path else name)
                if found:
                    return found
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                found = walk(inner, f"{path}[{index}]")
                if found:
                    return found
        return None

    return walk(request, "")


# ---- health --------------------------------------------------------------------------------


@dataclass
class SaveHealth:
    """What GET /_local/health shows about saving: a failed save is never silent."""

    snapshot: str = ""
    journal: str = ""
    last_save_at: str | None = None
    last_save_seconds: float | None = None
    saves: int = 0
    failed_saves: int = 0
    last_error: str | None = None
    last_error_at: str | None = None
    rejected_items: int = 0
    journal_entries: int = 0
    replayed_at_start: int = 0
    replay_failures: int = 0

    @property
    def ok(self) -> bool:
        return self.last_error is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---- files ---------------------------------------------------------------------------------


@dataclass
class Loaded:
    items: list[dict[str, Any]]
    entries: list[dict[str, Any]]  # journal entries the snapshot lacks, in order
    last_seq: int


@dataclass
class StateFiles:
    """The snapshot, the journal and its closed segments in one state directory."""

    directory: Path
    fsync: bool = True
    health: SaveHealth = field(default_factory=SaveHealth)
    seq: int = 0
    _fd: int | None = field(default=None, repr=False)
    _fd_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.health.snapshot = str(self.snapshot_file)
        self.health.journal = str(self.journal_file)

    @property
    def snapshot_file(self) -> Path:
        return self.directory / SNAPSHOT

    @property
    def journal_file(self) -> Path:
        return self.directory / JOURNAL

    @property
    def rejected_file(self) -> Path:
        return self.directory / REJECTED

    # -- reading ------------------------------------------------------------------------

    def load(self) -> Loaded:
        """The snapshot's items and the journal entries written after it."""
        items: list[dict[str, Any]] = []
        snapshot_seq = 0
        if self.snapshot_file.exists():
            data = json.loads(self.snapshot_file.read_text(encoding="utf-8"))
            items = data["items"]
            snapshot_seq = int(data.get("journal_seq", 0))
        entries: list[dict[str, Any]] = []
        last_seq = snapshot_seq
        for path in [*self.closed_segments(), self.journal_file]:
            for entry in _read_journal(path):
                if entry["seq"] > last_seq:
                    entries.append(entry)
                    last_seq = entry["seq"]
        return Loaded(items, entries, last_seq)

    def closed_segments(self) -> list[Path]:
        found = []
        for path in self.directory.glob("journal-upto-*.jsonl"):
            match = _SEGMENT.fullmatch(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return [path for _, path in sorted(found)]

    # -- the journal --------------------------------------------------------------------

    def open_journal(self, last_seq: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.seq = last_seq
        self._fd = os.open(self.journal_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        _fsync_directory(self.directory)

    def append(self, operation: str, request: dict[str, Any]) -> None:
        """One acknowledged write, handed to the kernel (caller holds the engine lock)."""
        if self._fd is None:
            raise OSError("the journal is not open")
        self.seq += 1
        line = json.dumps({"seq": self.seq, "op": operation, "request": request}) + "\n"
        data = line.encode("utf-8")
        written = os.write(self._fd, data)
        if written != len(data):  # a short write (disk full): the entry is not whole
            raise OSError(f"journal: wrote {written} of {len(data)} bytes")
        self.health.journal_entries += 1

    def sync(self) -> None:
        """Make what was appended survive a power loss too (no-op with fsync off)."""
        if not self.fsync:
            return
        with self._fd_lock:
            if self._fd is not None:
                os.fsync(self._fd)

    def rotate(self) -> int:
        """Close the current journal as a segment (caller holds the engine lock); last seq."""
        with self._fd_lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
            if self.journal_file.exists() and self.journal_file.stat().st_size:
                self.journal_file.replace(self.directory / f"journal-upto-{self.seq:012d}.jsonl")
            self._fd = os.open(self.journal_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            _fsync_directory(self.directory)
        self.health.journal_entries = 0
        return self.seq

    def close(self) -> None:
        with self._fd_lock:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None

    # -- the snapshot -------------------------------------------------------------------

    def write_snapshot(self, items: list[dict[str, Any]], seq: int) -> int:
        """Save the readable items as of journal entry `seq`; returns how many were set aside.

        Items the engine could not read back are written to state.rejected.jsonl with the
        reason (nothing is dropped silently) and the rest is saved. Then the journal
        segments the snapshot now contains are deleted.
        """
        started = time.monotonic()
        good: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for item in items:
            reason = unreadable_reason(item)
            if reason is None:
                good.append(item)
            else:
                rejected.append({"reason": reason, "item": _printable(item)})
        if rejected:
            with self.rejected_file.open("a", encoding="utf-8") as handle:
                for entry in rejected:
                    handle.write(json.dumps({"at": _utc_now(), **entry}, default=str) + "\n")
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.snapshot_file.with_suffix(".tmp")
        # Customers' data: readable by the developer only, like the journal.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"format": 2, "journal_seq": seq, "items": good}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.snapshot_file)
        _fsync_directory(self.directory)
        for segment in self.closed_segments():
            match = _SEGMENT.fullmatch(segment.name)
            if match and int(match.group(1)) <= seq:
                segment.unlink()
        self.health.saves += 1
        self.health.last_save_at = _utc_now()
        self.health.last_save_seconds = round(time.monotonic() - started, 3)
        if rejected:
            self.health.rejected_items += len(rejected)
            self.record_error(
                f"{len(rejected)} item(s) the engine cannot read back were set aside in "
                f"{self.rejected_file} (first: {rejected[0]['reason']}); the rest was saved"
            )
        else:
            self.health.last_error = None
        return len(rejected)

    def record_error(self, message: str) -> None:
        self.health.failed_saves += 1
        self.health.last_error = message
        self.health.last_error_at = _utc_now()
        log.error("local state: %s", message)


def _read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Entries in order; a torn last line (never acknowledged) is skipped with a warning."""
    if not path.exists():
        return
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            if number >= len(lines) - 1:
                log.warning("%s: skipping a torn last entry (it was never acknowledged)", path)
                return
            raise
        yield entry


def _printable(item: Any) -> Any:
    try:
        json.dumps(item)
        return item
    except (TypeError, ValueError):
        return repr(item)


def _fsync_directory(directory: Path) -> None:
    """Make a create or rename in `directory` itself durable (POSIX; harmless elsewhere)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
