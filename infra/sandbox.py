"""The local stand-in for Telegram's Bot API and WhatsApp's Cloud API.

It answers the way the providers do (the response shapes our clients read, and the refusals
they must handle) and records every request, so a person can see what the helpdesk would
have sent: GET /outbox (`sent`, and `refused` for what the provider would have refused).

- Telegram: sendMessage, editMessageText, answerCallbackQuery, createForumTopic,
  editForumTopic, closeForumTopic, reopenForumTopic answer in the Bot API's shapes; other
  send* methods answer a Message, the rest `true`.
- WhatsApp: the 24-hour customer service window is enforced as Meta does: a free-form
  message (anything but a template) to someone who has not written in the last 24 hours is
  refused with 400 and error 131047. The local stack reports every inbound message it
  accepted (`note_whatsapp_inbound`); "now" is infra.clock.now() (HELPDESK_NOW honoured).
- Tests make it fail next: POST /control/fail {"status": 429, "times": 1}; POST
  /control/reset forgets everything. Control bodies are validated (400 with a JSON error).

Loopback only, and browsers from other origins are refused (no CORS): a web page must not
be able to read the outbox or steer the sandbox.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
from collections.abc import Iterable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra import clock

WINDOW_SECONDS = 24 * 3600
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Helpdesk", "username": "helpdesk_bot"}
FAIL_FIELDS = {"status", "times", "retry_after", "code", "body"}
_TELEGRAM = re.compile(r"^/telegram/bot[^/]+/(?P<method>[A-Za-z]+)$")
_WHATSAPP = re.compile(r"^/whatsapp/[^/]+/[^/]+/messages$")


class ControlError(ValueError):
    """A /control request the sandbox refuses (400)."""


class LoopbackHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a listen backlog for bursts (the default of 5 resets them)."""

    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True


def validate_failure(body: Any) -> dict[str, Any]:
    """A /control/fail body: status 400-599, times 1-1000, optional retry_after/code/body."""
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    unknown = set(body) - FAIL_FIELDS
    if unknown:
        raise ControlError(f"unknown field(s): {', '.join(sorted(unknown))}")
    status = _integer(body, "status", 400, 599, required=True)
    failure: dict[str, Any] = {"status": status, "times": _integer(body, "times", 1, 1000) or 1}
    retry_after = _integer(body, "retry_after", 1, 3600)
    if retry_after is not None:
        failure["retry_after"] = retry_after
    code = _integer(body, "code", 1, 9_999_999)
    if code is not None:
        failure["code"] = code
    if "body" in body:
        if not isinstance(body["body"], dict):
            raise ControlError("body must be a JSON object (the provider's answer)")
        failure["body"] = body["body"]
    return failure


def _integer(
    body: dict[str, Any], name: str, low: int, high: int, required: bool = False
) -> int | None:
    if name not in body:
        if required:
            raise ControlError(f"{name} is required")
        return None
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ControlError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return int(value)


def _wa_id(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


def reengagement_error() -> dict[str, Any]:
    """Meta's answer to a free-form message outside the 24-hour window."""
    return {
        "error": {
            "message": "(#131047) Re-engagement message",
            "type": "OAuthException",
            "code": 131047,
            "error_data": {
                "messaging_product": "whatsapp",
                "details": (
                    "Message failed to send because more than 24 hours have passed since "
                    "the customer last replied to this number."
                ),
            },
            "fbtrace_id": "A" + secrets.token_urlsafe(17)[:23],
        }
    }


class SandboxServer:
    def __init__(self, port: int, allowed_origins: Iterable[str] = ()) -> None:
        self.port = port
        self.allowed_origins = frozenset(allowed_origins)
        self.sent: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.last_inbound: dict[str, int] = {}  # wa_id -> unix time of its latest message
        self.lock = threading.Lock()
        self.ids = itertools.count(1000)
        self.server: LoopbackHTTPServer | None = None

    # -- WhatsApp's customer service window ---------------------------------------------

    def note_whatsapp_inbound(self, wa_id: str, timestamp: int) -> None:
        """A customer wrote (the local stack accepted their message): the window opens."""
        key = _wa_id(wa_id)
        if key:
            with self.lock:
                self.last_inbound[key] = max(timestamp, self.last_inbound.get(key, 0))

    def window_open(self, wa_id: str, now: datetime | None = None) -> bool:
        last = self.last_inbound.get(_wa_id(wa_id))
        moment = (now or clock.now()).timestamp()
        return last is not None and moment - last < WINDOW_SECONDS

    # -- answers ------------------------------------------------------------------------

    def answer(self, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        now = clock.now()
        with self.lock:
            if self.failures:
                failure = self.failures[0]
                failure["times"] = failure.get("times", 1) - 1
                if failure["times"] <= 0:
                    self.failures.pop(0)
                return int(failure["status"]), failure.get("body") or _failure_body(path, failure)
            if not isinstance(body, dict):
                return 400, _bad_request(path, "the body must be a JSON object")
            if path == "/email":  # mail the helpdesk would have sent through SES
                return self._mail(body)
            if _WHATSAPP.match(path):
                refusal = self._whatsapp_refusal(body, now)
                if refusal is not None:
                    self.refused.append({"path": path, "body": body, "error": refusal["error"]})
                    return 400, refusal
            elif (match := _TELEGRAM.match(path)) and (
                problem := _telegram_problem(match["method"], body)
            ):
                self.refused.append({"path": path, "body": body, "error": problem})
                return 400, {"ok": False, "error_code": 400, "description": problem}
            message_id = next(self.ids)
            self.sent.append({"path": path, "body": body, "message_id": message_id})
        if match := _TELEGRAM.match(path):
            result = _telegram_result(match["method"], body, message_id, now)
            return 200, {"ok": True, "result": result}
        if path.startswith("/whatsapp/"):
            return 200, _whatsapp_result(body, message_id)
        return 200, {"ok": True, "message_id": message_id}

    def _mail(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Record a mail as a person reads it (headers, both parts); the caller holds the lock."""
        from infra.mail import mail_summary

        try:
            summary = mail_summary(base64.b64decode(str(body.get("raw", "")), validate=True))
        except (ValueError, TypeError) as error:
            return 400, _error("bad_request", f"raw must be a base64 RFC 5322 message: {error}")
        message_id = next(self.ids)
        mail = {"from": body.get("from"), "to": body.get("to"), **summary}
        self.sent.append({"path": "/email", "body": mail, "message_id": message_id})
        return 200, {"ok": True, "message_id": message_id}

    def _whatsapp_refusal(self, body: dict[str, Any], now: datetime) -> dict[str, Any] | None:
        if body.get("status") == "read":  # marking a message read needs no open window
            return None
        if body.get("type", "text") == "template":
            return None
        if self.window_open(str(body.get("to", "")), now):
            return None
        return reengagement_error()

    # -- control ------------------------------------------------------------------------

    def control(self, path: str, body: Any) -> dict[str, Any]:
        if path == "/control/fail":
            failure = validate_failure(body)
            with self.lock:
                self.failures.append(failure)
            return {"ok": True, "failure": failure}
        if path == "/control/reset":
            if body not in (None, {}):
                raise ControlError("reset takes no parameters (send {} or nothing)")
            with self.lock:
                self.sent.clear()
                self.refused.clear()
                self.failures.clear()
                self.last_inbound.clear()
            return {"ok": True}
        raise LookupError(path)

    # -- serving ------------------------------------------------------------------------

    def bind(self) -> None:
        """Open the listening socket now (so a busy port is found before anything starts)."""
        self.server = LoopbackHTTPServer(("127.0.0.1", self.port), self._handler())

    def start(self) -> None:
        if self.server is None:
            self.bind()
        assert self.server is not None
        threading.Thread(
            target=self.server.serve_forever, name="sandbox", daemon=True, args=(0.2,)
        ).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sandbox = self
        hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"[::1]:{self.port}"}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    if status == 429:
                        self.send_header("retry-after", "1")
                    self.end_headers()
                    self.wfile.write(data)
                except (TimeoutError, BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _foreign(self) -> bool:
                """Refuse web pages: wrong Host (DNS rebinding) or another Origin."""
                origin = self.headers.get("origin")
                if self.headers.get("host") not in hosts or (
                    origin is not None and origin not in sandbox.allowed_origins
                ):
                    self._drain()
                    self._reply(403, _error("forbidden", "the sandbox refuses web pages"))
                    return True
                return False

            def _drain(self) -> bytes:
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def do_OPTIONS(self) -> None:
                self._drain()
                self._reply(403, _error("forbidden", "no CORS here: the sandbox is local only"))

            def do_GET(self) -> None:
                if self._foreign():
                    return
                if self.path.split("?", 1)[0] == "/outbox":
                    with sandbox.lock:
                        outbox = {"sent": list(sandbox.sent), "refused": list(sandbox.refused)}
                    self._reply(200, outbox)
                else:
                    self._reply(404, _error("not_found", "the sandbox serves GET /outbox"))

            def do_POST(self) -> None:
                if self._foreign():
                    return
                raw = self._drain()
                try:
                    body = json.loads(raw) if raw.strip() else None
                except (json.JSONDecodeError, UnicodeDecodeError):
                    self._reply(400, _error("bad_request", "the body is not JSON"))
                    return
                if self.path.startswith("/control/"):
                    try:
                        self._reply(200, sandbox.control(self.path, body))
                    except ControlError as error:
                        self._reply(400, _error("bad_request", str(error)))
                    except LookupError:
                        self._reply(404, _error("not_found", f"no control {self.path}"))
                    return
                status, answer = sandbox.answer(self.path, body if body is not None else {})
                self._reply(status, answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _bad_request(path: str, description: str) -> dict[str, Any]:
    if path.startswith("/telegram/"):
        return {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}
    return {"error": {"message": description, "type": "OAuthException", "code": 100}}


def _telegram_problem(method: str, body: dict[str, Any]) -> str | None:
    """The Bot API's 400 for a request missing what the method needs."""

    def empty(name: str) -> bool:
        return body.get(name) in (None, "")

    if method in ("sendMessage", "editMessageText") and empty("text"):
        return "Bad Request: message text is empty"
    if method == "editMessageText" and empty("inline_message_id"):
        if empty("chat_id") or empty("message_id"):
            return "Bad Request: message to edit not found"
        return None
    if method == "answerCallbackQuery" and empty("callback_query_id"):
        return "Bad Request: query is too old and response timeout expired or query ID is invalid"
    if (method.startswith("send") or method.endswith("ForumTopic")) and empty("chat_id"):
        return "Bad Request: chat_id is empty"
    if method == "createForumTopic" and empty("name"):
        return "Bad Request: topic name is empty"
    if method in ("editForumTopic", "closeForumTopic", "reopenForumTopic") and empty(
        "message_thread_id"
    ):
        return "Bad Request: message thread not found"
    return None


def _telegram_result(method: str, body: dict[str, Any], message_id: int, now: datetime) -> Any:
    """What the Bot API puts in `result` for each method the helpdesk calls."""
    if method == "createForumTopic":
        topic = {
            "message_thread_id": message_id,
            "name": body["name"],
            "icon_color": body.get("icon_color", 7322096),
        }
        if "icon_custom_emoji_id" in body:
            topic["icon_custom_emoji_id"] = body["icon_custom_emoji_id"]
        return topic
    if method == "editMessageText":
        if body.get("inline_message_id"):
            return True
        return _telegram_message(body, int(body["message_id"]), now) | {
            "edit_date": int(now.timestamp())
        }
    if method.startswith("send"):
        return _telegram_message(body, message_id, now)
    return True  # answerCallbackQuery, edit/close/reopenForumTopic and the like


def _telegram_message(body: dict[str, Any], message_id: int, now: datetime) -> dict[str, Any]:
    chat_id = body.get("chat_id")
    is_group = str(chat_id).startswith("-")  # groups and supergroups have negative ids
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": BOT_USER,
        "chat": {"id": chat_id, "type": "supergroup" if is_group else "private"},
        "date": int(now.timestamp()),
    }
    if "text" in body:
        message["text"] = body["text"]
    if "message_thread_id" in body:
        message["message_thread_id"] = body["message_thread_id"]
        message["is_topic_message"] = True
    if "reply_markup" in body:
        message["reply_markup"] = body["reply_markup"]
    return message


def _whatsapp_result(body: dict[str, Any], message_id: int) -> dict[str, Any]:
    if body.get("status") == "read":
        return {"success": True}
    to = body.get("to")
    answer: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": _wa_id(to)}],
        "messages": [{"id": f"wamid.SANDBOX{message_id}"}],
    }
    if body.get("type") == "template":
        answer["messages"][0]["message_status"] = "accepted"
    return answer


def _failure_body(path: str, failure: dict[str, Any]) -> dict[str, Any]:
    status = int(failure["status"])
    if path.startswith("/telegram/"):
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": "sandbox"}
        if status == 429:
            body["parameters"] = {"retry_after": int(failure.get("retry_after", 1))}
        return body
    if path.startswith("/whatsapp/"):
        code = 130429 if status == 429 else int(failure.get("code", 131000))
        return {"error": {"message": "sandbox", "type": "OAuthException", "code": code}}
    return {"error": "sandbox failure"}
