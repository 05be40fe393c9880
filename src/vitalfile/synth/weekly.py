"""A weekly batch of a given size, drawn from `make_reports`, as the pipeline receives it.

For the linkage benchmarks: enough months of deaths to fill `n_reports`, the earliest
`n_reports` reports kept (with their truth), and the same rows as `ReportReceived` events.
"""

from __future__ import annotations

import math

import pyarrow as pa

from vitalfile.events import ReportReceived
from vitalfile.ssn import never_issued_reason
from vitalfile.synth.reports import ANNUAL_DEATH_RATE, make_reports

__all__ = ["received", "weekly_batch"]

_REPORTS_PER_DEATH = 1.6


def weekly_batch(people: pa.Table, n_reports: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """(reports, truth): the first `n_reports` reports about deaths among `people`."""
    per_month = max(people.num_rows * ANNUAL_DEATH_RATE / 12 * _REPORTS_PER_DEATH, 1.0)
    months = max(1, math.ceil(n_reports * 1.15 / per_month))
    reports, truth = make_reports(people, months, seed)
    # the months end today: a span reaching back past some births holds fewer deaths
    for _ in range(3):
        if reports.num_rows >= n_reports:
            break
        months = math.ceil(months * 1.1 * n_reports / max(reports.num_rows, 1))
        reports, truth = make_reports(people, months, seed)
    n = min(n_reports, reports.num_rows)
    return reports.slice(0, n), truth.slice(0, n)


def received(reports: pa.Table) -> list[ReportReceived]:
    """The rows as received events (keys `<source_id>/<report_id>`)."""
    cols = {c: reports.column(c).to_pylist() for c in reports.column_names}
    out = []
    for i in range(reports.num_rows):
        row = {c: (cols[c][i] or "") for c in cols}
        out.append(
            ReportReceived(
                report_key=f"{row['source_id']}/{row['report_id']}",
                source_kind=row["source_kind"],
                source_id=row["source_id"],
                report_id=row["report_id"],
                ssn=row["ssn"],
                ssn_flag=(never_issued_reason(row["ssn"]) or "") if row["ssn"] else "no SSN given",
                first_name=row["first_name"],
                middle_name=row["middle_name"],
                last_name=row["last_name"],
                suffix=row["suffix"],
                dob=row["dob"],
                dod=row["dod"],
                sex=row["sex"],
                death_state=row["death_state"],
                reported_at=row["reported_at"],
            )
        )
    return out
