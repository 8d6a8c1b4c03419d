"""Domain errors. Each maps to one HTTP status (http/resolver.py), with a JSON body naming it."""

from __future__ import annotations


class HelpdeskError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(HelpdeskError):
    status_code = 400
    code = "bad_request"


class Unauthorized(HelpdeskError):
    status_code = 401
    code = "unauthorized"


class Forbidden(HelpdeskError):
    status_code = 403
    code = "forbidden"


class NotFound(HelpdeskError):
    status_code = 404
    code = "not_found"


class Conflict(HelpdeskError):
    """The stored ticket changed since the caller read it (stale version)."""

    status_code = 409
    code = "version_conflict"


class InvalidTransition(HelpdeskError):
    """The ticket's status does not allow this action (e.g. a reply to a closed ticket)."""

    status_code = 409
    code = "invalid_transition"


class Unprocessable(HelpdeskError):
    """Well-formed, but naming something that does not exist here (an unknown direction)."""

    status_code = 422
    code = "invalid_request"


class ChannelUnavailable(HelpdeskError):
    """Nothing written can reach this client now (a phone ticket, WhatsApp's closed window)."""

    status_code = 409
    code = "channel_unavailable"


class NotDownloadable(HelpdeskError):
    """The attachment exists but no copy of it is stored here to hand out (a messenger's
    file, a part kept in the original mail only)."""

    status_code = 409
    code = "not_downloadable"
