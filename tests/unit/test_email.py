"""E-mail, pure: each sample in events/email read as it came, what may be answered, the
threading keys, SES's notifications, and the mail we write."""

from __future__ import annotations

import json
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.channels import email, ses
from tests.support import EVENTS, load_event

OWN = frozenset({"support@helpdesk.example"})


def sample(name: str) -> email.Mail:
    return email.read_mail((EVENTS / "email" / name).read_bytes())


def test_gmail_alternative_with_an_inline_image() -> None:
    mail = sample("gmail_inline_image.eml")
    assert (mail.from_address, mail.from_name) == ("anna.petrova@gmail.com", "Анна Петрова")
    assert mail.subject == "Не проходит оплата"
    assert mail.message_id == "<CAJ8rQ2XkV9sPz1mT4wY6bN3cE5fH7gJ9kL1mN3pQ5sT7vX9zB@mail.gmail.com>"
    assert mail.text.startswith("Здравствуйте!\n\nОплата картой не проходит")
    (image,) = mail.parts
    assert (image.file_name, image.mime_type, image.inline, image.content_id) == (
        "image.png",
        "image/png",
        True,
        "ii_mhx2k7ql0",
    )
    assert image.data.startswith(b"\x89PNG")
    assert mail.problems == ()
    assert email.auto_reason(mail, OWN) is None


def test_outlook_reply_in_koi8r_is_trimmed_of_its_history_and_names_its_ticket() -> None:
    mail = sample("outlook_reply.eml")
    assert mail.from_name == "Сидоров Иван"
    assert mail.subject == "RE: Оплата не проходит [D0-000001]"
    assert mail.text.endswith("С уважением,\nИван Сидоров")
    assert "Отправлено:" not in mail.text and "зарегистрировано" not in mail.text
    assert [p.file_name for p in mail.parts] == ["image001.png"]
    assert email.ticket_refs(mail) == (["D0-000001", "D0-000001"], [])
    assert email.subject_ticket(mail.subject) == "D0-000001"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("auto_reply_out_of_office.eml", "Auto-Submitted: auto-replied"),
        ("mailing_list.eml", "Precedence: bulk"),
        ("bounce_dsn.eml", "Auto-Submitted: auto-replied"),
        ("forged_own_mailbox.eml", "from one of our own mailboxes"),
    ],
)
def test_what_no_robot_answers(name: str, why: str) -> None:
    assert email.auto_reason(sample(name), OWN) == why


def test_a_delivery_report_is_a_bounce() -> None:
    assert email.bounce_reason(sample("bounce_dsn.eml")) == (
        "a delivery-status report (multipart/report)"
    )
    assert email.bounce_reason(sample("gmail_inline_image.eml")) is None


def test_bad_input_is_read_as_far_as_it_goes_and_named() -> None:
    malformed = sample("malformed_mime.eml")
    assert malformed.from_address == "petr@example.org" and malformed.sent_at is None
    assert any("MIME defect" in p for p in malformed.problems)
    unknown = sample("unknown_charset.eml")
    assert unknown.text == "Добрый день! Где мой счёт за ноябрь?"
    assert unknown.problems == ("charset 'x-unknown-8bit': LookupError",)
    scan = sample("no_text_part.eml")
    assert (scan.text, scan.problems) == ("", ("no text part",))
    assert [(p.file_name, p.mime_type) for p in scan.parts] == [
        ("scan_0001.pdf", "application/pdf")
    ]
    assert email.read_mail(b"\xff\xfe\x00garbage").problems  # never raises


def test_html_only_mail_becomes_readable_text_without_the_quote() -> None:
    markup = (
        "<html><head><style>p{}</style></head><body><div>Hello,<br>the <b>export</b> fails: "
        '<a href="https://app.example/x">link</a></div><ul><li>step one</li></ul>'
        '<div class="gmail_quote">On Tue, Support wrote:<blockquote>old text</blockquote></div>'
        "</body></html>"
    )
    assert email.html_to_text(markup) == (
        "Hello,\nthe export fails: link (https://app.example/x)\n\n• step one"
    )


def test_quoted_history_under_a_reply_is_cut() -> None:
    text = "Still broken.\n\nOn Wed, 25 Nov 2026 at 18:02, Support <s@x.example> wrote:\n> old"
    assert email.trim_quoted(text) == "Still broken."
    assert email.trim_quoted("> only a quote") == "> only a quote"  # nothing above: keep it all


def test_ses_ids_in_the_chain_are_looked_up() -> None:
    mail = email.Mail(
        None,
        "x",
        "a@b.c",
        None,
        (),
        None,
        "",
        in_reply_to=(
            "<0102018c1a2b3c4d-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9-000000@eu-west-1.amazonses.com>",
        ),
    )
    assert email.ticket_refs(mail) == (
        [],
        ["0102018c1a2b3c4d-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9-000000"],
    )


def test_ses_notifications_in_their_documented_shapes() -> None:
    received = ses.parse(ses.from_sns(load_event("email/sns_received")["Records"][0]))
    assert isinstance(received, ses.Received)
    assert received.key == "inbound/q1r2s3t4u5v6w7x8y9z0a1b2c3d4e5f6g7h8i9j0"
    assert received.recipients == ("support@helpdesk.example",)
    assert received.verdicts == dict.fromkeys(ses.VERDICTS, "PASS")
    bounce = ses.parse(ses.from_sns(load_event("email/sns_bounce")["Records"][0]))
    assert isinstance(bounce, ses.Feedback) and bounce.permanent
    assert bounce.recipients[0][0] == "old.employee@contoso.ru"
    assert "5.1.1" in bounce.recipients[0][1]
    complaint = ses.parse(ses.from_sns(load_event("email/sns_complaint")["Records"][0]))
    assert isinstance(complaint, ses.Feedback) and complaint.kind == "complaint"
    assert ses.parse({"notificationType": "Delivery", "mail": {}}) is None
    with pytest.raises(ses.MalformedNotification):
        ses.parse({"notificationType": "Received", "mail": {}, "receipt": {}})


def test_our_mail_threads_and_says_what_wrote_it() -> None:
    out = email.Outgoing(
        ticket_id="D0-000123",
        message_id="20261126T101500000000Z-0abc",
        sender="support@helpdesk.example",
        sender_name="Поддержка D0",
        recipient="anna.petrova@gmail.com",
        subject="Re: Не проходит оплата",
        text="Обращение D0-000123 зарегистрировано.",
        buttons=(("👍", "csat:D0-000123:good"),),
        signature="Служба поддержки",
        automatic=True,
        in_reply_to="<CAJ8@mail.gmail.com>",
        references=("<first@mail.gmail.com>",),
    )
    raw = email.build_mail(out).as_bytes()
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Subject"] == "Re: Не проходит оплата [D0-000123]"
    assert parsed["Message-ID"] == "<hd.D0-000123.20261126T101500000000Z-0abc@helpdesk.example>"
    assert parsed["In-Reply-To"] == "<CAJ8@mail.gmail.com>"
    assert parsed["References"] == "<first@mail.gmail.com> <CAJ8@mail.gmail.com>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    rich = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "csat%3AD0-000123%3Agood" in text and "Служба поддержки" in text
    assert "mailto:support@helpdesk.example" in rich
    # our own Message-ID names the ticket: a reply to it threads without a lookup
    assert email.OUR_MESSAGE_ID.match(parsed["Message-ID"])
    assert email.subject_rating("[D0-000123] csat:D0-000123:good") == "csat:D0-000123:good"


SAMPLES = sorted((EVENTS / "email").glob("*.eml"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES),
    st.integers(min_value=0, max_value=6000),
    st.integers(min_value=0, max_value=200),
    st.binary(max_size=40),
)
def test_a_damaged_mail_is_read_as_far_as_it_goes_never_raising(
    path: Any, at: int, cut: int, noise: bytes
) -> None:
    raw = path.read_bytes()
    damaged = raw[:at] + noise + raw[at + cut :]
    mail = email.read_mail(damaged)
    assert isinstance(mail.text, str) and isinstance(mail.parts, tuple)
    email.auto_reason(mail, OWN)
    email.ticket_refs(mail)


def test_parts_nested_past_any_reason_keep_the_headers() -> None:
    depth = 3000
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n' for n in range(depth)
    )
    raw = (
        "From: deep@example.com\r\nSubject: nested\r\nMessage-ID: <deep@example.com>\r\n"
        f"MIME-Version: 1.0\r\n{opening}Content-Type: text/plain\r\n\r\nbottom\r\n"
    ).encode()
    mail = email.read_mail(raw)
    assert (mail.from_address, mail.subject) == ("deep@example.com", "nested")


def test_mailboxes_map_to_directions_and_each_to_one() -> None:
    from helpdesk.settings import ConfigError, Settings, load_config

    config = {
        "directions": [
            {"id": "d1", "email": {"mailboxes": ["Help@D1.example"], "signature": "D1"}},
        ]
    }
    settings = Settings(config=load_config(json.dumps(config)), email_mailbox="s@d0.example")
    assert settings.direction_for_mailbox("help@d1.example") == "d1"
    assert settings.direction_for_mailbox("S@d0.example") == "d0"  # the default direction's
    assert settings.direction_for_mailbox("other@d1.example") is None
    assert settings.own_mailboxes() == {"help@d1.example", "s@d0.example"}
    twice = {"directions": [{"id": a, "email": {"mailboxes": ["x@y.example"]}} for a in "ab"]}
    with pytest.raises(ConfigError, match="mail to it must go to one direction"):
        load_config(json.dumps(twice))
    with pytest.raises(ConfigError, match="not an e-mail address"):
        load_config(json.dumps({"directions": [{"id": "a", "email": {"mailboxes": ["x"]}}]}))


@pytest.mark.parametrize(
    ("attachment", "why"),
    [
        ({"kind": "photo", "file_id": "AgACAgIAAxkBAAIB"}, "not a stored mail attachment"),
        ({"file_name": "x.pdf", "file_id": "s3://other-bucket/attachments/k"}, "not a stored"),
        ({"file_name": "raw.eml", "file_id": "s3://mail/inbound/k"}, "not under attachments/"),
        (
            {"file_name": "log.zip", "file_id": "s3://mail/inbound/k", "note": "in the original"},
            "log.zip is not stored on its own: in the original",
        ),
    ],
)
def test_only_the_intakes_copies_are_handed_out(attachment: dict[str, str], why: str) -> None:
    from helpdesk.errors import NotDownloadable
    from helpdesk.usecases.attachments import stored_copy

    assert stored_copy({"file_id": "s3://mail/attachments/k/0-a.png"}, "mail") == (
        "mail",
        "attachments/k/0-a.png",
    )
    with pytest.raises(NotDownloadable, match=why):
        stored_copy(attachment, "mail")


def test_the_download_keeps_the_file_name_in_ascii_and_utf8() -> None:
    from helpdesk.channels.objects import content_disposition

    assert content_disposition('счёт "1".pdf') == (
        'attachment; filename="____ _1_.pdf"; '
        "filename*=UTF-8''%D1%81%D1%87%D1%91%D1%82%20%221%22.pdf"
    )
