"""WhatsApp webhook verification and notification parsing, driven by the sample payloads."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk.channels.base import Attachment, ButtonPress, DeliveryStatus, InboundMessage
from helpdesk.channels.whatsapp import (
    MalformedPayload,
    parse_notification,
    verify_challenge,
    verify_signature,
)

EVENTS = Path(__file__).parents[2] / "events" / "whatsapp"
PHONE_NUMBER_ID = "106540352242922"
WA_ID = "16315551181"
APP_SECRET = "0f3c1d5e9a7b4c2d8e6f1a3b5c7d9e0f"
SENT_WAMID = "wamid.HBgLMTYzMTU1NTExODEVAgARGBI1QjlGMDU0RkY2QzQwNjY4RTkA"


def load(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def raw(name: str) -> bytes:
    return (EVENTS / f"{name}.json").read_bytes()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def only(events: list[Any]) -> Any:
    assert len(events) == 1, events
    return events[0]


def first_value(body: dict) -> dict:
    return body["entry"][0]["changes"][0]["value"]


# --- X-Hub-Signature-256 ------------------------------------------------------------------


def test_signature_of_the_raw_body_is_accepted():
    body = raw("text_message")
    assert verify_signature(body, sign(body), APP_SECRET) is True


def test_signature_accepts_the_body_as_text_too():
    body = raw("text_message")
    assert verify_signature(body.decode("utf-8"), sign(body), APP_SECRET) is True


def test_signature_with_uppercase_hex_is_accepted():
    body = raw("text_message")
    header = "sha256=" + sign(body).split("=", 1)[1].upper()
    assert verify_signature(body, header, APP_SECRET) is True


def test_tampered_body_is_refused():
    body = raw("text_message")
    header = sign(body)
    tampered = body.replace(b"pending", b"shipped")
    assert tampered != body
    assert verify_signature(tampered, header, APP_SECRET) is False


def test_reserialised_json_is_refused():
    body = raw("text_message")
    reserialised = json.dumps(json.loads(body)).encode()
    assert verify_signature(reserialised, sign(body), APP_SECRET) is False


def test_signature_made_with_another_secret_is_refused():
    body = raw("text_message")
    assert verify_signature(body, sign(body, "another-secret"), APP_SECRET) is False


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "0" * 64,
        "sha256=not-hex-at-all",
        "sha256=" + "0" * 64,
        "sha256=ǅ" + "0" * 63,
    ],
)
def test_missing_or_malformed_signature_is_refused(header):
    assert verify_signature(raw("text_message"), header, APP_SECRET) is False


def test_empty_app_secret_refuses_everything():
    body = raw("text_message")
    assert verify_signature(body, sign(body, ""), "") is False


# --- GET verification ---------------------------------------------------------------------


def hub(mode="subscribe", token="vt-6f1e2d", challenge="1158201444") -> dict[str, str]:
    params = {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}
    return {key: value for key, value in params.items() if value is not None}


def test_challenge_is_echoed_when_token_matches():
    assert verify_challenge(hub(), "vt-6f1e2d") == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        hub(token="vt-wrong"),
        hub(token=None),
        hub(mode="unsubscribe"),
        hub(mode=None),
        hub(challenge=None),
        hub(challenge=""),
        {},
    ],
)
def test_challenge_is_refused(params):
    assert verify_challenge(params, "vt-6f1e2d") is None


def test_challenge_refused_when_no_verify_token_is_configured():
    assert verify_challenge(hub(token=""), "") is None


# --- messages -----------------------------------------------------------------------------


def test_text_message():
    event = only(parse_notification(load("text_message")))
    assert event == InboundMessage(
        channel="whatsapp",
        event_id="wa:wamid.HBgLMTYzMTU1NTExODEVAgASGBQzQUI0NkM5RTNGMDUxQjc5NDVBNgA=",
        service_id=PHONE_NUMBER_ID,
        sender_id=WA_ID,
        provider_message_id="wamid.HBgLMTYzMTU1NTExODEVAgASGBQzQUI0NkM5RTNGMDUxQjc5NDVBNgA=",
        text="Hi, my order #48213 still shows as pending. Can you check?",
        sent_at=datetime.fromtimestamp(1749416383, tz=UTC),
        sender_name="Sheena Nelson",
        sender_phone="+16315551181",
        attachments=(),
        edited=False,
    )


def test_redelivery_gives_the_same_event_id():
    assert (
        only(parse_notification(load("text_message"))).event_id
        == only(parse_notification(load("text_message"))).event_id
    )


def test_interactive_button_reply_is_a_button_press():
    event = only(parse_notification(load("interactive_button_reply")))
    assert event == ButtonPress(
        channel="whatsapp",
        event_id="wa:wamid.HBgLMTYzMTU1NTExODEVAgASGBQzQTdGRDJFMTRCMkI2QjY0MjQwQgA=",
        service_id=PHONE_NUMBER_ID,
        sender_id=WA_ID,
        data="csat:D0-000001:good",
        pressed_at=datetime.fromtimestamp(1749420015, tz=UTC),
        callback_query_id=None,
        replied_to_message_id="wamid.HBgLMTYzMTU1NTExODEVAgARGBIzRDYyQTk5QjBFNzE4QzA1QjgA",
    )


def test_interactive_list_reply_is_a_button_press_with_the_row_id():
    event = only(parse_notification(load("interactive_list_reply")))
    assert isinstance(event, ButtonPress)
    assert event.data == "csat:D0-000001:5"
    assert event.replied_to_message_id == (
        "wamid.HBgLMTYzMTU1NTExODEVAgARGBI3QUQ0QzE5ODgyOTlGOUM0RkEA"
    )


def test_template_quick_reply_button_uses_the_payload():
    body = load("interactive_button_reply")
    message = first_value(body)["messages"][0]
    del message["interactive"]
    message["type"] = "button"
    message["button"] = {"payload": "csat:D0-000001:4", "text": "Good"}
    event = only(parse_notification(body))
    assert isinstance(event, ButtonPress)
    assert event.data == "csat:D0-000001:4"


def test_image_with_caption():
    event = only(parse_notification(load("image_with_caption")))
    assert isinstance(event, InboundMessage)
    assert event.text == "This is the error I get at checkout"
    assert event.attachments == (
        Attachment(
            kind="image",
            file_id="1003383421387256",
            caption="This is the error I get at checkout",
            mime_type="image/jpeg",
            file_name=None,
        ),
    )


def test_document_keeps_its_filename():
    body = load("image_with_caption")
    message = first_value(body)["messages"][0]
    message["type"] = "document"
    message["document"] = {
        "caption": "Invoice",
        "filename": "invoice_48213.pdf",
        "mime_type": "application/pdf",
        "sha256": "5Kd0d1u4m3Qb7hE0N0uGv6Qk2fH3G1yYH2w0T3mKx0c=",
        "id": "2209476582838374",
    }
    del message["image"]
    (attachment,) = only(parse_notification(body)).attachments
    assert attachment == Attachment(
        kind="document",
        file_id="2209476582838374",
        caption="Invoice",
        mime_type="application/pdf",
        file_name="invoice_48213.pdf",
    )


@pytest.mark.parametrize(
    ("media_type", "media", "kind"),
    [
        ("audio", {"mime_type": "audio/ogg; codecs=opus", "id": "11", "voice": True}, "voice"),
        ("audio", {"mime_type": "audio/mpeg", "id": "12", "voice": False}, "audio"),
        ("video", {"mime_type": "video/mp4", "id": "13", "caption": "Look"}, "video"),
        ("sticker", {"mime_type": "image/webp", "id": "14", "animated": False}, "sticker"),
    ],
)
def test_other_media_become_attachments(media_type, media, kind):
    body = load("image_with_caption")
    message = first_value(body)["messages"][0]
    del message["image"]
    message["type"] = media_type
    message[media_type] = media
    event = only(parse_notification(body))
    (attachment,) = event.attachments
    assert attachment.kind == kind
    assert attachment.file_id == media["id"]
    assert attachment.mime_type == media["mime_type"]
    assert event.text == media.get("caption", "")


def test_unsupported_message_is_ignored():
    assert parse_notification(load("unsupported_message")) == []


@pytest.mark.parametrize(
    ("message_type", "content"),
    [
        ("reaction", {"message_id": SENT_WAMID, "emoji": "\U0001f44d"}),
        ("system", {"body": "User changed number", "type": "user_changed_number"}),
        ("location", {"latitude": 37.4611978, "longitude": -122.2164385}),
    ],
)
def test_other_message_types_are_ignored(message_type, content):
    body = load("text_message")
    message = first_value(body)["messages"][0]
    del message["text"]
    message["type"] = message_type
    message[message_type] = content
    assert parse_notification(body) == []


def test_flow_reply_is_not_a_button_press():
    body = load("interactive_button_reply")
    message = first_value(body)["messages"][0]
    message["interactive"] = {
        "type": "nfm_reply",
        "nfm_reply": {"name": "flow", "body": "Sent", "response_json": "{}"},
    }
    assert parse_notification(body) == []


def test_sender_name_is_none_without_contacts():
    body = load("text_message")
    del first_value(body)["contacts"]
    assert only(parse_notification(body)).sender_name is None


# --- statuses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "timestamp"),
    [
        ("status_sent", "sent", 1749419990),
        ("status_delivered", "delivered", 1749419992),
        ("status_read", "read", 1749420004),
    ],
)
def test_delivery_statuses_keep_conversation_and_pricing(name, status, timestamp):
    body = load(name)
    given = first_value(body)["statuses"][0]
    event = only(parse_notification(body))
    assert event == DeliveryStatus(
        channel="whatsapp",
        event_id=f"wa:{SENT_WAMID}:{status}",
        service_id=PHONE_NUMBER_ID,
        provider_message_id=SENT_WAMID,
        recipient_id=WA_ID,
        status=status,
        at=datetime.fromtimestamp(timestamp, tz=UTC),
        conversation={  # nested objects flattened to scalars the store can hold
            **{k: v for k, v in given["conversation"].items() if k != "origin"},
            "origin.type": given["conversation"]["origin"]["type"],
        },
        pricing=given["pricing"],  # flat already: kept as Meta sent it
        error=None,
    )
    assert event.pricing["pricing_model"] == "PMP"


def test_each_status_of_one_message_is_its_own_event():
    ids = {
        only(parse_notification(load(name))).event_id
        for name in ("status_sent", "status_delivered", "status_read")
    }
    assert len(ids) == 3


def test_failed_status_keeps_the_errors():
    event = only(parse_notification(load("status_failed")))
    assert isinstance(event, DeliveryStatus)
    assert event.status == "failed"
    assert event.conversation == {} and event.pricing == {}
    assert event.error == "131026 Message undeliverable: Message Undeliverable."


def test_unknown_status_values_are_ignored():
    body = load("status_sent")
    first_value(body)["statuses"][0]["status"] = "deleted"
    assert parse_notification(body) == []


def test_several_items_in_one_notification_are_all_parsed_in_order():
    body = load("text_message")
    value = first_value(body)
    value["statuses"] = first_value(load("status_read"))["statuses"]
    extra_change = load("image_with_caption")["entry"][0]["changes"][0]
    body["entry"].append({"id": "102290129340398", "changes": [extra_change]})
    events = parse_notification(body)
    assert [type(e).__name__ for e in events] == [
        "InboundMessage",
        "DeliveryStatus",
        "InboundMessage",
    ]
    assert isinstance(events[2], InboundMessage)
    assert events[2].attachments[0].kind == "image"


def test_non_messages_fields_are_ignored():
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {
                            "event": "APPROVED",
                            "message_template_id": 1209874554383791,
                            "message_template_name": "csat_request",
                            "message_template_language": "en",
                            "reason": "NONE",
                        },
                    }
                ],
            }
        ],
    }
    assert parse_notification(body) == []


# --- malformed bodies ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, [], "text", 1])
def test_non_object_body_is_malformed(body):
    with pytest.raises(MalformedPayload, match="JSON object"):
        parse_notification(body)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"object": "page", "entry": []}, "object"),
        ({"entry": []}, "object"),
        ({"object": "whatsapp_business_account"}, "entry"),
        ({"object": "whatsapp_business_account", "entry": {}}, "entry"),
        ({"update_id": 734910382, "message": {}}, "object"),
    ],
)
def test_not_a_notification_is_malformed(body, named):
    with pytest.raises(MalformedPayload, match=named):
        parse_notification(body)


def test_messages_value_without_metadata_is_malformed():
    body = load("text_message")
    del first_value(body)["metadata"]
    with pytest.raises(MalformedPayload, match="metadata"):
        parse_notification(body)


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("id", None, r"messages\.0\.id"),
        ("from", 16315551181, r"messages\.0\.from"),
        ("timestamp", "yesterday", "timestamp"),
        ("timestamp", "99999999999999999999", "timestamp"),
        ("timestamp", True, "timestamp"),
        ("text", None, "text"),
    ],
)
def test_broken_message_is_malformed(key, value, named):
    body = load("text_message")
    message = first_value(body)["messages"][0]
    if value is None:
        del message[key]
    else:
        message[key] = value
    with pytest.raises(MalformedPayload, match=named):
        parse_notification(body)


def test_media_message_without_media_object_is_malformed():
    body = load("image_with_caption")
    del first_value(body)["messages"][0]["image"]
    with pytest.raises(MalformedPayload, match="image"):
        parse_notification(body)


def test_button_reply_without_its_reply_is_malformed():
    body = load("interactive_button_reply")
    del first_value(body)["messages"][0]["interactive"]["button_reply"]
    with pytest.raises(MalformedPayload, match="button_reply"):
        parse_notification(body)


def test_status_without_recipient_is_malformed():
    body = load("status_sent")
    del first_value(body)["statuses"][0]["recipient_id"]
    with pytest.raises(MalformedPayload, match="recipient_id"):
        parse_notification(body)
