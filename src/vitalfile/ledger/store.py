"""The storage interface: the one way in (`append`), reading events, verifying the chain.

Every backend (DuckDB now, PostgreSQL later) implements `Store`; all SQL lives behind it.
Projections are plugged in by the caller (`open_store` wires the standard ones) and are
applied in the same transaction as the events that change them.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from vitalfile.errors import AppendConflict
from vitalfile.events import Event, decode
from vitalfile.ledger.chain import GENESIS, CommitHeader, commit_hash, digest_texts

# `progress(step, rows)`: now in `step` (read, check, commit…), `rows` more rows done in it
StepProgress = Callable[[str, int], None]

__all__ = [
    "COMMIT_COLS",
    "CommitInfo",
    "Projection",
    "StepProgress",
    "Store",
    "StoredEvent",
    "Tx",
    "VerifyReport",
    "commit_from_row",
    "count_lines",
    "utc_now_text",
]

COMMIT_COLS = "commit_no, first_seq, n_events, committed_at, prev_hash, hash, note"


def count_lines(path: Path) -> int:
    """Lines in a file (a last line without its newline counts), read in large blocks."""
    n = 0
    last = b"\n"
    with path.open("rb") as fh:
        while block := fh.read(1 << 24):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


def utc_now_text() -> str:
    """Commit time as stored: ISO UTC with microseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class CommitInfo:
    commit_no: int
    first_seq: int
    n_events: int
    committed_at: str
    prev_hash: str
    hash: str
    note: str = ""

    @property
    def last_seq(self) -> int:
        return self.first_seq + self.n_events - 1


def commit_from_row(row: Sequence[Any]) -> CommitInfo:
    """A `ledger_commits` row (columns in COMMIT_COLS order) as a CommitInfo."""
    return CommitInfo(
        commit_no=int(row[0]),
        first_seq=int(row[1]),
        n_events=int(row[2]),
        committed_at=str(row[3]),
        prev_hash=str(row[4]),
        hash=str(row[5]),
        note=str(row[6]),
    )


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    commit_no: int
    event: Event


@dataclass
class VerifyReport:
    commits: int = 0
    events: int = 0
    head: CommitInfo | None = None
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Tx(Protocol):
    """What a projection may do inside the append transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def insert_arrow(self, table: str, data: pa.Table) -> None: ...

    def delete_in(self, table: str, column: str, values: Sequence[Any]) -> None: ...

    def select_in(
        self, table: str, columns: Sequence[str], column: str, values: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        """`columns` of the rows of `table` whose `column` is one of `values`."""
        ...


class Projection(Protocol):
    """A table (or tables) derived from events; rebuildable from the events alone."""

    name: str

    def ddl(self) -> list[str]: ...

    def tables(self) -> list[str]: ...

    def handles(self, event_type: str) -> bool: ...

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None: ...


class Store(abc.ABC):
    """A ledger and its projections in one database."""

    url: str
    projections: list[Projection]
    # whether a join on an indexed key is a point look-up (a row-store's nested loop); where
    # it is not (DuckDB hashes the whole other side), hot paths query each table by key
    indexed_joins: bool = False
    # the most events `append_staged` puts in one commit (None: as many as asked)
    bulk_chunk_limit: int | None = None

    def append(
        self,
        events: Sequence[Event],
        *,
        note: str = "",
        expected_head: int | None = None,
    ) -> CommitInfo | None:
        """Append `events` as one commit, with their projections, all or nothing.

        With `expected_head`, refuse (AppendConflict) when another writer moved the chain
        head since the caller decided; the backends serialise appends on the head.
        """
        if not events:
            return None
        with self.transaction():
            tx = self.reader()
            head = self.head()
            head_no = head.commit_no if head else 0
            if expected_head is not None and expected_head != head_no:
                raise AppendConflict(
                    "the ledger moved since the decision was made; decide again",
                    commit=head_no,
                )
            first_seq = head.last_seq + 1 if head else 1
            bodies = [e.to_json() for e in events]
            header = CommitHeader(
                commit_no=head_no + 1,
                first_seq=first_seq,
                n_events=len(events),
                committed_at=utc_now_text(),
                prev_hash=head.hash if head else GENESIS,
            )
            info = self._write_commit(header, digest_texts(bodies), note)
            seqs = range(first_seq, first_seq + len(events))
            tx.insert_arrow(
                "ledger_events",
                pa.table(
                    {
                        "seq": pa.array(seqs, pa.int64()),
                        "commit_no": pa.array([header.commit_no] * len(events), pa.int64()),
                        "type": pa.array([e.type for e in events], pa.string()),
                        "subject": pa.array([e.subject() for e in events], pa.int64()),
                        "body": pa.array(bodies, pa.string()),
                    }
                ),
            )
            self._apply(list(zip(seqs, events, strict=True)))
            return info

    def _write_commit(self, header: CommitHeader, digest: str, note: str) -> CommitInfo:
        """Store one commit row (inside the open transaction) and return it."""
        info = CommitInfo(
            commit_no=header.commit_no,
            first_seq=header.first_seq,
            n_events=header.n_events,
            committed_at=header.committed_at,
            prev_hash=header.prev_hash,
            hash=commit_hash(header, digest),
            note=note,
        )
        self.reader().execute(
            f"INSERT INTO ledger_commits ({COMMIT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                info.commit_no,
                info.first_seq,
                info.n_events,
                info.committed_at,
                info.prev_hash,
                info.hash,
                info.note,
            ],
        )
        return info

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[Any]:
        """One database transaction spanning several appends (all or nothing)."""

    # ── the set-wise path: millions of rows staged, rendered and appended by SQL ──────
    @abc.abstractmethod
    def regex_sql(self, expr: str, pattern: str, *, whole: bool = True) -> str:
        """SQL true when `expr` matches `pattern` (whole, or anywhere when not `whole`)."""

    @abc.abstractmethod
    def stage_csv(
        self,
        table: str,
        path: Path,
        columns: Sequence[str],
        *,
        header: bool = True,
        delimiter: str = ",",
        quote: str = '"',
        transform: Callable[[str], str] | None = None,
    ) -> int | None:
        """Read a CSV file into temporary table `table` (`rid` 0.. in file order, then
        `columns` as text, '' for empty); the row count, or None when the file is not one
        row per line in that form (the caller then reads it record by record to say why).
        With `transform`, the table is `transform(relation)` of those rows instead (a
        SELECT keeping one row per line and `rid`). Nothing in the file reaches an error
        message."""

    @abc.abstractmethod
    def stage_arrow(self, table: str, data: pa.Table) -> int:
        """Temporary table `table` (`rid` 0.., then `data`'s columns); its row count."""

    def drop_stage(self, table: str) -> None:
        self.reader().execute(f"DROP TABLE IF EXISTS {table}")

    @abc.abstractmethod
    def _events_digest(self, first_seq: int, n_events: int) -> str:
        """SHA-256 hex of the stored texts of events first_seq.. (n_events), in order."""

    def append_staged(
        self,
        stage: str,
        n_rows: int,
        *,
        event_type: str,
        subject_sql: str = "subject",
        body_sql: str = "body",
        note: str = "",
        chunk: int = 1_000_000,
        on_chunk: Callable[[Tx, int, int, int], None] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[CommitInfo]:
        """The set-wise way in: one event per row of table `stage`, rendered by SQL.

        `stage.rid` runs 0..n_rows-1 in event order; `subject_sql` and `body_sql` compute
        each event's subject and canonical JSON text from the row. Events go in commits of
        up to `chunk`, all in one transaction, each hashed from the stored text as read back;
        `on_chunk(tx, lo, hi, first_seq)` updates the projections for rows lo <= rid < hi by
        SQL (it must give exactly what replaying those events would).
        """
        infos: list[CommitInfo] = []
        if self.bulk_chunk_limit is not None:
            chunk = min(chunk, self.bulk_chunk_limit)
        with self.transaction():
            tx = self.reader()
            for lo in range(0, n_rows, chunk):
                hi = min(n_rows, lo + chunk)
                head = self.head()
                first_seq = head.last_seq + 1 if head else 1
                header = CommitHeader(
                    commit_no=(head.commit_no if head else 0) + 1,
                    first_seq=first_seq,
                    n_events=hi - lo,
                    committed_at=utc_now_text(),
                    prev_hash=head.hash if head else GENESIS,
                )
                tx.execute(
                    "INSERT INTO ledger_events (seq, commit_no, type, subject, body) "
                    f"SELECT {first_seq - lo} + rid, {header.commit_no}, '{event_type}', "
                    f"{subject_sql}, {body_sql} FROM {stage} WHERE rid >= {lo} AND rid < {hi}"
                )
                digest = self._events_digest(first_seq, hi - lo)
                infos.append(self._write_commit(header, digest, note))
                if on_chunk is not None:
                    on_chunk(tx, lo, hi, first_seq)
                if progress is not None:
                    progress(hi - lo)
        return infos

    # ── shared by every backend: portable SQL through the transaction view ──────────────
    def _apply(
        self, events: list[tuple[int, Event]], projections: Sequence[Projection] | None = None
    ) -> None:
        tx = self.reader()
        present = {e.type for _, e in events}
        for p in self.projections if projections is None else projections:
            wanted = {t for t in present if p.handles(t)}
            if not wanted:
                continue
            mine = events if wanted == present else [(s, e) for s, e in events if e.type in wanted]
            p.apply(tx, mine)

    def _fill_new(self, made: Sequence[Projection]) -> None:
        """Fill the projections whose tables this open made, on a ledger that already has
        events (a projection a newer release adds): replayed from the events alone, so the
        table reads as if it had been there from the first commit. Inside the caller's
        schema-making transaction; nothing to do on an empty ledger."""
        if not made or not self.reader().fetchall("SELECT 1 FROM ledger_events LIMIT 1"):
            return
        batch: list[tuple[int, Event]] = []
        for se in self.iter_events():
            batch.append((se.seq, se.event))
            if len(batch) >= 50_000:
                self._apply(batch, made)
                batch = []
        if batch:
            self._apply(batch, made)

    def head(self) -> CommitInfo | None:
        rows = self.reader().fetchall(
            f"SELECT {COMMIT_COLS} FROM ledger_commits ORDER BY commit_no DESC LIMIT 1"
        )
        return commit_from_row(rows[0]) if rows else None

    def commits(self) -> list[CommitInfo]:
        rows = self.reader().fetchall(
            f"SELECT {COMMIT_COLS} FROM ledger_commits ORDER BY commit_no"
        )
        return [commit_from_row(r) for r in rows]

    def commit_at(self, when: str) -> CommitInfo | None:
        """The last commit made at or before the ISO time `when`."""
        rows = self.reader().fetchall(
            f"SELECT {COMMIT_COLS} FROM ledger_commits WHERE committed_at <= ? "
            "ORDER BY commit_no DESC LIMIT 1",
            [when],
        )
        return commit_from_row(rows[0]) if rows else None

    def schema_ready(self) -> bool:
        """Every ledger and projection table answers a query (else the query's error)."""
        tables = ["ledger_commits", "ledger_events"]
        tables += [t for p in self.projections for t in p.tables()]
        for table in tables:
            self.query(f"SELECT 1 FROM {table} WHERE 1 = 0")
        return True

    def iter_events(
        self,
        *,
        after_seq: int = 0,
        upto_seq: int | None = None,
        subject: int | None = None,
        types: Sequence[str] | None = None,
        batch: int = 50_000,
    ) -> Iterator[StoredEvent]:
        """Events in sequence order, paged by sequence number (a fully fetched page leaves
        the connection free for other statements between pages)."""
        where = ["seq > ?"]
        params: list[Any] = []
        if upto_seq is not None:
            where.append("seq <= ?")
            params.append(upto_seq)
        if subject is not None:
            where.append("subject = ?")
            params.append(subject)
        if types:
            where.append(f"type IN ({', '.join('?' for _ in types)})")
            params.extend(types)
        cond = " AND ".join(where)
        last = after_seq
        while True:
            rows = self.reader().fetchall(
                f"SELECT seq, commit_no, body FROM ledger_events WHERE {cond} "
                f"ORDER BY seq LIMIT {int(batch)}",
                [last, *params],
            )
            for seq, commit_no, body in rows:
                yield StoredEvent(int(seq), int(commit_no), decode(body))
            if len(rows) < batch:
                return
            last = int(rows[-1][0])

    @abc.abstractmethod
    def verify(self) -> VerifyReport: ...

    @abc.abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read-only query over projections (portable SQL, `?` placeholders)."""

    @abc.abstractmethod
    def query_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table: ...

    @abc.abstractmethod
    def reader(self) -> Tx:
        """The transaction view, for reads through the same helpers projections use."""

    @abc.abstractmethod
    def rebuild(self, *, upto_seq: int | None = None, into_schema: str | None = None) -> None:
        """Drop and replay every projection from the events alone."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
