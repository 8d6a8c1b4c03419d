"""Unit tests run the pure core: no network at all, so nothing can reach AWS by accident."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator, Sequence

import boto3
import pytest
from moto import mock_aws

from helpdesk.jobs import Job
from helpdesk.store import Store
from infra.template import table_definition


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unit tests must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="module")
def _moto_session() -> Iterator[None]:
    """One in-process moto per test module: no per-test setup, no sockets (ended with the
    module, so the integration suites get their own fresh accounts)."""
    with mock_aws():
        yield


@pytest.fixture
def store(_moto_session: None) -> Store:
    """A fresh, empty table built from template.yaml, for the use cases' rules."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    name = f"unit-{next(_tables)}"
    client.create_table(**table_definition(name))
    return Store(name, client)


class MemoryQueue:
    """Jobs enqueued by a use case, in order (the SQS queue is plumbing, not the rule)."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def send(self, jobs: Sequence[Job], delay_seconds: int = 0) -> None:
        self.jobs.extend(jobs)


@pytest.fixture
def queue() -> MemoryQueue:
    return MemoryQueue()


_tables = itertools.count()
