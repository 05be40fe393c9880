"""Benchmark: online verification latency (p50/p99 over Q queries) and batch matching.

Loads a synthetic DMF full file of N people (each a person with a death), registers a
certified recipient, then times `verify_online` at library level (the gate, the lookup and
the disclosure event appended per answer) for Q queries, and `match_batch` over a customers
CSV of M rows (exact SSNs, some mis-keyed, some unknown). Prints one JSON line.

    .venv/bin/python bench/verify_online.py [--n 10000000] [--queries 100000] [--batch 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import date
from pathlib import Path

from vitalfile.db import open_store
from vitalfile.disclosure.policy import VERIFY_FIELDS, add_agreement, add_recipient
from vitalfile.disclosure.verify import match_batch, verify_online
from vitalfile.intake.dmf_load import load_dmf_full
from vitalfile.ledger.journal import Journal
from vitalfile.synth.dmf import write_dmf_full


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1_000_000)
    args = ap.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        write_dmf_full(work / "full.dmf", args.n, seed=11)
        store = open_store(str(work / "bench.duckdb"))
        load_dmf_full(store, work / "full.dmf")
        add_recipient(store, "bank", "certified")
        add_agreement(
            store,
            "bank-1",
            "bank",
            purpose="fraud prevention",
            authority="bench",
            fields=list(VERIFY_FIELDS),
            start="2020-01-01",
            end="2099-12-31",
        )
        sample = store.query_arrow(
            "SELECT ssn, last_name, first_name, dob FROM persons USING SAMPLE "
            f"{min(args.n, max(args.queries, args.batch))} ROWS"
        ).to_pylist()
        on = date.today()
        lat: list[float] = []
        # the service's way: disclosures written ahead to a journal, committed in batches
        journal = Journal(store, work / "answers.journal")
        t_all = time.perf_counter()
        for row in sample[: args.queries]:
            t0 = time.perf_counter()
            verify_online(
                store,
                "bank",
                ssn=row["ssn"],
                last_name=row["last_name"],
                dob=row["dob"],
                on=on,
                journal=journal,
            )
            lat.append(time.perf_counter() - t0)
        journal.close()  # every disclosure in the ledger before the clock stops
        online_s = time.perf_counter() - t_all
        recorded = store.query("SELECT count(*) FROM ledger_events WHERE type = 'disclosure.made'")[
            0
        ][0]
        lat.sort()
        csv_path = work / "customers.csv"
        with csv_path.open("w") as fh:
            fh.write("customer_id,ssn,first_name,last_name,dob\n")
            for i in range(args.batch):
                row = sample[i % len(sample)]
                ssn = row["ssn"]
                r = rng.random()
                if r < 0.05:  # one digit mis-keyed
                    k = rng.randrange(9)
                    ssn = ssn[:k] + str((int(ssn[k]) + 1) % 10) + ssn[k + 1 :]
                elif r < 0.08:
                    ssn = f"{rng.randrange(1, 899):03d}{rng.randrange(1, 99):02d}4321"
                fh.write(f"c{i},{ssn},{row['first_name']},{row['last_name']},{row['dob']}\n")
        t0 = time.perf_counter()
        res = match_batch(store, "bank", csv_path, work / "answers.csv", on=on)
        batch_s = time.perf_counter() - t0
        store.close()
    q = len(lat)
    print(
        json.dumps(
            {
                "bench": "verify_online",
                "people": args.n,
                "queries": q,
                "p50_ms": round(lat[q // 2] * 1000, 3) if q else None,
                "p99_ms": round(lat[min(q - 1, int(q * 0.99))] * 1000, 3) if q else None,
                "answers_per_s": round(q / online_s) if q else None,
                "disclosures_recorded": recorded,
                "batch_rows": res.rows,
                "batch_seconds": round(batch_s, 2),
                "batch_counts": res.counts,
            }
        )
    )


if __name__ == "__main__":
    main()
