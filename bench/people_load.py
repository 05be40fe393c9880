"""`people load`: the library call the command makes, against the floor in the same run.

Writes a synthetic canonical people CSV of N people (`synth.make_people`), then for each
backend times `intake.people.load_people_file` into a fresh store (what `vitalfile people
load` runs) and, in the same run, the floor: DuckDB `read_csv` of the same file into a table
(DuckDB), `COPY FROM` of it into a table of text columns (PostgreSQL). One JSON line each.

    .venv/bin/python bench/people_load.py [--n 1000000] [--db duckdb,postgresql] [--dir D]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import bench_store, emit, machine, peak_gib, pg_scratch


def _floor(db: str, src: Path, work: Path) -> float:
    from vitalfile.master.projection import PERSON_COLUMNS

    if db == "duckdb":
        import duckdb

        path = work / "floor.duckdb"
        path.unlink(missing_ok=True)
        con = duckdb.connect(str(path))
        types = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in PERSON_COLUMNS) + "}"
        t0 = time.perf_counter()
        con.execute(
            f"CREATE TABLE people AS SELECT * FROM read_csv('{src}', header=true, "
            f"columns={types}, auto_detect=false, quote='\"', escape='\"')"
        )
        secs = time.perf_counter() - t0
        con.close()
        path.unlink()
        return secs
    with pg_scratch("people_floor") as conn:
        conn.execute(f"CREATE TABLE people ({', '.join(c + ' TEXT' for c in PERSON_COLUMNS)})")
        t0 = time.perf_counter()
        copy = "COPY people FROM STDIN (FORMAT csv, HEADER true)"
        with conn.cursor() as cur, cur.copy(copy) as cp, src.open("rb") as fh:
            while block := fh.read(1 << 20):
                cp.write(block)
        return time.perf_counter() - t0


def _load(db: str, src: Path, work: Path) -> dict[str, object]:
    from vitalfile.intake.people import load_people_file

    with bench_store(db, work, "people_load") as store:
        steps: dict[str, float] = {}
        last = [time.perf_counter()]

        def progress(step: str, n: int) -> None:
            # a report ends a stretch of work in `step`
            now = time.perf_counter()
            steps[step] = steps.get(step, 0.0) + now - last[0]
            last[0] = now

        t0 = last[0] = time.perf_counter()
        result = load_people_file(store, src, progress=progress)
        secs = time.perf_counter() - t0
        steps["finish"] = time.perf_counter() - last[0]
        assert result.registered > 0
    return {
        "registered": result.registered,
        "commits": result.commits,
        "seconds": round(secs, 2),
        "steps_s": {k: round(v, 2) for k, v in steps.items()},
        "peak_gib": peak_gib(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--db", default="duckdb,postgresql")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--child", default=None)
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"people-{args.n}.csv"
    if args.child:
        import json

        print(json.dumps(_load(args.child, src, work)))
        return
    if not src.exists():
        from vitalfile.master.projection import PERSON_COLUMNS
        from vitalfile.synth import make_people
        from vitalfile.synth.write import write_canonical_csv

        write_canonical_csv(make_people(args.n, 5).select(list(PERSON_COLUMNS)), src)
    for db in args.db.split(","):
        floor = _floor(db, src, work)
        # the load in a fresh process: its peak memory is its own
        out = subprocess.run(
            [sys.executable, "-m", "bench.people_load", "--n", str(args.n), "--dir", str(work),
             "--child", db],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        import json

        load = json.loads(out.stdout.strip().splitlines()[-1])
        emit(
            {
                "bench": "people_load",
                "db": db,
                "people": args.n,
                **load,
                "floor": "read_csv into a table" if db == "duckdb" else "COPY FROM into a table",
                "floor_s": round(floor, 2),
                "ratio": round(float(load["seconds"]) / floor, 2),
                "file_mib": round(src.stat().st_size / 2**20),
                **machine(),
            }
        )


if __name__ == "__main__":
    main()
