"""Telegram's Bot API and WhatsApp's Cloud API on loopback, as strict about rates as they are.

For load tests and benchmarks of incident fan-out (the local stack's sandbox is for one
developer's clicks; this one counts and refuses at scale):
- Telegram: `POST /bot<token>/sendMessage` and `/editMessageText`; over the bot's rate (a
  token bucket: `telegram_per_second`, as much burst) or a chat's (1 a second) it answers
  429 `{"ok": false, "error_code": 429, "parameters": {"retry_after": 1}}`, as the Bot API does.
- WhatsApp: `POST /<version>/<phone number id>/messages`; over the number's rate it answers
  HTTP 429 with error code 130429 ("rate limit hit"), as the Cloud API does.
- Telegram forum supergroups (the staff groups named in `forum_groups`): `createForumTopic`,
  `editForumTopic`, `closeForumTopic`, `reopenForumTopic` and `sendMessage` with
  `message_thread_id`; every call counts against the group's `group_per_minute` over the last
  60 s of `clock` (a test may pass a virtual one) and is refused with a 429 and the seconds
  until a call leaves the window, as the Bot API does; `TOPIC_NOT_MODIFIED` for a change
  that changes nothing. `group_calls` keeps every accepted call with its time.
- Every accepted message is counted per recipient, with its time; `refuse_every` answers a
  429 to every n-th request even within the rate (providers do), so that honouring one is
  tested, not assumed. `hold_after` makes the n-th accepted send wait for a release (the
  moment a test kills the sender, with the provider holding a message it has accepted).

Run it alone: `python -m infra.fake_providers --port 3300 --telegram 30 --whatsapp 80`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_TELEGRAM = re.compile(r"^/bot[^/]+/(?P<method>\w+)$")
_WHATSAPP = re.compile(r"^/v\d+\.\d+/(?P<number>\d+)/messages$")


@dataclass
class Bucket:
    """A token bucket: `rate` a second, as much burst."""

    rate: float
    tokens: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.rate

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class FakeProviders:
    def __init__(
        self,
        port: int = 0,
        telegram_per_second: float = 30,
        whatsapp_per_second: float = 80,
        chat_per_second: float = 1,
        refuse_every: int = 0,
        group_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
        forum_groups: frozenset[str] = frozenset(),
    ) -> None:
        self.forum_groups = forum_groups
        self.group_per_minute = group_per_minute
        self.clock = clock
        self.group_calls: list[tuple[float, str, dict[str, Any]]] = []  # (at, method, body)
        self.topics: dict[int, dict[str, Any]] = {}  # thread id -> name, closed, posts
        self.group_windows: dict[str, list[float]] = defaultdict(list)
        self.telegram_per_second = telegram_per_second
        self.whatsapp_per_second = whatsapp_per_second
        self.chat_per_second = chat_per_second
        self.refuse_every = refuse_every
        self.lock = threading.Lock()
        self.buckets: dict[str, Bucket] = {}
        self.chats: dict[str, Bucket] = {}
        self.received: Counter[tuple[str, str]] = Counter()  # (channel, recipient) -> sends
        self.times: dict[str, list[float]] = defaultdict(list)  # channel -> accepted at
        self.edits: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []  # accepted sendMessage bodies (not groups')
        self.refused = Counter[str]()
        self.requests = 0
        self.accepted = 0  # sends accepted (not edits), the count `hold_after` watches
        self.ids = itertools.count(1000)
        self.hold_after: int | None = None  # the n-th accepted send waits for `release`
        self.held = threading.Event()
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeProviders:
        threading.Thread(target=self.server.serve_forever, args=(0.1,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # -- what happened ------------------------------------------------------------------

    def total(self, channel: str | None = None) -> int:
        with self.lock:
            return sum(n for (ch, _), n in self.received.items() if channel in (None, ch))

    def duplicates(self) -> dict[tuple[str, str], int]:
        with self.lock:
            return {key: n for key, n in self.received.items() if n > 1}

    def rate(self, channel: str) -> float:
        """Accepted sends a second, from the first to the last."""
        with self.lock:
            times = sorted(self.times[channel])
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def span(self) -> float:
        """Seconds from the first accepted send to the last, over every channel."""
        with self.lock:
            times = sorted(t for channel in self.times.values() for t in channel)
        return times[-1] - times[0] if len(times) > 1 else 0.0

    # -- answers ------------------------------------------------------------------------

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if match := _TELEGRAM.match(path):
            return self._telegram(match["method"], body)
        if match := _WHATSAPP.match(path):
            return self._whatsapp(match["number"], body)
        return 404, {"error": f"no such route {path}"}

    def _refused_anyway(self) -> bool:
        self.requests += 1
        return bool(self.refuse_every and self.requests % self.refuse_every == 0)

    def _telegram(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat = str(body.get("chat_id", ""))
        if chat in self.forum_groups:
            return self._group(chat, method, body)
        if not chat or not str(body.get("text", "")).strip():
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: empty"}
        with self.lock:
            bot = self.buckets.setdefault("telegram", Bucket(self.telegram_per_second))
            per_chat = self.chats.setdefault(chat, Bucket(self.chat_per_second))
            if self._refused_anyway() or not bot.take() or not per_chat.take():
                self.refused["telegram"] += 1
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                }
            if method == "editMessageText":
                self.edits.append(body)
                result: dict[str, Any] = {
                    "message_id": body.get("message_id"),
                    "text": body["text"],
                }
                return 200, {"ok": True, "result": result}
            self.received["telegram", chat] += 1
            self.messages.append(body)
            self.times["telegram"].append(time.monotonic())
            message_id = next(self.ids)
            self.accepted += 1
            accepted = self.accepted
        self._maybe_hold(accepted)
        result = {"message_id": message_id, "chat": {"id": body["chat_id"]}, "text": body["text"]}
        return 200, {"ok": True, "result": result}

    def _group(self, chat: str, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A staff group: its topics and its per-minute allowance."""
        with self.lock:
            now = self.clock()
            window = [t for t in self.group_windows[chat] if t > now - 60]
            self.group_windows[chat] = window
            if len(window) >= self.group_per_minute:
                self.refused["telegram_group"] += 1
                wait = max(1, math.ceil(window[-self.group_per_minute] + 60 - now))
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                }
            status, answer = self._topic_call(method, body)
            if status == 200:
                window.append(now)
                self.group_calls.append((now, method, body))
            return status, answer

    def _topic_call(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        thread = body.get("message_thread_id")
        topic = self.topics.get(thread) if isinstance(thread, int) else None
        if method == "createForumTopic":
            if not 1 <= len(str(body.get("name", ""))) <= 128:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: name"}
            thread = next(self.ids)
            self.topics[thread] = {"name": body["name"], "closed": False, "posts": []}
            return 200, {
                "ok": True,
                "result": {"message_thread_id": thread, "name": body["name"], "icon_color": 0},
            }
        if thread is not None and topic is None:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message thread not found",
            }
        if method == "sendMessage":
            if not 1 <= len(str(body.get("text", "")).strip()) <= 4096:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: text"}
            if topic is not None:
                topic["posts"].append(body["text"])
            message_id = next(self.ids)
            result = {"message_id": message_id, "message_thread_id": thread, "text": body["text"]}
            return 200, {"ok": True, "result": result}
        wanted = {
            "editForumTopic": ("name", body.get("name")),
            "closeForumTopic": ("closed", True),
            "reopenForumTopic": ("closed", False),
        }.get(method)
        if wanted is None or topic is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        field_name, value = wanted
        if topic[field_name] == value:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: TOPIC_NOT_MODIFIED",
            }
        topic[field_name] = value
        return 200, {"ok": True, "result": True}

    def _whatsapp(self, number: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        to = str(body.get("to", ""))
        if not to:
            return 400, {"error": {"message": "to is required", "code": 100}}
        with self.lock:
            bucket = self.buckets.setdefault(f"wa:{number}", Bucket(self.whatsapp_per_second))
            if self._refused_anyway() or not bucket.take():
                self.refused["whatsapp"] += 1
                error = {"message": "(#130429) Rate limit hit", "type": "OAuthException"}
                return 429, {"error": {**error, "code": 130429}}
            self.received["whatsapp", to] += 1
            self.times["whatsapp"].append(time.monotonic())
            message_id = next(self.ids)
            self.accepted += 1
            accepted = self.accepted
        self._maybe_hold(accepted)
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": f"wamid.FAKE{message_id}"}],
        }

    def _maybe_hold(self, accepted: int) -> None:
        if self.hold_after is not None and accepted >= self.hold_after:
            self.held.set()
            self.release.wait(timeout=60)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                try:
                    super().handle()
                except OSError:  # the sender died mid-request (a test killed it): so be it
                    self.close_connection = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                status, answer = fake.answer(self.path, body if isinstance(body, dict) else {})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=3300)
    parser.add_argument("--telegram", type=float, default=30)
    parser.add_argument("--whatsapp", type=float, default=80)
    arguments = parser.parse_args()
    fake = FakeProviders(arguments.port, arguments.telegram, arguments.whatsapp).start()
    print(
        f"fake providers on {fake.url} (telegram {fake.telegram_per_second}/s, "
        f"whatsapp {fake.whatsapp_per_second}/s); Ctrl-C stops",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
