"""Reports that matched no one on file: listed, counted by source, never dropped.

A state's certificate with no person on file also opens a research case (`intake.post`);
the other sources' unmatched reports are listed here for a person to follow up.
"""

from __future__ import annotations

from dataclasses import dataclass

from vitalfile.events import SOURCE_KINDS
from vitalfile.ledger.store import Store

__all__ = ["UnmatchedReport", "unmatched_counts", "unmatched_reports"]


@dataclass(frozen=True)
class UnmatchedReport:
    report_key: str
    source_kind: str
    source_id: str
    reported_at: str
    reason: str
    research_case: str  # the research case a state's certificate opened ('' for others)


def unmatched_reports(store: Store, *, source_kind: str | None = None) -> list[UnmatchedReport]:
    """Every report now unlinked, oldest first (no names, SSNs or dates of birth)."""
    sql = (
        "SELECT report_key, source_kind, source_id, reported_at, reason FROM reports "
        "WHERE status = 'unlinked'"
    )
    params: list[object] = []
    if source_kind:
        if source_kind not in SOURCE_KINDS:
            from vitalfile.errors import UsageError

            raise UsageError(
                f"unknown source kind; use one of {', '.join(SOURCE_KINDS)}", field="source_kind"
            )
        sql += " AND source_kind = ?"
        params.append(source_kind)
    rows = store.query(sql + " ORDER BY received_seq, report_key", params)
    return [
        UnmatchedReport(
            str(key),
            str(kind),
            str(sid),
            str(at or ""),
            str(reason or ""),
            f"X/{key}" if kind == "state" else "",
        )
        for key, kind, sid, at, reason in rows
    ]


def unmatched_counts(store: Store) -> dict[str, int]:
    """Unlinked reports by source kind."""
    rows = store.query(
        "SELECT source_kind, count(*) FROM reports WHERE status = 'unlinked' GROUP BY 1 ORDER BY 1"
    )
    return {str(k): int(n) for k, n in rows}
