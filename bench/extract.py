"""`extract full` for a `certified` recipient: the library call the command makes, against
the floor in the same run.

Writes a synthetic DMF full file of N records, loads it set-wise into a fresh store on each
backend, registers a certified recipient with an agreement, then times
`disclosure.extracts.extract_full` (what `vitalfile extract full --recipient` runs: the gate,
the tier rule, the DMF layout, the delivery event and its rows) and, on the same database, a
plain COPY of the same rows' raw columns to a CSV file (the floor: DuckDB `COPY ... TO`;
PostgreSQL `COPY ... TO STDOUT` written to a file). One JSON line per backend.

    .venv/bin/python -m bench.extract [--n 1000000] [--db duckdb,postgresql] [--dir D]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import bench_store, emit, machine, peak_gib

_ROWS = (
    "SELECT p.ssn, p.last_name, p.suffix, p.first_name, p.middle_name, d.proof, d.dod, p.dob "
    "FROM deaths d JOIN persons p ON p.person_id = d.person_id "
    "WHERE d.status = 'current' AND NOT d.state_only ORDER BY p.ssn, p.person_id"
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--db", default="duckdb,postgresql")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    from vitalfile.disclosure.extracts import extract_full
    from vitalfile.disclosure.policy import DEATH_FIELDS, add_agreement, add_recipient
    from vitalfile.intake.dmf_load import load_dmf_full
    from vitalfile.synth.dmf import write_dmf_full

    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"dmf-{args.n}.txt"
    if not src.exists():
        write_dmf_full(src, args.n, seed=7)
    for db in args.db.split(","):
        with bench_store(db, work, "extract") as store:
            load_dmf_full(store, src)
            add_recipient(store, "bank", "certified")
            add_agreement(
                store,
                "bank-1",
                "bank",
                purpose="fraud prevention",
                authority="bench",
                fields=list(DEATH_FIELDS),
                start="2020-01-01",
                end="2099-12-31",
            )
            t0 = time.perf_counter()
            result = extract_full(store, work / "bank.dmf", recipient="bank", on=date.today())
            ours = time.perf_counter() - t0
            out = work / "floor.csv"
            t0 = time.perf_counter()
            if db == "duckdb":
                target = str(out).replace("'", "''")
                store.query(f"COPY ({_ROWS}) TO '{target}' (FORMAT csv, HEADER false)")
            else:
                conn = store.conn  # type: ignore[attr-defined]
                copy = f"COPY ({_ROWS}) TO STDOUT (FORMAT csv)"
                with conn.cursor() as cur, out.open("wb") as fh, cur.copy(copy) as cp:
                    for block in cp:
                        fh.write(block)
            floor = time.perf_counter() - t0
        emit(
            {
                "bench": "extract_full_certified",
                "db": db,
                "records": result.records,
                "seconds": round(ours, 2),
                "records_per_s": round(result.records / ours),
                "floor": "COPY of the same rows' columns to CSV",
                "floor_s": round(floor, 2),
                "ratio": round(ours / floor, 2),
                "peak_gib": peak_gib(),
                **machine(),
            }
        )


if __name__ == "__main__":
    main()
