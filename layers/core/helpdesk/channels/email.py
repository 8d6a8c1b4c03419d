"""E-mail as a channel: reading a raw message (MIME, standard library only) and writing ours.

Pure: `read_mail` turns the bytes SES stored into a `Mail` and never raises (what it could not
read is named in `problems`); `auto_reason` tells mail no robot may answer (RFC 3834);
`ticket_refs` finds the ticket a reply belongs to; `build_mail` writes a message with
threading headers, a plain-text and an HTML part. The use case (usecases/email_intake.py)
and the sender (channels/mailer.py) do the I/O.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import quote

MAX_TEXT = 16_000  # what a stored message keeps of a body (the raw message keeps it all)
FALLBACK_CHARSET = "cp1251"
MAX_REFERENCES = 20  # the newest references kept and followed
TICKET_IN_SUBJECT = re.compile(r"\[([A-Z0-9_]{1,32}-\d{6,})\]")
RATING_IN_SUBJECT = re.compile(r"\bcsat:([A-Z0-9_]{1,32}-\d{6,}):(good|bad|[1-5])\b")
OUR_MESSAGE_ID = re.compile(r"^<hd\.([A-Z0-9_]{1,32}-\d{6,})\.[^@>]+@[^>]+>$")
SES_MESSAGE_ID = re.compile(r"^<([0-9a-f-]{20,80})@(?:[a-z0-9-]+\.)?amazonses\.com>$", re.I)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_QUOTE_HEADERS = (
    re.compile(r"^\s*On .{4,200}wrote:\s*$"),  # Gmail, Apple Mail, Thunderbird
    re.compile(r"^\s*\S.{2,200}(пишет|написал[а]?):\s*$"),  # the same in Russian clients
    re.compile(r"^\s*-{2,}\s*(Original Message|Исходное сообщение|Forwarded message)"),
    re.compile(r"^\s*_{20,}\s*$"),  # Outlook on the web: a line, then From / Sent
    re.compile(r"^\s*(From|От|Von):\s.+$"),  # Outlook desktop (checked with the next line)
)
_OUTLOOK_SENT = re.compile(r"^\s*(Sent|Date|Отправлено|Дата|Gesendet):\s")
BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@")
DECIDING_HEADERS = (  # what auto_reason and bounce_reason read
    "auto-submitted",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "x-auto-response-suppress",
    "x-autoreply",
    "x-autorespond",
    "return-path",
)
MAX_PARTS = 200  # a mail of more parts keeps the first ones (the raw message keeps all)
# CRLF; a header line up to RFC 5322's hard limit, so long Message-IDs stay on one line.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Part:
    """An attachment or an inline image, as it came."""

    file_name: str
    mime_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True)
class Mail:
    message_id: str | None
    subject: str
    from_address: str  # lower case; "" when no From could be read
    from_name: str | None
    to: tuple[str, ...]
    sent_at: datetime | None
    text: str  # the new part of the body, readable (HTML turned into text)
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)  # the few that decide what we do
    problems: tuple[str, ...] = ()  # what could not be read, for the log and the message
    report: bool = False  # a delivery-status report (a bounce)


# ---- reading ---------------------------------------------------------------------------


def read_mail(raw: bytes) -> Mail:
    """A raw RFC 5322 message as far as it can be read; never raises. A body too deep or too
    odd to read (a MIME bomb) keeps its headers: who wrote, what about, which Message-ID."""
    problems: list[str] = []
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        problems += [f"MIME defect: {type(d).__name__}" for d in message.defects][:5]
        return _read(message, problems)
    except Exception as error:  # the parser is lenient; this is the last resort
        problems.append(f"unreadable body: {type(error).__name__}")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    except Exception as error:
        return Mail(None, "", "", None, (), None, "", problems=(f"unreadable: {error}",))
    name, address = _from(message, problems)
    subject = " ".join(_header(message, "subject", problems).split())[:998]
    message_id = _first_id(_header(message, "message-id", problems))
    return Mail(message_id, subject, address, name, (), None, "", problems=tuple(problems))


def _read(message: Message, problems: list[str]) -> Mail:
    name, address = _from(message, problems)
    body, body_parts = _body(message, problems)
    return Mail(
        message_id=_first_id(_header(message, "message-id", problems)),
        subject=" ".join(_header(message, "subject", problems).split())[:998],
        from_address=address,
        from_name=name,
        to=tuple(_recipients(message, problems)),
        sent_at=_date(_header(message, "date", problems)),
        text=body,
        in_reply_to=tuple(_ids(_header(message, "in-reply-to", problems))),
        references=tuple(_ids(_header(message, "references", problems))[-MAX_REFERENCES:]),
        parts=tuple(_attachments(message, body_parts, problems)),
        headers={
            header: value
            for header in DECIDING_HEADERS
            if (value := _header(message, header, problems))
        },
        problems=tuple(problems),
        report=message.get_content_type() == "multipart/report",
    )


def _header(message: Message, name: str, problems: list[str]) -> str:
    try:
        value = message.get(name)
        return str(value).strip() if value is not None else ""
    except Exception as error:  # a header the policy cannot decode
        problems.append(f"header {name}: {error}")
        raw = message.get_all(name, failobj=[])
        return str(raw[0]).strip() if raw else ""


def _from(message: Message, problems: list[str]) -> tuple[str | None, str]:
    value = _header(message, "from", problems)
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = []
    for name, address in pairs:
        if "@" in address:
            return (name.strip() or None), address.strip().lower()
    if value:
        problems.append(f"From is not an address: {value[:100]!r}")
    return None, ""


def _recipients(message: Message, problems: list[str]) -> list[str]:
    values = [_header(message, name, problems) for name in ("to", "cc")]
    return [a.lower() for _, a in getaddresses([v for v in values if v]) if "@" in a]


def _date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value or "")


def _first_id(value: str) -> str | None:
    found = _ids(value)
    return found[0][:500] if found else None


def _content(part: Message, problems: list[str]) -> str:
    """A text part's content; an unknown or lying charset is read as UTF-8 if it is that,
    else as Windows-1251 (what legacy Russian mail mostly is), named in problems, never
    refused."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, AssertionError, ValueError) as error:
        problems.append(f"charset {part.get_content_charset()!r}: {type(error).__name__}")
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(FALLBACK_CHARSET, errors="replace")


def _body(message: Message, problems: list[str]) -> tuple[str, set[int]]:
    """The readable new text and the ids of the parts that made it."""
    email_message = message if isinstance(message, EmailMessage) else None
    try:
        plain = email_message.get_body(("plain",)) if email_message else None
        rich = email_message.get_body(("html",)) if email_message else None
    except Exception as error:
        problems.append(f"body: {error}")
        plain = rich = None
    used = {id(part) for part in (plain, rich) if part is not None}
    text = ""
    if plain is not None:
        text = trim_quoted(_content(plain, problems))
    if not text.strip() and rich is not None:
        text = trim_quoted(html_to_text(_content(rich, problems)))
    if plain is None and rich is None:
        problems.append("no text part")
    text = text.strip()
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "\n[…] (cut here; the original message has it all)"
    return text, used


def _attachments(message: Message, body: set[int], problems: list[str]) -> list[Part]:
    found: list[Part] = []
    for number, part in enumerate(message.walk()):
        if number >= MAX_PARTS:
            problems.append(f"more than {MAX_PARTS} MIME parts: the rest is in the original")
            break
        if part.is_multipart() or id(part) in body:
            continue
        kind = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        name = _file_name(part, problems)
        if kind in ("text/plain", "text/html") and disposition != "attachment" and not name:
            continue  # another alternative of the body
        if kind == "message/delivery-status":
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        cid = str(part.get("content-id") or "").strip("<> ") or None
        found.append(
            Part(
                file_name=name or f"part-{number}{_extension(kind)}",
                mime_type=kind,
                data=data,
                inline=disposition == "inline" or (disposition != "attachment" and bool(cid)),
                content_id=cid,
            )
        )
    return found


def _file_name(part: Message, problems: list[str]) -> str | None:
    try:
        name = part.get_filename()
    except Exception as error:
        problems.append(f"file name: {error}")
        return None
    if not name:
        return None
    cleaned = re.sub(r"[\x00-\x1f/\\]+", "_", str(name)).strip(" .")
    return cleaned[:200] or None


def _extension(kind: str) -> str:
    return {
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/gif": ".gif",
        "application/pdf": ".pdf",
        "message/rfc822": ".eml",
    }.get(kind, ".bin")


# ---- what the body says ------------------------------------------------------------------


class _TextOfHtml(HTMLParser):
    """Readable text of an HTML body: blocks on their own lines, links with their address,
    no scripts or styles, and no quoted history (blockquote, Gmail's and Outlook's quote
    containers)."""

    BLOCKS = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "ul",
            "ol",
            "hr",
        }
    )
    HIDDEN = frozenset({"script", "style", "head", "title"})
    QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix")
    QUOTE_IDS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip: list[str] = []  # open elements whose content is left out
        self.href: str | None = None
        self.quote_cut = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "") for name, value in attrs}
        if self.quote_cut:
            return
        quoted = (
            tag == "blockquote"
            or any(c in values.get("class", "") for c in self.QUOTE_CLASSES)
            or values.get("id", "").lower() in self.QUOTE_IDS
        )
        if quoted and tag != "blockquote":
            self.quote_cut = True  # everything after the reply's own text is history
            return
        if self.skip or tag in self.HIDDEN or quoted:
            if tag not in ("br", "img", "hr", "meta", "link", "input"):
                self.skip.append(tag)
            return
        if tag in self.BLOCKS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("• ")
        if tag == "a":
            self.href = values.get("href") or None

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if self.skip[-1] == tag:
                self.skip.pop()
            return
        if tag == "a" and self.href:
            text = "".join(self.out).rstrip().rsplit("\n", 1)[-1]
            if self.href.startswith(("http", "mailto:")) and self.href not in text:
                self.out.append(f" ({self.href.removeprefix('mailto:')})")
            self.href = None
        if tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip and not self.quote_cut:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    parser = _TextOfHtml()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient; a broken document keeps what was read
        pass
    lines = [line.strip() for line in "".join(parser.out).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def trim_quoted(text: str) -> str:
    """The reply without the history under it; all of it when nothing is left above."""
    lines = text.replace("\r\n", "\n").split("\n")
    for index in range(len(lines)):
        if _starts_history(lines, index):
            head = "\n".join(lines[:index]).rstrip()
            if head.strip():
                return _without_trailing_quotes(head)
            break
    return _without_trailing_quotes(text.strip())


def _starts_history(lines: list[str], index: int) -> bool:
    line = lines[index]
    if not any(pattern.match(line) for pattern in _QUOTE_HEADERS):
        return False
    if line.lstrip().startswith(("From:", "От:", "Von:")):
        following = lines[index + 1 : index + 4]
        return any(_OUTLOOK_SENT.match(next_line) for next_line in following)
    return True


def _without_trailing_quotes(text: str) -> str:
    lines = text.split("\n")
    while lines and (lines[-1].startswith(">") or not lines[-1].strip()):
        lines.pop()
    return "\n".join(lines) if lines else text


# ---- what may be answered ----------------------------------------------------------------


def auto_reason(mail: Mail, own: frozenset[str]) -> str | None:
    """Why no automatic message may answer this mail (RFC 3834 and what lists and robots
    put in their headers), or None for a person's mail."""
    headers = mail.headers
    submitted = headers.get("auto-submitted", "").lower()
    if submitted and not submitted.startswith("no"):
        return f"Auto-Submitted: {submitted[:40]}"
    precedence = headers.get("precedence", "").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return "a mailing list (List-Id / List-Unsubscribe)"
    suppress = headers.get("x-auto-response-suppress", "").lower()
    if any(word in suppress for word in ("all", "oof", "autoreply")):
        return f"X-Auto-Response-Suppress: {suppress[:40]}"
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return "X-Autoreply"
    if bounce_reason(mail):
        return "a bounce"
    if mail.from_address in own:
        return "from one of our own mailboxes"
    return None


def bounce_reason(mail: Mail) -> str | None:
    """Why this mail is a delivery report rather than a person's message, or None."""
    if mail.report:
        return "a delivery-status report (multipart/report)"
    if mail.from_address.startswith(BOUNCE_SENDERS):
        return f"from {mail.from_address}"
    if mail.headers.get("return-path", "").strip() == "<>":
        return "a null return path (<>)"
    return None


def ticket_refs(mail: Mail) -> tuple[list[str], list[str]]:
    """Tickets named by our own Message-IDs in the reply's headers (newest first), and the
    SES message ids to look up (SES replaces the Message-ID of what it sends)."""
    chain = [*mail.in_reply_to, *reversed(mail.references)]
    tickets, ses_ids = [], []
    for message_id in chain:
        if ours := OUR_MESSAGE_ID.match(message_id):
            tickets.append(ours.group(1))
        elif ses := SES_MESSAGE_ID.match(message_id):
            ses_ids.append(ses.group(1))
    return tickets, ses_ids


def subject_ticket(subject: str) -> str | None:
    found = TICKET_IN_SUBJECT.search(subject or "")
    return found.group(1) if found else None


def subject_rating(subject: str) -> str | None:
    """`csat:<ticket>:<value>`, the data of the rating link the client followed."""
    found = RATING_IN_SUBJECT.search(subject or "")
    return found.group(0) if found else None


# ---- writing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One message to a client, with what threading it needs."""

    ticket_id: str
    message_id: str  # ours (the stored message's id)
    sender: str  # the mailbox
    sender_name: str
    recipient: str
    subject: str  # the ticket's
    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (label, data): rating links
    buttons_label: str | None = None
    signature: str = ""
    automatic: bool = False  # an acknowledgement, a notice: Auto-Submitted: auto-replied
    in_reply_to: str | None = None  # the client's latest Message-ID
    references: tuple[str, ...] = ()
    at: datetime | None = None


def our_message_id(ticket_id: str, message_id: str, mailbox: str) -> str:
    """The Message-ID we write: it names the ticket, so a reply finds it without a lookup."""
    domain = mailbox.rsplit("@", 1)[-1] or "helpdesk.invalid"
    return f"<hd.{ticket_id}.{re.sub(r'[^A-Za-z0-9-]', '', message_id)}@{domain}>"


def mail_subject(ticket_id: str, subject: str, reply: bool) -> str:
    base = re.sub(r"^\s*((re|fw|fwd|ответ|отв)\s*:\s*)+", "", subject or "", flags=re.I).strip()
    base = TICKET_IN_SUBJECT.sub("", base).strip() or ticket_id
    return f"{'Re: ' if reply else ''}{base} [{ticket_id}]"


def rating_link(mailbox: str, ticket_id: str, data: str) -> str:
    """A mailto link whose subject carries the rating: the client's client writes it, the
    intake records it once (csat.rate)."""
    return f"mailto:{mailbox}?subject={quote(f'[{ticket_id}] {data}')}"


def build_mail(out: Outgoing) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = Address(display_name=out.sender_name, addr_spec=out.sender)
    message["To"] = out.recipient
    message["Subject"] = mail_subject(out.ticket_id, out.subject, out.in_reply_to is not None)
    message["Date"] = format_datetime(out.at or datetime.now(UTC))
    message["Message-ID"] = our_message_id(out.ticket_id, out.message_id, out.sender)
    if out.in_reply_to:
        message["In-Reply-To"] = out.in_reply_to
    references = [*out.references[-(MAX_REFERENCES - 1) :]]
    if out.in_reply_to and out.in_reply_to not in references:
        references.append(out.in_reply_to)
    if references:
        message["References"] = " ".join(references)
    # RFC 3834: what a robot wrote says so, and asks other robots not to answer it.
    message["Auto-Submitted"] = "auto-replied" if out.automatic else "no"
    if out.automatic:
        message["X-Auto-Response-Suppress"] = "All"
    message["X-Helpdesk-Ticket"] = out.ticket_id
    links = [(label, rating_link(out.sender, out.ticket_id, data)) for label, data in out.buttons]
    text = out.text
    if links:
        text += "\n\n" + "\n".join(f"{label}: {link}" for label, link in links)
    if out.signature:
        text += f"\n\n-- \n{out.signature}"
    message.set_content(text + "\n")
    message.add_alternative(_html(out, links), subtype="html")
    return message


def _html(out: Outgoing, links: list[tuple[str, str]]) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>"
        for block in out.text.split("\n\n")
        if block.strip()
    )
    buttons = "".join(
        f'<a href="{html.escape(link)}" style="display:inline-block;margin:4px;padding:8px 14px;'
        f'border:1px solid #888;border-radius:6px;text-decoration:none">{html.escape(label)}</a>'
        for label, link in links
    )
    if buttons and out.buttons_label:
        buttons = f"<p>{html.escape(out.buttons_label)}</p><p>{buttons}</p>"
    elif buttons:
        buttons = f"<p>{buttons}</p>"
    signature = (
        f'<p style="color:#666">-- <br>{html.escape(out.signature).replace(chr(10), "<br>")}</p>'
        if out.signature
        else ""
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"></head><body>'
        f"{paragraphs}{buttons}{signature}</body></html>"
    )
