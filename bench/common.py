"""What the benchmarks share: a store on either database, a fresh one per run, JSON lines.

`--db duckdb` (a file in the work folder) or `--db postgresql` (a schema of its own on
VITALFILE_BENCH_PG_URL, default the local test server, dropped afterwards).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vitalfile.db import open_store
from vitalfile.ledger.store import Store

PG_URL = os.environ.get("VITALFILE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("duckdb", "postgresql")


@contextmanager
def bench_store(db: str, work: Path, name: str) -> Iterator[Store]:
    """A fresh store named `name`: a DuckDB file in `work`, or a PostgreSQL schema."""
    if db == "duckdb":
        path = work / f"{name}.duckdb"
        path.unlink(missing_ok=True)
        store = open_store(str(path))
        try:
            yield store
        finally:
            store.close()
            path.unlink(missing_ok=True)
        return
    from vitalfile.ledger.postgres import create_schema, drop_schema, with_schema

    schema = create_schema(PG_URL, f"bench_{name}")
    drop_schema(PG_URL, schema)
    create_schema(PG_URL, schema)
    store = open_store(with_schema(PG_URL, schema))
    try:
        yield store
    finally:
        store.close()
        drop_schema(PG_URL, schema)


@contextmanager
def pg_scratch(name: str) -> Iterator[Any]:
    """A psycopg connection whose search_path is a fresh schema (dropped afterwards)."""
    import psycopg

    from vitalfile.ledger.postgres import create_schema, drop_schema, with_schema

    schema = f"bench_{name}"
    drop_schema(PG_URL, schema)
    create_schema(PG_URL, schema)
    try:
        with psycopg.connect(with_schema(PG_URL, schema), autocommit=True) as conn:
            yield conn
    finally:
        drop_schema(PG_URL, schema)


def peak_gib() -> float:
    """This process's peak resident memory."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2)


def machine() -> dict[str, Any]:
    load1, _, _ = os.getloadavg()
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "load1": round(load1, 1)}


def emit(record: dict[str, Any]) -> None:
    """One JSON line on stdout, flushed."""
    print(json.dumps(record), flush=True)
    sys.stdout.flush()
