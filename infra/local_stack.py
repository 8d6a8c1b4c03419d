"""The local stack: the helpdesk without AWS, on loopback.

moto in server mode stands in for DynamoDB, SQS and SNS; the table and queues come from
template.yaml; the template's HttpApi routes are served on 127.0.0.1:3000 by calling the
same handlers with API Gateway HTTP API events; the SQS event source is polled and fed to
the dispatcher in the SQS event format; Schedule events fire on their rates; a sandbox on
127.0.0.1:3001 stands in for Telegram and WhatsApp and records what would be sent.

State survives a restart: the table is saved to .local/state.json (every few seconds after
a change, and on exit) and loaded at start. `make reset` deletes it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import jwt
from moto.server import ThreadedMotoServer

from infra import dev_auth
from infra.lambda_runtime import (
    LambdaContext,
    http_event,
    load_function,
    response_parts,
    scheduled_event,
    sqs_event,
)
from infra.provision import provision
from infra.sandbox import SandboxServer
from infra.template import (
    ROOT,
    FunctionSpec,
    Route,
    functions,
    rate_seconds,
    resolve_environment,
)

log = logging.getLogger("local-stack")

TABLE_NAME = "helpdesk-local"
SNAPSHOT_EVERY_SECONDS = 3


@dataclass
class Ports:
    api: int = int(os.environ.get("LOCAL_PORT", "3000"))
    sandbox: int = int(os.environ.get("SANDBOX_PORT", "3001"))
    moto: int = int(os.environ.get("MOTO_PORT", "5005"))


def dev_defaults(ports: Ports) -> dict[str, str]:
    """What `make run` uses for variables the shell leaves unset (ARCHITECTURE.md's table)."""
    sandbox = f"http://127.0.0.1:{ports.sandbox}"
    return {
        "TELEGRAM_BOT_TOKEN": "123456789:local-dev-bot-token",
        "TELEGRAM_SECRET_TOKEN": "local-telegram-secret",
        "TELEGRAM_API_BASE": f"{sandbox}/telegram",
        "WHATSAPP_APP_SECRET": "local-whatsapp-app-secret",
        "WHATSAPP_VERIFY_TOKEN": "local-whatsapp-verify-token",
        "WHATSAPP_ACCESS_TOKEN": "local-whatsapp-access-token",
        "WHATSAPP_API_BASE": f"{sandbox}/whatsapp",
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "TWILIO_AUTH_TOKEN": "local-twilio-auth-token",
        "ZADARMA_API_SECRET": "local-zadarma-secret",
        "GENERIC_CTI_TOKEN": "local-generic-cti-token",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports.api}",
        "SANDBOX_URL": sandbox,
        "STAGE": "local",
    }


@dataclass
class Invoker:
    """Runs handlers one at a time per function, as one warm Lambda instance would."""

    specs: dict[str, FunctionSpec]
    modules: dict[str, Any] = field(default_factory=dict)
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    on_invoke: Any = None

    def load_all(self) -> None:
        for name, spec in self.specs.items():
            self.modules[name] = load_function(spec)
            self.locks[name] = threading.Lock()

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        spec = self.specs[name]
        handler = getattr(self.modules[name], spec.handler)
        with self.locks[name]:
            try:
                return handler(event, LambdaContext(name, timeout_seconds=spec.timeout))
            finally:
                if self.on_invoke:
                    self.on_invoke()


class LocalStack:
    def __init__(self, ports: Ports, state_dir: Path, schedule_seconds: int | None = None):
        self.ports = ports
        self.state_file = state_dir / "state.json"
        self.pid_file = state_dir / "stack.pid"
        self.schedule_seconds = schedule_seconds
        self.stopping = threading.Event()
        self.dirty = threading.Event()
        self.threads: list[threading.Thread] = []
        self.specs = functions()
        self.routes: list[Route] = [route for s in self.specs.values() for route in s.routes]

    # -- AWS on loopback ----------------------------------------------------------------

    def start_aws(self) -> None:
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.ports.moto, verbose=False)
        self.moto.start()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.ports.moto}",
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        self.dynamodb = boto3.client("dynamodb")
        self.sqs = boto3.client("sqs")
        created = provision(self.dynamodb, self.sqs, TABLE_NAME, "helpdesk-local")
        self.queue_urls = {name: url for name, (url, _) in created.items()}
        self.queue_arns = {name: arn for name, (_, arn) in created.items()}
        topics = {
            name: boto3.client("sns").create_topic(Name=f"helpdesk-local-{name}")["TopicArn"]
            for name in ("ProblemCallsTopic", "AlarmTopic")
        }
        references = {"Table": TABLE_NAME, **self.queue_urls, **topics}
        self.configure_environment(references)

    def configure_environment(self, references: dict[str, str]) -> None:
        """The functions' environment from the template, the shell, then dev defaults."""
        variables: dict[str, Any] = {}
        for spec in self.specs.values():
            variables.update(spec.environment)
        resolved = resolve_environment(variables, references, {})
        defaults = dev_defaults(self.ports)
        for name, value in resolved.items():
            os.environ[name] = os.environ.get(name) or value or defaults.get(name, "")
        for name, value in defaults.items():
            os.environ.setdefault(name, value)
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
        os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "HelpdeskLocal")

    # -- state across restarts ----------------------------------------------------------

    def restore(self) -> int:
        if not self.state_file.exists():
            return 0
        items = json.loads(self.state_file.read_text(encoding="utf-8"))["items"]
        for start in range(0, len(items), 25):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            pending: dict[str, Any] = {TABLE_NAME: requests}
            while pending:
                pending = self.dynamodb.batch_write_item(RequestItems=pending).get(
                    "UnprocessedItems", {}
                )
        return len(items)

    def snapshot(self) -> None:
        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=TABLE_NAME):
            items.extend(page["Items"])
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"items": items}), encoding="utf-8")
        temporary.replace(self.state_file)

    def snapshot_loop(self) -> None:
        while not self.stopping.wait(SNAPSHOT_EVERY_SECONDS):
            if self.dirty.is_set():
                self.dirty.clear()
                try:
                    self.snapshot()
                except Exception:
                    log.exception("could not save state")

    # -- event sources ------------------------------------------------------------------

    def poll_queue(self, function: str, queue_id: str, batch_size: int) -> None:
        url, arn = self.queue_urls[queue_id], self.queue_arns[queue_id]
        while not self.stopping.is_set():
            try:
                received = self.sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(batch_size, 10),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if self.stopping.is_set():
                    return
                time.sleep(1)
                continue
            if not received:
                continue
            try:
                result = self.invoker.invoke(function, sqs_event(received, arn)) or {}
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:
                log.exception("%s failed on a batch", function)
                continue
            done = [m for m in received if m["MessageId"] not in failed]
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )

    def run_schedule(self, function: str, expression: str) -> None:
        every = self.schedule_seconds or rate_seconds(expression)
        while not self.stopping.wait(every):
            try:
                self.invoker.invoke(function, scheduled_event(f"{function}-schedule"))
            except Exception:
                log.exception("%s failed on its schedule", function)

    # -- HTTP ---------------------------------------------------------------------------

    def handle_http(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        for route in self.routes:
            parameters = route.match(method, parts.path)
            if parameters is not None:
                break
        else:
            return _json(404, {"message": "Not Found"})
        claims = None
        if route.authorized:
            try:
                claims = dev_auth.verify(headers.get("authorization", ""))
            except jwt.PyJWTError:
                return _json(401, {"message": "Unauthorized"})
        event = http_event(
            route,
            parts.path,
            parameters,
            headers,
            parts.query,
            body,
            claims,
            domain=headers.get("host", f"127.0.0.1:{self.ports.api}"),
        )
        try:
            result = self.invoker.invoke(route.function, event)
        except Exception:
            traceback.print_exc()
            return _json(500, {"message": "Internal Server Error"})
        return response_parts(result)

    def serve_http(self) -> ThreadingHTTPServer:
        stack = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, response_headers, data = stack.handle_http(
                    self.command, self.path, headers, body
                )
                self.send_response(status)
                for name, value in response_headers.items():
                    if name not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                log.info("%s %s", self.address_string(), format % args)

        server = ThreadingHTTPServer(("127.0.0.1", self.ports.api), Handler)
        server.daemon_threads = True
        return server

    # -- lifecycle ----------------------------------------------------------------------

    def _thread(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def start(self) -> None:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(str(os.getpid()))
        self.sandbox = SandboxServer(self.ports.sandbox)
        self.sandbox.start()
        self.start_aws()
        restored = self.restore()
        self.invoker = Invoker(self.specs, on_invoke=self.dirty.set)
        self.invoker.load_all()
        for name, spec in self.specs.items():
            for queue_id, batch_size in spec.queue_sources:
                self._thread(self.poll_queue, name, queue_id, batch_size)
            for expression in spec.schedules:
                self._thread(self.run_schedule, name, expression)
        self._thread(self.snapshot_loop)
        self.http = self.serve_http()
        self._thread(self.http.serve_forever)
        self.print_banner(restored)

    def print_banner(self, restored: int) -> None:
        api = f"http://127.0.0.1:{self.ports.api}"
        lines = [
            "Helpdesk local stack is up.",
            f"  API            {api}   (OpenAPI: {api}/openapi.json)",
            f"  routes         {len(self.routes)} from template.yaml",
            f"  sandbox        http://127.0.0.1:{self.ports.sandbox}/outbox  "
            "(what would have been sent to Telegram / WhatsApp / clients)",
            f"  AWS (moto)     http://127.0.0.1:{self.ports.moto}  table {TABLE_NAME}",
            f"  state          {self.state_file}  ({restored} items restored; make reset empties)",
            "  token          make token ROLE=agent   (agent, lead, commander, finance)",
            "  secrets        dev defaults unless set in the shell (see README)",
            "Ctrl-C stops.",
        ]
        print("\n".join(lines), flush=True)

    def stop(self) -> None:
        self.stopping.set()
        self.http.shutdown()
        for thread in self.threads:
            thread.join(timeout=3)
        try:
            self.snapshot()
            print(f"State saved to {self.state_file}.", flush=True)
        finally:
            self.sandbox.stop()
            self.moto.stop()
            self.pid_file.unlink(missing_ok=True)


def _json(status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps(body).encode()


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "WARNING"))
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    os.chdir(ROOT)
    state_dir = Path(os.environ.get("LOCAL_STATE_DIR", ROOT / ".local"))
    schedule = os.environ.get("LOCAL_SCHEDULE_SECONDS")
    stack = LocalStack(Ports(), state_dir, int(schedule) if schedule else None)
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stack.start()
    stopped.wait()
    print("\nStopping...", flush=True)
    stack.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
