"""`ledger verify` over a large ledger: events/s of recomputing the whole hash chain.

Builds the ledger once from a synthetic DMF full file (set-wise load) unless `--db` already
holds one, then times three full verifications and prints one JSON line. Usage:

    .venv/bin/python bench/verify.py [--events 10000000] [--dir /tmp/vf-bench]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from vitalfile.db import open_store
from vitalfile.intake.dmf_load import load_dmf_full
from vitalfile.synth import write_dmf_full


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"verify-{args.events}.duckdb"
    if not db.exists():
        src = work / f"dmf-{args.events}.txt"
        if not src.exists():
            write_dmf_full(src, args.events, seed=7)
        with open_store(str(db)) as store:
            load_dmf_full(store, src)
    times = []
    with open_store(str(db)) as store:
        for _ in range(3):
            t0 = time.perf_counter()
            report = store.verify()
            times.append(time.perf_counter() - t0)
            assert report.ok, report.problems
    print(
        json.dumps(
            {
                "bench": "verify",
                "events": report.events,
                "commits": report.commits,
                "best_seconds": round(min(times), 2),
                "median_seconds": round(statistics.median(times), 2),
                "events_per_s_best": round(report.events / min(times)),
                "events_per_s_median": round(report.events / statistics.median(times)),
            }
        )
    )


if __name__ == "__main__":
    main()
