"""E-mail through the local stack: smtplib to the loopback SMTP server, a ticket, threaded
mail in the sandbox's outbox, an agent's reply, and the client's answer on the same ticket."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from tests.e2e.conftest import RunningStack, start_stack
from tests.e2e.test_local_stack import wait_for

MAILBOX = "support@helpdesk.local"  # the local stack's default direction's mailbox


def send(stack: RunningStack, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=20) as smtp:
        smtp.send_message(message)


def mails(stack: RunningStack) -> list[dict[str, Any]]:
    sent = requests.get(f"{stack.sandbox}/outbox", timeout=5).json()["sent"]
    return [entry["body"] for entry in sent if entry["path"] == "/email"]


def test_a_mail_becomes_a_ticket_and_the_conversation_stays_threaded(
    stack: RunningStack, tmp_path: Path
) -> None:
    first = EmailMessage()
    first["From"], first["To"] = "Anna <anna@example.com>", MAILBOX
    first["Subject"], first["Message-ID"] = "Payment fails", "<first-1@example.com>"
    first.set_content("It says error 500.")
    first.add_attachment(b"\x89PNG screenshot", maintype="image", subtype="png", filename="s.png")
    send(stack, first)
    stranger = EmailMessage()
    stranger["From"], stranger["To"], stranger["Subject"] = "a@example.com", "x@else.example", "hi"
    stranger.set_content("hi")
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # not one of our mailboxes: 550
        send(stack, stranger)

    number = wait_for(lambda: mails(stack) and mails(stack)[0])
    assert number["to"] == "anna@example.com" and number["from"] == MAILBOX
    headers = number["headers"]
    ticket = headers["X-Helpdesk-Ticket"]
    assert headers["Subject"] == f"Re: Payment fails [{ticket}]"
    assert headers["In-Reply-To"] == "<first-1@example.com>"
    assert headers["Auto-Submitted"] == "auto-replied"
    assert ticket in number["text"] and ticket in number["html"]

    agent = {"Authorization": f"Bearer {stack.token('agent', 'alice')}"}
    replied = requests.post(
        f"{stack.api}/tickets/{ticket}/replies",
        json={"text": "Please try again now."},
        headers=agent,
        timeout=10,
    )
    assert replied.status_code == 200, replied.text
    reply = wait_for(lambda: len(mails(stack)) >= 2 and mails(stack)[1])
    assert reply["headers"]["Auto-Submitted"] == "no"
    assert reply["text"].startswith("Please try again now.")

    answer = EmailMessage()
    answer["From"], answer["To"] = "anna@example.com", MAILBOX
    answer["Subject"] = "Re: whatever the client's program writes"
    answer["Message-ID"] = "<answer-2@example.com>"
    answer["In-Reply-To"] = reply["headers"]["Message-ID"]
    answer["References"] = f"<first-1@example.com> {reply['headers']['Message-ID']}"
    answer.set_content("Works now, thanks!\n\nOn Thu, Support wrote:\n> Please try again now.")
    send(stack, answer)

    def conversation() -> list[dict[str, Any]]:
        found = requests.get(f"{stack.api}/tickets/{ticket}", headers=agent, timeout=10)
        messages: list[dict[str, Any]] = found.json()["messages"]
        return messages

    inbound = wait_for(lambda: [m for m in conversation() if m["kind"] == "inbound"][1:] or None)
    assert inbound[0]["text"] == "Works now, thanks!"
    assert inbound[0]["email"]["subject"] == "Re: whatever the client's program writes"

    # the attachment opens through a short-lived link to the local S3 (moto), no token
    first_message = conversation()[0]
    link = requests.get(
        f"{stack.api}/tickets/{ticket}/messages/{first_message['id']}/attachments/0",
        headers=agent,
        timeout=10,
    )
    assert link.status_code == 200, link.text
    assert link.json()["url"].startswith(stack.moto)
    downloaded = requests.get(link.json()["url"], timeout=10)
    assert downloaded.status_code == 200 and downloaded.content == b"\x89PNG screenshot"
    assert downloaded.headers["content-disposition"].startswith('attachment; filename="s.png"')

    # a restart keeps the original and its attachment where the message points (moto's S3
    # lives in memory; the stack keeps the raw mail in its state directory)
    stack.stop()
    again = start_stack(tmp_path / "state")
    try:
        found = requests.get(f"{again.api}/tickets/{ticket}", headers=agent, timeout=10).json()
        (attachment,) = found["messages"][0]["attachments"]
        bucket, key = attachment["file_id"].removeprefix("s3://").split("/", 1)
        s3 = boto3.client(
            "s3",
            endpoint_url=again.moto,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"\x89PNG screenshot"
    finally:
        again.stop()
