"""Splink's prediction on DuckDB, its SQL written once per process and run again per batch.

Splink builds a `Linker` from the settings (sqlglot parses each comparison level's SQL) and
writes its blocking and scoring SQL afresh on every `predict`: about 0.3 s of CPU per batch
whatever its size. That SQL depends only on the compiled model and on the schemas of the
tables it reads, whose names are fixed (`persons`, `reports`, `vitalfile_tf_<column>`). So the
first time a process meets a model and those schemas, Splink runs once over empty tables of
the same schemas with the statements it executes recorded; every batch then runs the
recorded `CREATE TABLE` statements (as temporary tables of its own cursor) over its own
tables: the same SQL over the same data, so the same weights and probabilities. A run that
executed anything other than reading columns and making tables is not recorded, and Splink
then runs on every batch as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker

__all__ = ["Prediction", "columns_of", "model_key", "predicted", "prepare", "splink_predict"]

# the statements Splink runs to learn a table's columns: not part of the prediction
_SCHEMA_READS = ("PRAGMA table_info(", "SELECT column_name FROM information_schema.columns")
_DROP = "DROP TABLE IF EXISTS "
_CREATE = "CREATE TABLE "
_MAX_PLANS = 16  # models x schemas held at once: a process rarely has more than one or two


@dataclass(frozen=True)
class Prediction:
    """Where a batch's predictions are, and that table's columns."""

    table: str
    columns: frozenset[str]


@dataclass(frozen=True)
class _Plan:
    statements: tuple[str, ...]  # CREATE TEMP TABLE …, in Splink's order
    prediction: Prediction


_plans: dict[tuple[str, ...], _Plan | None] = {}  # None: Splink ran more than tables
_lock = threading.Lock()


def model_key(compiled: Mapping[str, Any]) -> str:
    """A digest of the compiled model: what the recorded SQL was written from."""
    text = json.dumps(compiled, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class _RecordingAPI(DuckDBAPI):
    """Splink's DuckDB API, keeping every statement it executes."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        super().__init__(connection=connection)
        self.executed: list[str] = []

    def _execute_sql_against_backend(self, final_sql: str) -> duckdb.DuckDBPyRelation:
        self.executed.append(final_sql)
        return super()._execute_sql_against_backend(final_sql)


def splink_predict(
    con: duckdb.DuckDBPyConnection,
    tables: Mapping[str, pa.Table],
    compiled: dict[str, Any],
    tf_columns: Mapping[str, str],
) -> tuple[Linker, Prediction, list[str]]:
    """Splink's own run: `tables` registered on `con`, a `Linker` made from `compiled`, its
    predictions made. `tf_columns` maps each term-frequency column to its lookup table.
    Returns the linker, the predictions and the statements executed."""
    db = _RecordingAPI(con)
    left = db.register(tables["persons"], table_name="persons")
    right = db.register(tables["reports"], table_name="reports")
    linker = Linker([left, right], compiled, log_level=None, validate_settings=False)
    for col, name in tf_columns.items():
        tf_sdf = db.register(tables[name], table_name=name)
        linker.table_management.register_term_frequency_lookup(tf_sdf, col)
    table = linker.inference.predict().physical_name
    return linker, Prediction(table, columns_of(con, table)), db.executed


def _plan_of(executed: list[str], prediction: Prediction) -> _Plan | None:
    """The statements to run again, or None when Splink ran something else."""
    kept: list[str] = []
    for sql in executed:
        if sql.startswith(_SCHEMA_READS) or sql.startswith(_DROP):
            continue
        if not sql.startswith(_CREATE):
            return None
        kept.append("CREATE TEMP TABLE " + sql[len(_CREATE) :])
    if not kept or not kept[-1].startswith(f"CREATE TEMP TABLE {prediction.table} AS"):
        return None
    return _Plan(tuple(kept), prediction)


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> frozenset[str]:
    """The columns of `table` on `con`."""
    return frozenset(str(r[0]) for r in con.sql(f"DESCRIBE {table}").fetchall())


def prepare(
    tables: Mapping[str, pa.Table],
    compiled: dict[str, Any],
    tf_columns: Mapping[str, str],
    *,
    key: str,
    fresh: Callable[[], duckdb.DuckDBPyConnection],
) -> _Plan | None:
    """The recorded statements for this model and these schemas, recorded now if new:
    Splink run over empty tables of the same schemas (it reads only their columns), on a
    connection `fresh()` opens. None when Splink's run cannot be recorded."""
    plan_key = (key, *(f"{n}={tables[n].schema.remove_metadata()}" for n in sorted(tables)))
    if plan_key in _plans:
        return _plans[plan_key]
    con = fresh()
    try:
        empty = {name: table.slice(0, 0) for name, table in tables.items()}
        _, prediction, executed = splink_predict(con, empty, compiled, tf_columns)
    finally:
        con.close()
    plan = _plan_of(executed, prediction)
    with _lock:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        _plans[plan_key] = plan
    return plan


@contextlib.contextmanager
def predicted(
    tables: Mapping[str, pa.Table],
    compiled: dict[str, Any],
    tf_columns: Mapping[str, str],
    *,
    key: str,
    shared: Callable[[], duckdb.DuckDBPyConnection],
    fresh: Callable[[], duckdb.DuckDBPyConnection],
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Prediction]]:
    """A connection holding the batch's predictions, and where they are; closed at the end.

    `key` is `model_key(compiled)`. The recorded statements run on a cursor of `shared()`
    (a database kept open: the cursor's tables are temporary, so batches on other threads
    do not meet them); when Splink's run cannot be recorded, Splink runs on a connection
    `fresh()` opens.
    """
    plan = prepare(tables, compiled, tf_columns, key=key, fresh=fresh)
    if plan is None:
        con = fresh()
        try:
            _, prediction, _ = splink_predict(con, tables, compiled, tf_columns)
            yield con, prediction
        finally:
            con.close()
        return
    con = shared().cursor()
    try:
        for name, table in tables.items():
            con.register(name, table)
        for sql in plan.statements:
            con.execute(sql)
        yield con, plan.prediction
    finally:
        con.close()
