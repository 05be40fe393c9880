"""`load` (the DMF full file): the library call the command makes, against the floor.

Writes a synthetic DMF full file of N records, then for each backend times
`intake.dmf_load.load_dmf_full` into a fresh store (what `vitalfile load` runs), in a fresh
process (its peak memory is its own), and in the same run the floor: DuckDB reading the same
file and splitting it into columns in a table (`dmf_load.stage_dmf_sql`); on PostgreSQL also
`COPY FROM` of the lines and the same split by SQL. One JSON line per backend.

    .venv/bin/python -m bench.ingest [--n 1000000] [--db duckdb,postgresql] [--dir D]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import bench_store, emit, machine, peak_gib, pg_scratch


def _duckdb_floor(path: Path) -> float:
    import duckdb

    from vitalfile.intake.dmf_load import stage_dmf_sql

    db = path.with_suffix(".floor.duckdb")
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE split AS {stage_dmf_sql(path)}")
    secs = time.perf_counter() - t0
    con.close()
    db.unlink()
    return secs


def _pg_floor(path: Path) -> tuple[float, float]:
    """(COPY FROM of the lines, COPY and the split into columns)."""
    from vitalfile.intake.dmf_load import split_dmf_sql

    with pg_scratch("dmf_floor") as conn:
        conn.execute("CREATE TABLE lines (rid BIGINT GENERATED ALWAYS AS IDENTITY, line TEXT)")
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            copy = "COPY lines (line) FROM STDIN (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
            with cur.copy(copy) as cp, path.open("rb") as fh:
                while block := fh.read(1 << 20):
                    cp.write(block)
        copied = time.perf_counter() - t0
        conn.execute(f"CREATE TABLE split AS {split_dmf_sql('lines')}")
        return copied, time.perf_counter() - t0


def _load(db: str, path: Path) -> dict[str, object]:
    from vitalfile.intake.dmf_load import load_dmf_full

    with bench_store(db, path.parent, "dmf_load") as store:
        t0 = time.perf_counter()
        result = load_dmf_full(store, path)
        secs = time.perf_counter() - t0
    return {"records": result.records, "commits": result.commits, "seconds": round(secs, 2),
            "peak_gib": peak_gib()}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--db", default="duckdb,postgresql")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--child", default=None)
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"dmf-{args.n}.txt"
    if args.child:
        print(json.dumps(_load(args.child, path)))
        return
    if not path.exists():
        from vitalfile.synth import write_dmf_full

        write_dmf_full(path, args.n, seed=7)
    for db in args.db.split(","):
        floor = _duckdb_floor(path)
        extra: dict[str, object] = {}
        if db == "postgresql":
            copied, split = _pg_floor(path)
            extra = {"pg_copy_s": round(copied, 2), "pg_copy_and_split_s": round(split, 2)}
        out = subprocess.run(
            [sys.executable, "-m", "bench.ingest", "--n", str(args.n), "--dir", str(work),
             "--child", db],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        load = json.loads(out.stdout.strip().splitlines()[-1])
        emit(
            {
                "bench": "dmf_load",
                "db": db,
                **load,
                "floor": "DuckDB read_csv and split into a table",
                "floor_s": round(floor, 2),
                "ratio": round(float(load["seconds"]) / floor, 2),
                **extra,
                **(
                    {"ratio_to_pg_copy_and_split": round(float(load["seconds"]) / split, 2)}
                    if db == "postgresql"
                    else {}
                ),
                **machine(),
            }
        )


if __name__ == "__main__":
    main()
