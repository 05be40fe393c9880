"""A person's history in words: every event about them (and every disclosure of their
record), oldest first, as of a time, each with the lane a time line draws it in (person,
report, link, death, retraction, case, determination, disclosure). Read-only.

"As of" has the one meaning of `vitalfile.dates.as_of`: the events committed by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vitalfile.cases.review import describe, level_words, person_name
from vitalfile.errors import NotFound
from vitalfile.events import (
    CaseAssigned,
    CaseDecided,
    CaseOpened,
    DeathCorroborated,
    DeathPosted,
    DeathRetracted,
    DeathUpdated,
    Event,
    LinkUndone,
    PersonRegistered,
    ReportHeld,
    ReportLinked,
    ReportUnlinked,
)
from vitalfile.ledger.store import Store
from vitalfile.master.asof import upto_seq as seq_as_of  # the one meaning of as-of

__all__ = ["Entry", "history", "seq_as_of"]


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str  # commit time (ISO UTC)
    lane: str
    text: str
    type: str
    case_id: str = ""


def _lane(e: Event) -> str:
    if isinstance(e, PersonRegistered):
        return "person"
    if isinstance(e, DeathRetracted):
        return "retraction"
    if isinstance(e, DeathPosted | DeathCorroborated | DeathUpdated):
        return "death"
    if isinstance(e, ReportLinked | ReportHeld | ReportUnlinked | LinkUndone):
        return "link"
    if isinstance(e, CaseOpened | CaseAssigned | CaseDecided):
        return "case"
    if e.type.startswith("determination."):
        return "determination"
    if e.type.startswith("access."):
        return "notice"
    if e.type.startswith("report."):
        return "report"
    return "other"


def _words(store: Store, e: Event) -> str:
    if isinstance(e, PersonRegistered):
        return f"{person_name(e.model_dump())} registered on the file (born {e.dob or 'unknown'})"
    if isinstance(e, ReportHeld):
        return f"Report {e.report_key} held for review: {e.reason}"
    if isinstance(e, CaseOpened):
        return f"Case {e.case_id} opened ({e.kind}): {e.reason}"
    if isinstance(e, CaseAssigned):
        return f"Case {e.case_id} assigned to {e.owner}"
    if isinstance(e, CaseDecided):
        return f"Case {e.case_id} decided '{e.decision}' by {e.reviewer}: {e.reason}"
    if isinstance(e, DeathPosted):
        return f"Death posted: died {e.dod or 'unknown'}, level {level_words(e.proof)}"
    changes = describe(store, [e])
    return changes[0].text if changes else e.type


def history(store: Store, person_id: int, when: str = "") -> list[Entry]:
    """Everything about the person up to `when` ('' for now), in words, oldest first."""
    upto = seq_as_of(store, when)
    events = list(store.iter_events(subject=person_id, upto_seq=upto))
    if not events and not store.query("SELECT 1 FROM persons WHERE person_id = ?", [person_id]):
        raise NotFound("no such person")
    times: dict[int, str] = {}
    nos = sorted({se.commit_no for se in events})
    if nos:
        for no, at in store.reader().select_in(
            "ledger_commits", ("commit_no", "committed_at"), "commit_no", nos
        ):
            times[int(no)] = str(at)
    out = [
        Entry(
            se.seq,
            times.get(se.commit_no, ""),
            _lane(se.event),
            _words(store, se.event),
            se.event.type,
            str(getattr(se.event, "case_id", "") or ""),
        )
        for se in events
    ]
    ssn_rows = store.query("SELECT ssn FROM persons WHERE person_id = ?", [person_id])
    if ssn_rows:
        from vitalfile.disclosure.accounting import accounting

        for r in accounting(store, str(ssn_rows[0][0]), upto_seq=upto):
            if r["person_id"] != person_id:
                continue
            verb = "Refused to" if r["kind"] == "refusal" else "Disclosed to"
            out.append(
                Entry(
                    0,
                    str(r["date"]),
                    "disclosure",
                    f"{verb} {r['recipient'] or 'the keeper'} ({r['channel']}, "
                    f"{r['purpose'] or 'no purpose given'}): {r['given']}",
                    r["kind"],
                )
            )
    out.sort(key=lambda x: (x.at, x.seq))
    return out


def marks(entries: list[Entry], person_id: int) -> list[tuple[str, str, str, str]]:
    """(time, lane, label, link) for a drawn time line."""
    out: list[tuple[str, str, str, str]] = []
    for e in entries:
        href = f"/console/cases/{e.case_id}" if e.case_id else ""
        out.append((e.at, e.lane, e.text, href))
    return out


def as_dicts(entries: list[Entry]) -> list[dict[str, Any]]:
    return [e.__dict__ for e in entries]
