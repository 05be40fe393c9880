"""Resurrection: decision-to-queued time over many retractions on a large file.

Builds (once, cached in `--dir`) a file of N people, each with a death, from a synthetic DMF
full file loaded set-wise, and delivers it in full to a federal and a certified recipient.
Then, for each of `--retractions` random people: a dispute is opened (not timed), and the
decision `retract` is timed from the call until the correction is queued (the retraction,
the reports' marks and `correction.queued` in one commit) and until `corrections pending`
for that person lists every recipient that received the death. One JSON line. Usage:

    .venv/bin/python bench/resurrection.py [--people 10000000] [--retractions 1000] [--dir D]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from vitalfile.cases.decide import decide
from vitalfile.cases.framework import open_dispute
from vitalfile.db import open_store
from vitalfile.disclosure.distribute import extract_full, pending_corrections
from vitalfile.disclosure.policy import DEATH_FIELDS, add_agreement, add_recipient
from vitalfile.intake.dmf_load import load_dmf_full
from vitalfile.ledger.store import Store
from vitalfile.synth import write_dmf_full

RECIPIENTS = (("fed", "federal"), ("bank", "certified"))
ON = date(2025, 6, 1)


def _pending_for(store: Store, person_id: int) -> set[str]:
    """`corrections pending` narrowed to one person (the same rule, one person's rows)."""
    rows = store.query(
        "SELECT t.recipient FROM (SELECT x.recipient, x.version, x.action, "
        "ROW_NUMBER() OVER (PARTITION BY x.recipient ORDER BY x.seq DESC) AS rn "
        "FROM delivered x WHERE x.person_id = ?) t JOIN deaths d ON d.person_id = ? "
        "WHERE t.rn = 1 AND t.action <> 'D' AND (d.version <> t.version OR d.status <> 'current')",
        [person_id, person_id],
    )
    return {str(r[0]) for r in rows}


def _prepare(work: Path, n: int) -> Path:
    ready = work / f"resurrection-{n}.duckdb"
    if ready.exists():
        return ready
    base = work / f"base-{n}.duckdb"
    if not base.exists():
        src = work / f"dmf-{n}.txt"
        if not src.exists():
            write_dmf_full(src, n, seed=11)
        with open_store(str(base)) as store:
            load_dmf_full(store, src)
    tmp = work / f"resurrection-{n}.part.duckdb"
    shutil.copyfile(base, tmp)
    with open_store(str(tmp)) as store:
        for name, tier in RECIPIENTS:
            add_recipient(store, name, tier)
            add_agreement(
                store,
                f"{name}-1",
                name,
                purpose="benefit integrity",
                authority="42 USC 1306c",
                fields=[*DEATH_FIELDS],
                start="2020-01-01",
                end="2030-12-31",
            )
            extract_full(store, work / f"{name}.dmf", recipient=name, on=ON)
            (work / f"{name}.dmf").unlink()
    tmp.rename(ready)
    return ready


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=10_000_000)
    ap.add_argument("--retractions", type=int, default=1000)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-res-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ready = _prepare(work, args.people)
    prepare_s = time.perf_counter() - t0
    db = work / "run.duckdb"
    shutil.copyfile(ready, db)
    queued: list[float] = []
    visible: list[float] = []
    told: list[int] = []
    with open_store(str(db)) as store:
        lo, hi = store.query("SELECT min(person_id), max(person_id) FROM persons")[0]
        rng = random.Random(args.seed)
        pids = rng.sample(range(int(lo), int(hi) + 1), args.retractions)
        table = store.query_arrow(
            "SELECT person_id, ssn FROM persons WHERE person_id IN (SELECT unnest(?))", [pids]
        )
        ssns = dict(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True))
        for pid in pids:
            cid = open_dispute(store, ssns[pid], evidence=["identity proven in person"])
            t = time.perf_counter()
            result = decide(store, cid, "retract", reviewer="bench", reason="the person is alive")
            t_queued = time.perf_counter()
            pending = _pending_for(store, pid)
            t_visible = time.perf_counter()
            assert set(result.recipients) == {r for r, _ in RECIPIENTS} == pending, (
                result.recipients,
                pending,
            )
            queued.append(t_queued - t)
            visible.append(t_visible - t)
            told.append(len(result.recipients))
        t = time.perf_counter()
        all_pending = pending_corrections(store, on=ON)
        pending_all_s = time.perf_counter() - t
        n_people = int(store.query("SELECT count(*) FROM persons")[0][0])
    db.unlink()
    ms = 1000.0
    print(
        json.dumps(
            {
                "bench": "resurrection",
                "people": n_people,
                "recipients_holding_each_death": statistics.mean(told),
                "retractions": len(queued),
                "decision_to_queued_ms_p50": round(_pct(queued, 0.5) * ms, 1),
                "decision_to_queued_ms_p99": round(_pct(queued, 0.99) * ms, 1),
                "decision_to_queued_ms_max": round(max(queued) * ms, 1),
                "decision_to_pending_listed_ms_p50": round(_pct(visible, 0.5) * ms, 1),
                "decision_to_pending_listed_ms_p99": round(_pct(visible, 0.99) * ms, 1),
                "corrections_pending_all_recipients_s": round(pending_all_s, 2),
                "corrections_pending_rows": len(all_pending),
                "prepare_s": round(prepare_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
