"""The service's stores: a pool lent one request at a time, and the `StoreDep` dependency."""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from vitalfile.db import open_store
from vitalfile.ledger.store import Store

__all__ = ["StoreDep", "StorePool", "flush_answers", "get_store"]


class StorePool:
    """Stores opened on first use, lent one request at a time (a store is one connection)."""

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        is_pg = url.startswith(("postgresql://", "postgres://"))
        self.size = max(1, size) if is_pg else 1  # DuckDB: one connection per process
        self._free: queue.Queue[Store] = queue.Queue()
        self._opened: list[Store] = []
        self._lock = threading.Lock()

    @contextmanager
    def borrow(self) -> Iterator[Store]:
        store = self.take()
        try:
            yield store
        finally:
            self.give_back(store)

    def take_nowait(self) -> Store | None:
        """A free store, or None when each is lent (or none is opened yet)."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            return None

    def take(self) -> Store:
        """A free store; opens one while under `size`, else waits for one to come back."""
        store = self.take_nowait()
        if store is not None:
            return store
        with self._lock:
            if len(self._opened) < self.size:
                store = open_store(self.url)
                self._opened.append(store)
        return store if store is not None else self._free.get()

    def give_back(self, store: Store) -> None:
        self._free.put(store)

    def close(self) -> None:
        with self._lock:
            for s in self._opened:
                s.close()
            self._opened.clear()
            self._free = queue.Queue()


async def get_store(request: Request) -> AsyncIterator[Store]:
    pool: StorePool = request.app.state.pool
    store = pool.take_nowait()
    if store is None:
        store = await run_in_threadpool(pool.take)
    request.state.store = store
    try:
        yield store
    finally:
        request.state.store = None
        pool.give_back(store)


StoreDep = Annotated[Store, Depends(get_store)]


def flush_answers(request: Request) -> None:
    """Commit this worker's waiting online answers, so an accounting read now shows them."""
    answers = getattr(request.app.state, "answers", None)
    if answers is not None:
        answers.flush()
