"""How fast `ledger verify` is on PostgreSQL: N events appended, then the chain verified.

    VITALFILE_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/pg_verify.py --events 1000000

Works in a fresh schema, dropped at the end. Only the ledger tables (no projections).
"""

from __future__ import annotations

import argparse
import os
import time

from vitalfile.events import PersonRegistered
from vitalfile.ledger.postgres import PostgresStore, create_schema, drop_schema, with_schema


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--commit", type=int, default=100_000)
    ap.add_argument("--url", default=os.environ.get("VITALFILE_TEST_PG_URL", ""))
    args = ap.parse_args()
    schema = create_schema(args.url)
    try:
        with PostgresStore(with_schema(args.url, schema)) as store:
            t0 = time.perf_counter()
            for lo in range(0, args.events, args.commit):
                n = min(args.commit, args.events - lo)
                store.append(
                    [
                        PersonRegistered(
                            person_id=lo + i + 1,
                            ssn=f"{100000000 + lo + i:09d}",
                            first_name="ANNE",
                            last_name="EXAMPLE",
                            dob="1950-01-01",
                            address="1 MAIN ST",
                        )
                        for i in range(n)
                    ]
                )
            appended = time.perf_counter() - t0
            size = store.query("SELECT pg_total_relation_size('ledger_events')")[0][0]
            runs = []
            for _ in range(3):
                report = store.verify()
                assert report.ok, report.problems
                runs.append(report.seconds)
        best = min(runs)
        print(
            f"{args.events:,} events ({size / 1e6:,.0f} MB): appended in {appended:.1f} s; "
            f"verify {', '.join(f'{r:.2f}' for r in runs)} s "
            f"(best {args.events / best:,.0f} events/s)"
        )
    finally:
        drop_schema(args.url, schema)


if __name__ == "__main__":
    main()
