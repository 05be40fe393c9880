"""Group commit for the answers of a busy service: a journal in front of the ledger.

A ledger commit costs a disk flush (milliseconds); an online answer must cost less. So each
answer's disclosure event is first written to an append-only journal segment (handed to the
operating system before the answer is returned: a killed process loses nothing), and the
journal is appended to the ledger in one commit per batch. A flush swaps in a fresh segment
first, so answers keep being written while the batch commits; the old segment is deleted
once its commit is done. Segments left behind by a crash are replayed by `recover` when the
journal is opened again; the commit note records how far each journal got, so nothing is
recorded twice.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TextIO

from vitalfile.events import Event, decode
from vitalfile.ledger.store import Store

__all__ = ["Journal"]


class Journal:
    """Disclosure events written ahead to segments beside `path`, appended in batches."""

    def __init__(
        self,
        store: Store,
        path: Path,
        *,
        max_batch: int = 2000,
        max_delay: float = 0.25,
        inline_flush: bool = True,
    ) -> None:
        self.store = store
        self.path = path
        self.name = path.name
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.inline_flush = inline_flush  # False when a background thread flushes
        self._lock = threading.Lock()  # the current segment and the pending events
        self._flushing = threading.Lock()  # one commit at a time, in journal order
        self._pending: list[Event] = []
        self._oldest = 0.0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._next = self.recover()
        self._segment = 0
        self._fh = self._open_segment()

    # segments: <path>.<k>, written in order; the plain <path> is an older single file
    def _segments(self) -> list[Path]:
        found = [p for p in self.path.parent.glob(self.name + ".*") if p.suffix[1:].isdigit()]
        found.sort(key=lambda p: int(p.suffix[1:]))
        return ([self.path] if self.path.exists() else []) + found

    def _open_segment(self) -> TextIO:
        self._segment += 1
        return self.path.with_name(f"{self.name}.{self._segment}").open("a", encoding="utf-8")

    def _committed_upto(self) -> int:
        rows = self.store.query(
            "SELECT note FROM ledger_commits WHERE note LIKE ? ORDER BY commit_no DESC LIMIT 1",
            [f"journal {self.name} %"],
        )
        return int(str(rows[0][0]).rsplit(" ", 1)[1]) if rows else 0

    def recover(self) -> int:
        """Append what an earlier process wrote but did not commit; return the next number."""
        segments = self._segments()
        done = self._committed_upto()
        last = done
        events: list[Event] = []
        for segment in segments:
            # the last piece has no newline when the crash cut it short: never answered
            for line in segment.read_text(encoding="utf-8").split("\n")[:-1]:
                number, _, text = line.partition("\t")
                n = int(number)
                last = max(last, n)
                if n > done:
                    events.append(decode(text))
        if events:
            self.store.append(events, note=f"journal {self.name} {last}")
        for segment in segments:
            segment.unlink()
        return last + 1

    def record(self, event: Event) -> None:
        """Write one event ahead; with inline flushing, commit when the batch is due."""
        with self._lock:
            self._fh.write(f"{self._next}\t{event.to_json()}\n")
            self._fh.flush()
            self._next += 1
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(event)
            due = self.inline_flush and (
                len(self._pending) >= self.max_batch
                or time.monotonic() - self._oldest >= self.max_delay
            )
        if due:
            self.flush()

    def flush(self) -> int:
        """Append everything written ahead to the ledger in one commit; return how many."""
        with self._flushing:
            with self._lock:
                if not self._pending:
                    return 0
                events, upto = self._pending, self._next - 1
                self._pending = []
                old, self._fh = self._fh, self._open_segment()
            old.close()
            try:
                self.store.append(events, note=f"journal {self.name} {upto}")
            except BaseException:
                # the segment stays on disk (and `recover` would take it); retry next time
                with self._lock:
                    self._pending = events + self._pending
                raise
            Path(old.name).unlink(missing_ok=True)
            return len(events)

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._fh.close()
        for segment in self._segments():
            if segment.stat().st_size == 0:
                segment.unlink()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
