"""The week: a batch of reports against a file of millions of people, timed by step.

For each backend, one child process builds the file — synthetic people written as a
canonical CSV and registered by `intake.people.load_people_file` (what `people load` runs;
timed, not part of the week) — and writes the week's reports as canonical CSV; a second,
fresh child runs the week — read the batch (`intake.reports.read_report_file`), link with
the saved Splink model, decide, append (`intake.reports.ingest_reports`, what `ingest` runs)
— and reports its time by step and its peak memory. The steps are timed by wrapping the
library's own functions (nothing is restructured for the benchmark): read, vetoes and
candidates (the people the batch's blocking keys reach, their frames and name term
frequencies), scoring (Splink over those candidate pairs: the floor the week is compared to),
deciding (the thresholds, the verified deaths on file), people (their saved state and
last activity), holds and posting (the screen, the hold facts and rules,
`intake.post.decide_report`), append (events and projections), commit (the transaction's,
after the last append) and the rest (glue). One JSON line per backend.

    .venv/bin/python -m bench.link [--n 1000000] [--reports 60000] [--db duckdb,postgresql]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import PG_URL, emit, machine, peak_gib


def _url(db: str, work: Path, n: int, *, built: bool = False) -> str:
    """Where the file lives: DuckDB keeps the built file (`file-N.duckdb`, which
    `bench/accuracy.py --reuse` and `bench/engines.py` read) and runs the week on a copy."""
    if db == "duckdb":
        return str(work / (f"file-{n}.duckdb" if built else f"week-{n}.duckdb"))
    from vitalfile.ledger.postgres import with_schema

    return with_schema(PG_URL, f"bench_week_{n}")


def _build(db: str, n: int, n_reports: int, seed: int, work: Path) -> dict[str, object]:
    from vitalfile.db import open_store
    from vitalfile.intake.people import load_people_file
    from vitalfile.master.projection import PERSON_COLUMNS
    from vitalfile.synth import make_people
    from vitalfile.synth.weekly import weekly_batch
    from vitalfile.synth.write import write_canonical_csv

    people_csv = work / f"people-{n}.csv"
    if not (work / f"reports-{n}.csv").exists() or not people_csv.exists():
        people = make_people(n, seed)
        reports, truth = weekly_batch(people, n_reports, seed)
        write_canonical_csv(people.select(list(PERSON_COLUMNS)), people_csv)
        write_canonical_csv(reports, work / f"reports-{n}.csv")
        write_canonical_csv(truth, work / f"truth-{n}.csv")
    if db == "duckdb":
        Path(_url(db, work, n, built=True)).unlink(missing_ok=True)
    else:
        from vitalfile.ledger.postgres import create_schema, drop_schema

        drop_schema(PG_URL, f"bench_week_{n}")
        create_schema(PG_URL, f"bench_week_{n}")
    with open_store(_url(db, work, n, built=True)) as store:
        t0 = time.perf_counter()
        load_people_file(store, people_csv)
        load_s = time.perf_counter() - t0
    return {"people_load_s": round(load_s, 1), "people_per_s": round(n / load_s)}


class _Steps:
    """Wall time per step, by wrapping functions (a step inside another counts once)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.ended: dict[str, float] = {}  # when each step last ended
        self._depth = 0

    def wrap(self, owner: Any, name: str, step: str) -> None:
        fn = getattr(owner, name, None)
        if fn is None:  # the library moved on: that step is simply not split out
            return

        def timed(*args: Any, __fn: Callable[..., Any] = fn, **kw: Any) -> Any:
            if self._depth:
                return __fn(*args, **kw)
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return __fn(*args, **kw)
            finally:
                self._depth -= 1
                self.ended[step] = time.perf_counter()
                self.seconds[step] = self.seconds.get(step, 0.0) + self.ended[step] - t0

        setattr(owner, name, timed)


def _week(db: str, n: int, work: Path) -> dict[str, object]:
    import vitalfile.intake.activity as activity
    import vitalfile.intake.pipeline as pipeline
    import vitalfile.intake.reports as intake
    import vitalfile.link.splink_linker as sl
    from vitalfile.db import open_store
    from vitalfile.ledger.store import Store
    from vitalfile.link.splink_linker import SplinkLinker

    steps = _Steps()
    for owner, name, step in (
        (sl, "vetoes_of", "candidates"),
        (sl, "candidate_people", "candidates"),
        (sl, "person_frame", "candidates"),
        (sl, "report_frame", "candidates"),
        (sl, "surname_frequencies", "candidates"),
        (sl, "term_frequencies", "candidates"),
        (sl.SplinkLinker, "score_frames", "scoring"),
        (sl, "decide_on_file", "deciding"),
        (intake, "load_people", "people"),
        (activity, "latest_activity", "people"),
        (intake, "screen", "holds_and_post"),
        (pipeline, "facts_for", "holds_and_post"),
        (pipeline, "apply_holds", "holds_and_post"),
        (intake, "decide_report", "holds_and_post"),
        (Store, "append", "append"),
    ):
        steps.wrap(owner, name, step)
    if db == "duckdb":
        shutil.copyfile(_url(db, work, n, built=True), _url(db, work, n))
    store = open_store(_url(db, work, n))
    linker = SplinkLinker()  # loading the saved model: part of the week
    t0 = time.perf_counter()
    reports, errors = intake.read_report_file(
        work / f"reports-{n}.csv", source_kind="state", source_id="bench"
    )
    t1 = time.perf_counter()
    # synthetic weeks may lie ahead of the clock: "today" is the batch's last arrival
    today = date.fromisoformat(max(r.reported_at[:10] for r in reports))
    result = intake.ingest_reports(store, reports, linker=linker, today=today, note="week")
    t2 = time.perf_counter()
    store.close()
    by_step = {"read": t1 - t0, **steps.seconds}
    # after the last append the transaction commits: nothing else runs before it returns
    by_step["commit"] = t2 - steps.ended.get("append", t2)
    by_step["rest"] = (t2 - t1) - sum(steps.seconds.values()) - by_step["commit"]
    scoring = steps.seconds.get("scoring", 0.0)
    return {
        "reports": len(reports),
        "read_errors": len(errors),
        "week_s": round(t2 - t0, 2),
        "steps_s": {k: round(v, 2) for k, v in by_step.items()},
        "floor": "Splink scoring of the same candidate pairs alone",
        "floor_s": round(scoring, 2),
        "ratio": round((t2 - t0) / scoring, 2) if scoring else None,
        "peak_gib": peak_gib(),
        "linked": result.linked,
        "held": result.held,
        "unlinked": result.unlinked,
        "model": linker.version,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--reports", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--db", default="duckdb,postgresql")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--child", default=None)
    ap.add_argument("--backend", default="duckdb")
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-link-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.child:
        out = (
            _build(args.backend, args.n, args.reports, args.seed, work)
            if args.child == "build"
            else _week(args.backend, args.n, work)
        )
        print(json.dumps(out))
        return
    for db in args.db.split(","):
        row: dict[str, object] = {"bench": "week", "db": db, "people": args.n}
        for child in ("build", "week"):
            cmd = [sys.executable, "-m", "bench.link", "--child", child, "--backend", db]
            cmd += ["--n", str(args.n), "--dir", str(work), "--reports", str(args.reports)]
            cmd += ["--seed", str(args.seed)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                row[f"{child}_failed"] = done.stderr.strip().splitlines()[-1][:300]
                break
            row.update(json.loads(done.stdout.strip().splitlines()[-1]))
        emit({**row, **machine()})


if __name__ == "__main__":
    main()
