"""Signs of life: activity feeds (earnings, claims, accounts opened, office visits).

`ingest_activity` records each line as an `activity.recorded` event (idempotent by content)
and, in the same commit, opens one review case per death that activity postdates — once per
death version, however many lines or files show it. `has_activity_after` and
`latest_activity` answer, for the posting rule, whether a person was seen alive after a date.
This module never changes a death: a reviewer decides the case.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from vitalfile.dates import due_date, iso_now, latest_iso
from vitalfile.errors import FileRejected, RecordError, UsageError
from vitalfile.events import ActivityRecorded, CaseOpened, Event
from vitalfile.ledger.store import Store, Tx
from vitalfile.ledger.table import Table
from vitalfile.master.projection import PersonState
from vitalfile.sources.csv import iter_rows

__all__ = [
    "ACTIVITY_KINDS",
    "ActivityProjection",
    "ActivityResult",
    "activity_after",
    "has_activity_after",
    "ingest_activity",
    "latest_activity",
    "life_case_id",
    "read_activity",
]

ACTIVITY_KINDS = ("earnings", "claim", "account_opened", "office_visit")
HEADER = ("ssn", "kind", "date", "source")


def life_case_id(person_id: int, death_version: int) -> str:
    """The one review case signs of life open on a death (per death version)."""
    return f"L/{person_id}/v{death_version}"


ACTIVITY = Table(
    "activity",
    "activity_key VARCHAR PRIMARY KEY",
    "ssn VARCHAR",
    "person_id BIGINT NULL",
    "kind VARCHAR",
    "activity_date VARCHAR",
    "source VARCHAR",
    "seq BIGINT",
)


class ActivityProjection:
    """activity(activity_key, ssn, person_id, kind, activity_date, source, seq)."""

    name = "activity"

    def ddl(self) -> list[str]:
        return [ACTIVITY.ddl]

    def tables(self) -> list[str]:
        return [ACTIVITY.name]

    def handles(self, event_type: str) -> bool:
        return event_type == ActivityRecorded.type

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        rows = [(s, e) for s, e in events if isinstance(e, ActivityRecorded)]
        tx.insert_arrow(ACTIVITY.name, ACTIVITY.from_events(rows))


@dataclass(frozen=True)
class ActivityLine:
    line: int
    ssn: str
    kind: str
    activity_date: str
    source: str

    @property
    def key(self) -> str:
        text = f"{self.ssn}|{self.kind}|{self.activity_date}|{self.source}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def read_activity(path: Path) -> tuple[list[ActivityLine], list[RecordError]]:
    """Every line of an activity CSV (`ssn,kind,date,source`) and every problem, by line."""
    lines: list[ActivityLine] = []
    errors: list[RecordError] = []
    for item in iter_rows(path, HEADER):
        if isinstance(item, RecordError):
            errors.append(item)
            continue
        i, v = item
        ssn, kind, day, source = (v[h] for h in HEADER)  # the SSN parsed by iter_rows
        if kind not in ACTIVITY_KINDS:
            errors.append(
                RecordError(
                    f"kind must be one of {', '.join(ACTIVITY_KINDS)}",
                    line=i,
                    field="kind",
                    file=path.name,
                )
            )
            continue
        try:
            date.fromisoformat(day)
        except ValueError:
            errors.append(RecordError("not an ISO date", line=i, field="date", file=path.name))
            continue
        if not source:
            errors.append(RecordError("no source", line=i, field="source", file=path.name))
            continue
        lines.append(ActivityLine(i, ssn, kind, day, source))
    return lines, errors


@dataclass
class ActivityResult:
    recorded: int = 0
    duplicates: int = 0
    unmatched: int = 0  # no single person on file with the SSN
    after_death: int = 0  # lines dated after the person's recorded date of death
    cases_opened: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def decide_activity(
    lines: Sequence[ActivityLine],
    people_by_ssn: Mapping[str, Sequence[PersonState]],
    known_keys: set[str],
    open_cases: set[str],
    *,
    at: str,
) -> tuple[list[Event], ActivityResult]:
    """Pure: the events a batch of activity lines leads to."""
    result = ActivityResult()
    events: list[Event] = []
    seen = set(known_keys)
    after: dict[tuple[int, int], list[ActivityLine]] = defaultdict(list)
    deaths: dict[tuple[int, int], PersonState] = {}
    for ln in lines:
        if ln.key in seen:
            result.duplicates += 1
            continue
        seen.add(ln.key)
        people = people_by_ssn.get(ln.ssn, ())
        person = people[0] if len(people) == 1 else None
        if person is None:
            result.unmatched += 1
        events.append(
            ActivityRecorded(
                activity_key=ln.key,
                ssn=ln.ssn,
                person_id=person.person_id if person else None,
                kind=ln.kind,
                activity_date=ln.activity_date,
                source=ln.source,
            )
        )
        result.recorded += 1
        d = person.death if person else None
        if person and d and d.status == "current" and ln.activity_date > latest_iso(d.dod):
            result.after_death += 1
            after[(person.person_id, d.version)].append(ln)
            deaths[(person.person_id, d.version)] = person
    for (pid, version), found in sorted(after.items()):
        cid = life_case_id(pid, version)
        if cid in open_cases:
            continue
        death = deaths[(pid, version)].death
        assert death is not None
        kinds = sorted({a.kind for a in found})
        latest = max(a.activity_date for a in found)
        events.append(
            CaseOpened(
                case_id=cid,
                kind="review",
                person_id=pid,
                about=f"death:{pid}:v{version}",
                reason=(
                    f"signs of life after the recorded date of death ({death.dod or 'unknown'}): "
                    f"{len(found)} activity line(s) ({', '.join(kinds)}), latest {latest}"
                ),
                evidence=[f"activity:{a.key}" for a in found],
                explanation=[
                    f"{a.kind} on {a.activity_date} reported by {a.source}" for a in found[:20]
                ],
                due=due_date(at, "review"),
                opened_by="activity",
                at=at,
            )
        )
        result.cases_opened.append(cid)
    return events, result


def ingest_activity(store: Store, path: Path, *, now: datetime | None = None) -> ActivityResult:
    """Record an activity feed (refused whole on any bad line) and open the review cases."""
    if not path.exists():
        raise UsageError("no such file", file=str(path))
    lines, errors = read_activity(path)
    if errors:
        raise FileRejected(errors, file=path.name)
    at = iso_now(now)
    with store.transaction():
        tx = store.reader()
        keys = sorted({ln.key for ln in lines})
        known = {r[0] for r in tx.select_in("activity", ("activity_key",), "activity_key", keys)}
        ssns = sorted({ln.ssn for ln in lines})
        by_ssn: dict[str, list[PersonState]] = defaultdict(list)
        pids = [
            (int(r[0]), str(r[1]))
            for r in tx.select_in("persons", ("person_id", "ssn"), "ssn", ssns)
        ]
        from vitalfile.master.projection import load_people

        states = load_people(store, [p for p, _ in pids])
        for pid, ssn in pids:
            by_ssn[ssn].append(states.get(pid, PersonState(pid)))
        candidates = [
            life_case_id(p.person_id, p.death.version)
            for ps in by_ssn.values()
            for p in ps
            if p.death is not None
        ]
        existing = {r[0] for r in tx.select_in("cases", ("case_id",), "case_id", candidates)}
        events, result = decide_activity(lines, by_ssn, known, existing, at=at)
        if events:
            store.append(events, note=f"activity {path.name}")
    return result


def latest_activity(store: Store, person_ids: Sequence[int]) -> dict[int, str]:
    """The latest activity date on file for each of these people (absent: none)."""
    rows = store.reader().select_in(
        "activity", ("person_id", "activity_date"), "person_id", sorted(set(person_ids))
    )
    out: dict[int, str] = {}
    for pid, day in rows:
        if pid is not None and day > out.get(int(pid), ""):
            out[int(pid)] = str(day)
    return out


def activity_after(store: Store, after: Mapping[int, str]) -> set[int]:
    """The people of `after` (person → a partial ISO date) with activity after that date."""
    latest = latest_activity(store, list(after))
    return {pid for pid, day in latest.items() if day > latest_iso(after[pid])}


def has_activity_after(store: Store, person_id: int, when: str) -> bool:
    """Was this person seen alive (any activity) after `when` (a partial ISO date)?"""
    return person_id in activity_after(store, {person_id: when})
