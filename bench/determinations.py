"""The determinations register on a bulk submission: one determination per person, each checked.

Registers `--people` synthetic living people (set-wise), then submits `--submission` of them
as one agency's list, with the flaws such lists carry: a mis-typed surname or birth date
(weak identity match), an SSN nobody on file has, a missing authority or effective date; minors
are in the population already. Prints one JSON line: time, per-person rate, proposed, held, and
holds counted by reason. Usage:

    .venv/bin/python bench/determinations.py [--people 1000000] [--submission 100000]
        [--linker rule|splink] [--dir D]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from vitalfile.cases.determinations import DeterminationIn, submit_determinations
from vitalfile.db import open_store
from vitalfile.intake.people import load_people_file
from vitalfile.link.base import Linker
from vitalfile.master.projection import PERSON_COLUMNS
from vitalfile.synth.people import make_people

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def _flawed(row: dict[str, str], rng: random.Random) -> tuple[DeterminationIn, str]:
    kind = rng.choice(("benefit_ineligible", "work_authorization_ended"))
    item = {
        "ssn": row["ssn"],
        "kind": kind,
        "authority": "42 USC 1320a-7" if kind == "benefit_ineligible" else "8 USC 1324a",
        "effective_date": "2025-07-01",
        "evidence_ref": f"CASE-{rng.randrange(10**8):08d}",
        "first_name": row["first_name"],
        "middle_name": row["middle_name"],
        "last_name": row["last_name"],
        "dob": row["dob"],
    }
    u = rng.random()
    flaw = "none"
    if u < 0.03:
        item["last_name"] = item["last_name"][:-1] + ("X" if item["last_name"][-1:] != "X" else "Y")
        flaw = "surname typo"
    elif u < 0.05:
        item["dob"] = item["dob"][:8] + ("01" if item["dob"][8:] != "01" else "02")
        flaw = "birth date typo"
    elif u < 0.07:
        item["ssn"] = f"{rng.randrange(900_000_000, 999_999_999):09d}"  # never issued: nobody
        flaw = "unknown SSN"
    elif u < 0.09:
        item["authority"] = ""
        flaw = "no authority"
    elif u < 0.10:
        item["effective_date"] = ""
        flaw = "no effective date"
    return DeterminationIn(**item), flaw  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--submission", type=int, default=100_000)
    ap.add_argument("--linker", choices=("rule", "splink"), default="rule")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="vf-det-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"det-{args.people}-{args.linker}.duckdb"
    if db.exists():
        db.unlink()
    people = make_people(args.people, seed=5)
    rng = random.Random(9)
    rows = people.select(PERSON_COLUMNS).take(
        sorted(rng.sample(range(args.people), args.submission))
    )
    items = [_flawed(r, rng) for r in rows.to_pylist()]
    linker: Linker | None = None
    if args.linker == "splink":
        from vitalfile.link.splink_linker import SplinkLinker

        linker = SplinkLinker()
    with open_store(str(db)) as store:
        t = time.perf_counter()
        load_people_file(store, people.select(PERSON_COLUMNS))
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        result = submit_determinations(
            store,
            [i for i, _ in items],
            agency="SSA-OIG",
            batch_id="bench",
            linker=linker,
            now=NOW,
        )
        submit_s = time.perf_counter() - t
        events = int(store.query("SELECT count(*) FROM ledger_events")[0][0]) - args.people
        cases = int(store.query("SELECT count(*) FROM cases WHERE kind = 'determination'")[0][0])
    db.unlink()
    flaws: dict[str, int] = {}
    for _, f in items:
        flaws[f] = flaws.get(f, 0) + 1
    print(
        json.dumps(
            {
                "bench": "determinations",
                "people_on_file": args.people,
                "submission": args.submission,
                "linker": args.linker,
                "submit_s": round(submit_s, 2),
                "per_person_ms": round(submit_s * 1000 / args.submission, 3),
                "determinations_per_s": round(args.submission / submit_s),
                "proposed": result.proposed,
                "held": result.held,
                "held_share": round(result.held / args.submission, 4),
                "holds_by_reason": dict(sorted(result.holds_by_reason.items())),
                "review_cases_opened": cases,
                "events_appended": events,
                "injected_flaws": dict(sorted(flaws.items())),
                "people_load_s": round(load_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
