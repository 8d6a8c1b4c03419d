"""infra.sign prints the headers the README's curl examples send: they must verify."""

from __future__ import annotations

from urllib.parse import parse_qsl

from helpdesk.channels import whatsapp
from helpdesk.telephony import twilio, zadarma
from infra.sign import header
from tests.support import event_bytes


def test_the_printed_headers_verify_with_the_local_secrets() -> None:
    raw = event_bytes("whatsapp/text_message")
    value = header("whatsapp", raw).split(": ", 1)[1]
    assert whatsapp.verify_signature(raw, value, "local-whatsapp-app-secret")

    form = (event_bytes("calls/twilio/completed.txt")).decode()
    params = dict(parse_qsl(form, keep_blank_values=True))
    url = "http://127.0.0.1:3000/webhooks/calls/twilio"
    value = header("twilio", form.encode(), url).split(": ", 1)[1]
    assert twilio.verify_signature(url, params, value, "local-twilio-auth-token")

    form = event_bytes("calls/zadarma/notify_start.txt").decode()
    params = dict(parse_qsl(form, keep_blank_values=True))
    value = header("zadarma", form.encode()).split(": ", 1)[1]
    assert zadarma.verify_signature(params, value, "local-zadarma-secret")
