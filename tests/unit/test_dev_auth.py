"""The local stack's tokens are checked the way API Gateway's JWT authorizer checks them."""

from __future__ import annotations

import time

import jwt
import pytest

from infra import dev_auth


def test_a_token_make_token_prints_is_accepted() -> None:
    claims = dev_auth.verify("Bearer " + dev_auth.issue("agent", "alice"))
    assert (claims["sub"], claims["cognito:groups"]) == ("alice", ["agent"])


@pytest.mark.parametrize("missing", ["exp", "iat", "sub"])
def test_a_token_without_expiry_or_subject_is_refused(missing: str) -> None:
    now = int(time.time())
    claims = {
        "sub": "alice",
        "cognito:groups": ["lead"],
        "iss": dev_auth.ISSUER,
        "aud": dev_auth.AUDIENCE,
        "iat": now,
        "exp": now + 60,
    }
    del claims[missing]
    token = jwt.encode(claims, dev_auth._secret(), algorithm="HS256")
    with pytest.raises(jwt.PyJWTError):
        dev_auth.verify(token)


def test_an_expired_or_foreign_token_is_refused() -> None:
    with pytest.raises(jwt.PyJWTError):
        dev_auth.verify(dev_auth.issue("agent", hours=-1))
    forged = jwt.encode(
        {"sub": "x", "exp": time.time() + 60},
        "a-guessed-key-of-thirty-two-bytes!",
        algorithm="HS256",
    )
    with pytest.raises(jwt.PyJWTError):
        dev_auth.verify(forged)
