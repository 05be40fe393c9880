"""The weekly linkage on DuckDB and on Spark local, side by side: time and peak memory.

For each file size: the file and the week's reports are built once by `bench/link.py`'s
build step (synthetic people, bulk-loaded; not timed). Then each case runs in a fresh child
process on its own copy of the database, so every engine sees the same ledger:

- `duckdb`:                read the batch, link (Splink on DuckDB), decide, append
- `spark` / `candidates`:  the same, predicting on Spark; the store picks the candidates
- `spark` / `snapshot`:    the same, but blocking runs on Spark over a Parquet snapshot of
                           the whole file (the cluster way); the export is timed apart

Peak memory is the child's own peak RSS plus, for Spark, the JVM's (VmHWM). One JSON line
per case. Spark local uses the session settings' defaults (local[2], driver 2g) unless
VITALFILE_SPARK_* say otherwise.

    .venv/bin/python bench/engines.py [--sizes 1000000,5000000,10000000] [--reports 60000]
        [--engines duckdb,spark-candidates,spark-snapshot] [--dir D]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _jvm_peak_gib(spark: Any) -> float:
    """The Spark driver JVM's peak RSS (in local mode it also runs the executors)."""
    try:
        pid = spark.sparkContext._gateway.proc.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 / 1024
    except Exception:
        pass
    return float("nan")


def _case(n: int, work: Path, case: str) -> dict[str, Any]:
    from vitalfile.db import open_store
    from vitalfile.intake.reports import ingest_reports, read_report_file

    db = work / f"engines-{case}-{n}.duckdb"
    shutil.copyfile(work / f"file-{n}.duckdb", db)
    store = open_store(str(db))
    row: dict[str, Any] = {"people": n, "case": case}
    spark = None
    t0 = time.perf_counter()
    if case == "duckdb":
        from vitalfile.link.splink_linker import SplinkLinker

        linker: Any = SplinkLinker()
    else:
        from vitalfile.link.spark import SparkLinker, export_person_frame, spark_session

        spark = spark_session()
        row["spark_start_s"] = round(time.perf_counter() - t0, 1)
        people = None
        if case == "spark-snapshot":
            t = time.perf_counter()
            people = work / f"people-{n}.parquet"
            export_person_frame(store, people)
            row["snapshot_export_s"] = round(time.perf_counter() - t, 1)
        linker = SparkLinker(spark=spark, people=people)
    t1 = time.perf_counter()
    reports, errors = read_report_file(
        work / f"reports-{n}.csv", source_kind="state", source_id="bench"
    )
    t2 = time.perf_counter()
    # synthetic weeks may lie ahead of the clock: "today" is the batch's last arrival
    today = date.fromisoformat(max(r.reported_at[:10] for r in reports))
    result = ingest_reports(store, reports, linker=linker, today=today, note="engines bench")
    t3 = time.perf_counter()
    outcomes = Counter(
        str(r[0])
        for r in store.query(
            "SELECT type FROM ledger_events WHERE type IN "
            "('report.linked', 'report.held', 'report.unlinked')"
        )
    )
    store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    row.update(
        {
            "engine": "duckdb" if case == "duckdb" else "spark",
            "reports": len(reports),
            "read_errors": len(errors),
            "read_s": round(t2 - t1, 2),
            "link_decide_append_s": round(t3 - t2, 2),
            "week_s": round(t3 - t1, 2),
            "python_peak_gib": round(peak, 2),
            "linked": result.linked,
            "held": result.held,
            "unlinked": result.unlinked,
            "outcome_events": dict(outcomes),
        }
    )
    if spark is not None:
        jvm = _jvm_peak_gib(spark)
        row["jvm_peak_gib"] = round(jvm, 2)
        row["peak_gib"] = round(peak + jvm, 2)
        row["spark"] = {
            "master": spark.sparkContext.master,
            "driver_memory": spark.conf.get("spark.driver.memory"),
            "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
        }
        from vitalfile.link.spark import stop_session

        stop_session(spark)
    else:
        row["peak_gib"] = round(peak, 2)
    db.unlink(missing_ok=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,5000000,10000000")
    ap.add_argument("--reports", type=int, default=60_000)
    ap.add_argument("--engines", default="duckdb,spark-candidates,spark-snapshot")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--child", default=None)
    ap.add_argument("--n", type=int, default=0)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_case(args.n, Path(args.dir), args.child)))
        return
    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-engines-"))
    work.mkdir(parents=True, exist_ok=True)
    for n in (int(x) for x in args.sizes.split(",")):
        if not (work / f"file-{n}.duckdb").exists():
            build = [sys.executable, str(HERE / "link.py"), "--child", "build", "--n", str(n)]
            build += ["--dir", str(work), "--reports", str(args.reports), "--seed", str(args.seed)]
            subprocess.run(build, check=True, capture_output=True, text=True)
        for case in args.engines.split(","):
            cmd = [sys.executable, __file__, "--child", case, "--n", str(n), "--dir", str(work)]
            t = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or ["?"]
                row = {"people": n, "case": case, "failed": tail[0][:200]}
            else:
                row = json.loads(done.stdout.strip().splitlines()[-1])
            row = {"bench": "engines", **row, "process_s": round(time.perf_counter() - t, 1)}
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
