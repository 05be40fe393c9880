"""Who holds a key: looked up in the database, kept a few seconds in the worker's cache."""

from __future__ import annotations

import time
from typing import Any

from vitalfile.disclosure.access import Principal, Unauthenticated, authenticate, hash_token
from vitalfile.ledger.store import Store

__all__ = ["KeyCache", "cached_principal", "lookup_principal"]


class KeyCache:
    """Recently seen keys, so a busy caller is not looked up on every request (short TTL:
    a revoked key stops working within `ttl` seconds)."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, Principal]] = {}

    def get(self, digest: str) -> Principal | None:
        hit = self._items.get(digest)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, digest: str, principal: Principal) -> None:
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[digest] = (time.monotonic() + self.ttl, principal)


def cached_principal(state: Any, token: str) -> Principal | None:
    """The key's holder when this worker saw the key lately (an expired key is refused)."""
    cache: KeyCache = state.key_cache
    hit = cache.get(hash_token(token))
    if hit is not None and hit.expired():
        raise Unauthenticated("the API key has expired")
    return hit


def lookup_principal(state: Any, token: str, held: Store | None = None) -> Principal:
    """The key's holder: from the cache, else looked up in `held` or a borrowed store."""
    hit = cached_principal(state, token)
    if hit is None:
        if held is not None:  # this request already holds one (DuckDB lends only one)
            hit = authenticate(held, token)
        else:
            with state.pool.borrow() as store:
                hit = authenticate(store, token)
        state.key_cache.put(hash_token(token), hit)
    return hit
