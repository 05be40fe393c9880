"""The PostgreSQL store: the same ledger tables and contract as DuckDB, for a server.

All PostgreSQL SQL of the ledger lives here. Several processes may append at once: every
write transaction first locks the one row of `ledger_head`, so appends are serialised on the
chain head (no fork, no lost event, no duplicate sequence number). Projections write their
DDL and SQL in the portable dialect the DuckDB store speaks (`?` placeholders); this module
translates the few differences (placeholders, `DOUBLE`, `strip_accents`).
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql as pgsql

from vitalfile.errors import StorageError
from vitalfile.events import Event
from vitalfile.ledger.store import (
    CommitInfo,
    Projection,
    Store,
    VerifyReport,
)
from vitalfile.ledger.walk import Batch, walk_chain

__all__ = [
    "PostgresStore",
    "create_schema",
    "drop_schema",
    "to_pg_ddl",
    "to_pg_sql",
    "with_schema",
]

# committed_at compares bytewise whatever the database's collation (`commit_at` needs it)
LEDGER_DDL = [
    """CREATE TABLE IF NOT EXISTS ledger_commits (
        commit_no BIGINT PRIMARY KEY, first_seq BIGINT NOT NULL, n_events BIGINT NOT NULL,
        committed_at TEXT COLLATE "C" NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
        note TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ledger_events (
        seq BIGINT PRIMARY KEY, commit_no BIGINT NOT NULL, type TEXT NOT NULL,
        subject BIGINT, body TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ledger_events_subject ON ledger_events (subject)",
    # the lock row appends serialise on
    "CREATE TABLE IF NOT EXISTS ledger_head (id INTEGER PRIMARY KEY CHECK (id = 1))",
    "INSERT INTO ledger_head (id) VALUES (1) ON CONFLICT DO NOTHING",
]

# Dialect shim: DuckDB's strip_accents, as Python's NFKD-and-drop-combining-marks does it.
STRIP_ACCENTS_DDL = r"""CREATE FUNCTION strip_accents(t TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT regexp_replace(normalize(t, NFKD),
        '[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]', '', 'g')
    $$"""

# Indexes the projections' lookups need (DuckDB scans columns; a row store wants these).
PROJECTION_INDEXES: dict[str, list[str]] = {
    "persons": [
        "CREATE INDEX IF NOT EXISTS persons_person_id ON persons (person_id)",
        "CREATE INDEX IF NOT EXISTS persons_ssn ON persons (ssn)",
    ],
    "deaths": ["CREATE INDEX IF NOT EXISTS deaths_person_id ON deaths (person_id)"],
    "death_versions": [
        "CREATE INDEX IF NOT EXISTS death_versions_person_id ON death_versions (person_id)"
    ],
    "reports": ["CREATE INDEX IF NOT EXISTS reports_report_key ON reports (report_key)"],
}

_DDL_LOCK = 0x5646_4444  # advisory lock key: one process at a time creates the tables

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\?|%", re.S)


@functools.lru_cache(maxsize=4096)
def to_pg_sql(sql: str) -> str:
    """Portable SQL with `?` placeholders → psycopg's `%s` (a literal `%` becomes `%%`)."""

    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "?":
            return "%s"
        return tok.replace("%", "%%")

    return _TOKENS.sub(sub, sql)


_DOUBLE = re.compile(r"\bDOUBLE\b(?!\s+PRECISION)", re.I)


def to_pg_ddl(sql: str) -> str:
    """A projection's DuckDB-flavoured DDL in PostgreSQL types (`DOUBLE` is the only gap)."""
    return _DOUBLE.sub("DOUBLE PRECISION", sql)


_ARROW_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.string(),
    1042: pa.string(),
    1043: pa.string(),
    19: pa.string(),
    700: pa.float32(),
    701: pa.float64(),
}


_PG_TYPES: dict[pa.DataType, str] = {
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE PRECISION",
    pa.bool_(): "BOOLEAN",
}


def _failed(what: str, exc: psycopg.Error, sql: str | None = None) -> StorageError:
    # the server's message may quote values (personal data): keep the kind and SQLSTATE only
    state = f" [{exc.sqlstate}]" if exc.sqlstate else ""
    return StorageError(f"{what}: {type(exc).__name__}{state}", sql=sql)


class _PgTx:
    """The projections' view of the open transaction (or of autocommit outside one)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            if params:
                self.conn.execute(to_pg_sql(sql), list(params))
            else:
                self.conn.execute(sql)
        except psycopg.Error as exc:
            raise _failed("statement failed", exc, sql) from exc

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cur = (
                self.conn.execute(to_pg_sql(sql), list(params))
                if params
                else self.conn.execute(sql)
            )
            return cur.fetchall() if cur.description is not None else []
        except psycopg.Error as exc:
            raise _failed("query failed", exc, sql) from exc

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        stmt = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
            pgsql.Identifier(table),
            pgsql.SQL(", ").join(pgsql.Identifier(c) for c in data.column_names),
        )
        try:
            with self.conn.cursor() as cur, cur.copy(stmt) as copy:
                for batch in data.to_batches(max_chunksize=100_000):
                    columns = [c.to_pylist() for c in batch.columns]
                    for row in zip(*columns, strict=True):
                        copy.write_row(row)
        except psycopg.Error as exc:
            raise _failed("copy failed", exc, f"COPY {table}") from exc

    def delete_in(self, table: str, column: str, values: Sequence[Any]) -> None:
        if not values:
            return
        self.execute(f"DELETE FROM {table} WHERE {column} = ANY(?)", [list(values)])

    def select_in(
        self, table: str, columns: Sequence[str], column: str, values: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        if not values:
            return []
        return self.fetchall(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {column} = ANY(?)", [list(values)]
        )


def _projection_ddl(p: Projection) -> list[str]:
    """A projection's tables in PostgreSQL's dialect, then the indexes they are read by."""
    return [to_pg_ddl(stmt) for stmt in p.ddl()] + [
        stmt for table in p.tables() for stmt in PROJECTION_INDEXES.get(table, [])
    ]


class PostgresStore(Store):
    """A ledger in a PostgreSQL database (the schema first on the connection's search_path)."""

    indexed_joins = True

    def __init__(self, url: str, projections: Sequence[Projection] = ()) -> None:
        self.url = url
        self.projections = list(projections)
        try:
            self.conn: psycopg.Connection[Any] = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            where = _server(url)
            raise StorageError(
                f"cannot connect to PostgreSQL{where}: {type(exc).__name__}"
            ) from exc
        self._lock = threading.RLock()
        self._depth = 0
        self.tx = _PgTx(self.conn)
        self._create_tables()

    def _schema_statements(self) -> list[str]:
        """Every statement that makes this store's tables (what the fingerprint covers)."""
        return [
            *LEDGER_DDL,
            STRIP_ACCENTS_DDL,
            *(stmt for p in self.projections for stmt in _projection_ddl(p)),
        ]

    def _schema_is_current(self, fingerprint: str) -> bool:
        try:
            row = self.conn.execute("SELECT fingerprint FROM vitalfile_schema").fetchone()
        except psycopg.errors.UndefinedTable:
            return False
        except psycopg.Error as exc:
            raise _failed("cannot read the schema version", exc) from exc
        return row is not None and row[0] == fingerprint

    def _create_tables(self) -> None:
        # A database already made by this code is left alone: its DDL, even `IF NOT EXISTS`,
        # would take table locks (an ALTER TABLE takes an exclusive one) behind any long
        # read or write, and every reader behind that — a worker opening its connections
        # would stall the service. The fingerprint of the statements says what was made.
        fingerprint = hashlib.sha256("\n;\n".join(self._schema_statements()).encode()).hexdigest()
        if self._schema_is_current(fingerprint):
            return
        # concurrent CREATE ... IF NOT EXISTS can still collide: one process at a time
        try:
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [_DDL_LOCK])
                for stmt in LEDGER_DDL:
                    self.conn.execute(stmt)
                found = self.conn.execute(
                    "SELECT 1 FROM pg_proc WHERE proname = 'strip_accents' "
                    "AND pronamespace = current_schema()::regnamespace"
                ).fetchall()
                if not found:
                    self.conn.execute(STRIP_ACCENTS_DDL)
                made = [p for p in self.projections if not self._any_table(p)]
                for p in self.projections:
                    self._create_projection(p)
                self._fill_new(made)
                self.conn.execute(
                    "CREATE TABLE IF NOT EXISTS vitalfile_schema "
                    "(id INTEGER PRIMARY KEY, fingerprint VARCHAR NOT NULL)"
                )
                self.conn.execute(
                    "INSERT INTO vitalfile_schema VALUES (1, %s) "
                    "ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint",
                    [fingerprint],
                )
        except psycopg.Error as exc:
            raise _failed("cannot create the ledger tables", exc) from exc

    def _any_table(self, p: Projection) -> bool:
        """Whether any of the projection's tables is already in the schema."""
        return any(
            self.conn.execute("SELECT to_regclass(%s)", [t]).fetchone() != (None,)
            for t in p.tables()
        )

    def _create_projection(self, p: Projection) -> None:
        for stmt in _projection_ddl(p):
            self.tx.execute(stmt)

    # ── transactions ──────────────────────────────────────────────────────────────────
    @contextmanager
    def transaction(self) -> Iterator[_PgTx]:
        """A write transaction: it holds the chain-head lock from its start to its end, so
        what is decided inside it is decided against the head it is appended to."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.tx
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with self.conn.transaction():
                    self._lock_head()
                    yield self.tx
            except psycopg.Error as exc:
                raise _failed("commit failed", exc) from exc
            finally:
                self._depth = 0

    def _lock_head(self) -> None:
        self.tx.execute("SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE")

    def _read(self) -> AbstractContextManager[Any]:
        """A transaction to read in (named cursors need one); the open one if any."""
        return nullcontext() if self._depth else self.conn.transaction()

    # ── the set-wise path ─────────────────────────────────────────────────────────────
    # a commit's digest is taken by the server over its events' text in one value, which
    # PostgreSQL caps at 1 GB: bulk commits stay well below
    bulk_chunk_limit = 250_000

    def regex_sql(self, expr: str, pattern: str, *, whole: bool = True) -> str:
        return f"({expr} ~ '^(?:{pattern})$')" if whole else f"({expr} ~ '{pattern}')"

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
        raw = f"{table}_raw" if transform is not None else table
        names = pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns)
        copy = pgsql.SQL(
            "COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER {}, DELIMITER {}, QUOTE {}, "
            "ESCAPE {}, FORCE_NOT_NULL ({}))"
        ).format(
            pgsql.Identifier(raw),
            names,
            pgsql.SQL("true" if header else "false"),
            pgsql.Literal(delimiter),
            pgsql.Literal(quote),
            pgsql.Literal(quote),
            names,
        )
        lines, last = 0, b"\n"
        try:
            with self._lock, self.conn.transaction():
                self._create_stage(raw, [(c, "TEXT") for c in columns])
                with self.conn.cursor() as cur:
                    with cur.copy(copy) as cp, path.open("rb") as fh:
                        while block := fh.read(1 << 20):
                            lines += block.count(b"\n")
                            last = block[-1:]
                            cp.write(block)
                    n = cur.rowcount
        except psycopg.Error:
            # the file is not one clean row per line (bad UTF-8, a ragged row): the caller
            # reads it record by record; the server's message may quote the line, so no more
            return None
        lines += last != b"\n"
        if n != lines - (1 if header else 0):
            self.drop_stage(raw)
            return None
        if transform is not None:
            with self._lock:
                self.tx.execute(f"DROP TABLE IF EXISTS {table}")
                self.tx.execute(f"CREATE TEMP TABLE {table} AS {transform(raw)}")
                self.tx.execute(f"CREATE INDEX ON {table} (rid)")
                self.drop_stage(raw)
        return int(n)

    def stage_arrow(self, table: str, data: pa.Table) -> int:
        with self._lock:
            self._create_stage(
                table, [(f.name, _PG_TYPES.get(f.type, "TEXT")) for f in data.schema]
            )
            self.tx.insert_arrow(table, data)
        return data.num_rows

    def _create_stage(self, table: str, columns: Sequence[tuple[str, str]]) -> None:
        cols = ", ".join(f"{c} {t}" for c, t in columns)
        self.tx.execute(f"DROP TABLE IF EXISTS {table}")
        self.tx.execute(
            f"CREATE TEMP TABLE {table} (rid BIGINT GENERATED ALWAYS AS IDENTITY "
            f"(MINVALUE 0 START WITH 0) PRIMARY KEY, {cols})"
        )

    def _events_digest(self, first_seq: int, n_events: int) -> str:
        rows = self.tx.fetchall(
            "SELECT encode(sha256(convert_to(coalesce(string_agg(body, '' ORDER BY seq), ''), "
            "'UTF8')), 'hex') FROM ledger_events WHERE seq >= ? AND seq < ?",
            [first_seq, first_seq + n_events],
        )
        return str(rows[0][0])

    # ── reading (the one way in, `append`, is the Store base's) ────────────────────────
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self.tx.fetchall(sql, params)

    def reader(self) -> _PgTx:
        return self.tx

    def query_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """The result as an Arrow table, read through a server-side cursor in batches."""
        with self._lock, self._read():
            try:
                with self.conn.cursor(name=f"vf_{uuid.uuid4().hex[:12]}") as cur:
                    cur.execute(to_pg_sql(sql), list(params))
                    assert cur.description is not None
                    names = [d.name for d in cur.description]
                    types = [_ARROW_TYPES.get(d.type_code) for d in cur.description]
                    batches: list[pa.RecordBatch] = []
                    while rows := cur.fetchmany(100_000):
                        cols = list(zip(*rows, strict=True))
                        batches.append(
                            pa.record_batch(
                                [pa.array(c, t) for c, t in zip(cols, types, strict=True)],
                                names=names,
                            )
                        )
            except psycopg.Error as exc:
                raise _failed("query failed", exc, sql) from exc
        if batches:
            return pa.Table.from_batches(batches)
        schema = pa.schema([(n, t or pa.null()) for n, t in zip(names, types, strict=True)])
        return schema.empty_table()

    # ── verification ──────────────────────────────────────────────────────────────────
    def verify(self, *, fetch: int = 100_000) -> VerifyReport:
        """Recompute the chain over the events in sequence order, streamed from a
        server-side cursor in one snapshot; each fetched batch is hashed as one buffer."""
        started = time.perf_counter()
        with self._lock, self._read():
            try:
                if not self._depth:
                    self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                with self.conn.cursor(name=f"vf_verify_{uuid.uuid4().hex[:12]}") as cur:
                    commits = self.commits()
                    cur.execute("SELECT seq, commit_no, body FROM ledger_events ORDER BY seq")
                    return _verify(commits, lambda: cur.fetchmany(fetch), started)
            except psycopg.Error as exc:
                raise _failed("verify failed", exc) from exc

    # ── projections ───────────────────────────────────────────────────────────────────
    def rebuild(self, *, upto_seq: int | None = None, into_schema: str | None = None) -> None:
        with self.transaction() as tx:
            for p in self.projections:
                for table in p.tables():
                    tx.execute(f"DROP TABLE IF EXISTS {table}")
                self._create_projection(p)
            batch: list[tuple[int, Event]] = []
            for se in self.iter_events(upto_seq=upto_seq):
                batch.append((se.seq, se.event))
                if len(batch) >= 50_000:
                    self._apply(batch)
                    batch = []
            if batch:
                self._apply(batch)

    def close(self) -> None:
        self.conn.close()


def with_schema(url: str, schema: str) -> str:
    """`url` with its search_path set to `schema` (where the store keeps its tables)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise StorageError("a schema name is lower-case letters, digits and _")
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def create_schema(url: str, schema: str | None = None) -> str:
    """Create a schema (a fresh `vf_…` name unless given); return its name."""
    schema = schema or f"vf_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(schema))
            )
    except psycopg.Error as exc:
        raise _failed(f"cannot create schema{_server(url)}", exc) from exc
    return schema


def drop_schema(url: str, schema: str) -> None:
    """Drop a schema and everything in it."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema))
            )
    except psycopg.Error as exc:
        raise _failed(f"cannot drop schema{_server(url)}", exc) from exc


def _server(url: str) -> str:
    """` at host:port` from a URL (never the password), for error messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return ""
    host, port = info.get("host"), info.get("port")
    return f" at {host}:{port or 5432}" if host else ""


def _verify(
    commits: list[CommitInfo], fetch: Callable[[], list[tuple[Any, ...]]], started: float
) -> VerifyReport:
    """The chain check over events fetched in sequence order, batch by batch."""

    def batches() -> Iterator[Batch]:
        while rows := fetch():
            seq_col, no_col, body_col = zip(*rows, strict=True)

            def feed(h: Any, start: int, take: int, texts: Any = body_col) -> None:
                h.update("".join(texts[start : start + take]).encode())

            yield np.array(seq_col, dtype=np.int64), np.array(no_col, dtype=np.int64), feed

    return walk_chain(commits, batches(), started=started)
