"""Initial load of a synthetic DMF full file into the ledger and master file.

Prints one JSON line per size: records/s of `load_dmf_full`, and in the same run the floor —
DuckDB alone reading the same file and splitting it into columns in a table — plus the
load's peak memory (each measured in a fresh process). Usage:

    .venv/bin/python bench/ingest.py [--sizes 1000000,10000000] [--dir /tmp/vf-bench]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _floor(path: Path) -> float:
    import duckdb

    from vitalfile.intake.dmf_load import stage_dmf_sql

    con = duckdb.connect(str(path.with_suffix(".floor.duckdb")))
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE split AS {stage_dmf_sql(path)}")
    secs = time.perf_counter() - t0
    con.close()
    path.with_suffix(".floor.duckdb").unlink()
    return secs


def _load(path: Path) -> dict[str, float]:
    from vitalfile.db import open_store
    from vitalfile.intake.dmf_load import load_dmf_full

    db = path.with_suffix(".duckdb")
    if db.exists():
        db.unlink()
    store = open_store(str(db))
    t0 = time.perf_counter()
    result = load_dmf_full(store, path)
    secs = time.perf_counter() - t0
    t1 = time.perf_counter()
    report = store.verify()
    verify_secs = time.perf_counter() - t1
    store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    return {
        "records": result.records,
        "load_s": secs,
        "peak_gib": peak,
        "verify_s": verify_secs,
        "verify_ok": float(report.ok),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--child", default=None)
    ap.add_argument("--file", default=None)
    args = ap.parse_args()
    if args.child:
        if args.child == "floor":
            print(json.dumps({"seconds": _floor(Path(args.file))}))
        else:
            print(json.dumps(_load(Path(args.file))))
        return
    from vitalfile.synth import write_dmf_full

    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    for n in (int(x) for x in args.sizes.split(",")):
        path = work / f"dmf-{n}.txt"
        if not path.exists():
            write_dmf_full(path, n, seed=7)

        def child(kind: str, path: Path = path) -> dict[str, float]:
            r = subprocess.run(
                [sys.executable, __file__, "--child", kind, "--file", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            return json.loads(r.stdout.strip().splitlines()[-1])

        floor = float(child("floor")["seconds"])
        load = child("load")
        print(
            json.dumps(
                {
                    "bench": "ingest",
                    "records": n,
                    "load_seconds": round(load["load_s"], 2),
                    "records_per_s": round(n / load["load_s"]),
                    "floor_seconds": round(floor, 2),
                    "floor_records_per_s": round(n / floor),
                    "ratio_to_floor": round(load["load_s"] / floor, 2),
                    "peak_memory_gib": round(load["peak_gib"], 2),
                    "verify_seconds": round(load["verify_s"], 2),
                    "verify_events_per_s": round(n / load["verify_s"]),
                    "verify_ok": bool(load["verify_ok"]),
                }
            ),
            flush=True,
        )
        path.with_suffix(".duckdb").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
