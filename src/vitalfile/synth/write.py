"""Writing the synthetic data set as canonical CSV files (people, reports, truth).

Canonical CSV: the header line as in ARCHITECTURE.md, no quoting (the generated values never
hold a comma, quote or line break), "\\n" line endings, empty string for unknown.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vitalfile.synth.people import PEOPLE_COLUMNS, make_people
from vitalfile.synth.reports import REPORT_COLUMNS, TRUTH_COLUMNS, make_reports

__all__ = ["write_canonical_csv", "write_synth"]


def write_canonical_csv(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Write `table` (its columns in order) as a canonical CSV file."""
    options = pacsv.WriteOptions(
        include_header=True,
        quoting_style="none",
        quoting_header="none",
        eol="\n",
        batch_size=65_536,
    )
    pacsv.write_csv(table, str(path), write_options=options)


def write_synth(
    out_dir: str | os.PathLike[str],
    people: int = 1000,
    months: int = 1,
    seed: int = 0,
    start: str | None = None,
) -> dict[str, int]:
    """Write people.csv, reports.csv and truth.csv into `out_dir`; return the counts.

    Without `start` the months end today."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    population = make_people(people, seed)
    write_canonical_csv(population.select(list(PEOPLE_COLUMNS)), out / "people.csv")
    reports, truth = make_reports(population, months, seed, start=start)
    write_canonical_csv(reports.select(list(REPORT_COLUMNS)), out / "reports.csv")
    write_canonical_csv(truth.select(list(TRUTH_COLUMNS)), out / "truth.csv")
    rows = truth.column("person_row")
    outside = pc.equal(rows, -1)
    in_file = truth.filter(pc.invert(outside))
    return {
        "people": population.num_rows,
        "reports": reports.num_rows,
        "deaths_in_file": len(pc.unique(in_file.column("person_row"))),
        "deaths_not_in_file": len(pc.unique(truth.filter(outside).column("true_ssn"))),
        "reports_not_in_file": int(pc.sum(outside.cast(pa.int64())).as_py() or 0),
        "reports_with_errors": int(
            pc.sum(pc.not_equal(truth.column("errors"), "").cast(pa.int64())).as_py() or 0
        ),
    }
