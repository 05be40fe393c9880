"""Benchmark: a full file for a `certified` recipient vs DuckDB's own COPY of the same rows.

Writes a synthetic DMF full file of N records, loads it set-wise, registers a certified
recipient with an agreement, then times `extract_full` (gate, the tier rule, the DMF layout,
the delivery event and its `delivered` rows) and, on the same database, a plain DuckDB COPY
of the same rows' raw columns to CSV (the floor). Prints one JSON line.

    .venv/bin/python bench/extract.py [--n 10000000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from vitalfile.db import open_store
from vitalfile.disclosure.distribute import extract_full
from vitalfile.disclosure.policy import DEATH_FIELDS, add_agreement, add_recipient
from vitalfile.intake.dmf_load import load_dmf_full
from vitalfile.synth.dmf import write_dmf_full


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        work = Path(d)
        src = work / "full.dmf"
        t0 = time.perf_counter()
        write_dmf_full(src, args.n, seed=7)
        store = open_store(str(work / "bench.duckdb"))
        load_dmf_full(store, src)
        setup = time.perf_counter() - t0
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
        out = str(work / "floor.csv").replace("'", "''")
        t0 = time.perf_counter()
        store.query(
            "COPY (SELECT p.ssn, p.last_name, p.suffix, p.first_name, p.middle_name, d.proof, "
            "d.dod, p.dob FROM deaths d JOIN persons p ON p.person_id = d.person_id "
            "WHERE d.status = 'current' AND NOT d.state_only ORDER BY p.ssn, p.person_id) "
            f"TO '{out}' (FORMAT csv, HEADER false)"
        )
        floor = time.perf_counter() - t0
        store.close()
        print(
            json.dumps(
                {
                    "bench": "extract_full_certified",
                    "records": result.records,
                    "seconds": round(ours, 3),
                    "records_per_s": round(result.records / ours),
                    "duckdb_copy_seconds": round(floor, 3),
                    "ratio_to_copy": round(ours / floor, 2),
                    "setup_seconds": round(setup, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
