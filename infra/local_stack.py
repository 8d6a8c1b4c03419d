"""The local stack: the helpdesk without AWS, on loopback.

moto stands in for DynamoDB, SQS and SNS (served by infra/engine.py: one lock around the
table, a journal of writes, no CORS); the table and queues come from template.yaml; the
template's HttpApi routes are served on 127.0.0.1:3000 by calling the same handlers with API
Gateway HTTP API events; the SQS event source is polled and fed to the dispatcher in the SQS
event format; Schedule events fire on their rates; a sandbox on 127.0.0.1:3001 stands in for
Telegram and WhatsApp and records what would be sent.

State survives a restart and a crash: every acknowledged write is journaled before it is
answered and the journal is folded into .local/state.json now and then (infra/state.py).
One stack per state directory (infra/stack_lock.py); `make reset` empties it.

The web console (console/, built into console/dist by `make run`) is served at / with its
config.json; `POST /_local/token` gives it development tokens, as `make token` does.
"""

from __future__ import annotations

import errno
import gc
import itertools
import json
import logging
import mimetypes
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import jwt

from infra import clock, dev_auth
from infra.engine import Engine
from infra.lambda_runtime import (
    LambdaContext,
    http_event,
    load_function,
    response_parts,
    scheduled_event,
    sqs_event,
)
from infra.mail import Handler, SmtpServer, receipt_event, ses_id
from infra.provision import provision
from infra.sandbox import LoopbackHTTPServer, SandboxServer
from infra.stack_lock import StackLock
from infra.state import StateFiles, unreadable_reason
from infra.template import (
    ROOT,
    FunctionSpec,
    Route,
    functions,
    parameter_defaults,
    rate_seconds,
    resolve_environment,
)

log = logging.getLogger("local-stack")

TABLE_NAME = "helpdesk-local"
HEALTH_PATH = "/_local/health"
COMPACT_AFTER_ENTRIES = int(os.environ.get("LOCAL_COMPACT_ENTRIES", "2000"))
COMPACT_EVERY_SECONDS = 60  # fold a quiet journal in too, so restarts replay little
RETRY_SAVE_SECONDS = 10
STOP_WITHIN_SECONDS = 10  # after this, exit anyway: the journal already holds every write
PORT_VARIABLES = {
    "api": "LOCAL_PORT",
    "sandbox": "SANDBOX_PORT",
    "moto": "MOTO_PORT",
    "smtp": "SMTP_PORT",
}
MAIL_BUCKET = "helpdesk-local-mail"
CONSOLE_DIR = ROOT / "console" / "dist"
USER_ID = re.compile(r"^[A-Za-z0-9@._+:-]{1,128}$")  # as the API's assignee (http/bodies.py)
# What the deployed console gets from CloudFront (template.yaml, ConsoleSecurityHeaders),
# less the identity provider: the page may talk to its own origin only.
CONSOLE_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; media-src 'self' https: http:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@dataclass
class Ports:
    api: int = 3000
    sandbox: int = 3001
    moto: int = 5005
    smtp: int = 2525

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Ports:
        defaults = cls()
        values = {
            name: int(environ.get(variable) or getattr(defaults, name))
            for name, variable in PORT_VARIABLES.items()
        }
        return cls(**values)

    def api_origins(self) -> frozenset[str]:
        """The origins of the local API itself: the only web pages allowed to call in."""
        return frozenset({f"http://127.0.0.1:{self.api}", f"http://localhost:{self.api}"})


def queue_workers() -> int:
    """Concurrent instances of each queue consumer (LOCAL_QUEUE_WORKERS, default 4): the
    dispatcher paces incident fan-out across instances, as it does in Lambda."""
    value = os.environ.get("LOCAL_QUEUE_WORKERS") or "4"
    if not value.isdigit() or not 1 <= int(value) <= 32:
        raise SystemExit(f"LOCAL_QUEUE_WORKERS must be 1-32, not {value!r}")
    return int(value)


def duplicate_every() -> int:
    """Every n-th message a queue consumer handles is delivered again (LOCAL_DUPLICATE_EVERY,
    default 0: never): SQS delivers at least once, and tests make it happen on purpose."""
    value = os.environ.get("LOCAL_DUPLICATE_EVERY") or "0"
    if not value.isdigit():
        raise SystemExit(f"LOCAL_DUPLICATE_EVERY must be a whole number, not {value!r}")
    return int(value)


def dev_defaults(ports: Ports) -> dict[str, str]:
    """What `make run` uses for variables neither the shell nor the template sets."""
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
        "GITHUB_WEBHOOK_SECRET": "local-github-webhook-secret",
        "GITLAB_WEBHOOK_TOKEN": "local-gitlab-webhook-token",
        "JIRA_WEBHOOK_SECRET": "local-jira-webhook-secret",
        "GENERIC_TRACKER_SECRET": "local-generic-tracker-secret",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports.api}",
        "SANDBOX_URL": sandbox,
        "EMAIL_MAILBOX": "support@helpdesk.local",
        "EMAIL_OUTBOX_URL": f"{sandbox}/email",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }


def local_environment(
    specs: Mapping[str, FunctionSpec],
    references: Mapping[str, str],
    shell: Mapping[str, str],
    ports: Ports,
) -> dict[str, str]:
    """The functions' environment: local resources, then shell, template default, dev default.

    Resource references (table, queue, topics) always point at the local ones. For the rest
    a non-empty shell value wins, then the template parameter's default (so the local stack
    runs with what a deploy without overrides gets, e.g. ZADARMA_TIMEZONE=Europe/Moscow),
    then the development default. What none of them sets is left out (the core reads a
    missing variable as unset), including references the local stack cannot resolve.
    """
    variables: dict[str, Any] = {}
    for spec in specs.values():
        variables.update(spec.environment)
    from_resources = resolve_environment(
        {n: v for n, v in variables.items() if _names_resource(v, references)}, dict(references), {}
    )
    from_template = resolve_environment(variables, {}, parameter_defaults())
    defaults = dev_defaults(ports)
    environment: dict[str, str] = {}
    for name in [*variables, *defaults]:
        value = (
            from_resources.get(name)
            or shell.get(name)
            or from_template.get(name)
            or defaults.get(name)
        )
        if value:
            environment[name] = value
    return environment


def _names_resource(value: Any, references: Mapping[str, str]) -> bool:
    return isinstance(value, dict) and value.get("Ref") in references


@dataclass
class Invoker:
    """Runs handlers as warm Lambda instances would: each instance one event at a time; queue
    consumers have `queue_workers` instances (Lambda runs several on a busy queue)."""

    specs: dict[str, FunctionSpec]
    queue_workers: int = 1
    modules: dict[tuple[str, int], Any] = field(default_factory=dict)
    locks: dict[tuple[str, int], threading.Lock] = field(default_factory=dict)

    def load_all(self) -> None:
        for name, spec in self.specs.items():
            for instance in range(self.queue_workers if spec.queue_sources else 1):
                self.modules[name, instance] = load_function(spec, instance)
                self.locks[name, instance] = threading.Lock()

    def invoke(self, name: str, event: dict[str, Any], instance: int = 0) -> Any:
        spec = self.specs[name]
        handler = getattr(self.modules[name, instance], spec.handler)
        with self.locks[name, instance]:
            return handler(event, LambdaContext(name, timeout_seconds=spec.timeout))


class PortsBusy(Exception):
    def __init__(self, busy: list[tuple[str, int]]) -> None:
        super().__init__(", ".join(f"{variable}={port}" for variable, port in busy))
        self.busy = busy


class LocalStack:
    def __init__(self, ports: Ports, state_dir: Path, schedule_seconds: int | None = None):
        self.ports = ports
        self.state_dir = state_dir
        self.schedule_seconds = schedule_seconds
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.specs = functions()
        self.routes: list[Route] = [route for s in self.specs.values() for route in s.routes]
        fsync = os.environ.get("LOCAL_JOURNAL_FSYNC", "1") != "0"
        self.state = StateFiles(state_dir, fsync=fsync)
        self.engine = Engine(ports.moto, ports.api_origins(), self.state)
        self.sandbox = SandboxServer(ports.sandbox, ports.api_origins())
        self.http: LoopbackHTTPServer | None = None
        self.smtp: SmtpServer | None = None
        self.last_compaction = time.monotonic()
        self.compaction_lock = threading.Lock()
        self.save_failed = False
        self.duplicate_every = duplicate_every()
        self.handled = itertools.count(1)
        self.delivered_again = 0

    # -- sockets first: nothing is written before we know we can run ---------------------

    def bind(self) -> None:
        """Open all three listening sockets; PortsBusy names every one that is taken."""
        busy: list[tuple[str, int]] = []
        for name, open_socket in (
            ("api", self._bind_api),
            ("sandbox", self.sandbox.bind),
            ("moto", self.engine.bind),
            ("smtp", self._check_smtp),
        ):
            try:
                open_socket()
            except OSError as error:
                if error.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise
                busy.append((PORT_VARIABLES[name], getattr(self.ports, name)))
        if busy:
            self.close_sockets()
            raise PortsBusy(busy)

    def _bind_api(self) -> None:
        self.http = LoopbackHTTPServer(("127.0.0.1", self.ports.api), self._handler())

    def _check_smtp(self) -> None:
        """The SMTP port is free now (aiosmtpd binds it itself when the stack starts)."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", self.ports.smtp))

    def close_sockets(self) -> None:
        for server in (self.http, self.sandbox.server, self.engine.server):
            if server is not None:
                server.server_close()

    # -- AWS on loopback ----------------------------------------------------------------

    def start_aws(self) -> None:
        self.engine.start()
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
        os.environ.pop("AWS_SESSION_TOKEN", None)
        self.dynamodb = boto3.client("dynamodb")
        self.sqs = boto3.client("sqs")
        created = provision(self.dynamodb, self.sqs, TABLE_NAME, "helpdesk-local")
        self.queue_urls = {name: url for name, (url, _) in created.items()}
        self.queue_arns = {name: arn for name, (_, arn) in created.items()}
        topics = {
            name: boto3.client("sns").create_topic(Name=f"helpdesk-local-{name}")["TopicArn"]
            for name in ("ProblemCallsTopic", "BudgetAlertsTopic", "AlarmTopic")
        }
        self.s3 = boto3.client("s3")
        self.s3.create_bucket(Bucket=MAIL_BUCKET)
        references = {"Table": TABLE_NAME, "MailBucket": MAIL_BUCKET, **self.queue_urls, **topics}
        references.update({f"{name}.Arn": arn for name, arn in self.queue_arns.items()})
        self.configure_environment(references)

    def configure_environment(self, references: dict[str, str]) -> None:
        """Export the functions' environment (see local_environment) into this process."""
        os.environ.update(local_environment(self.specs, references, dict(os.environ), self.ports))

    # -- state across restarts and crashes ----------------------------------------------

    def restore(self) -> int:
        """Snapshot, then the journal over it; what cannot be loaded is set aside, loudly."""
        loaded = self.state.load()
        good = []
        for item in loaded.items:
            reason = unreadable_reason(item)
            if reason is None:
                good.append(item)
            else:
                self._set_aside({"reason": reason, "item": item}, "snapshot item")
        for item, reason in self.engine.load_items(TABLE_NAME, good):
            self._set_aside({"reason": reason, "item": item}, "snapshot item")
        for entry in loaded.entries:
            status, answer = self.engine.replay(entry["op"], entry["request"])
            if status != 200:
                self.state.health.replay_failures += 1
                self._set_aside({"reason": answer[:500], "entry": entry}, "journal entry")
        self.state.health.replayed_at_start = len(loaded.entries)
        self.state.open_journal(loaded.last_seq)
        if loaded.entries or len(good) != len(loaded.items):
            self.compact()
        else:  # copy the items once now, so that saves under load copy only what changed
            with self.engine.lock:
                self.engine.copies.refresh(
                    self.engine.backend().get_table(TABLE_NAME), self.engine.items
                )
            _settle_memory()
        return len(good) + len(loaded.entries)

    def _set_aside(self, record: dict[str, Any], what: str) -> None:
        with self.state.rejected_file.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
        self.state.record_error(
            f"a {what} could not be loaded ({str(record['reason'])[:200]}); "
            f"kept in {self.state.rejected_file}"
        )

    def compact(self) -> None:
        with self.compaction_lock:
            self.engine.compact(TABLE_NAME)
            self.last_compaction = time.monotonic()
        _settle_memory()

    def save(self) -> bool:
        with self.compaction_lock:
            self.last_compaction = time.monotonic()
            saved = self.engine.save(TABLE_NAME)
        _settle_memory()
        return saved

    def compaction_loop(self) -> None:
        while not self.stopping.wait(1):
            entries = self.state.health.journal_entries
            quiet_for = time.monotonic() - self.last_compaction
            due = (
                entries >= COMPACT_AFTER_ENTRIES
                or (entries and quiet_for >= COMPACT_EVERY_SECONDS)
                or (self.save_failed and quiet_for >= RETRY_SAVE_SECONDS)
            )
            if due:
                # A failed save is recorded (log, /_local/health) and retried; it never
                # stops the next one, and the journal keeps every write meanwhile.
                self.save_failed = not self.save()

    # -- event sources ------------------------------------------------------------------

    def poll_queue(self, function: str, queue_id: str, batch_size: int, instance: int = 0) -> None:
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
                if self.stopping.wait(1):
                    return
                continue
            if not received or self.stopping.is_set():
                continue  # unprocessed messages become visible again: nothing is lost
            try:
                event = sqs_event(received, arn)
                result = self.invoker.invoke(function, event, instance) or {}
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:
                log.exception("%s failed on a batch", function)
                continue
            done = [m for m in received if m["MessageId"] not in failed]
            self.deliver_again(url, done)
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )

    def deliver_again(self, url: str, messages: list[Any]) -> None:
        """SQS's at-least-once, on purpose: a copy of every n-th handled message."""
        if not self.duplicate_every:
            return
        for message in messages:
            if next(self.handled) % self.duplicate_every == 0:
                self.delivered_again += 1
                self.sqs.send_message(
                    QueueUrl=url,
                    MessageBody=message["Body"],
                    MessageAttributes=message.get("MessageAttributes") or {},
                )

    def run_schedule(self, function: str, expression: str) -> None:
        if expression.startswith("cron(") and not self.schedule_seconds:
            return  # a time of day (the daily digest): run it with `make sweep NAME=...`
        every = self.schedule_seconds or rate_seconds(expression)
        while not self.stopping.wait(every):
            try:
                self.invoker.invoke(function, scheduled_event(f"{function}-schedule"))
            except Exception:
                log.exception("%s failed on its schedule", function)

    # -- e-mail (infra/mail.py) -----------------------------------------------------------

    def start_smtp(self) -> None:
        from helpdesk.settings import get_settings

        self.mail_dir = self.state_dir / "mail"
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.restore_mail()
        handler = Handler(
            accepts=lambda address: get_settings().direction_for_mailbox(address) is not None,
            deliver=self.receive_mail,
        )
        self.smtp = SmtpServer(self.ports.smtp, handler)
        self.smtp.start()

    def restore_mail(self) -> None:
        """moto's S3 lives in memory: the kept raw mails go back, and their attachments under
        the keys the intake gave them, so the links on stored messages still lead somewhere."""
        from helpdesk.channels.email import read_mail
        from helpdesk.channels.objects import S3Objects
        from helpdesk.usecases.email_intake import EmailIntake, event_id

        intake = EmailIntake(objects=S3Objects(self.s3))
        for kept in sorted(self.mail_dir.glob("*.eml")):
            raw, key = kept.read_bytes(), f"inbound/{kept.stem}"
            self.s3.put_object(Bucket=MAIL_BUCKET, Key=key, Body=raw)
            mail = read_mail(raw)
            dedupe_key = event_id(mail.message_id, kept.stem)
            intake.keep_attachments(MAIL_BUCKET, key, dedupe_key, mail.parts)

    def receive_mail(self, raw: bytes, recipients: list[str], sender: str) -> str:
        """What SES receiving does: the raw mail into the bucket, then the notification."""
        message_id = ses_id()
        (self.mail_dir / f"{message_id}.eml").write_bytes(raw)
        key = f"inbound/{message_id}"
        self.s3.put_object(Bucket=MAIL_BUCKET, Key=key, Body=raw)
        event = receipt_event(MAIL_BUCKET, key, message_id, recipients, sender)
        result = self.invoker.invoke("EmailIntakeFunction", event) or {}
        return ", ".join(result.get("handled") or ["ignored"])

    # -- HTTP ---------------------------------------------------------------------------

    def health(self) -> tuple[int, dict[str, str], bytes]:
        state = self.state.health.as_dict()
        ok = state["ok"] and self.engine.journal_errors == 0
        body = {
            "status": "ok" if ok else "degraded",
            "pid": os.getpid(),
            "state": state,
            "journal_errors": self.engine.journal_errors,
            "queue_messages_delivered_again": self.delivered_again,
            "ports": {variable: getattr(self.ports, n) for n, variable in PORT_VARIABLES.items()},
        }
        return _json(200 if ok else 503, body)

    def control(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Local-only doors for a developer (make sweep, make clock): fire a schedule now,
        move the clock. Refused to web pages of other origins, like the moto port."""
        origin = headers.get("origin")
        if origin and origin not in self.ports.api_origins():
            return _json(403, {"message": "cross-origin requests are refused"})
        if path == "/_local/token":
            return self.issue_token(headers, body)
        if path.startswith("/_local/sweeps/"):
            name = path.removeprefix("/_local/sweeps/")
            found = [
                logical
                for logical, spec in self.specs.items()
                if spec.schedules and name in (logical, spec.code_dir.name)
            ]
            if not found:
                scheduled = sorted(s.code_dir.name for s in self.specs.values() if s.schedules)
                return _json(
                    404, {"message": f"no scheduled function {name!r}", "known": scheduled}
                )
            result = self.invoker.invoke(found[0], scheduled_event(f"{found[0]}-manual"))
            return _json(200, {"function": found[0], "result": result})
        if path == "/_local/clock":
            try:
                wanted = json.loads(body or b"{}").get("now")
                if wanted:
                    clock.parse_instant(str(wanted))
            except (ValueError, AttributeError) as error:
                return _json(400, {"message": f'give {{"now": "2026-12-01T10:00:00Z"}}: {error}'})
            if wanted:
                os.environ["HELPDESK_NOW"] = str(wanted)
            else:
                os.environ.pop("HELPDESK_NOW", None)
            return _json(200, {"now": os.environ.get("HELPDESK_NOW") or "real time"})
        return _json(
            404, {"message": "local routes: /_local/sweeps/<name>, /_local/clock, /_local/token"}
        )

    def issue_token(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """`make token` for the console's sign-in form: {"role", "sub"} -> {"token"}.

        Local only, like every /_local/ door: a page of another origin is refused (above), and
        so is a Host that is not this stack's loopback address (a DNS-rebound name)."""
        hosts = {origin.removeprefix("http://") for origin in self.ports.api_origins()}
        if headers.get("host") not in hosts:
            return _error(403, "forbidden", "development tokens are given on loopback only")
        try:
            wanted = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "malformed_json", "the request body is not valid JSON")
        if not isinstance(wanted, dict):
            return _error(422, "invalid_request", 'give {"role": "agent", "sub": "alice"}')
        role, subject = wanted.get("role", "agent"), wanted.get("sub") or None
        if role not in dev_auth.ROLES:
            message = f"role must be one of: {', '.join(dev_auth.ROLES)}"
            return _error(422, "invalid_request", message, field="role")
        if subject is not None and not (isinstance(subject, str) and USER_ID.match(subject)):
            message = "a user id is 1-128 letters, digits and @ . _ + : -"
            return _error(422, "invalid_request", message, field="sub")
        token = dev_auth.issue(role, subject)
        claims = jwt.decode(token, options={"verify_signature": False})
        return _json(
            200, {"token": token, "sub": claims["sub"], "role": role, "exp": claims["exp"]}
        )

    def console(self, path: str) -> tuple[int, dict[str, str], bytes] | None:
        """The web console's files (GET / and /assets/...) and its config.json; None when the
        path is not the console's."""
        if path == "/config.json":
            config = {
                "auth": "local",
                "api_base": "",
                "groups_claim": os.environ.get("GROUPS_CLAIM") or "cognito:groups",
                "refresh_seconds": int(os.environ.get("CONSOLE_REFRESH_SECONDS") or 5),
            }
            return 200, {**CONSOLE_HEADERS, "cache-control": "no-cache"}, _dumps(config)
        if path in ("/", "/index.html"):
            name, cache = "index.html", "no-cache"
        elif path.startswith("/assets/"):
            name, cache = path.lstrip("/"), "public, max-age=31536000, immutable"
        else:
            return None
        root = CONSOLE_DIR.resolve()
        file = (root / name).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            if name != "index.html":
                return _json(404, {"message": "Not Found"})
            page = (
                "<!doctype html><title>Console not built</title><p>The console is not built: "
                "<code>make run</code> builds it (or <code>make console</code>).</p>"
            )
            return 503, {"content-type": "text/html; charset=utf-8"}, page.encode()
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith(("javascript", "json", "svg+xml")):
            kind += "; charset=utf-8"
        headers = {**CONSOLE_HEADERS, "content-type": kind, "cache-control": cache}
        return 200, headers, file.read_bytes()

    def handle_http(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        if parts.path == HEALTH_PATH and method == "GET":
            return self.health()
        if parts.path.startswith("/_local/") and method == "POST":
            return self.control(parts.path, headers, body)
        for route in self.routes:
            parameters = route.match(method, parts.path)
            if parameters is not None:
                break
        else:
            found = self.console(parts.path) if method == "GET" else None
            return found or _json(404, {"message": "Not Found"})
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
        response = response_parts(result)
        if route.route_key == "POST /webhooks/whatsapp" and response[0] == 200:
            self.tell_sandbox_about_whatsapp(body)
        return response

    def tell_sandbox_about_whatsapp(self, body: bytes) -> None:
        """Accepted inbound WhatsApp messages open the 24-hour window in the sandbox."""
        try:
            notification = json.loads(body)
            for entry in notification.get("entry") or []:
                for change in entry.get("changes") or []:
                    for message in (change.get("value") or {}).get("messages") or []:
                        self.sandbox.note_whatsapp_inbound(
                            str(message["from"]), int(message["timestamp"])
                        )
        except (ValueError, TypeError, KeyError, AttributeError):
            log.debug("not a WhatsApp message notification; the window is unchanged")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
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
                try:
                    self.send_response(status)
                    for name, value in response_headers.items():
                        if name not in ("content-length", "connection"):
                            self.send_header(name, value)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client left; the work is done

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                log.info("%s %s", self.address_string(), format % args)

        return Handler

    # -- lifecycle ----------------------------------------------------------------------

    def _thread(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def start(self) -> int:
        """Serve (after bind()); returns how many items and writes were restored."""
        self.sandbox.start()
        self.start_aws()
        restored = self.restore()
        self.invoker = Invoker(self.specs, queue_workers=queue_workers())
        self.invoker.load_all()
        for name, spec in self.specs.items():
            for queue_id, batch_size in spec.queue_sources:
                for instance in range(self.invoker.queue_workers):
                    self._thread(self.poll_queue, name, queue_id, batch_size, instance)
            for expression in spec.schedules:
                self._thread(self.run_schedule, name, expression)
        self._thread(self.compaction_loop)
        self.start_smtp()
        assert self.http is not None
        http = self.http
        threading.Thread(target=http.serve_forever, args=(0.2,), daemon=True).start()
        return restored

    def print_banner(self, restored: int) -> None:
        api = f"http://127.0.0.1:{self.ports.api}"
        lines = [
            "Helpdesk local stack is up.",
            f"  console        {api}/   (sign in with any user id as agent or lead)",
            f"  API            {api}   (OpenAPI: {api}/openapi.json, health: {api}{HEALTH_PATH})",
            f"  routes         {len(self.routes)} from template.yaml",
            f"  sandbox        http://127.0.0.1:{self.ports.sandbox}/outbox  "
            "(what would have been sent to Telegram / WhatsApp / clients)",
            f"  AWS (moto)     http://127.0.0.1:{self.ports.moto}  table {TABLE_NAME}",
            f"  SMTP           127.0.0.1:{self.ports.smtp}  mail to "
            f"{os.environ.get('EMAIL_MAILBOX') or 'the configured mailboxes'} becomes tickets; "
            "replies show in the sandbox's outbox",
            f"  state          {self.state_dir}  ({restored} items and writes restored; "
            "every write is journaled; make reset empties)",
            "  token          make token ROLE=agent   (agent, lead, commander, finance)",
            "  secrets        dev defaults unless set in the shell (see README)",
            "Ctrl-C stops.",
        ]
        print("\n".join(lines), flush=True)

    def stop(self) -> None:
        """Stop promptly: no new requests, workers get a short grace, then a last save."""
        self.stopping.set()
        if self.smtp is not None:
            self.smtp.stop()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        deadline = time.monotonic() + 3
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        try:
            self.compact()
            self.engine.stop()  # no write after the last save is acknowledged un-journaled
            print(f"State saved to {self.state.snapshot_file}.", flush=True)
        except Exception as error:
            self.state.record_error(f"could not save state on exit: {error!r}")
            print(
                f"State NOT compacted ({error!r}); nothing is lost: {self.state.journal_file} "
                "holds every write and is replayed at the next start.",
                file=sys.stderr,
                flush=True,
            )
        finally:
            self.engine.stop()
            self.state.close()
            self.sandbox.stop()


def _settle_memory() -> None:
    """Take the long-lived objects (the table) out of the cyclic garbage collector's sight.

    Every full collection walks every object, and the table is most of them: at 10,000
    tickets the collector's pauses added a tenth to a webhook's time and most of its tail.
    Young garbage is collected first, so what gets frozen is the live table (freed by
    reference counting as usual when it changes).
    """
    gc.collect(1)
    gc.freeze()


def _json(status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps(body).encode()


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def _error(
    status: int, code: str, message: str, **details: Any
) -> tuple[int, dict[str, str], bytes]:
    """The API's error shape, {"error": {"code", "message", ...}}, for the console's doors."""
    return _json(status, {"error": {"code": code, "message": message, **details}})


def _refuse_to_start(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


def busy_ports_message(busy: list[tuple[str, int]], ports: Ports) -> str:
    taken = ", ".join(f"{port} ({variable})" for variable, port in busy)
    suggestion = " ".join(
        f"{variable}={getattr(ports, name) + 100}" for name, variable in PORT_VARIABLES.items()
    )
    return (
        f"Cannot start the local stack: port {taken} on 127.0.0.1 is already in use "
        "(another `make run`?). Stop whatever holds it, or choose other ports, e.g.\n"
        f"  {suggestion} LOCAL_STATE_DIR=.local-2 make run\n"
        "Nothing was started and no state was changed."
    )


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "WARNING"))
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    os.chdir(ROOT)
    try:
        ports = Ports.from_environment()
        clock.now()  # a malformed HELPDESK_NOW stops us here, not inside a request
    except ValueError as error:
        _refuse_to_start(f"Cannot start the local stack: {error}")
    state_dir = Path(os.environ.get("LOCAL_STATE_DIR") or ROOT / ".local").resolve()
    schedule = os.environ.get("LOCAL_SCHEDULE_SECONDS")
    stack = LocalStack(ports, state_dir, int(schedule) if schedule else None)

    # Check everything before writing anything: the lock, then every port.
    lock = StackLock(state_dir)
    locked = lock.acquire()
    problems = []
    try:
        stack.bind()
    except PortsBusy as busy:
        problems.append(busy_ports_message(busy.busy, ports))
    if not locked:
        problems.append(
            f"Another local stack (pid {lock.holder()}) is using the state in {state_dir}; "
            "stop it first, or give this one its own LOCAL_STATE_DIR."
        )
    if problems:
        stack.close_sockets()
        lock.release()
        _refuse_to_start("\n".join(problems))
    lock.announce()

    stopped = threading.Event()
    signals = {"count": 0}

    def on_signal(*_: Any) -> None:
        signals["count"] += 1
        if signals["count"] > 1:
            os._exit(130)  # a second Ctrl-C: leave now (the journal holds every write)
        stopped.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.print_banner(stack.start())
    except Exception as error:
        traceback.print_exc()
        lock.release()
        _refuse_to_start(f"The local stack could not start: {error!r}")
    while not stopped.wait(1):
        pass
    print("\nStopping...", flush=True)
    watchdog = threading.Timer(STOP_WITHIN_SECONDS, _stop_overdue)
    watchdog.daemon = True
    watchdog.start()
    stack.stop()
    lock.release()
    watchdog.cancel()
    sys.exit(0)


def _stop_overdue() -> None:
    print(
        f"Stopping took over {STOP_WITHIN_SECONDS} s; leaving now. Nothing is lost: every "
        "acknowledged write is in the journal and is replayed at the next start.",
        file=sys.stderr,
        flush=True,
    )
    os._exit(0)


if __name__ == "__main__":
    main()
