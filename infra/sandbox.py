"""The local stand-in for Telegram's Bot API and WhatsApp's Cloud API.

It answers sends the way the providers do (enough for our clients) and records every
request, so a person can see what the helpdesk would have sent: GET /outbox.
Tests can make it answer 429 next: POST /control/fail {"status": 429, "times": 1}.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SandboxServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.sent: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.ids = itertools.count(1000)

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.failures:
                failure = self.failures[0]
                failure["times"] -= 1
                if failure["times"] <= 0:
                    self.failures.pop(0)
                return int(failure["status"]), failure.get("body") or _failure_body(path, failure)
            message_id = next(self.ids)
            self.sent.append({"path": path, "body": body, "message_id": message_id})
        if path.startswith("/telegram/"):
            method = path.rsplit("/", 1)[-1]
            if method == "answerCallbackQuery":
                return 200, {"ok": True, "result": True}
            return 200, {"ok": True, "result": {"message_id": message_id, "chat": {"id": 0}}}
        if path.startswith("/whatsapp/"):
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": f"wamid.SANDBOX{message_id}"}],
            }
        return 200, {"ok": True, "message_id": message_id}

    def start(self) -> None:
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                if status == 429:
                    self.send_header("retry-after", "1")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.startswith("/outbox"):
                    with sandbox.lock:
                        self._reply(200, {"sent": list(sandbox.sent)})
                else:
                    self._reply(404, {"error": "the sandbox serves GET /outbox"})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._reply(400, {"error": "not JSON"})
                    return
                if self.path == "/control/fail":
                    with sandbox.lock:
                        sandbox.failures.append({"times": 1, **body})
                    self._reply(200, {"ok": True})
                    return
                if self.path == "/control/reset":
                    with sandbox.lock:
                        sandbox.sent.clear()
                        sandbox.failures.clear()
                    self._reply(200, {"ok": True})
                    return
                status, answer = sandbox.answer(self.path, body)
                self._reply(status, answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def _failure_body(path: str, failure: dict[str, Any]) -> dict[str, Any]:
    status = int(failure["status"])
    if path.startswith("/telegram/"):
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": "sandbox"}
        if status == 429:
            body["parameters"] = {"retry_after": int(failure.get("retry_after", 1))}
        return body
    if re.match(r"^/whatsapp/", path):
        code = 130429 if status == 429 else int(failure.get("code", 131000))
        return {"error": {"message": "sandbox", "type": "OAuthException", "code": code}}
    return {"error": "sandbox failure"}
