"""Group commit of online answers in a worker process (PostgreSQL): one `Journal` per worker.

Each worker writes its answers' disclosure events ahead to its own journal file under
`work_dir/journals/` (held with an exclusive lock while the worker lives) and appends them
to the ledger in batches, through a store of its own; a thread commits what waits longer
than the batch delay. At start, journals left by dead workers (no lock held) are replayed
and removed, so no answer is lost or counted twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import IO

from vitalfile.api.metrics import request_metrics
from vitalfile.db import open_store
from vitalfile.events import Event
from vitalfile.ledger.journal import Journal
from vitalfile.ledger.store import Store

__all__ = ["AnswerJournal", "CountedJournal"]

log = logging.getLogger("vitalfile.api")


class CountedJournal(Journal):
    """A journal that counts answers written ahead and committed (the metrics' journal lag)."""

    def record(self, event: Event) -> None:
        super().record(event)
        request_metrics().answers_written.inc()

    def flush(self) -> int:
        n = super().flush()
        if n:
            request_metrics().answers_committed.inc(n)
        return n


class AnswerJournal:
    def __init__(self, url: str, folder: Path, *, delay: float = 0.5) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.store: Store = open_store(url)
        self._recover_orphans(folder)
        path = folder / f"answers-{os.getpid()}-{uuid.uuid4().hex[:8]}.journal"
        self._lockfile: IO[str] = (folder / (path.name + ".lock")).open("w")
        fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # the thread below commits what waits, every `delay` seconds: a request only writes
        # its answer ahead (it never waits on the chain head the other workers append to)
        self.journal = CountedJournal(
            self.store, path, max_batch=5000, max_delay=delay, inline_flush=False
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(delay,), daemon=True)
        self._thread.start()

    def _recover_orphans(self, folder: Path) -> None:
        # a journal is named by its lock and by its segments (`<name>.1`, `<name>.2`…): a
        # worker killed mid-flush leaves segments whatever its lock file says
        names = {p.name.split(".journal")[0] + ".journal" for p in folder.glob("answers-*")}
        for name in sorted(names):
            lock = folder / (name + ".lock")
            with lock.open("a") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live worker's
                Journal(self.store, folder / name).close()  # replays what its segments hold
                lock.unlink(missing_ok=True)

    def _run(self, delay: float) -> None:
        while not self._stop.wait(delay):
            try:
                self.journal.flush()
            except Exception as exc:  # kept in the journal; retried on the next tick
                log.warning("answer journal flush failed: %s", type(exc).__name__)

    def flush(self) -> None:
        self.journal.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.journal.close()
        self.store.close()
        lock = Path(self._lockfile.name)
        self._lockfile.close()
        lock.unlink(missing_ok=True)
