"""A killed process leaves the database as before; personal data never reaches the logs."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from bench.crash import KILLER

from vitalfile.db import open_store
from vitalfile.synth import write_dmf_full, write_synth

CLI = "import sys; from vitalfile.cli import main; sys.exit(main())"


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALFILE_")}
    env["VITALFILE_DB"] = str(db)
    return env


def _state(db: Path) -> tuple[object, ...]:
    with open_store(str(db)) as store:
        report = store.verify()
        assert report.ok, report.problems
        return (
            store.head(),
            store.query("SELECT count(*) FROM persons")[0][0],
            store.query("SELECT count(*) FROM deaths")[0][0],
            store.query("SELECT count(*) FROM reports")[0][0],
        )


# the command kills itself inside its first commit: the commit's row written, the
# transaction not yet committed — the moment a kill from outside hits only by chance (and that
# a fast machine may have passed by the time a timer fires)
INSIDE_COMMIT = ("vitalfile.ledger.store:Store._write_commit", "after", "")


def _killed_inside_its_commit(args: list[str], db: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-c", KILLER, *INSIDE_COMMIT, *args],
        env=_env(db),
        capture_output=True,
        timeout=900,
    )
    assert r.returncode == -signal.SIGKILL, r.stderr[-400:]


@pytest.mark.slow
def test_sigkill_during_loads_and_ingest_leaves_the_database_as_before(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    write_synth(tmp_path / "small", people=2_000, months=1, seed=3)
    subprocess.run(
        [sys.executable, "-c", CLI, "people", "load", str(tmp_path / "small" / "people.csv")],
        env=_env(db),
        check=True,
    )
    before = _state(db)

    # 1. a bulk DMF load
    dmf = tmp_path / "full.dmf"
    write_dmf_full(dmf, 100_000, seed=5)
    _killed_inside_its_commit(["load", str(dmf)], db)
    assert _state(db) == before

    # 2. a people file
    write_synth(tmp_path / "big", people=30_000, months=1, seed=4)
    _killed_inside_its_commit(["people", "load", str(tmp_path / "big" / "people.csv")], db)
    assert _state(db) == before

    # 3. an ingest of reports
    reports = tmp_path / "reports.csv"
    with reports.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            [
                "report_id",
                "source_kind",
                "source_id",
                "ssn",
                "first_name",
                "middle_name",
                "last_name",
                "suffix",
                "dob",
                "dod",
                "sex",
                "death_state",
                "reported_at",
            ]
        )
        for i in range(20_000):
            w.writerow(
                [
                    i,
                    "state",
                    "TX",
                    f"{200000001 + i:09d}",
                    "A",
                    "",
                    "B",
                    "",
                    "1950-01-01",
                    "2026-01-01",
                    "F",
                    "TX",
                    "",
                ]
            )
    _killed_inside_its_commit(["ingest", str(reports)], db)
    assert _state(db) == before
