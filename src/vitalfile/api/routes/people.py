"""People: vital status (now or as of a time), a person's timeline of every event, the
accounting of disclosures about them, and their own record (for a person who asks). SSNs
travel in request bodies, never in URLs (which end up in logs)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from vitalfile.api.deps import StoreDep, flush_answers, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import (
    AccountingEntry,
    AccountingPublic,
    AsOf,
    PersonLookup,
    RecordPublic,
    StatusPublic,
    TimelineEvent,
    TimelinePublic,
)
from vitalfile.disclosure.access import Principal
from vitalfile.disclosure.accounting import accounting, my_record
from vitalfile.errors import NotFound, UsageError
from vitalfile.ledger.store import Store
from vitalfile.master.projection import PersonState, find_person_ids, status_of
from vitalfile.ssn import parse as parse_ssn

__all__ = ["as_of_seq", "router", "status_public", "timeline"]

router = APIRouter(prefix="/v1", tags=["people"], responses=COMMON_RESPONSES)
Reader = Annotated[Principal, Depends(staff("people.read"))]
Auditor = Annotated[Principal, Depends(staff("accounting.read"))]
RecordReader = Annotated[Principal, Depends(staff("record.read"))]
PersonId = Annotated[int, PathParam(ge=0, le=2**62)]


def as_of_seq(store: Store, as_of: str | None) -> int | None:
    """The last event committed by `as_of` (an ISO date — its end — or date-time, UTC)."""
    if not as_of:
        return None
    text = as_of.replace(" ", "T")
    try:
        if len(text) == 10:
            when = datetime.fromisoformat(text + "T23:59:59.999999+00:00")
        else:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError("not an ISO date or date-time", field="as_of") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    commit = store.commit_at(when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return commit.last_seq if commit else 0


def status_public(s: PersonState, as_of: str | None) -> StatusPublic:
    d = s.death
    alive = d is None or d.status != "current"
    return StatusPublic(
        person_id=s.person_id,
        status="alive" if alive else "deceased",
        date_of_death=None if alive or d is None else d.dod,
        verification=None if alive or d is None else d.proof,
        reports=[] if d is None or alive else list(d.report_keys),
        sources=[] if d is None or alive else list(d.sources),
        retracted=d is not None and d.status == "retracted",
        death_version=d.version if d is not None else None,
        as_of=as_of,
    )


@router.post("/people/lookup", response_model=list[StatusPublic])
def lookup(body: PersonLookup, _: Reader, store: StoreDep) -> list[StatusPublic]:
    """Everyone on file with this SSN: alive or deceased, now or as of a time."""
    upto = as_of_seq(store, body.as_of)
    states = [
        status_of(store, p, upto_seq=upto) for p in find_person_ids(store, parse_ssn(body.ssn))
    ]
    found = [status_public(s, body.as_of) for s in states if s.person is not None]
    if not found:
        raise NotFound("no person with this SSN on file", field="ssn")
    return found


@router.get("/people/{person_id:int}", response_model=StatusPublic)
def person_status(
    person_id: PersonId,
    _: Reader,
    store: StoreDep,
    as_of: Annotated[AsOf | None, Query()] = None,
) -> StatusPublic:
    """One person's vital status, now or as of a time."""
    s = status_of(store, person_id, upto_seq=as_of_seq(store, as_of))
    if s.person is None:
        raise NotFound("no such person (at that time)" if as_of else "no such person")
    return status_public(s, as_of)


def timeline(store: Store, person_id: int, as_of: str | None) -> TimelinePublic:
    upto = as_of_seq(store, as_of)
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
    out: list[TimelineEvent] = []
    for se in events:
        body: dict[str, Any] = se.event.model_dump(mode="json")
        out.append(
            TimelineEvent(
                seq=se.seq,
                commit_no=se.commit_no,
                committed_at=times.get(se.commit_no, ""),
                type=se.event.type,
                event=body,
            )
        )
    return TimelinePublic(person_id=person_id, as_of=as_of, upto_seq=upto, events=out)


@router.get("/people/{person_id:int}/timeline", response_model=TimelinePublic)
def person_timeline(
    person_id: PersonId,
    _: Reader,
    store: StoreDep,
    as_of: Annotated[AsOf | None, Query()] = None,
) -> TimelinePublic:
    """Every event about the person, oldest first, up to `as_of` when given."""
    return timeline(store, person_id, as_of)


@router.post(
    "/people/accounting", response_model=AccountingPublic, dependencies=[Depends(flush_answers)]
)
def person_accounting(body: PersonLookup, _: Auditor, store: StoreDep) -> AccountingPublic:
    """Every disclosure and refusal about the people with this SSN: date, recipient,
    purpose, authority, what was given."""
    rows = accounting(store, parse_ssn(body.ssn), upto_seq=as_of_seq(store, body.as_of))
    return AccountingPublic(as_of=body.as_of, entries=[AccountingEntry(**r) for r in rows])


@router.post("/people/record", response_model=RecordPublic)
def person_record(body: PersonLookup, _: RecordReader, store: StoreDep) -> RecordPublic:
    """What the file holds about the people with this SSN (a person's own record)."""
    found = my_record(store, parse_ssn(body.ssn), upto_seq=as_of_seq(store, body.as_of))
    if not found:
        raise NotFound("no person with this SSN on file", field="ssn")
    return RecordPublic(as_of=body.as_of, people=found)
