"""Outbound Telegram and WhatsApp clients against a fake provider served on loopback.

The fake is a real HTTP server on 127.0.0.1 (port 0): the clients go through requests,
sockets and JSON exactly as in production, and the test reads back what they sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from helpdesk.channels.base import (
    Button,
    OutboundText,
    PermanentSendError,
    RateLimited,
    SendResult,
    TransientSendError,
)
from helpdesk.channels.telegram import TelegramClient
from helpdesk.channels.whatsapp import OutsideCustomerWindow, WhatsAppClient

TG_TOKEN = "7012345678:AAHc2x9QfL0pW3t6YvR1kZ8sN4mB7dE5gJ2"
WA_TOKEN = "EAAGm0PX4ZCpsBAKZCqRkL9Zb8T0wQ"
PHONE_NUMBER_ID = "106540352242922"
WA_ID = "16315551181"
WAMID = "wamid.HBgLMTYzMTU1NTExODEVAgARGBI1QjlGMDU0RkY2QzQwNjY4RTkA"
CSAT = tuple(Button(label=str(n), data=f"csat:D0-000001:{n}") for n in range(1, 6))


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: object


@dataclass
class Canned:
    status: int
    body: object  # dict -> JSON, str -> sent as text/html
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out closes its socket: nothing worth printing


class FakeProvider:
    """Records every POST and answers with the queued canned responses, in order."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._queue: list[Canned] = []
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with provider._lock:
                    provider.requests.append(
                        Recorded(self.path, dict(self.headers.items()), json.loads(raw or b"null"))
                    )
                    canned = provider._queue.pop(0) if provider._queue else Canned(599, "empty")
                if canned.delay:
                    time.sleep(canned.delay)
                if isinstance(canned.body, str):
                    payload, content_type = canned.body.encode(), "text/html"
                else:
                    payload, content_type = json.dumps(canned.body).encode(), "application/json"
                self.send_response(canned.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in canned.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, status: int, body: object, **kwargs: Any) -> None:
        self._queue.append(Canned(status, body, **kwargs))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback address nothing listens on, so connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- Telegram -----------------------------------------------------------------------------


def tg_ok(message_id: int = 5530) -> dict:
    return {
        "ok": True,
        "result": {
            "message_id": message_id,
            "from": {"id": 7012345678, "is_bot": True, "first_name": "Поддержка Acme"},
            "chat": {"id": 111222333, "first_name": "Анна", "type": "private"},
            "date": 1718017200,
            "text": "Здравствуйте!",
        },
    }


def tg_error(code: int, description: str, **parameters: int) -> dict:
    body: dict = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def telegram(provider: FakeProvider, timeout: float = 5.0) -> TelegramClient:
    return TelegramClient(provider.url, TG_TOKEN, timeout=timeout)


def test_telegram_send_text(provider):
    provider.reply(200, tg_ok(5530))
    result = telegram(provider).send(OutboundText(recipient_id="111222333", text="Здравствуйте!"))
    assert result == SendResult(provider_message_id="5530")
    (request,) = provider.requests
    assert request.path == f"/bot{TG_TOKEN}/sendMessage"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == {"chat_id": 111222333, "text": "Здравствуйте!"}


def test_telegram_send_with_buttons_is_one_inline_keyboard_row(provider):
    provider.reply(200, tg_ok(5531))
    message = OutboundText(recipient_id="111222333", text="Оцените ответ", buttons=CSAT)
    assert telegram(provider).send(message).provider_message_id == "5531"
    (request,) = provider.requests
    assert request.body["reply_markup"] == {
        "inline_keyboard": [
            [{"text": str(n), "callback_data": f"csat:D0-000001:{n}"} for n in range(1, 6)]
        ]
    }


@pytest.mark.parametrize("data", ["x" * 65, "ж" * 33, ""])
def test_telegram_callback_data_outside_1_to_64_bytes_is_refused_before_sending(provider, data):
    message = OutboundText(recipient_id="111222333", text="?", buttons=(Button("Да", data),))
    with pytest.raises(PermanentSendError, match="64 bytes"):
        telegram(provider).send(message)
    assert provider.requests == []


def test_telegram_callback_data_of_exactly_64_bytes_is_sent(provider):
    provider.reply(200, tg_ok())
    data = "ж" * 32  # 64 bytes in UTF-8
    telegram(provider).send(OutboundText("111222333", "?", buttons=(Button("Да", data),)))
    assert (
        provider.requests[0].body["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == data
    )


def test_telegram_429_is_rate_limited_with_retry_after(provider):
    provider.reply(429, tg_error(429, "Too Many Requests: retry after 17", retry_after=17))
    with pytest.raises(RateLimited) as caught:
        telegram(provider).send(OutboundText("111222333", "Здравствуйте!"))
    assert caught.value.retry_after_seconds == 17


def test_telegram_ok_false_with_error_code_429_is_rate_limited(provider):
    provider.reply(200, tg_error(429, "Too Many Requests: retry after 9", retry_after=9))
    with pytest.raises(RateLimited) as caught:
        telegram(provider).send(OutboundText("111222333", "Здравствуйте!"))
    assert caught.value.retry_after_seconds == 9


def test_telegram_429_without_parameters_reads_the_description(provider):
    provider.reply(429, tg_error(429, "Too Many Requests: retry after 41"))
    with pytest.raises(RateLimited) as caught:
        telegram(provider).send(OutboundText("111222333", "Здравствуйте!"))
    assert caught.value.retry_after_seconds == 41


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (403, "Forbidden: bot was blocked by the user"),
        (403, "Forbidden: user is deactivated"),
        (400, "Bad Request: chat not found"),
        (400, "Bad Request: message text is empty"),
        (401, "Unauthorized"),
    ],
)
def test_telegram_client_errors_are_permanent(provider, status, description):
    provider.reply(status, tg_error(status, description))
    with pytest.raises(PermanentSendError, match=description):
        telegram(provider).send(OutboundText("111222333", "Здравствуйте!"))


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
        (502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    ],
)
def test_telegram_server_errors_are_transient(provider, status, body):
    provider.reply(status, body)
    with pytest.raises(TransientSendError):
        telegram(provider).send(OutboundText("111222333", "Здравствуйте!"))


def test_telegram_timeout_is_transient_and_does_not_leak_the_token(provider):
    provider.reply(200, tg_ok(), delay=1.0)
    with pytest.raises(TransientSendError) as caught:
        telegram(provider, timeout=0.2).send(OutboundText("111222333", "Здравствуйте!"))
    assert "timed out" in str(caught.value)
    assert TG_TOKEN not in str(caught.value)
    assert caught.value.__suppress_context__ is True


def test_telegram_connection_refused_is_transient_and_does_not_leak_the_token(closed_port_url):
    client = TelegramClient(closed_port_url, TG_TOKEN, timeout=2.0)
    with pytest.raises(TransientSendError) as caught:
        client.send(OutboundText("111222333", "Здравствуйте!"))
    assert TG_TOKEN not in str(caught.value)
    assert caught.value.__suppress_context__ is True


def test_telegram_text_over_4096_characters_is_refused_before_sending(provider):
    with pytest.raises(PermanentSendError, match="4096"):
        telegram(provider).send(OutboundText("111222333", "я" * 4097))
    assert provider.requests == []


# --- WhatsApp -----------------------------------------------------------------------------


def wa_ok(wamid: str = WAMID) -> dict:
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": WA_ID, "wa_id": WA_ID}],
        "messages": [{"id": wamid}],
    }


def wa_error(code: int, message: str, details: str) -> dict:
    return {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "AZ3mJ6b2kq0uQ1xV8yW4nTg",
        }
    }


def whatsapp(provider: FakeProvider, timeout: float = 5.0) -> WhatsAppClient:
    return WhatsAppClient(provider.url, "v21.0", WA_TOKEN, PHONE_NUMBER_ID, timeout=timeout)


def test_whatsapp_send_text(provider):
    provider.reply(200, wa_ok())
    result = whatsapp(provider).send(OutboundText(recipient_id=WA_ID, text="Hello Sheena!"))
    assert result == SendResult(provider_message_id=WAMID)
    (request,) = provider.requests
    assert request.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["Authorization"] == f"Bearer {WA_TOKEN}"
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "text",
        "text": {"preview_url": False, "body": "Hello Sheena!"},
    }


def test_whatsapp_sends_from_the_messages_own_number(provider):
    provider.reply(200, wa_ok())
    whatsapp(provider).send(OutboundText(WA_ID, "Hello", service_id="109876543210987"))
    assert provider.requests[0].path == "/v21.0/109876543210987/messages"


def test_whatsapp_button_titles_over_20_characters_or_alike_are_refused(provider):
    """Meta refuses them; cutting them would make two labels that start alike identical."""
    long = (Button("Excellent, thank you so much", "csat:D0-000001:5"),)
    with pytest.raises(PermanentSendError, match="over 20"):
        whatsapp(provider).send(OutboundText(WA_ID, "How did we do?", buttons=long))
    twins = (Button("Good", "csat:D0-000001:good"), Button("Good", "csat:D0-000001:bad"))
    with pytest.raises(PermanentSendError, match="unique"):
        whatsapp(provider).send(OutboundText(WA_ID, "How did we do?", buttons=twins))
    assert provider.requests == []


def test_whatsapp_body_of_a_message_with_buttons_is_at_most_1024_characters(provider):
    buttons = (Button("Good", "csat:D0-000001:good"),)
    with pytest.raises(PermanentSendError, match="1-1024"):
        whatsapp(provider).send(OutboundText(WA_ID, "x" * 1025, buttons=buttons))
    assert provider.requests == []


def test_whatsapp_send_buttons_as_interactive_reply_buttons(provider):
    provider.reply(200, wa_ok())
    buttons = (
        Button("Excellent, thank you", "csat:D0-000001:5"),
        Button("Okay", "csat:D0-000001:3"),
        Button("Poor", "csat:D0-000001:1"),
    )
    whatsapp(provider).send(OutboundText(WA_ID, "How did we do?", buttons=buttons))
    (request,) = provider.requests
    assert request.body["type"] == "interactive"
    assert request.body["to"] == WA_ID
    assert request.body["interactive"] == {
        "type": "button",
        "body": {"text": "How did we do?"},
        "action": {
            "buttons": [
                {
                    "type": "reply",
                    "reply": {"id": "csat:D0-000001:5", "title": "Excellent, thank you"},
                },
                {"type": "reply", "reply": {"id": "csat:D0-000001:3", "title": "Okay"}},
                {"type": "reply", "reply": {"id": "csat:D0-000001:1", "title": "Poor"}},
            ]
        },
    }


def test_whatsapp_more_than_three_choices_go_as_a_list(provider):
    provider.reply(200, wa_ok())
    whatsapp(provider).send(OutboundText(WA_ID, "Rate us", buttons=CSAT))
    interactive = provider.requests[0].body["interactive"]
    assert interactive["type"] == "list"
    rows = interactive["action"]["sections"][0]["rows"]
    assert [row["id"] for row in rows] == [f"csat:D0-000001:{n}" for n in range(1, 6)]


def test_whatsapp_more_than_ten_choices_is_refused_before_sending(provider):
    eleven = tuple(Button(label=str(n), data=f"c:{n}") for n in range(11))
    with pytest.raises(PermanentSendError, match="at most 10"):
        whatsapp(provider).send(OutboundText(WA_ID, "Pick", buttons=eleven))
    assert provider.requests == []


def test_whatsapp_send_template_with_body_parameters(provider):
    provider.reply(200, wa_ok())
    message = OutboundText(
        recipient_id=WA_ID,
        text="(fallback text is not sent with a template)",
        template_name="ticket_update",
        template_language="ru",
        template_params=("T-1042", "Анна"),
    )
    whatsapp(provider).send(message)
    (request,) = provider.requests
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "template",
        "template": {
            "name": "ticket_update",
            "language": {"code": "ru"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "T-1042"},
                        {"type": "text", "text": "Анна"},
                    ],
                }
            ],
        },
    }


def test_whatsapp_template_defaults_to_english_and_omits_empty_components(provider):
    provider.reply(200, wa_ok())
    whatsapp(provider).send(OutboundText(WA_ID, "", template_name="hello_world"))
    template = provider.requests[0].body["template"]
    assert template == {"name": "hello_world", "language": {"code": "en"}}


def test_whatsapp_template_buttons_carry_our_payloads_as_quick_replies(provider):
    """A rating pressed on a template's quick reply comes back as the payload we set."""
    provider.reply(200, wa_ok())
    message = OutboundText(
        WA_ID, "", template_name="ticket_resolved", template_params=("T-1042",), buttons=CSAT
    )
    whatsapp(provider).send(message)
    components = provider.requests[0].body["template"]["components"]
    assert components[0] == {"type": "body", "parameters": [{"type": "text", "text": "T-1042"}]}
    assert components[1:] == [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(n - 1),
            "parameters": [{"type": "payload", "payload": f"csat:D0-000001:{n}"}],
        }
        for n in range(1, 6)
    ]


def test_whatsapp_131047_is_outside_the_customer_window(provider):
    provider.reply(
        400,
        wa_error(
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the "
            "customer last replied to this number.",
        ),
    )
    with pytest.raises(OutsideCustomerWindow, match="24 hours") as caught:
        whatsapp(provider).send(OutboundText(WA_ID, "Any news?"))
    assert isinstance(caught.value, PermanentSendError)


@pytest.mark.parametrize(
    ("status", "code", "headers", "retry_after"),
    [
        (400, 131056, {}, 60),
        (400, 130429, {}, 2),  # a per-second throughput cap: the next seconds are free
        (400, 80007, {}, 30),
        (429, 4, {}, 30),
        (429, 130429, {"Retry-After": "12"}, 12),
    ],
)
def test_whatsapp_rate_limits(provider, status, code, headers, retry_after):
    provider.reply(status, wa_error(code, "Rate limit hit", "Too many messages."), headers=headers)
    with pytest.raises(RateLimited) as caught:
        whatsapp(provider).send(OutboundText(WA_ID, "Hello"))
    assert caught.value.retry_after_seconds == retry_after


def test_whatsapp_plain_429_without_an_error_body_is_rate_limited(provider):
    provider.reply(429, "Too Many Requests")
    with pytest.raises(RateLimited) as caught:
        whatsapp(provider).send(OutboundText(WA_ID, "Hello"))
    assert caught.value.retry_after_seconds == 30


@pytest.mark.parametrize(
    ("code", "title"),
    [
        (131026, "Message undeliverable"),
        (131030, "Recipient phone number not in allowed list"),
        (100, "Invalid parameter"),
        (132001, "Template name does not exist in the translation"),
    ],
)
def test_whatsapp_permanent_errors(provider, code, title):
    provider.reply(400, wa_error(code, title, f"{title}."))
    with pytest.raises(PermanentSendError, match=f"code {code}") as caught:
        whatsapp(provider).send(OutboundText(WA_ID, "Hello"))
    assert not isinstance(caught.value, OutsideCustomerWindow)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, wa_error(131000, "Something went wrong", "Something went wrong.")),
        (503, wa_error(131016, "Service unavailable", "Service is temporarily unavailable.")),
        (502, "<html>Bad Gateway</html>"),
    ],
)
def test_whatsapp_server_errors_are_transient(provider, status, body):
    provider.reply(status, body)
    with pytest.raises(TransientSendError):
        whatsapp(provider).send(OutboundText(WA_ID, "Hello"))


def test_whatsapp_timeout_is_transient(provider):
    provider.reply(200, wa_ok(), delay=1.0)
    with pytest.raises(TransientSendError, match="timed out"):
        whatsapp(provider, timeout=0.2).send(OutboundText(WA_ID, "Hello"))


def test_whatsapp_connection_refused_is_transient(closed_port_url):
    client = WhatsAppClient(closed_port_url, "v21.0", WA_TOKEN, PHONE_NUMBER_ID, timeout=2.0)
    with pytest.raises(TransientSendError) as caught:
        client.send(OutboundText(WA_ID, "Hello"))
    assert WA_TOKEN not in str(caught.value)
