"""The one HTTP client of the outbound channels: JSON in and out, network trouble as
TransientSendError (retried later), never leaking the URL (it may hold a bot token)."""

from __future__ import annotations

from typing import Any

import requests

from helpdesk.channels.base import TransientSendError

DEFAULT_TIMEOUT = 10.0  # seconds; the dispatcher's lease and timeout allow several of these


def post_json(
    session: requests.Session,
    url: str,
    payload: dict[str, Any],
    what: str,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[requests.Response, dict[str, Any]]:
    """POST `payload`; the response and its JSON object body ({} when it has none)."""
    try:
        response = session.post(url, json=payload, headers=headers, timeout=timeout)
    except requests.ConnectTimeout:
        raise TransientSendError(f"{what}: could not connect (timed out)") from None
    except requests.Timeout:
        raise TransientSendError(
            f"{what}: timed out waiting for an answer", maybe_sent=True
        ) from None
    except requests.ConnectionError as exc:
        # Refused or unresolvable: nothing left. Reset or closed mid-way: it may have.
        reached = "NewConnectionError" not in str(exc) and "NameResolution" not in str(exc)
        raise TransientSendError(f"{what}: {type(exc).__name__}", maybe_sent=reached) from None
    except requests.RequestException as exc:
        raise TransientSendError(f"{what}: {type(exc).__name__}") from None
    try:
        data = response.json()
    except ValueError:
        data = None
    return response, data if isinstance(data, dict) else {}
