"""E-mail on moto: SES's notifications through the intake function, the mail we send through
the dispatcher and SES, bounces and complaints, loops and redeliveries."""

from __future__ import annotations

import copy
import json
import re
from email import policy
from email.parser import BytesParser
from typing import Any

import boto3
import pytest
import requests
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from helpdesk.settings import get_settings
from helpdesk.store import Store
from infra.lambda_runtime import LambdaContext, load_function
from infra.template import functions
from tests.integration.conftest import Api
from tests.support import EVENTS, DispatchDriver, load_event

BUCKET = "helpdesk-test-mail"
MAILBOX = "support@helpdesk.example"
CONFIG = {
    "directions": [
        {
            "id": "d0",
            "email": {
                "mailboxes": [MAILBOX],
                "sender_name": "Поддержка D0",
                "signature": "Служба поддержки D0",
            },
        },
        {"id": "d1", "language": "en", "email": {"mailboxes": ["help@d1.example"]}},
    ]
}
MB = 1024 * 1024


class Mailroom:
    """Puts a raw mail where SES would and hands the intake SES's notification of it."""

    def __init__(self, aws: dict[str, Any], dispatcher: DispatchDriver) -> None:
        self.aws = aws
        self.s3 = boto3.client("s3")
        self.spec = functions()["EmailIntakeFunction"]
        self.module = load_function(self.spec)
        self.dispatcher = dispatcher
        self.count = 0

    def raw(self, name: str) -> bytes:
        return (EVENTS / "email" / name).read_bytes()

    def deliver(
        self,
        raw: bytes,
        to: str = MAILBOX,
        verdicts: dict[str, str] | None = None,
        ses_id: str | None = None,
    ) -> list[str]:
        self.count += 1
        ses_id = ses_id or f"sesid{self.count:035d}"
        self.s3.put_object(Bucket=BUCKET, Key=f"inbound/{ses_id}", Body=raw)
        event = load_event("email/sns_received")
        note = json.loads(event["Records"][0]["Sns"]["Message"])
        note["mail"]["messageId"] = ses_id
        note["receipt"]["recipients"] = [to]
        note["receipt"]["action"].update(bucketName=BUCKET, objectKey=f"inbound/{ses_id}")
        for name, status in (verdicts or {}).items():
            note["receipt"][f"{name}Verdict"] = {"status": status}
        event["Records"][0]["Sns"]["Message"] = json.dumps(note)
        return self.invoke(event)

    def invoke(self, event: dict[str, Any]) -> list[str]:
        result = self.module.lambda_handler(event, LambdaContext(self.spec.logical_id))
        return list(result["handled"])

    def send_all(self) -> list[Any]:
        """Run every queued job through the dispatcher with the real e-mail sender (SES)."""
        self.dispatcher.drain()
        return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


@pytest.fixture
def mailroom(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, dispatcher: DispatchDriver
) -> Mailroom:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("ses").verify_domain_identity(Domain="helpdesk.example")
    boto3.client("ses").verify_domain_identity(Domain="d1.example")
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(CONFIG))
    monkeypatch.setenv("EMAIL_BUCKET", BUCKET)
    monkeypatch.delenv("EMAIL_OUTBOX_URL", raising=False)
    get_settings.cache_clear()
    return Mailroom(aws, dispatcher)


def tickets_of(address: str) -> list[Any]:
    store = Store()
    identity = store.identities.get("email", address)
    assert identity is not None
    return store.tickets.of_customer(identity["customer_id"])


def conversation(ticket_id: str) -> list[Any]:
    return Store().tickets.conversation(ticket_id)[1]


def parsed(raw: str) -> Any:
    return BytesParser(policy=policy.default).parsebytes(raw.encode())


def reply_to(raw_sent: str, body: str, sender: str = "anna.petrova@gmail.com") -> bytes:
    """A client's answer to a mail we sent, as their client would thread it."""
    message_id = re.search(r"(<[^>]+>)", str(parsed(raw_sent)["Message-ID"]))
    assert message_id
    return (
        f"From: Anna <{sender}>\r\nTo: {MAILBOX}\r\nSubject: Re: answer\r\n"
        f"Message-ID: <reply-{abs(hash(body))}@mail.gmail.com>\r\n"
        f"In-Reply-To: {message_id.group(1)}\r\nReferences: {message_id.group(1)}\r\n"
        f"Date: Thu, 26 Nov 2026 12:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{body}\r\n\r\nOn Thu, Support wrote:\r\n> old\r\n"
    ).encode()


def test_gmail_mail_opens_a_ticket_and_is_acknowledged_by_threaded_mail(
    mailroom: Mailroom,
) -> None:
    assert mailroom.deliver(mailroom.raw("gmail_inline_image.eml")) == ["created"]
    (ticket,) = tickets_of("anna.petrova@gmail.com")
    assert (ticket.channel, ticket.direction, ticket.subject) == (
        "email",
        "d0",
        "Не проходит оплата",
    )
    assert ticket.customer_name == "Анна Петрова" and ticket.priority == "urgent"  # "срочно"
    first = conversation(ticket.id)[0]
    assert first.email["message_id"].endswith("@mail.gmail.com>")
    (image,) = first.attachments
    assert image["file_name"] == "image.png" and image["caption"] == "inline"
    bucket, key = image["file_id"].removeprefix("s3://").split("/", 1)
    assert mailroom.s3.get_object(Bucket=bucket, Key=key)["Body"].read().startswith(b"\x89PNG")

    sent = mailroom.send_all()
    # the number and when we answer, no messenger greeting (moto lists the To address again)
    assert [m.destinations[0] for m in sent] == ["anna.petrova@gmail.com"]
    acknowledgement = parsed(sent[0].raw_data)
    assert acknowledgement["Subject"] == f"Re: Не проходит оплата [{ticket.id}]"
    assert acknowledgement["In-Reply-To"] == (
        "<CAJ8rQ2XkV9sPz1mT4wY6bN3cE5fH7gJ9kL1mN3pQ5sT7vX9zB@mail.gmail.com>"
    )
    assert acknowledgement["Auto-Submitted"] == "auto-replied"
    assert str(acknowledgement["From"]) == "Поддержка D0 <support@helpdesk.example>"
    text = acknowledgement.get_body(("plain",))
    rich = acknowledgement.get_body(("html",))
    assert text is not None and rich is not None
    assert ticket.id in text.get_content() and "Служба поддержки D0" in text.get_content()
    assert ticket.id in rich.get_content()
    # SES's own id is what the reply will carry: it finds the ticket through the record
    stored = [m for m in conversation(ticket.id) if m.kind == "auto"]
    assert all(m.delivery == "sent" and m.provider_message_id for m in stored)


def test_replies_thread_by_headers_and_by_the_number_in_the_subject(
    mailroom: Mailroom, agent_api: Api
) -> None:
    mailroom.deliver(mailroom.raw("gmail_inline_image.eml"))
    (ticket,) = tickets_of("anna.petrova@gmail.com")
    sent = mailroom.send_all()
    # resolved, then the client answers our acknowledgement: the same ticket reopens
    assert (
        agent_api.call("POST", f"/tickets/{ticket.id}/resolve", {"resolution": "Fixed"})[0] == 200
    )
    assert mailroom.deliver(reply_to(sent[0].raw_data, "Still broken")) == ["reopened"]
    # a ticket number in the subject, no headers: lands there too
    raw = (
        mailroom.raw("gmail_inline_image.eml")
        .replace(b"Message-ID: <CAJ8", b"Message-ID: <SUBJ8")
        .replace(
            b"Subject: =?UTF-8?B?0J3QtSDQv9GA0L7RhdC+0LTQuNGCINC+0L/Qu9Cw0YLQsA==?=",
            f"Subject: Re: [{ticket.id}] more".encode(),
        )
    )
    assert mailroom.deliver(raw) == ["continued"]
    texts = [m.text for m in conversation(ticket.id) if m.kind == "inbound"]
    assert texts[1] == "Still broken"


def test_someone_elses_mail_naming_a_ticket_opens_their_own(mailroom: Mailroom) -> None:
    mailroom.deliver(mailroom.raw("gmail_inline_image.eml"))
    (ticket,) = tickets_of("anna.petrova@gmail.com")
    other = (
        f"From: Boris <boris@example.org>\r\nTo: {MAILBOX}\r\nSubject: about [{ticket.id}]\r\n"
        "Message-ID: <b1@example.org>\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    ).encode()
    assert mailroom.deliver(other) == ["created"]
    assert tickets_of("boris@example.org")[0].id != ticket.id


def test_outlook_reply_to_an_unknown_ticket_and_redelivery_is_stored_once(
    mailroom: Mailroom,
) -> None:
    raw = mailroom.raw("outlook_reply.eml")
    assert mailroom.deliver(raw) == ["created"]
    # SES or SNS again, and the client's server sending it again under another SES id
    assert mailroom.deliver(raw, ses_id="sesid-again-000000000000000000000001") == ["duplicate"]
    assert mailroom.deliver(raw) == ["duplicate"]
    (ticket,) = tickets_of("i.sidorov@contoso.ru")
    assert [m.kind for m in conversation(ticket.id)].count("inbound") == 1
    assert len(mailroom.send_all()) == 1  # the first delivery's acknowledgement, once


@pytest.mark.parametrize("name", ["auto_reply_out_of_office.eml", "mailing_list.eml"])
def test_robots_mail_is_stored_and_never_answered(mailroom: Mailroom, name: str) -> None:
    assert mailroom.deliver(mailroom.raw(name)) == ["created"]
    assert mailroom.send_all() == []


def test_spam_is_stored_flagged_and_never_answered(mailroom: Mailroom) -> None:
    raw = mailroom.raw("gmail_inline_image.eml")
    assert mailroom.deliver(raw, verdicts={"spam": "FAIL"}) == ["created"]
    (ticket,) = tickets_of("anna.petrova@gmail.com")
    assert "no_auto_reply" in ticket.flags
    assert conversation(ticket.id)[0].email["flagged"] == "SES spam verdict FAIL"
    assert mailroom.send_all() == []


@pytest.mark.parametrize("name", ["forged_own_mailbox.eml", "bounce_dsn.eml"])
def test_our_own_address_and_delivery_reports_are_refused(mailroom: Mailroom, name: str) -> None:
    assert mailroom.deliver(mailroom.raw(name)) == ["refused"]
    assert Store().identities.get("email", "support@helpdesk.example") is None
    assert mailroom.send_all() == []


@pytest.mark.parametrize("name", ["malformed_mime.eml", "unknown_charset.eml", "no_text_part.eml"])
def test_bad_input_is_stored_with_what_went_wrong(mailroom: Mailroom, name: str) -> None:
    assert mailroom.deliver(mailroom.raw(name)) == ["created"]
    message = conversation(next(iter(mailroom_tickets(name))).id)[0]
    assert message.email["problems"]


def mailroom_tickets(name: str) -> list[Any]:
    sender = {
        "malformed_mime.eml": "petr@example.org",
        "unknown_charset.eml": "olga@example.net",
        "no_text_part.eml": "scanner@example.com",
    }[name]
    return tickets_of(sender)


def test_a_20_mb_attachment_is_kept(mailroom: Mailroom) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Big <big@example.com>", MAILBOX, "logs"
    message["Message-ID"] = "<big-1@example.com>"
    message.set_content("The log is attached.")
    message.add_attachment(
        b"\0" * (20 * MB), maintype="application", subtype="zip", filename="log.zip"
    )
    assert mailroom.deliver(message.as_bytes()) == ["created"]
    (attachment,) = conversation(tickets_of("big@example.com")[0].id)[0].attachments
    assert (attachment["file_name"], attachment["size"]) == ("log.zip", 20 * MB)


def test_bounce_marks_the_mail_failed_and_suppresses_the_address(
    mailroom: Mailroom, agent_api: Api
) -> None:
    raw = mailroom.raw("gmail_inline_image.eml").replace(
        b"anna.petrova@gmail.com", b"old.employee@contoso.ru"
    )
    mailroom.deliver(raw)
    (ticket,) = tickets_of("old.employee@contoso.ru")
    mailroom.send_all()
    acknowledgement = [m for m in conversation(ticket.id) if m.kind == "auto"][-1]
    bounce = load_event("email/sns_bounce")
    note = json.loads(bounce["Records"][0]["Sns"]["Message"])
    note["mail"]["messageId"] = acknowledgement.provider_message_id
    bounce["Records"][0]["Sns"]["Message"] = json.dumps(note)
    assert mailroom.invoke(bounce) == ["status"]
    assert mailroom.invoke(copy.deepcopy(bounce)) == ["duplicate"]  # SNS again
    failed = Store().messages.get(ticket.id, acknowledgement.id)
    assert failed is not None and failed.delivery == "failed" and "5.1.1" in (failed.error or "")
    assert "delivery_failed" in Store().tickets.get(ticket.id).flags
    # a later send to the address is refused before SES, visibly
    assert agent_api.call("POST", f"/tickets/{ticket.id}/replies", {"text": "Try again?"})[0] == 200
    before = len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)
    assert len(mailroom.send_all()) == before
    reply = next(m for m in conversation(ticket.id) if m.kind == "reply")
    assert reply.delivery == "failed" and "suppression list" in (reply.error or "")


def test_complaint_suppresses_the_address(mailroom: Mailroom) -> None:
    assert mailroom.invoke(load_event("email/sns_complaint")) == ["status"]  # no message of ours
    record = Store().mail.suppressed("old.employee@contoso.ru")
    assert record is not None and record["reason"].startswith("complaint (abuse)")


def test_rating_link_records_the_rating_once(mailroom: Mailroom, agent_api: Api) -> None:
    mailroom.deliver(mailroom.raw("gmail_inline_image.eml"))
    (ticket,) = tickets_of("anna.petrova@gmail.com")
    assert (
        agent_api.call("POST", f"/tickets/{ticket.id}/resolve", {"resolution": "Fixed"})[0] == 200
    )
    sent = mailroom.send_all()
    # one mail after the acknowledgement: the resolution, then the rating links, threaded
    assert len(sent) == 2
    resolution = parsed(sent[-1].raw_data)
    assert resolution["In-Reply-To"] == parsed(sent[0].raw_data)["In-Reply-To"]
    prompt = resolution.get_body(("plain",))
    assert prompt is not None
    text = prompt.get_content()
    assert text.index("Fixed") < text.index(f"csat%3A{ticket.id}%3Agood")
    assert f"csat%3A{ticket.id}%3Abad" in text
    assert [m.kind for m in conversation(ticket.id)].count("auto") == 2

    def rating(value: str, n: int) -> bytes:
        return (
            f"From: anna.petrova@gmail.com\r\nTo: {MAILBOX}\r\n"
            f"Subject: [{ticket.id}] csat:{ticket.id}:{value}\r\n"
            f"Message-ID: <rate-{n}@mail.gmail.com>\r\n\r\n\r\n"
        ).encode()

    assert mailroom.deliver(rating("good", 1)) == ["rated"]
    assert mailroom.deliver(rating("bad", 2)) == ["duplicate"]
    assert (Store().tickets.get(ticket.id).csat or {}).get("value") == "good"


@pytest.mark.parametrize("reply", [False, True], ids=["first contact", "reply"])
def test_a_fault_at_each_aws_call_is_healed_by_lambdas_retry(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, reply: bool
) -> None:
    """SNS invokes the intake again after it failed (Lambda's asynchronous retries): from a
    fault at any AWS call, the retry ends where the fault-free run ends: no half ticket, no
    second ticket, each answer sent once."""
    from tests.faults import Desk, each_fault_is_healed_by_a_retry

    desk = Desk(aws, monkeypatch)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(CONFIG))
    monkeypatch.setenv("EMAIL_BUCKET", BUCKET)
    get_settings.cache_clear()
    room = Mailroom(aws, desk.driver)
    gmail = room.raw("gmail_inline_image.eml")
    if reply:
        room.deliver(gmail)
        desk.drain()
        gmail = gmail.replace(b"Message-ID: <CAJ8", b"Message-ID: <SECOND")
    event = load_event("email/sns_received")
    note = json.loads(event["Records"][0]["Sns"]["Message"])
    note["receipt"]["action"].update(bucketName=BUCKET, objectKey="inbound/faulty")
    event["Records"][0]["Sns"]["Message"] = json.dumps(note)
    room.s3.put_object(Bucket=BUCKET, Key="inbound/faulty", Body=gmail)

    def request() -> tuple[int, Any]:
        return 200, room.invoke(copy.deepcopy(event))

    each_fault_is_healed_by_a_retry(desk, request)
    assert all(t["sends"] == [1] * len(t["sends"]) for t in desk.state())


def test_an_agent_downloads_a_stored_attachment_through_a_short_lived_link(
    mailroom: Mailroom, agent_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailroom.deliver(mailroom.raw("gmail_inline_image.eml"))
    (ticket,) = tickets_of("anna.petrova@gmail.com")
    first = conversation(ticket.id)[0]
    path = f"/tickets/{ticket.id}/messages/{first.id}/attachments"

    status, link = agent_api.call("GET", f"{path}/0")
    assert status == 200, link
    assert (link["file_name"], link["mime_type"]) == ("image.png", "image/png")
    assert "X-Amz-Expires=300" in link["url"]
    downloaded = requests.get(link["url"], timeout=5)
    assert downloaded.status_code == 200 and downloaded.content.startswith(b"\x89PNG")
    assert downloaded.headers["content-disposition"].startswith('attachment; filename="image.png"')

    # no attachment 1, a message of another ticket, a malformed index: named, 4xx
    status, error = agent_api.call("GET", f"{path}/1")
    assert status == 404 and "no attachment 1" in error["error"]["message"]
    mailroom.deliver(mailroom.raw("outlook_reply.eml"))
    (other,) = tickets_of("i.sidorov@contoso.ru")
    status, error = agent_api.call("GET", f"/tickets/{other.id}/messages/{first.id}/attachments/0")
    assert status == 404 and f"no message {first.id}" in error["error"]["message"]
    assert agent_api.call("GET", f"{path}/-1")[0] == 422

    # a part kept in the original only has no copy to hand out
    monkeypatch.setattr("helpdesk.usecases.email_intake.MAX_ATTACHMENT_BYTES", 10)
    big = mailroom.raw("gmail_inline_image.eml").replace(b"Message-ID: <CAJ8", b"Message-ID: <BIG8")
    mailroom.deliver(big.replace(b"anna.petrova@gmail.com", b"big@example.com"))
    (kept,) = tickets_of("big@example.com")
    message = conversation(kept.id)[0]
    status, error = agent_api.call("GET", f"/tickets/{kept.id}/messages/{message.id}/attachments/0")
    assert status == 409 and error["error"]["code"] == "not_downloadable"
    assert "in the original" in error["error"]["message"]
