"""Development JWTs: what `make token` prints and the local stack accepts.

The local stack checks these the way API Gateway's JWT authorizer checks real ones
(signature, issuer, audience, expiry) and passes the claims on; the deployed API accepts
only tokens from the configured issuer (Cognito or another OIDC provider).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import jwt

ISSUER = "https://helpdesk.local/dev-issuer"
AUDIENCE = "helpdesk-local"
ROLES = ("agent", "lead", "commander", "finance")


def _secret() -> str:
    return os.environ.get("LOCAL_JWT_SECRET", "local-dev-jwt-signing-key-not-for-production")


def issue(role: str, subject: str | None = None, hours: int = 12) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    now = int(time.time())
    claims = {
        "sub": subject or f"{role}-1",
        "cognito:groups": [role],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + hours * 3600,
    }
    return jwt.encode(claims, _secret(), algorithm="HS256")


def verify(authorization: str) -> dict[str, Any]:
    token = authorization.removeprefix("Bearer ").strip()
    # As API Gateway's JWT authorizer: a token without an expiry is refused, not trusted forever.
    return jwt.decode(
        token,
        _secret(),
        algorithms=["HS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub"]},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Print a JWT the local stack accepts.")
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("subject", nargs="?", help="user id (default: <role>-1)")
    arguments = parser.parse_args()
    print(issue(arguments.role, arguments.subject))


if __name__ == "__main__":
    main()
