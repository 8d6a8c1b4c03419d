"""Telegram webhook verification and Update parsing, driven by the sample payloads."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk.channels.base import Attachment, ButtonPress, InboundMessage, StaffPost
from helpdesk.channels.telegram import MalformedPayload, parse_update, verify_secret

EVENTS = Path(__file__).parents[2] / "events" / "telegram"
BOT = "acme_support_bot"
PRESSED = datetime(2024, 6, 10, 12, 0, 5, tzinfo=UTC)
LARGEST_PHOTO = (  # the 1280x720 size in photo_with_caption.json
    "AgACAgIAAxkBAAIVq2Zm4x8AAdXqUQABcK1kU7mWvK3hAAL02zEb0pQ5S_9ZqCmkZ0VeAQADAgADeQADNQQ"
)


def load(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def only(events: list[Any]) -> Any:
    assert len(events) == 1, events
    return events[0]


# --- secret token -------------------------------------------------------------------------


def test_secret_matches():
    assert verify_secret("s3cr3t-Token_1", "s3cr3t-Token_1") is True


@pytest.mark.parametrize(
    "header", [None, "", "s3cr3t-Token_2", "s3cr3t-Token_1 ", "S3CR3T-TOKEN_1"]
)
def test_secret_missing_or_wrong_is_refused(header):
    assert verify_secret(header, "s3cr3t-Token_1") is False


def test_empty_expected_secret_refuses_everything():
    assert verify_secret("", "") is False
    assert verify_secret("anything", "") is False


def test_secret_with_non_ascii_header_is_refused_not_crashed():
    assert verify_secret("секрет", "s3cr3t-Token_1") is False


# --- messages -----------------------------------------------------------------------------


def test_text_message():
    event = only(parse_update(load("text_message"), BOT))
    assert event == InboundMessage(
        channel="telegram",
        event_id=f"tg:{BOT}:734910382",
        service_id=BOT,
        sender_id="111222333",
        provider_message_id="5521",
        text="Здравствуйте! Не могу войти в личный кабинет после смены пароля.",
        sent_at=datetime.fromtimestamp(1718013600, tz=UTC),
        sender_name="Анна Смирнова",
        sender_username="@anna_smirnova",
        sender_phone=None,
        attachments=(),
        edited=False,
    )


def test_redelivery_gives_the_same_event_id():
    first = only(parse_update(load("text_message"), BOT))
    again = only(parse_update(load("text_message"), BOT))
    assert first.event_id == again.event_id


def test_same_update_id_on_another_bot_is_another_event():
    mine = only(parse_update(load("text_message"), BOT))
    other = only(parse_update(load("text_message"), "other_bot"))
    assert mine.event_id != other.event_id
    assert other.service_id == "other_bot"


def test_edited_message_is_flagged_and_dated_by_edit():
    original = only(parse_update(load("text_message"), BOT))
    edit = only(parse_update(load("edited_message"), BOT))
    assert isinstance(edit, InboundMessage)
    assert edit.edited is True
    assert edit.provider_message_id == original.provider_message_id == "5521"
    assert edit.event_id != original.event_id
    assert edit.sent_at == datetime.fromtimestamp(1718013725, tz=UTC)
    assert "неверный код" in edit.text


def test_photo_keeps_the_largest_size_and_the_caption():
    event = only(parse_update(load("photo_with_caption"), BOT))
    assert isinstance(event, InboundMessage)
    assert event.text == "Вот что показывает приложение при входе"
    (photo,) = event.attachments
    assert photo.kind == "photo"
    assert photo.caption == event.text
    assert photo.file_id == LARGEST_PHOTO


def test_photo_largest_is_chosen_by_area_not_by_position():
    body = load("photo_with_caption")
    body["message"]["photo"].reverse()
    (photo,) = only(parse_update(body, BOT)).attachments
    assert photo.file_id == LARGEST_PHOTO


def test_document_keeps_name_mime_and_caption():
    event = only(parse_update(load("document_with_caption"), BOT))
    assert event.text == "Счёт по заказу 48213, оплата не прошла"
    assert event.attachments == (
        Attachment(
            kind="document",
            file_id="BQACAgIAAxkBAAIVrGZm41FpvL2d49kAAbD6lJkZEOptwgACT04AAn0OOUtl22Kt4k6gRzUE",
            caption="Счёт по заказу 48213, оплата не прошла",
            mime_type="application/pdf",
            file_name="schet_48213.pdf",
        ),
    )


@pytest.mark.parametrize("kind", ["audio", "video", "voice"])
def test_other_media_become_attachments(kind):
    body = load("document_with_caption")
    media = body["message"].pop("document")
    media.pop("thumbnail")
    media["mime_type"] = {"audio": "audio/mpeg", "video": "video/mp4", "voice": "audio/ogg"}[kind]
    body["message"][kind] = media
    event = only(parse_update(body, BOT))
    (attachment,) = event.attachments
    assert attachment.kind == kind
    assert attachment.file_id == media["file_id"]
    assert attachment.mime_type == media["mime_type"]


def test_media_without_caption_has_empty_text():
    body = load("photo_with_caption")
    del body["message"]["caption"]
    event = only(parse_update(body, BOT))
    assert event.text == ""
    assert event.attachments[0].caption is None


def test_urgent_message_text_is_kept_verbatim():
    event = only(parse_update(load("urgent_message"), BOT))
    assert event.text.startswith("СРОЧНО!")
    assert event.event_id == f"tg:{BOT}:734910394"


def test_sender_name_falls_back_to_username():
    body = load("text_message")
    for part in ("from", "chat"):
        body["message"][part]["first_name"] = ""
        body["message"][part].pop("last_name")
    assert only(parse_update(body, BOT)).sender_name == "anna_smirnova"


# --- button presses -----------------------------------------------------------------------


def test_callback_query_becomes_a_button_press():
    event = only(parse_update(load("callback_query"), BOT, received_at=PRESSED))
    assert event == ButtonPress(
        channel="telegram",
        event_id=f"tg:{BOT}:734910391",
        service_id=BOT,
        sender_id="111222333",
        data="csat:D0-000001:5",
        pressed_at=PRESSED,
        callback_query_id="477938610293746588",
        replied_to_message_id="5530",
    )


def test_callback_query_without_received_at_is_stamped_now():
    before = datetime.now(UTC)
    event = only(parse_update(load("callback_query"), BOT))
    assert before <= event.pressed_at <= datetime.now(UTC)


def test_callback_on_an_inaccessible_message_still_counts():
    body = load("callback_query")
    chat = body["callback_query"]["message"]["chat"]
    body["callback_query"]["message"] = {"chat": chat, "message_id": 5530, "date": 0}
    event = only(parse_update(body, BOT, received_at=PRESSED))
    assert event.data == "csat:D0-000001:5"
    assert event.replied_to_message_id == "5530"


# --- ignored updates ----------------------------------------------------------------------


def test_group_message_is_ignored():
    assert parse_update(load("group_message"), BOT) == []


@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
def test_non_private_chats_never_become_client_messages(chat_type):
    body = load("text_message")
    body["message"]["chat"] = {"id": -1001234567890, "title": "Acme", "type": chat_type}
    events = parse_update(body, BOT)
    # A supergroup may be a staff group: its messages are staff posts (the staff room decides
    # whether to listen), never a client's message that would open a ticket.
    assert all(isinstance(event, StaffPost) for event in events)
    assert len(events) == (1 if chat_type == "supergroup" else 0)


def test_my_chat_member_is_ignored():
    assert parse_update(load("my_chat_member"), BOT) == []


def test_other_update_types_are_ignored():
    body = {"update_id": 734910400, "channel_post": load("text_message")["message"]}
    assert parse_update(body, BOT) == []


def test_update_with_only_an_id_is_ignored():
    assert parse_update({"update_id": 734910401}, BOT) == []


def test_message_with_nothing_to_answer_is_ignored():
    body = load("text_message")
    del body["message"]["text"]
    body["message"]["location"] = {"latitude": 55.7558, "longitude": 37.6173}
    assert parse_update(body, BOT) == []


def test_callback_in_a_group_is_ignored():
    body = load("callback_query")
    body["callback_query"]["message"]["chat"] = {"id": -4098765432, "title": "x", "type": "group"}
    assert parse_update(body, BOT, received_at=PRESSED) == []


def test_inline_mode_callback_without_message_is_ignored():
    body = load("callback_query")
    del body["callback_query"]["message"]
    body["callback_query"]["inline_message_id"] = "AgAAAHcgAADmmjUpwDWe5w"
    assert parse_update(body, BOT, received_at=PRESSED) == []


# --- malformed bodies ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, [], "update", 42])
def test_non_object_body_is_malformed(body):
    with pytest.raises(MalformedPayload, match="JSON object"):
        parse_update(body, BOT)


def test_missing_update_id_is_malformed():
    body = load("text_message")
    del body["update_id"]
    with pytest.raises(MalformedPayload, match="update_id"):
        parse_update(body, BOT)


@pytest.mark.parametrize("bad", ["734910382", 7.5, None, True])
def test_update_id_of_wrong_type_is_malformed(bad):
    body = load("text_message")
    body["update_id"] = bad
    with pytest.raises(MalformedPayload, match="update_id"):
        parse_update(body, BOT)


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("message", "chat"), None, "message.chat"),
        (("message", "date"), "yesterday", "message.date"),
        (("message", "chat", "id"), "111222333", "message.chat.id"),
        (("message", "text"), 5, "message.text"),
        (("message", "photo"), {"file_id": "x"}, "message.photo"),
    ],
)
def test_wrong_types_inside_a_message_are_malformed(path, value, named):
    body = load("text_message")
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(MalformedPayload, match=named.replace(".", r"\.")):
        parse_update(body, BOT)


def test_out_of_range_date_is_malformed():
    body = load("text_message")
    body["message"]["date"] = 10**20
    with pytest.raises(MalformedPayload, match="date"):
        parse_update(body, BOT)


def test_callback_query_without_id_is_malformed():
    body = load("callback_query")
    del body["callback_query"]["id"]
    with pytest.raises(MalformedPayload, match=r"callback_query\.id"):
        parse_update(body, BOT)


def test_malformed_payload_is_a_value_error():
    assert issubclass(MalformedPayload, ValueError)


def test_parsing_does_not_modify_the_body():
    body = load("photo_with_caption")
    snapshot = copy.deepcopy(body)
    parse_update(body, BOT)
    assert body == snapshot
