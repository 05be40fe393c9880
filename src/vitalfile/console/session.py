"""Console sessions: a cookie `key_id.expiry.mac`, signed with the service's session secret,
and a per-session token every form carries (a cross-site form cannot know it)."""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["csrf_token", "read_session", "sign_session"]


def _mac(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def sign_session(secret: bytes, key_id: str, hours: int, *, seconds: int | None = None) -> str:
    expiry = int(time.time()) + (hours * 3600 if seconds is None else seconds)
    body = f"{key_id}.{expiry}"
    return f"{body}.{_mac(secret, body)}"


def read_session(secret: bytes, cookie: str) -> str | None:
    """The key id of a valid, unexpired session cookie, else None."""
    parts = cookie.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(secret, body), parts[2]):
        return None
    if int(parts[1]) < time.time():
        return None
    return parts[0]


def csrf_token(secret: bytes, cookie: str) -> str:
    return _mac(secret, "csrf:" + cookie)[:32]
