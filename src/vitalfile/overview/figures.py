"""The figures staff look at: the review queue by age and reason, queue size over time,
held reasons by week, deaths on file by source and level, corrections pending and delivered,
disclosures by recipient and channel, agreements, refusals. Read-only counts over the
projections, portable SQL (DuckDB and PostgreSQL), grouping in Python; no rules.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from vitalfile.cases.framework import CaseState, list_cases
from vitalfile.ledger.store import Store

__all__ = [
    "REASON_GROUPS",
    "QueueRow",
    "agreements",
    "corrections",
    "deaths_by_source",
    "disclosures_by_recipient",
    "held_by_week",
    "ingest_events_by_type",
    "last_ingest",
    "open_cases_by_kind",
    "queue",
    "queue_over_time",
    "reason_group",
    "refusals",
]

# (group, words that put a held reason in it), checked in order
REASON_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("minor", ("minor",)),
    ("relative's SSN", ("relative",)),
    ("no usable SSN", ("ssn unusable", "no ssn", "never issued")),
    ("two close candidates", ("two close",)),
    ("low match probability", ("probability",)),
    ("too little to compare", ("too little",)),
    ("activity after death", ("activity",)),
    ("date problem", ("date of death", "dod")),
    ("dispute", ("alive", "dispute")),
)


def reason_group(reason: str) -> str:
    """The group a held reason belongs to (for filters and charts)."""
    low = reason.lower()
    for group, words in REASON_GROUPS:
        if any(w in low for w in words):
            return group
    return "other"


@dataclass(frozen=True)
class QueueRow:
    case: CaseState
    age_days: int
    group: str
    overdue: bool


def queue(
    store: Store,
    *,
    kind: str | None = None,
    group: str = "",
    overdue_only: bool = False,
    owner: str = "",
    today: date | None = None,
    limit: int = 500,
) -> tuple[list[QueueRow], int]:
    """Open cases oldest first with their age and reason group, filtered; and how many of
    all open cases (of `kind`) are overdue."""
    day = today or date.today()
    rows: list[QueueRow] = []
    overdue_count = 0
    for c in list_cases(store, kind=kind, state="open"):
        late = c.overdue(day)
        overdue_count += late
        g = reason_group(c.reason) if c.kind == "review" else c.kind
        if group and g != group:
            continue
        if overdue_only and not late:
            continue
        if owner and c.owner != owner:
            continue
        opened = date.fromisoformat(c.opened_at[:10]) if c.opened_at else day
        rows.append(QueueRow(c, (day - opened).days, g, late))
    rows.sort(key=lambda r: (-r.age_days, r.case.opened_seq, r.case.case_id))
    return rows[:limit], overdue_count


def _weeks(today: date, n: int) -> list[date]:
    """The last `n` week ends (Sundays), oldest first, the current week last."""
    end = today + timedelta(days=6 - today.weekday())
    return [end - timedelta(weeks=k) for k in range(n - 1, -1, -1)]


def queue_over_time(
    store: Store, *, weeks: int = 8, today: date | None = None
) -> list[dict[str, Any]]:
    """Per week end: open cases then, and their mean age in days."""
    day = today or date.today()
    opened = store.query("SELECT case_id, opened_at FROM cases")
    closed = dict(
        store.query(
            "SELECT case_id, min(at_time) FROM case_decisions WHERE closes GROUP BY case_id"
        )
    )
    out = []
    for end in _weeks(day, weeks):
        stop = min(end, day).isoformat()
        ages = [
            (min(end, day) - date.fromisoformat(at[:10])).days
            for cid, at in opened
            if at and at[:10] <= stop and (cid not in closed or str(closed[cid])[:10] > stop)
        ]
        out.append(
            {
                "week": end.isoformat(),
                "open": len(ages),
                "mean_age": round(sum(ages) / len(ages), 1) if ages else 0.0,
            }
        )
    return out


def held_by_week(
    store: Store, *, weeks: int = 8, today: date | None = None
) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """Review cases opened per week by reason group: (groups, [(week end, counts)])."""
    day = today or date.today()
    ends = _weeks(day, weeks)
    first = (ends[0] - timedelta(days=6)).isoformat()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for at, reason in store.query(
        "SELECT opened_at, reason FROM cases WHERE kind = 'review' AND opened_at >= ?", [first]
    ):
        d = date.fromisoformat(str(at)[:10])
        end = d + timedelta(days=6 - d.weekday())
        counts[end.isoformat()][reason_group(str(reason))] += 1
    groups = sorted({g for c in counts.values() for g in c})
    return groups, [(e.isoformat(), [counts[e.isoformat()][g] for g in groups]) for e in ends]


def deaths_by_source(store: Store) -> list[tuple[str, int, int]]:
    """Current deaths by the source that first reported them: (source kind, V, P)."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sources, proof, n in store.query(
        "SELECT sources, proof, count(*) FROM deaths WHERE status = 'current' "
        "GROUP BY sources, proof"
    ):
        first = (str(sources).split(",")[0] or "dmf").strip() or "dmf"
        tally[first][0 if proof == "V" else 1] += int(n)
    return sorted((k, v[0], v[1]) for k, v in tally.items())


def corrections(store: Store) -> list[tuple[str, int, int]]:
    """Per recipient: corrections queued by retractions and still pending, and delivered
    (queued, and the recipient no longer holds the wrong version)."""
    from vitalfile.disclosure.distribute import pending_corrections

    pending = {(c.recipient, c.person_id) for c in pending_corrections(store)}
    queued = store.query("SELECT DISTINCT recipient, person_id FROM corrections_queued")
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for rec, pid in queued:
        tally[str(rec)][0 if (rec, pid) in pending else 1] += 1
    for rec, _pid in pending:
        tally.setdefault(rec, [0, 0])
    return sorted((k, v[0], v[1]) for k, v in tally.items())


def disclosures_by_recipient(store: Store) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """Records disclosed per recipient and channel (answers, matches, files):
    (channels, [(recipient, counts)])."""
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for rec, channel, n in store.query(
        "SELECT recipient, channel, count(*) FROM disclosures WHERE kind = 'disclosure' "
        "GROUP BY recipient, channel"
    ):
        tally[str(rec) or "keeper"][str(channel)] += int(n)
    for rec, n in store.query("SELECT recipient, count(*) FROM delivered GROUP BY recipient"):
        tally[str(rec) or "keeper"]["file"] += int(n)
    channels = sorted({c for t in tally.values() for c in t})
    return channels, [(r, [tally[r][c] for c in channels]) for r in sorted(tally)]


def refusals(store: Store, *, limit: int = 100) -> list[dict[str, Any]]:
    """The latest refusals: when, to whom, through which channel, and why."""
    rows = store.query(
        "SELECT at_time, recipient, channel, purpose, given FROM disclosures "
        "WHERE kind = 'refusal' ORDER BY seq DESC LIMIT ?",
        [limit],
    )
    keys = ("date", "recipient", "channel", "purpose", "reason")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def agreements(store: Store) -> list[dict[str, Any]]:
    """Every agreement with its recipient's tier: purpose, authority, dates, ended or not."""
    rows = store.query(
        "SELECT a.agreement_id, a.recipient, coalesce(r.tier, ''), a.purpose, a.authority, "
        "a.start_date, a.end_date, a.ended_reason FROM agreements a "
        "LEFT JOIN recipients r ON r.recipient = a.recipient ORDER BY a.recipient, a.agreement_id"
    )
    keys = ("agreement_id", "recipient", "tier", "purpose", "authority", "start", "end", "ended")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def open_cases_by_kind(store: Store, *, due_before: date | None = None) -> list[tuple[str, int]]:
    """(kind, count) of open cases, by kind; only those due before `due_before` if given."""
    sql = "SELECT kind, count(*) FROM cases WHERE state = 'open'"
    params: list[Any] = []
    if due_before is not None:
        sql += " AND due <> '' AND due < ?"
        params.append(due_before.isoformat())
    rows = store.query(sql + " GROUP BY kind ORDER BY kind", params)
    return [(str(k), int(n)) for k, n in rows]


def last_ingest(store: Store) -> tuple[int, str, str] | None:
    """(commit number, note, committed at) of the last commit of an ingest of reports."""
    rows = store.query(
        "SELECT commit_no, note, committed_at FROM ledger_commits WHERE note LIKE 'ingest %' "
        "ORDER BY commit_no DESC LIMIT 1"
    )
    return (int(rows[0][0]), str(rows[0][1]), str(rows[0][2])) if rows else None


def ingest_events_by_type(store: Store, note: str, last: int) -> dict[str, int]:
    """The events of the ingest whose last commit is `last` (every commit of its batch: those
    with its note since the previous ingest of anything else), counted by type."""
    before = store.query(
        "SELECT max(commit_no) FROM ledger_commits WHERE note LIKE 'ingest %' "
        "AND note <> ? AND commit_no < ?",
        [note, last],
    )
    since = int(before[0][0]) if before and before[0][0] is not None else 0
    return {
        str(t): int(n)
        for t, n in store.query(
            "SELECT e.type, count(*) FROM ledger_events e JOIN ledger_commits c "
            "ON e.commit_no = c.commit_no WHERE c.note = ? AND c.commit_no > ? "
            "AND c.commit_no <= ? AND e.seq >= c.first_seq "
            "AND e.seq < c.first_seq + c.n_events GROUP BY e.type",
            [note, since, last],
        )
    }
