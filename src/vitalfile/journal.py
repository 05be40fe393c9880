"""Group commit for the answers of a busy service: a journal in front of the ledger.

A ledger commit costs a disk flush (milliseconds); an online answer must cost less. So each
answer's disclosure event is first written to an append-only journal file (handed to the
operating system before the answer is returned: a killed process loses nothing), and the
journal is appended to the ledger in one commit per batch. A journal left behind by a crash
is replayed by `recover` when it is opened again; the commit note records how far each
journal got, so nothing is recorded twice.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from vitalfile.errors import StorageError
from vitalfile.ledger.store import Store
from vitalfile.model import Event, decode

__all__ = ["Journal"]


class Journal:
    """Disclosure events written ahead to `path`, appended to `store` in batches."""

    def __init__(
        self, store: Store, path: Path, *, max_batch: int = 2000, max_delay: float = 0.25
    ) -> None:
        self.store = store
        self.path = path
        self.name = path.name
        self.max_batch = max_batch
        self.max_delay = max_delay
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._oldest = 0.0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._next = self.recover()
        self._fh = path.open("a", encoding="utf-8")

    def _committed_upto(self) -> int:
        rows = self.store.query(
            "SELECT note FROM ledger_commits WHERE note LIKE ? ORDER BY commit_no DESC LIMIT 1",
            [f"journal {self.name} %"],
        )
        return int(str(rows[0][0]).rsplit(" ", 1)[1]) if rows else 0

    def recover(self) -> int:
        """Append what an earlier process wrote but did not commit; return the next number."""
        if not self.path.exists():
            return 1
        done = self._committed_upto()
        events: list[Event] = []
        last = done
        # the last piece has no newline when the crash cut it short: it was never answered
        for line in self.path.read_text(encoding="utf-8").split("\n")[:-1]:
            number, _, text = line.partition("\t")
            n = int(number)
            last = max(last, n)
            if n > done:
                events.append(decode(text))
        if events:
            self.store.append(events, note=f"journal {self.name} {last}")
        self.path.write_text("")
        return last + 1

    def record(self, event: Event) -> None:
        """Write one event ahead; commit the batch when it is full or old enough."""
        with self._lock:
            self._fh.write(f"{self._next}\t{event.to_json()}\n")
            self._fh.flush()
            self._next += 1
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(event)
            due = (
                len(self._pending) >= self.max_batch
                or time.monotonic() - self._oldest >= self.max_delay
            )
        if due:
            self.flush()

    def flush(self) -> None:
        """Append everything written ahead to the ledger in one commit."""
        with self._lock:
            if not self._pending:
                return
            events, upto = self._pending, self._next - 1
            try:
                self.store.append(events, note=f"journal {self.name} {upto}")
            except StorageError:
                raise  # the journal keeps the events; `recover` appends them later
            self._pending = []
            self._fh.truncate(0)
            self._fh.seek(0)

    def close(self) -> None:
        self.flush()
        self._fh.close()
        if self.path.exists() and os.path.getsize(self.path) == 0:
            self.path.unlink()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
