"""What we send to the Bot API, checked against aiogram's method models (a library that is
not ours and follows the Bot API's own types): a field we misname or mistype fails here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage

from helpdesk import incidents
from helpdesk.channels import telegram
from helpdesk.channels.base import Button, OutboundText
from helpdesk.models import Actor


def valid(model: Any, payload: dict[str, Any]) -> Any:
    # extra fields are what aiogram forbids for methods it does not know: check them too
    parsed = model.model_validate(payload)
    assert set(payload) <= set(model.model_fields), payload
    return parsed


@pytest.mark.parametrize(
    "message",
    [
        OutboundText(recipient_id="111222333", text="Здравствуйте!"),
        OutboundText(recipient_id="-1001234567890", text="🔴 Сбой INC-000001\nНе работает вход"),
        OutboundText(recipient_id="@helpdesk_incidents", text="channel by username"),
        OutboundText(
            recipient_id="111222333",
            text="Оцените, пожалуйста",
            buttons=(Button("👍 Хорошо", "csat:D0-000001:good"), Button("👎 Плохо", "csat:x:b")),
        ),
    ],
)
def test_send_message_is_a_valid_send_message(message: OutboundText) -> None:
    parsed = valid(SendMessage, telegram.send_message_payload(message))
    assert parsed.text == message.text


def test_the_channel_post_edit_is_a_valid_edit_message_text() -> None:
    payload = telegram.edit_message_payload("-1001234567890", "500", "✅ Решено: INC-000001")
    parsed = valid(EditMessageText, payload)
    assert (parsed.chat_id, parsed.message_id) == (-1001234567890, 500)


def test_the_webhook_reply_to_a_button_is_a_valid_answer_callback_query() -> None:
    reply = telegram.answer_callback_query("4382bfdwdsb323b2d9", "Спасибо!")
    assert reply.pop("method") == "answerCallbackQuery"
    valid(AnswerCallbackQuery, reply)


def test_an_incident_notice_fits_send_message() -> None:
    notice = incidents.start(
        "INC-000002",
        actor=Actor(user_id="ic", roles=frozenset()),
        severity="red",
        directions=["d0"],
        text={"ru": "x" * incidents.MAX_TEXT},
        eta=None,
        channels=None,
        now=datetime(2026, 11, 26, tzinfo=UTC),
    )
    text = incidents.client_text(notice, notice.posts[0], "ru")
    valid(SendMessage, telegram.send_message_payload(OutboundText("1", text)))
