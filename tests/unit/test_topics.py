"""A ticket's topic in the staff group, without AWS: who gets one, its name, what is posted
and how, what staff ask for; the forum updates as Telegram sends them and what we send back,
checked against aiogram's models (the Bot API's types, written by others)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.methods import (
    CloseForumTopic,
    CreateForumTopic,
    EditForumTopic,
    ReopenForumTopic,
    SendMessage,
)
from aiogram.types import Update

from helpdesk import topics
from helpdesk.channels import telegram
from helpdesk.channels.base import PermanentSendError, StaffPost
from helpdesk.models import (
    Category,
    Channel,
    DeliveryState,
    Message,
    MessageKind,
    Priority,
    Status,
    Ticket,
    time_ordered_id,
)
from helpdesk.settings import StaffGroupConfig
from helpdesk.tickets import TicketChange
from tests.support import load_event

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
BOT = "7012345678"
ALL = StaffGroupConfig(chat_id="-1001987654321")
CHOSEN = StaffGroupConfig(
    chat_id="-1001987654321", topics="chosen", min_priority="high", categories=["complaint"]
)


def ticket(**values: Any) -> Ticket:
    base = {
        "id": "D0-000123",
        "direction": "d0",
        "channel": Channel.TELEGRAM,
        "customer_id": "c1",
        "customer_name": "Анна Смирнова",
        "subject": "Не могу войти в личный кабинет",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Ticket.model_validate({**base, **values})


def message(kind: MessageKind, text: str = "text", **values: Any) -> Message:
    return Message(
        ticket_id="D0-000123",
        kind=kind,
        author=values.pop("author", "customer"),
        text=text,
        at=NOW,
        channel=Channel.TELEGRAM,
        **values,
    )


def test_every_ticket_or_the_chosen_ones_get_a_topic() -> None:
    assert topics.wants_topic(ticket(), ALL)
    assert not topics.wants_topic(ticket(), CHOSEN)
    assert topics.wants_topic(ticket(priority=Priority.HIGH), CHOSEN)
    assert topics.wants_topic(ticket(priority=Priority.URGENT), CHOSEN)
    assert topics.wants_topic(ticket(category=Category.COMPLAINT), CHOSEN)
    assert not topics.wants_topic(ticket(category=Category.QUESTION), CHOSEN)
    nothing = StaffGroupConfig(chat_id="-1001987654321", topics="chosen")
    assert not topics.wants_topic(ticket(priority=Priority.URGENT), nothing)


def test_the_name_shows_status_number_client_and_subject_within_128() -> None:
    assert (
        topics.topic_name(ticket())
        == "🆕 D0-000123 · Анна Смирнова · Не могу войти в личный кабинет"
    )
    assert topics.topic_name(ticket(status=Status.ON_HOLD)).startswith("⏸ D0-000123")
    long = topics.topic_name(ticket(subject="x" * 300, customer_name="  Anna \n Smith  "))
    assert len(long) == topics.NAME_MAX and long.endswith("…") and "Anna Smith" in long
    anonymous = topics.topic_name(ticket(customer_name=None, customer_address="+79001234567"))
    assert "+79001234567" in anonymous


def test_what_the_topic_shows() -> None:
    assert topics.mirrored(message(MessageKind.INBOUND))
    assert topics.mirrored(message(MessageKind.REPLY, author="agent-1"))
    assert topics.mirrored(message(MessageKind.COMMENT, author="agent-1"))
    assert not topics.mirrored(message(MessageKind.COMMENT, origin=topics.FROM_TOPIC))
    assert not topics.mirrored(message(MessageKind.REPLY, origin=topics.FROM_TOPIC))
    assert not topics.mirrored(message(MessageKind.AUTO, delivery=DeliveryState.QUEUED))
    lead_chat = message(MessageKind.NOTICE, delivery=DeliveryState.QUEUED, recipient_id="555")
    assert not topics.mirrored(lead_chat)  # the dispatcher's, to the lead's own chat
    assert topics.mirrored(topics.group_notice(ticket(), "🚨 overdue", NOW))


def test_a_change_has_news_for_the_topic_when_it_shows_or_renames_something() -> None:
    before = ticket()
    said = TicketChange(before, [], [message(MessageKind.INBOUND)])
    assert topics.has_news(None, TicketChange(before), ALL)
    assert topics.has_news(before, said, ALL)
    assert not topics.has_news(before, said, CHOSEN)
    assert not topics.has_news(before, TicketChange(before.model_copy(update={"version": 2})), ALL)
    resolved = TicketChange(before.model_copy(update={"status": Status.RESOLVED}))
    assert topics.has_news(before, resolved, ALL)
    chosen_now = TicketChange(before.model_copy(update={"category": Category.COMPLAINT}))
    assert topics.has_news(before, chosen_now, CHOSEN)
    notice = TicketChange(before, [], [topics.group_notice(before, "⚠️ due soon", NOW)])
    assert topics.has_news(before, notice, CHOSEN)  # to the general topic


def test_entries_name_their_author_and_attachments() -> None:
    photo = {"kind": "photo", "file_id": "f1"}
    document = {"kind": "document", "file_id": "f2", "file_name": "invoice.pdf"}
    inbound = message(MessageKind.INBOUND, "see both", attachments=[photo, document])
    assert topics.entry(inbound, ticket()) == (
        "👤 Анна Смирнова\nsee both\n📎 photo\n📎 invoice.pdf (document)"
    )
    reply = message(MessageKind.REPLY, "Try again", author="agent-1")
    assert topics.entry(reply, ticket()) == "↩️ agent-1 → Анна Смирнова\nTry again"
    assert topics.entry(topics.group_notice(ticket(), "🚨 overdue", NOW), ticket()) == "🚨 overdue"


def test_entries_are_joined_into_few_posts_within_the_limit() -> None:
    assert topics.posts(["a", "b", "c"]) == ["a\n\nb\n\nc"]
    assert topics.posts(["a" * 6, "b" * 6], limit=10) == ["a" * 6, "b" * 6]
    assert topics.posts(["x" * 25], limit=10) == ["x" * 10, "x" * 10, "x" * 5]
    many = topics.posts([f"entry {n}" for n in range(2000)])
    assert all(len(post) <= topics.POST_MAX for post in many) and len(many) < 10


@pytest.mark.parametrize(
    ("text", "replying", "expected"),
    [
        ("/reply We fixed it", False, (True, "We fixed it")),
        (
            "/reply@acme_support_bot We fixed it\nsecond line",
            False,
            (True, "We fixed it\nsecond line"),
        ),
        ("/REPLY   spaced", False, (True, "spaced")),
        ("Checked the logs", False, (False, "Checked the logs")),
        ("Which device?", True, (True, "Which device?")),
        ("/replying is not the command", False, (False, "/replying is not the command")),
        ("/reply", False, (True, "")),
    ],
)
def test_staff_ask_for_a_comment_or_a_reply(
    text: str, replying: bool, expected: tuple[bool, str]
) -> None:
    words = topics.staff_words(text, replying)
    assert (words.to_client, words.text) == expected


def test_late_messages_within_the_skew_are_still_found() -> None:
    cursor = time_ordered_id(NOW)
    start = topics.window_start(cursor)
    assert start is not None and start < time_ordered_id(NOW.replace(second=59, minute=59, hour=8))
    older = time_ordered_id(NOW.replace(hour=8, minute=58))
    assert topics.still_recent([older, cursor], cursor) == [cursor]
    assert topics.window_start(None) is None


# -- the forum updates, as Telegram sends them ------------------------------------------


FORUM = [
    "topic_created",
    "staff_message",
    "staff_reply_command",
    "staff_reply_to_client_post",
    "stranger_message",
    "bot_post",
    "general_message",
    "staff_document",
]


@pytest.mark.parametrize("name", FORUM)
def test_the_samples_are_bot_api_updates(name: str) -> None:
    Update.model_validate(load_event(f"telegram/forum/{name}"))


def parse(name: str) -> list[Any]:
    return telegram.parse_update(load_event(f"telegram/forum/{name}"), BOT)


def test_a_message_in_a_topic_is_a_staff_post_not_a_reply() -> None:
    (post,) = parse("staff_message")
    assert isinstance(post, StaffPost)
    assert (post.chat_id, post.thread_id, post.author_id) == ("-1001987654321", "57", "5511223344")
    assert post.author_name == "Olga Smirnova" and not post.author_is_bot
    assert post.reply_to_author_id is None  # the topic's own first message is no reply


def test_a_reply_to_the_bots_post_names_it() -> None:
    (post,) = parse("staff_reply_to_client_post")
    assert post.reply_to_author_id == BOT
    assert (post.reply_to_text or "").startswith(topics.CLIENT_MARK)


def test_service_messages_general_topic_bots_and_files() -> None:
    assert parse("topic_created") == []
    (general,) = parse("general_message")
    assert general.thread_id is None
    (bot,) = parse("bot_post")
    assert bot.author_is_bot
    (document,) = parse("staff_document")
    assert document.text == "Лог сервера за вчера"
    assert document.attachments[0].file_name == "server-log.txt"


def test_an_edit_in_the_group_is_not_taken_again() -> None:
    update = load_event("telegram/forum/staff_message")
    update["edited_message"] = {**update.pop("message"), "edit_date": 1733216500}
    assert telegram.parse_update(update, BOT) == []


# -- what we send: aiogram's method models ---------------------------------------------


def valid(model: Any, payload: dict[str, Any]) -> Any:
    parsed = model.model_validate(payload)
    assert set(payload) <= set(model.model_fields), payload
    return parsed


def test_topic_calls_are_valid_bot_api_methods() -> None:
    name = topics.topic_name(ticket(subject="y" * 300))
    created = valid(CreateForumTopic, telegram.create_topic_payload("-1001987654321", name))
    assert created.chat_id == -1001987654321 and len(created.name) == 128
    edited = valid(EditForumTopic, telegram.edit_topic_payload("-1001987654321", "57", name))
    assert edited.message_thread_id == 57
    for method in (CloseForumTopic, ReopenForumTopic):
        assert valid(method, telegram.topic_payload("-1001987654321", "57")).message_thread_id == 57
    post = valid(SendMessage, telegram.topic_post_payload("-1001987654321", "57", "👤 Анна\nтекст"))
    assert post.message_thread_id == 57
    general = valid(SendMessage, telegram.topic_post_payload("-1001987654321", None, "🚨"))
    assert general.message_thread_id is None


def test_a_topic_name_outside_1_to_128_is_refused_before_sending() -> None:
    with pytest.raises(PermanentSendError):
        telegram.create_topic_payload("-1001987654321", "x" * 129)
    with pytest.raises(PermanentSendError):
        telegram.create_topic_payload("-1001987654321", "  ")
