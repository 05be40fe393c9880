"""`ledger verify`: the library call the command makes, against one hashlib pass.

Builds a ledger of N events from a synthetic DMF full file (the set-wise load) on each
backend, then times `Store.verify` (what `vitalfile ledger verify` runs; best of three) and,
in the same run, the floor: SHA-256 over the same event bytes (read into memory first, not
timed) in one `hashlib` pass. One JSON line per backend.

    .venv/bin/python -m bench.verify [--events 1000000] [--db duckdb,postgresql] [--dir D]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

from bench.common import bench_store, emit, machine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", default="duckdb,postgresql")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    from vitalfile.intake.dmf_load import load_dmf_full
    from vitalfile.synth import write_dmf_full

    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"dmf-{args.events}.txt"
    if not src.exists():
        write_dmf_full(src, args.events, seed=7)
    for db in args.db.split(","):
        with bench_store(db, work, "verify") as store:
            load_dmf_full(store, src)
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                report = store.verify()
                times.append(time.perf_counter() - t0)
                assert report.ok, report.problems
            data = "".join(
                str(b) for (b,) in store.query("SELECT body FROM ledger_events ORDER BY seq")
            ).encode()
            t0 = time.perf_counter()
            hashlib.sha256(data).hexdigest()
            floor = time.perf_counter() - t0
        best = min(times)
        emit(
            {
                "bench": "ledger_verify",
                "db": db,
                "events": report.events,
                "commits": report.commits,
                "seconds_best": round(best, 2),
                "events_per_s": round(report.events / best),
                "floor": "one hashlib.sha256 pass over the same bytes",
                "floor_s": round(floor, 3),
                "ratio": round(best / floor, 2),
                "bytes_mib": round(len(data) / 2**20),
                **machine(),
            }
        )


if __name__ == "__main__":
    main()
