"""The service's Prometheus metrics: requests counted per worker, the file's state at scrape.

Request counts and latencies are counted in each worker process; under `vitalfile serve`
every worker writes them to files in `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's
multiprocess mode) and a scrape on any worker sums them all. Everything else (the answer
journals' lag, the review queue, corrections owed, the latest checkpoint, the last ingest)
is read from the database and the work folder when scraped, so every worker answers the
same. Labels are route templates, methods, statuses, case kinds, event types and recipient
ids: never a path, a person, an SSN, a name or an address.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from vitalfile.ledger.store import Store
from vitalfile.overview.figures import ingest_events_by_type, last_ingest, open_cases_by_kind

__all__ = [
    "CONTENT_TYPE",
    "MULTIPROC_ENV",
    "FileStateCollector",
    "RequestMetrics",
    "journal_pending",
    "render",
    "request_metrics",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class RequestMetrics:
    """This process's counters (registered in `registry` unless in multiprocess mode)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = registry
        labels = ("method", "route", "status")
        self.requests = Counter(
            "vitalfile_http_requests",
            "HTTP requests answered, by method, route template and status",
            labels,
            registry=registry,
        )
        self.latency = Histogram(
            "vitalfile_http_request_duration_seconds",
            "time to answer, by method, route template and status",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.answers_written = Counter(
            "vitalfile_journal_answers_written",
            "online answers written ahead to a journal (PostgreSQL)",
            registry=registry,
        )
        self.answers_committed = Counter(
            "vitalfile_journal_answers_committed",
            "online answers from a journal committed to the ledger (PostgreSQL)",
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        self.requests.labels(*key).inc()
        self.latency.labels(*key).observe(seconds)


_METRICS: RequestMetrics | None = None


def request_metrics() -> RequestMetrics:
    """This process's request metrics, made on first use (not at import)."""
    global _METRICS
    if _METRICS is None:
        # in multiprocess mode values live in files; the registry is built per scrape
        _METRICS = RequestMetrics(None if os.environ.get(MULTIPROC_ENV) else CollectorRegistry())
    return _METRICS


def journal_pending(folder: Path) -> int:
    """Answers written ahead but not yet committed, over every worker's journal: the lines
    of the segments still on disk (a segment is deleted once its commit is done)."""
    n = 0
    if not folder.is_dir():
        return 0
    for entry in os.scandir(folder):
        suffix = entry.name.rsplit(".", 1)[-1]
        if ".journal" in entry.name and suffix.isdigit() and entry.is_file():
            try:
                with open(entry.path, "rb") as fh:
                    n += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 16), b""))
            except FileNotFoundError:  # committed while we looked
                continue
    return n


def _newest_checkpoint(folder: Path) -> tuple[float, int] | None:
    """(signed at, commit) of the newest checkpoint file in `folder`, by its signing time."""
    import json

    best: tuple[float, int] | None = None
    if not folder.is_dir():
        return None
    for entry in os.scandir(folder):
        if not entry.name.endswith(".json") or not entry.is_file():
            continue
        try:
            doc = json.loads(Path(entry.path).read_text())
            signed = _epoch(str(doc["signed_at"]))
            commit = int(doc["commit_no"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if best is None or signed > best[0]:
            best = (signed, commit)
    return best


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


@dataclass
class _IngestCounts:
    last_commit: int
    at: float
    by_type: dict[str, int]


class FileStateCollector(Collector):
    """Gauges read from the database and the work folder when scraped."""

    _ingest_cache: dict[tuple[str, int], _IngestCounts] = {}  # noqa: RUF012 - per process

    def __init__(
        self,
        store: Store | None,
        *,
        journals: Path | None,
        checkpoints: Path,
        today: date | None = None,
    ) -> None:
        self.store = store
        self.journals = journals
        self.checkpoints = checkpoints
        self.today = today or date.today()

    def collect(self) -> Iterator[Metric]:
        now = time.time()
        up = GaugeMetricFamily(
            "vitalfile_database_up", "1 when the database answered this scrape's queries"
        )
        ok = self.store is not None
        if self.store is not None:
            try:
                yield from self._from_database(self.store, now)
            except Exception:  # the scrape still answers: the database is down
                ok = False
        up.add_metric([], 1.0 if ok else 0.0)
        yield up
        if self.journals is not None:
            g = GaugeMetricFamily(
                "vitalfile_journal_pending_answers",
                "online answers written ahead to a journal and not yet committed (journal lag)",
            )
            g.add_metric([], float(journal_pending(self.journals)))
            yield g
        cp = _newest_checkpoint(self.checkpoints)
        if cp is not None:
            age = GaugeMetricFamily(
                "vitalfile_checkpoint_age_seconds", "seconds since the newest checkpoint was signed"
            )
            age.add_metric([], max(0.0, now - cp[0]))
            yield age
            no = GaugeMetricFamily(
                "vitalfile_checkpoint_commit", "the commit the newest checkpoint signs"
            )
            no.add_metric([], float(cp[1]))
            yield no

    def _from_database(self, store: Store, now: float) -> Iterator[Metric]:
        head = store.head()
        g = GaugeMetricFamily("vitalfile_ledger_head_commit", "the ledger's last commit number")
        g.add_metric([], float(head.commit_no if head else 0))
        yield g
        if head is not None:
            g = GaugeMetricFamily(
                "vitalfile_ledger_head_age_seconds", "seconds since the ledger's last commit"
            )
            g.add_metric([], max(0.0, now - _epoch(head.committed_at)))
            yield g

        open_cases = GaugeMetricFamily(
            "vitalfile_cases_open", "open cases (the review queue), by kind", labels=["kind"]
        )
        for kind, n in open_cases_by_kind(store):
            open_cases.add_metric([str(kind)], float(n))
        yield open_cases
        overdue = GaugeMetricFamily(
            "vitalfile_cases_overdue", "open cases past their due date, by kind", labels=["kind"]
        )
        for kind, n in open_cases_by_kind(store, due_before=self.today):
            overdue.add_metric([str(kind)], float(n))
        yield overdue

        from vitalfile.disclosure.corrections import pending_corrections

        owed: dict[str, int] = {}
        for c in pending_corrections(store, on=self.today):
            owed[c.recipient] = owed.get(c.recipient, 0) + 1
        pending = GaugeMetricFamily(
            "vitalfile_corrections_pending",
            "records a recipient holds whose version is no longer right, by recipient",
            labels=["recipient"],
        )
        for recipient, n in sorted(owed.items()):
            pending.add_metric([recipient], float(n))
        yield pending

        ingest = self._last_ingest(store)
        if ingest is not None:
            g = GaugeMetricFamily(
                "vitalfile_last_ingest_events",
                "events the last ingest of reports recorded, by event type",
                labels=["type"],
            )
            for t, n in sorted(ingest.by_type.items()):
                g.add_metric([t], float(n))
            yield g
            g = GaugeMetricFamily(
                "vitalfile_last_ingest_timestamp_seconds", "when the last ingest committed"
            )
            g.add_metric([], ingest.at)
            yield g

    def _last_ingest(self, store: Store) -> _IngestCounts | None:
        """The events of the last ingest (every commit of its batch), counted by type."""
        found = last_ingest(store)
        if found is None:
            return None
        last, note, at = found
        key = (store.url, last)
        hit = self._ingest_cache.get(key)
        if hit is not None:
            return hit
        counts = _IngestCounts(last, _epoch(at), ingest_events_by_type(store, note, last))
        if len(self._ingest_cache) > 16:
            self._ingest_cache.clear()
        self._ingest_cache[key] = counts
        return counts


def render(state: FileStateCollector) -> bytes:
    """The text exposition: this service's request metrics (every worker's) and the state."""
    registry = CollectorRegistry()
    folder = os.environ.get(MULTIPROC_ENV)
    own = b""
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        mine = request_metrics().registry
        own = generate_latest(mine) if mine is not None else b""
    registry.register(state)
    return own + generate_latest(registry)
