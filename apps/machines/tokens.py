"""Machine API tokens: `lwm_<prefix>_<secret>`, kept only as a SHA-256 hash.

A salted slow hash is not needed: the secret has 256 bits of entropy, so a fast hash cannot be
brute-forced, and authentication stays one indexed lookup per request.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

TOKEN_SCHEME = "lwm"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    prefix: str
    hash: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_issue() -> IssuedToken:
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedToken(token=token, prefix=prefix, hash=token_hash(token))


def token_prefix(token: str) -> str | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_SCHEME:
        return None
    return parts[1]


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)
