"""moto on loopback, wrapped: one lock around DynamoDB, a journal of writes, a closed door.

The handlers reach moto over HTTP (boto3 with AWS_ENDPOINT_URL), exactly as they reach AWS.
This module serves moto's own WSGI app behind a small middleware that

- serialises every DynamoDB request under one lock: moto's DynamoDB backend is not
  thread-safe (a scan while another thread writes raised "dictionary changed size during
  iteration"), and infra/moto_patches.py's per-item undo relies on it;
- appends each successful write request to the journal (infra/state.py) before the
  response goes out, so what the stack acknowledged survives `kill -9`;
- refuses writes that name an attribute "" as DynamoDB does (moto would store them and
  then answer unreadable items);
- refuses browser requests from other origins and answers no CORS headers: without this
  any web page open in the developer's browser could read and write the local table.

Only requests to this process's own moto go through here; the lock is held for one moto
call, never across an HTTP round trip.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.moto_server import werkzeug_app
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import Client

from infra import moto_patches
from infra.state import StateFiles, empty_name_in_request

log = logging.getLogger("local-stack.engine")

REGION = "us-east-1"
WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
        "BatchWriteItem",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
_AUTHORIZATION = (
    f"AWS4-HMAC-SHA256 Credential=local/20261126/{REGION}/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-target, Signature=0"
)

StartResponse = Callable[..., Any]


def loopback_hosts(port: int) -> frozenset[str]:
    """Host headers a loopback server answers (anything else is DNS rebinding)."""
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"})


def foreign_origin(
    environ: dict[str, Any], hosts: frozenset[str], allowed_origins: frozenset[str]
) -> str | None:
    """Why a request must be refused as coming from a web page, or None."""
    host = environ.get("HTTP_HOST", "")
    if host not in hosts:
        return f"host {host!r} is not this loopback server"
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and origin not in allowed_origins:
        return f"cross-origin request from {origin!r}"
    if environ.get("REQUEST_METHOD") == "OPTIONS":
        return "CORS preflight"
    return None


def _refuse(start_response: StartResponse, reason: str) -> list[bytes]:
    body = json.dumps({"error": {"code": "forbidden", "message": reason}}).encode()
    start_response(
        "403 Forbidden",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _without_cors(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(n, v) for n, v in headers if not n.lower().startswith("access-control-")]


class Engine:
    """moto's server app behind the lock, the journal and the origin check."""

    def __init__(
        self,
        port: int,
        allowed_origins: Iterable[str] = (),
        state: StateFiles | None = None,
    ) -> None:
        self.port = port
        self.state = state
        self.lock = threading.RLock()
        self.hosts = loopback_hosts(port)
        self.allowed_origins = frozenset(allowed_origins)
        self.journal_errors = 0
        self.copies = ItemCopies()
        moto_patches.apply()
        werkzeug_app.DISABLE_GLOBAL_CORS = True  # type: ignore[attr-defined]  # read per app built
        self.moto_app = DomainDispatcherApplication(create_backend_app)
        # The dispatcher finds the service anew for every request (it lists moto's package
        # folder each time, under a global lock); ours name it in X-Amz-Target, so route
        # those straight to the service's app.
        self.service_apps = {
            "DynamoDB_": self.moto_app.app_instances.setdefault(
                "dynamodb", create_backend_app("dynamodb")
            ),
            "AmazonSQS.": self.moto_app.app_instances.setdefault("sqs", create_backend_app("sqs")),
        }
        self.server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- serving ------------------------------------------------------------------------

    def bind(self) -> None:
        """Open the listening socket now (so a busy port is found before anything starts).

        The socket is bound here, not by werkzeug, which prints and exits on a busy port;
        a busy port must raise OSError for the caller to name it.
        """
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(128)
            self.server = make_server(
                "127.0.0.1",
                self.port,
                self,
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug serves a duplicate of it

    def start(self) -> None:
        if self.server is None:
            self.bind()
        assert self.server is not None
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="moto", daemon=True, args=(0.2,)
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (idempotent); requests already inside finish on their own threads."""
        server, self.server = self.server, None
        if server is not None:
            if self._thread is not None:
                server.shutdown()
                self._thread.join(timeout=5)
            server.server_close()

    # -- the middleware -----------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        reason = foreign_origin(environ, self.hosts, self.allowed_origins)
        if reason:
            log.warning("moto: refused %s", reason)
            return _refuse(start_response, f"the local AWS endpoint refuses a {reason}")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self._call_moto(environ, start_response, target)
        operation = target.rsplit(".", 1)[-1]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        request: dict[str, Any] | None = None
        if operation in WRITES:
            try:
                request = json.loads(body or b"{}")
            except json.JSONDecodeError:
                request = None
            where = empty_name_in_request(request) if request is not None else None
            if where:
                return _dynamodb_error(
                    start_response,
                    "ValidationException",
                    f"One or more parameter values were invalid: Empty attribute name ({where})",
                )
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        journaled = False
        with self.lock:
            result = self.service_apps["DynamoDB_"](environ, capture)
            try:
                data = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
            status: str = captured["status"]
            if request is not None and status.startswith("200") and self.state is not None:
                try:
                    self.state.append(operation, request)
                    journaled = True
                    self.copies.note(operation, request)
                except OSError as error:
                    return self._not_durable(start_response, operation, error)
        if journaled:
            try:
                self.state.sync()  # type: ignore[union-attr]
            except OSError as error:
                return self._not_durable(start_response, operation, error)
        headers = [
            (n, v) for n, v in _without_cors(captured["headers"]) if n.lower() != "content-length"
        ]
        start_response(status, [*headers, ("Content-Length", str(len(data)))])
        return [data]

    def _call_moto(
        self, environ: dict[str, Any], start_response: StartResponse, target: str
    ) -> Iterable[bytes]:
        def without_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, _without_cors(headers), exc_info)

        app = self.service_apps["AmazonSQS."] if target.startswith("AmazonSQS.") else self.moto_app
        response: Iterable[bytes] = app(environ, without_cors)
        return response

    def _not_durable(
        self, start_response: StartResponse, operation: str, error: OSError
    ) -> list[bytes]:
        """The write is in memory but not on disk: say so (500, retryable) and loudly."""
        self.journal_errors += 1
        message = f"could not journal a {operation}: {error}"
        if self.state is not None:
            self.state.record_error(message)
        return _dynamodb_error(
            start_response,
            "InternalServerError",
            f"local stack: {message}",
            status="500 Internal Server Error",
        )

    # -- direct access (tests, snapshots, replay) ---------------------------------------

    def backend(self) -> DynamoDBBackend:
        account = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
        return dynamodb_backends[account][REGION]

    def items(self, table_name: str) -> list[dict[str, Any]]:
        """Every item as DynamoDB JSON (call with the lock held for a consistent picture).

        Fresh containers all the way down (the leaves are immutable strings), so the copy
        can be serialised after the lock is released. moto's own Item.to_json deep-copies
        and all_items() sorts: several times slower, and this runs with the engine locked.
        """
        table = self.backend().get_table(table_name)
        partitions = table.items.values()
        if table.range_key_attr is None:
            stored: Iterable[Item] = partitions  # type: ignore[assignment]
        else:
            stored = (item for partition in partitions for item in partition.values())
        return [{name: _plain(value) for name, value in item.attrs.items()} for item in stored]

    def compact(self, table_name: str) -> None:
        """Fold the journal into a new snapshot; the lock is held only to copy the items."""
        if self.state is None:
            raise RuntimeError("this engine keeps no state")
        with self.lock:
            items = self.copies.refresh(self.backend().get_table(table_name), self.items)
            seq = self.state.rotate()
        self.state.write_snapshot(items, seq)

    def save(self, table_name: str) -> bool:
        """compact(), but a failure is recorded and logged instead of raised: the journal
        still holds every write, and the next save starts from scratch."""
        try:
            self.compact(table_name)
        except Exception as error:
            if self.state is not None:
                self.state.record_error(
                    f"could not save state: {error!r}; the journal keeps every write"
                )
            return False
        return True

    def load_items(
        self, table_name: str, items: list[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], str]]:
        """Put saved items back as they were; returns the ones moto refused, with why.

        moto re-adds the sizes of all of an item's attributes for every attribute it sets
        (quadratic in the attributes: 14 of 19 s restoring 10,000 tickets). Saved items
        passed that 400 KB check when they were written, so it is skipped while loading
        (the lock is held; nothing else touches the engine).
        """
        backend = self.backend()
        refused = []
        checked_setitem = LimitedSizeDict.__setitem__
        with self.lock:
            LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[method-assign]
            try:
                for item in items:
                    try:
                        backend.put_item(table_name, item)
                    except Exception as error:
                        refused.append((item, f"{type(error).__name__}: {error}"))
            finally:
                LimitedSizeDict.__setitem__ = checked_setitem  # type: ignore[method-assign]
        return refused

    def replay(self, operation: str, request: dict[str, Any]) -> tuple[int, str]:
        """Send one journaled request through moto's app again (not journaled again)."""
        client = Client(self.service_apps["DynamoDB_"])
        with self.lock:
            response = client.post(
                "/",
                data=json.dumps(request),
                headers={
                    "X-Amz-Target": f"DynamoDB_20120810.{operation}",
                    "Content-Type": "application/x-amz-json-1.0",
                    "Authorization": _AUTHORIZATION,
                },
            )
            return response.status_code, response.get_data(as_text=True)


Key = tuple[str, str]


class ItemCopies:
    """Plain copies of the items as of the last save, refreshed where writes landed since.

    Saving copies the table while the engine is locked; copying only the items written
    since the last save keeps that pause in proportion to the writes, not to the table
    (a full copy of 40,000 items held the lock for 0.4 s). Keys come from the journaled
    requests themselves; a request whose keys cannot be read (PartiQL) forces a full copy.
    """

    def __init__(self) -> None:
        self.cached: dict[Key, dict[str, Any]] | None = None
        self.dirty: list[tuple[str, dict[str, Any]]] = []  # (table name, key attributes)
        self.full = False

    def note(self, operation: str, request: dict[str, Any]) -> None:
        """Remember which items a successful write touched (caller holds the engine lock)."""
        try:
            self._note(operation, request)
        except (KeyError, TypeError, AttributeError, StopIteration):
            self.full = True  # keys not where expected: the next save copies everything

    def _note(self, operation: str, request: dict[str, Any]) -> None:
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            self.dirty.append((request.get("TableName", ""), request.get("Item") or request["Key"]))
        elif operation == "TransactWriteItems":
            for entry in request.get("TransactItems", []):
                kind, op = next(iter(entry.items()))
                if kind != "ConditionCheck":
                    self.dirty.append((op.get("TableName", ""), op.get("Item") or op["Key"]))
        elif operation == "BatchWriteItem":
            for table_name, writes in request.get("RequestItems", {}).items():
                for write in writes:
                    kind, op = next(iter(write.items()))
                    self.dirty.append((table_name, op.get("Item") or op["Key"]))
        else:
            self.full = True

    def refresh(
        self, table: Table, copy_all: Callable[[str], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Every item of `table` as plain DynamoDB JSON (caller holds the engine lock)."""
        names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
        if self.cached is None or self.full:
            self.cached = {_key(item, names): item for item in copy_all(table.name)}
        else:
            for table_name, attributes in self.dirty:
                if table_name != table.name:
                    continue
                key = _key(attributes, names)
                hash_key = DynamoType(attributes[names[0]])
                range_key = DynamoType(attributes[names[1]]) if len(names) > 1 else None
                item = table.get_item(hash_key, range_key)
                if item is None:
                    self.cached.pop(key, None)
                else:
                    self.cached[key] = {n: _plain(v) for n, v in item.attrs.items()}
        self.dirty.clear()
        self.full = False
        return list(self.cached.values())


def _key(attributes: dict[str, Any], names: list[str]) -> Key:
    hash_value = json.dumps(attributes[names[0]], sort_keys=True)
    return hash_value, json.dumps(attributes[names[1]], sort_keys=True) if len(names) > 1 else ""


def _plain(value: DynamoType) -> dict[str, Any]:
    kind, inner = value.type, value.value
    if kind == "M":
        return {"M": {name: _plain(v) for name, v in inner.items()}}
    if kind == "L":
        return {"L": [_plain(v) for v in inner]}
    if kind in ("SS", "NS", "BS"):
        return {kind: list(inner)}
    if isinstance(inner, bytes):
        return {kind: base64.b64encode(inner).decode()}
    return {kind: inner}


def _dynamodb_error(
    start_response: StartResponse, code: str, message: str, status: str = "400 Bad Request"
) -> list[bytes]:
    prefix = "com.amazon.coral.validate#" if code == "ValidationException" else ""
    body = json.dumps({"__type": f"{prefix}{code}", "message": message}).encode()
    start_response(
        status,
        [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))],
    )
    return [body]
