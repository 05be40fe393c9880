"""Accuracy of automatic links: our Splink linker against two deterministic baselines.

Synthetic people (bulk-loaded into a fresh store) and a weekly batch of reports with their
truth. For each linker: precision and recall of automatic links, the share held for review,
and the living people who would have been listed dead (linked in error). One table, one JSON
line. `--grid` also tries threshold settings on the same scores (to choose the defaults).

    .venv/bin/python bench/accuracy.py [--people 1000000] [--reports 60000] [--seed 5] [--grid]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa

TARGETS = {"precision": 0.9995, "recall": 0.99, "held_share": 0.02}


def build(n_people: int, n_reports: int, seed: int, work: Path) -> dict[str, Any]:
    """A store holding `n_people` synthetic people, and a weekly batch about them."""
    from vitalfile.db import open_store
    from vitalfile.intake.people_bulk import load_people_bulk
    from vitalfile.synth import make_people
    from vitalfile.synth.weekly import received, weekly_batch

    t0 = time.perf_counter()
    people = make_people(n_people, seed)
    reports, truth = weekly_batch(people, n_reports, seed)
    synth_s = time.perf_counter() - t0
    db = work / f"people-{n_people}-{seed}.duckdb"
    if db.exists():
        db.unlink()
    store = open_store(str(db))
    t1 = time.perf_counter()
    loaded = load_people_bulk(store, people)
    load_s = time.perf_counter() - t1
    return {
        "store": store,
        "people": people,
        "reports": reports,
        "truth": truth,
        "received": received(reports),
        "base": loaded.first_person_id,
        "synth_s": synth_s,
        "people_load_s": load_s,
    }


def evaluate(
    outcomes: Sequence[tuple[str, int | None]], truth: pa.Table, base: int
) -> dict[str, float]:
    """Precision, recall, held share and living-listed-dead for (outcome, person_id) rows."""
    rows = truth.column("person_row").to_pylist()
    dead = {base + r for r in rows if r >= 0}
    in_file = sum(1 for r in rows if r >= 0)
    linked = right = held = 0
    wrong_people: set[int] = set()
    for (outcome, pid), row in zip(outcomes, rows, strict=True):
        if outcome == "held":
            held += 1
        elif outcome == "linked" and pid is not None:
            linked += 1
            if row >= 0 and pid == base + row:
                right += 1
            elif pid not in dead:
                wrong_people.add(pid)
    return {
        "precision": right / linked if linked else 1.0,
        "recall": right / in_file if in_file else 1.0,
        "held_share": held / len(rows) if rows else 0.0,
        "wrong_links": linked - right,
        "living_listed_dead": len(wrong_people),
    }


def baselines(store: Any, reports: pa.Table) -> dict[str, list[tuple[str, int | None]]]:
    """Exact SSN; exact SSN + last name + date of birth (names compared upper-cased)."""
    ssns = sorted({s for s in reports.column("ssn").to_pylist() if s})
    rows = store.query(
        "SELECT ssn, person_id, upper(last_name), dob FROM persons "
        "WHERE ssn IN (SELECT unnest(?::VARCHAR[]))",
        [ssns],
    )
    by_ssn = {r[0]: (int(r[1]), r[2], r[3]) for r in rows}
    ssn_only: list[tuple[str, int | None]] = []
    ssn_last_dob: list[tuple[str, int | None]] = []
    for s, last, dob in zip(
        reports.column("ssn").to_pylist(),
        reports.column("last_name").to_pylist(),
        reports.column("dob").to_pylist(),
        strict=True,
    ):
        hit = by_ssn.get(s) if s else None
        ssn_only.append(("linked", hit[0]) if hit else ("unlinked", None))
        ok = hit is not None and dob and hit[2] == dob and hit[1] == " ".join(last.upper().split())
        ssn_last_dob.append(("linked", hit[0]) if ok and hit else ("unlinked", None))
    return {"exact SSN": ssn_only, "exact SSN + last name + DOB": ssn_last_dob}


def from_dir(n_people: int, work: Path) -> dict[str, Any]:
    """Reuse the file and the week that `bench/link.py --dir` built (people ids from 1)."""
    import pyarrow.csv as pacsv

    from vitalfile.db import open_store
    from vitalfile.synth import REPORT_COLUMNS, TRUTH_COLUMNS
    from vitalfile.synth.weekly import received

    text = {c: pa.string() for c in (*REPORT_COLUMNS, *TRUTH_COLUMNS)}
    strings = pacsv.ConvertOptions(
        strings_can_be_null=False, column_types={**text, "person_row": pa.int64()}
    )
    reports = pacsv.read_csv(work / f"reports-{n_people}.csv", convert_options=strings)
    truth = pacsv.read_csv(work / f"truth-{n_people}.csv", convert_options=strings)
    return {
        "store": open_store(str(work / f"file-{n_people}.duckdb")),
        "reports": reports,
        "truth": truth,
        "received": received(reports),
        "base": 1,
        "people_load_s": 0.0,
    }


def run(
    n_people: int, n_reports: int, seed: int, grid: bool, work: Path, reuse: bool = False
) -> dict[str, Any]:
    from vitalfile.link.decide import DecideSettings, decide_batch
    from vitalfile.link.splink_linker import SplinkLinker

    data = from_dir(n_people, work) if reuse else build(n_people, n_reports, seed, work)
    store, reps = data["store"], data["received"]
    linker = SplinkLinker()
    t0 = time.perf_counter()
    scored = linker.score(store, reps)
    score_s = time.perf_counter() - t0
    truth, base = data["truth"], data["base"]

    def ours(s: DecideSettings) -> list[tuple[str, int | None]]:
        # the file holds people only: the deaths that count are those the week's own
        # state reports certify (decided first, as the linker does)
        results = decide_batch(reps, scored.candidates, settings=s, model_version=linker.version)
        return [(lr.outcome, lr.person_id) for lr in results]

    results = {f"ours ({linker.version})": evaluate(ours(linker.settings), truth, base)}
    for name, outs in baselines(store, data["reports"]).items():
        results[name] = evaluate(outs, truth, base)
    tried = []
    if grid:
        for p in (0.99, 0.999, 0.9999, 0.99999):
            for m in (4.0, 6.0, 8.0, 10.0, 13.0):
                for u in (0.01, 0.05, 0.2):
                    s = DecideSettings(link_probability=p, margin_weight=m, unlink_probability=u)
                    tried.append({**asdict(s), **evaluate(ours(s), truth, base)})
    store.close()
    return {
        "people": n_people,
        "reports": len(reps),
        "seed": seed,
        "model": linker.version,
        "settings": asdict(linker.settings),
        "score_s": round(score_s, 2),
        "people_load_s": round(data["people_load_s"], 2),
        "results": results,
        "grid": tried,
    }


def print_table(out: dict[str, Any]) -> None:
    head = (
        f"{'linker':<34} {'precision':>10} {'recall':>8} {'held':>7} {'wrong':>6} "
        f"{'living listed dead':>19}"
    )
    print(f"{out['reports']:,} reports against {out['people']:,} people (seed {out['seed']})")
    print(head)
    print("-" * len(head))
    for name, r in out["results"].items():
        print(
            f"{name:<34} {r['precision']:>10.5f} {r['recall']:>8.4f} {r['held_share']:>7.2%} "
            f"{r['wrong_links']:>6} {r['living_listed_dead']:>19}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--reports", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--dir", default=None)
    ap.add_argument(
        "--reuse", action="store_true", help="use the file and week bench/link.py left in --dir"
    )
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-acc-"))
    work.mkdir(parents=True, exist_ok=True)
    out = run(args.people, args.reports, args.seed, args.grid, work, args.reuse)
    print_table(out)
    for row in out["grid"]:
        print(json.dumps(row))
    out.pop("grid")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
