"""Print the signature header a provider would send with a body, so a developer can replay a
sample against the local stack with curl (the local stack's development secrets by default).

    python -m infra.sign whatsapp events/whatsapp/text_message.json
    python -m infra.sign twilio events/calls/twilio/completed.txt [URL]
    python -m infra.sign zadarma events/calls/zadarma/notify_start.txt
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys
from pathlib import Path
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "core"))

from helpdesk.channels import whatsapp
from helpdesk.telephony import twilio, zadarma

LOCAL_API = f"http://127.0.0.1:{os.environ.get('LOCAL_PORT', '3000')}"


def header(provider: str, raw: bytes, url: str | None = None) -> str:
    """The header line (name: value) for `raw`, exactly the bytes `curl --data-binary @file`
    sends, signed with the local stack's secret (or the one set in the environment)."""
    if provider == "whatsapp":
        secret = os.environ.get("WHATSAPP_APP_SECRET", "local-whatsapp-app-secret")
        digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        assert whatsapp.verify_signature(raw, f"sha256={digest}", secret)
        return f"X-Hub-Signature-256: sha256={digest}"
    params = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    if provider == "twilio":
        token = os.environ.get("TWILIO_AUTH_TOKEN", "local-twilio-auth-token")
        target = url or f"{LOCAL_API}/webhooks/calls/twilio"
        return f"X-Twilio-Signature: {twilio.signature_for(target, params, token)}"
    if provider == "zadarma":
        secret = os.environ.get("ZADARMA_API_SECRET", "local-zadarma-secret")
        signature = zadarma.signature_for(params, secret)
        if signature is None:
            raise SystemExit(f"Zadarma does not sign {params.get('event')!r} notifications")
        return f"Signature: {signature}"
    raise SystemExit(f"unknown provider {provider!r}: whatsapp, twilio or zadarma")


def main() -> None:
    parser = argparse.ArgumentParser(description="Print the signature header for a sample.")
    parser.add_argument("provider", choices=["whatsapp", "twilio", "zadarma"])
    parser.add_argument("file", type=Path)
    parser.add_argument("url", nargs="?", help="Twilio: the URL it calls (signed with the body)")
    arguments = parser.parse_args()
    try:
        raw = arguments.file.read_bytes()
    except OSError as error:
        raise SystemExit(f"cannot read {arguments.file}: {error.strerror}") from None
    print(header(arguments.provider, raw, arguments.url))


if __name__ == "__main__":
    main()
