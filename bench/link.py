"""Weekly linkage end to end: a batch of reports against a file of millions of people.

For each file size: one child process builds the file (synthetic people, bulk-loaded; not
timed as part of the week) and writes the week's reports as canonical CSV; a second, fresh
child runs the week — read the batch, link with the saved Splink model, decide, append to
the ledger — and reports its time and peak memory. Training is never part of the run. One
JSON line per size. Targets at 10 M people: under 30 s and under 3 GiB.

    .venv/bin/python bench/link.py [--sizes 1000000,10000000] [--reports 60000] [--dir D]
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
from datetime import date
from pathlib import Path


def _build(n: int, n_reports: int, seed: int, work: Path) -> dict[str, float]:
    from vitalfile.db import open_store
    from vitalfile.intake.people import load_people_file
    from vitalfile.synth import make_people
    from vitalfile.synth.weekly import weekly_batch
    from vitalfile.synth.write import write_canonical_csv

    t0 = time.perf_counter()
    people = make_people(n, seed)
    reports, truth = weekly_batch(people, n_reports, seed)
    synth_s = time.perf_counter() - t0
    write_canonical_csv(reports, work / f"reports-{n}.csv")
    write_canonical_csv(truth, work / f"truth-{n}.csv")
    db = work / f"file-{n}.duckdb"
    if db.exists():
        db.unlink()
    store = open_store(str(db))
    t1 = time.perf_counter()
    loaded = load_people_file(store, people)
    load_s = time.perf_counter() - t1
    store.close()
    return {
        "people": n,
        "synth_s": round(synth_s, 1),
        "people_load_s": round(load_s, 1),
        "people_per_s": round(n / load_s),
        "first_person_id": loaded.first_person_id,
    }


def _undo_weeks(db: Path) -> None:
    """Take the copy back to the file as built: drop earlier weeks' commits and reports."""
    import duckdb

    con = duckdb.connect(str(db))
    first = con.execute(
        "SELECT min(commit_no) FROM ledger_commits WHERE note = 'weekly bench'"
    ).fetchone()
    if first is not None and first[0] is not None:
        con.execute("DELETE FROM ledger_events WHERE commit_no >= ?", [first[0]])
        con.execute("DELETE FROM ledger_commits WHERE commit_no >= ?", [first[0]])
        con.execute("DELETE FROM reports")
        con.execute("DELETE FROM deaths")
    con.close()


def _week(n: int, work: Path) -> dict[str, object]:
    from vitalfile.db import open_store
    from vitalfile.intake.reports import ingest_reports, read_report_file
    from vitalfile.link.splink_linker import SplinkLinker

    week_db = work / f"week-{n}.duckdb"
    shutil.copyfile(work / f"file-{n}.duckdb", week_db)
    _undo_weeks(week_db)
    store = open_store(str(week_db))
    linker = SplinkLinker()  # loading the saved model: part of the week
    t0 = time.perf_counter()
    reports, errors = read_report_file(
        work / f"reports-{n}.csv", source_kind="state", source_id="bench"
    )
    t1 = time.perf_counter()
    # synthetic weeks may lie ahead of the clock: "today" is the batch's last arrival
    today = date.fromisoformat(max(r.reported_at[:10] for r in reports))
    result = ingest_reports(store, reports, linker=linker, today=today, note="weekly bench")
    t3 = time.perf_counter()
    store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    return {
        "people": n,
        "reports": len(reports),
        "read_errors": len(errors),
        "read_s": round(t1 - t0, 2),
        "link_decide_append_s": round(t3 - t1, 2),
        "total_s": round(t3 - t0, 2),
        "peak_gib": round(peak, 2),
        "linked": result.linked,
        "held": result.held,
        "unlinked": result.unlinked,
        "model": linker.version,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--reports", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--child", default=None)
    ap.add_argument("--n", type=int, default=0)
    args = ap.parse_args()
    if args.child:
        work = Path(args.dir)
        out: dict[str, object] = (
            dict(_build(args.n, args.reports, args.seed, work))
            if args.child == "build"
            else _week(args.n, work)
        )
        print(json.dumps(out))
        return
    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-link-"))
    work.mkdir(parents=True, exist_ok=True)
    for n in (int(x) for x in args.sizes.split(",")):
        row: dict[str, object] = {"bench": "link"}
        for child in ("build", "week"):
            if child == "build" and (work / f"file-{n}.duckdb").exists():
                continue
            cmd = [sys.executable, __file__, "--child", child, "--n", str(n), "--dir", str(work)]
            cmd += ["--reports", str(args.reports), "--seed", str(args.seed)]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            row.update(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
