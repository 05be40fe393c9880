""" "As of" a time: the one meaning for every door (CLI, API, console), and a person's timeline.

`upto_seq(store, "2026-01-31")` is the last event committed by the end of 31 January (UTC);
a full timestamp is taken as given (see `dates.as_of`). The CLI, the API and the console all
call it, so the same words give the same file everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vitalfile.dates import as_of as as_of_time
from vitalfile.errors import NotFound, UsageError
from vitalfile.ledger.store import Store

__all__ = ["Timeline", "TimelineEntry", "timeline", "upto_seq"]


def upto_seq(store: Store, as_of: str | None) -> int | None:
    """The last event committed by `as_of` (None: now; 0: before the first commit)."""
    if not as_of:
        return None
    try:
        when = as_of_time(as_of.replace(" ", "T"))
    except ValueError as exc:
        raise UsageError("not an ISO date or date-time", field="as_of") from exc
    commit = store.commit_at(when)
    return commit.last_seq if commit else 0


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    commit_no: int
    committed_at: str
    type: str
    event: dict[str, Any]


@dataclass
class Timeline:
    person_id: int
    as_of: str | None
    upto_seq: int | None
    events: list[TimelineEntry] = field(default_factory=list)


def timeline(store: Store, person_id: int, as_of: str | None = None) -> Timeline:
    """Every event about the person, oldest first, up to `as_of` when given."""
    upto = upto_seq(store, as_of)
    events = list(store.iter_events(subject=person_id, upto_seq=upto))
    if not events and not store.query("SELECT 1 FROM persons WHERE person_id = ?", [person_id]):
        raise NotFound("no such person")
    times: dict[int, str] = {}
    nos = sorted({e.commit_no for e in events})
    if nos:
        for no, at in store.reader().select_in(
            "ledger_commits", ("commit_no", "committed_at"), "commit_no", nos
        ):
            times[int(no)] = str(at)
    entries = [
        TimelineEntry(
            seq=se.seq,
            commit_no=se.commit_no,
            committed_at=times.get(se.commit_no, ""),
            type=se.event.type,
            event=se.event.model_dump(mode="json"),
        )
        for se in events
    ]
    return Timeline(person_id, as_of, upto, entries)
