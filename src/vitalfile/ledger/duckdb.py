"""The embedded DuckDB store: the ledger tables, the append transaction, chain verification.

All DuckDB SQL of the ledger lives here. Events are inserted and hashed as Arrow batches;
`verify` streams the events table in storage order and hashes whole buffers.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from vitalfile.errors import StorageError
from vitalfile.events import Event
from vitalfile.ledger.chain import update_with_strings
from vitalfile.ledger.store import (
    Projection,
    Store,
    VerifyReport,
    count_lines,
)
from vitalfile.ledger.walk import Batch, walk_chain

__all__ = ["DuckDBStore"]

LEDGER_DDL = [
    """CREATE TABLE IF NOT EXISTS ledger_commits (
        commit_no BIGINT PRIMARY KEY, first_seq BIGINT NOT NULL, n_events BIGINT NOT NULL,
        committed_at VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL,
        note VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ledger_events (
        seq BIGINT NOT NULL, commit_no BIGINT NOT NULL, type VARCHAR NOT NULL,
        subject BIGINT, body VARCHAR NOT NULL)""",
]

DEFAULT_MEMORY_LIMIT = "3GB"


class _DuckTx:
    """The projections' view of the open transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._n = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            self.con.execute(sql, list(params))
        except duckdb.Error as exc:
            raise StorageError(f"statement failed: {type(exc).__name__}", sql=sql) from exc

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.con.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise StorageError(f"query failed: {type(exc).__name__}", sql=sql) from exc

    def _view(self, data: pa.Table) -> str:
        self._n += 1
        name = f"__vf_arrow_{self._n}"
        self.con.register(name, data)
        return name

    def _drop(self, view: str) -> None:
        # in an aborted transaction even unregistering fails; the rollback clears it anyway
        with contextlib.suppress(duckdb.Error):
            self.con.unregister(view)

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        view = self._view(data)
        try:
            self.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
        finally:
            self._drop(view)

    def select_in(
        self, table: str, columns: Sequence[str], column: str, values: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        if not values:
            return []
        view = self._view(pa.table({"v": pa.array(list(values))}))
        try:
            return self.fetchall(
                f"SELECT {', '.join('t.' + c for c in columns)} FROM {table} t "
                f"JOIN {view} k ON t.{column} = k.v"
            )
        finally:
            self._drop(view)

    def delete_in(self, table: str, column: str, values: Sequence[Any]) -> None:
        if not values:
            return
        view = self._view(pa.table({"v": pa.array(list(values))}))
        try:
            self.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT v FROM {view})")
        finally:
            self._drop(view)


class DuckDBStore(Store):
    """A ledger in one DuckDB file (or in memory with path ':memory:')."""

    def __init__(
        self,
        path: str | Path,
        projections: Sequence[Projection] = (),
        *,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self.url = str(path)
        self.projections = list(projections)
        try:
            # bounded memory: large loads spill to disk instead of growing without limit
            self.con = duckdb.connect(self.url, config={"memory_limit": memory_limit})
        except duckdb.Error as exc:
            raise StorageError(f"cannot open the database: {type(exc).__name__}") from exc
        self._lock = threading.RLock()
        self._depth = 0
        self.tx = _DuckTx(self.con)
        for sql in LEDGER_DDL:
            self.con.execute(sql)
        existing = {
            r[0] for r in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        made = [p for p in self.projections if not existing & set(p.tables())]
        with self.transaction():
            for p in self.projections:
                for sql in p.ddl():
                    self.con.execute(sql)
            self._fill_new(made)

    # ── transactions ──────────────────────────────────────────────────────────────────
    @contextmanager
    def transaction(self) -> Iterator[_DuckTx]:
        with self._lock:
            outer = self._depth == 0
            if outer:
                self.con.execute("BEGIN TRANSACTION")
            self._depth += 1
            try:
                yield self.tx
            except BaseException:
                self._depth -= 1
                if outer:
                    self.con.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                try:
                    self.con.execute("COMMIT")
                except duckdb.Error as exc:
                    raise StorageError(f"commit failed: {type(exc).__name__}") from exc

    # ── the set-wise path ─────────────────────────────────────────────────────────────
    def regex_sql(self, expr: str, pattern: str, *, whole: bool = True) -> str:
        fn = "regexp_full_match" if whole else "regexp_matches"
        return f"{fn}({expr}, '{pattern}')"

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
        lines = count_lines(path)
        types = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
        q = quote.replace("'", "''")
        # rows DuckDB cannot read are skipped (ignore_errors), so the count no longer
        # matches the lines and the caller reads the file itself: a failed read_csv would
        # abort the open transaction and quote the line in its message
        src = (
            f"read_csv('{str(path).replace(chr(39), chr(39) * 2)}', columns={types}, "
            f"header={'true' if header else 'false'}, delim='{delimiter}', quote='{q}', "
            f"escape='{q}', auto_detect=false, strict_mode=true, ignore_errors=true, "
            "null_padding=false)"
        )
        cols = ", ".join(f"coalesce({c}, '') AS {c}" for c in columns)
        rows = f"SELECT (row_number() OVER ()) - 1 AS rid, {cols} FROM {src}"
        # read and transformed in one statement: the rows are not materialised twice
        select = transform(f"({rows}) t0") if transform is not None else rows
        self.tx.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")
        n = int(self.tx.fetchall(f"SELECT count(*) FROM {table}")[0][0])
        if n != lines - (1 if header else 0):
            self.drop_stage(table)
            return None
        return n

    def stage_arrow(self, table: str, data: pa.Table) -> int:
        view = self.tx._view(data)
        try:
            self.tx.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS "
                f"SELECT (row_number() OVER ()) - 1 AS rid, * FROM {view}"
            )
        finally:
            self.tx._drop(view)
        return data.num_rows

    def _events_digest(self, first_seq: int, n_events: int) -> str:
        h = hashlib.sha256()
        reader = self.con.sql(
            "SELECT body FROM ledger_events "
            f"WHERE seq >= {first_seq} AND seq < {first_seq + n_events}"
        ).to_arrow_reader(1 << 18)
        for batch in reader:
            update_with_strings(h, batch.column(0))
        return h.hexdigest()

    # ── reading ───────────────────────────────────────────────────────────────────────
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.tx.fetchall(sql, params)

    def reader(self) -> _DuckTx:
        return self.tx

    def query_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        try:
            return self.con.sql(sql, params=list(params) if params else None).to_arrow_table()
        except duckdb.Error as exc:
            raise StorageError(f"query failed: {type(exc).__name__}", sql=sql) from exc

    # ── verification ──────────────────────────────────────────────────────────────────
    def verify(self) -> VerifyReport:
        """Recompute the chain over a scan in storage order (fast); if that finds events out
        of place, scan again in sequence order so the blame falls on the right commit."""
        report = self._verify(ordered=False)
        if not report.ok and "out of place" in report.problems[0]:
            report = self._verify(ordered=True)
        return report

    def _verify(self, *, ordered: bool) -> VerifyReport:
        started = time.perf_counter()
        commits = self.commits()
        order = " ORDER BY seq, commit_no" if ordered else ""
        reader = self.con.sql(
            f"SELECT seq, commit_no, body FROM ledger_events{order}"
        ).to_arrow_reader(1 << 19)

        def batches() -> Iterator[Batch]:
            for batch in reader:
                bodies = batch.column(2)

                def feed(h: Any, start: int, take: int, bodies: Any = bodies) -> None:
                    update_with_strings(h, bodies.slice(start, take))

                yield batch.column(0).to_numpy(), batch.column(1).to_numpy(), feed

        return walk_chain(
            commits, batches(), started=started, suffix="" if ordered else " (out of place)"
        )

    # ── projections ───────────────────────────────────────────────────────────────────
    def rebuild(self, *, upto_seq: int | None = None, into_schema: str | None = None) -> None:
        with self.transaction() as tx:
            for p in self.projections:
                for table in p.tables():
                    tx.execute(f"DROP TABLE IF EXISTS {table}")
                for sql in p.ddl():
                    tx.execute(sql)
            batch: list[tuple[int, Event]] = []
            for se in self.iter_events(upto_seq=upto_seq):
                batch.append((se.seq, se.event))
                if len(batch) >= 50_000:
                    self._apply(batch)
                    batch = []
            if batch:
                self._apply(batch)

    def close(self) -> None:
        self.con.close()
