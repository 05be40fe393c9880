"""People: vital status (now or as of a time), a person's timeline of every event, the
accounting of disclosures about them, their own record (for a person who asks), and the
notice to send them with a one-time access code. SSNs travel in request bodies, never in
URLs (which end up in logs)."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam

from vitalfile.api.deps import StoreDep, flush_answers, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import (
    AccountingEntry,
    AccountingPublic,
    AsOf,
    NoticePrintCreate,
    NoticePrintedPublic,
    PersonLookup,
    RecordPublic,
    StatusPublic,
    TimelineEvent,
    TimelinePublic,
)
from vitalfile.cases.access import PAGE, print_notice, write_printed_notice
from vitalfile.disclosure.access import Principal
from vitalfile.disclosure.accounting import accounting, my_record
from vitalfile.errors import NotFound
from vitalfile.ledger.store import Store
from vitalfile.master.asof import timeline as person_timeline_of
from vitalfile.master.asof import upto_seq
from vitalfile.master.projection import PersonState, find_person_ids, status_of
from vitalfile.ssn import parse as parse_ssn

__all__ = ["router", "status_public", "timeline"]

router = APIRouter(prefix="/v1", tags=["people"], responses=COMMON_RESPONSES)
Reader = Annotated[Principal, Depends(staff("people.read"))]
Auditor = Annotated[Principal, Depends(staff("accounting.read"))]
RecordReader = Annotated[Principal, Depends(staff("record.read"))]
Printer = Annotated[Principal, Depends(staff("cases.decide"))]
PersonId = Annotated[int, PathParam(ge=0, le=2**62)]


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
    upto = upto_seq(store, body.as_of)
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
    s = status_of(store, person_id, upto_seq=upto_seq(store, as_of))
    if s.person is None:
        raise NotFound("no such person (at that time)" if as_of else "no such person")
    return status_public(s, as_of)


def timeline(store: Store, person_id: int, as_of: str | None) -> TimelinePublic:
    tl = person_timeline_of(store, person_id, as_of)
    return TimelinePublic(
        person_id=tl.person_id,
        as_of=tl.as_of,
        upto_seq=tl.upto_seq,
        events=[TimelineEvent(**vars(e)) for e in tl.events],
    )


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
    rows = accounting(store, parse_ssn(body.ssn), upto_seq=upto_seq(store, body.as_of))
    return AccountingPublic(as_of=body.as_of, entries=[AccountingEntry(**r) for r in rows])


@router.post("/people/record", response_model=RecordPublic)
def person_record(body: PersonLookup, _: RecordReader, store: StoreDep) -> RecordPublic:
    """What the file holds about the people with this SSN (a person's own record)."""
    found = my_record(store, parse_ssn(body.ssn), upto_seq=upto_seq(store, body.as_of))
    if not found:
        raise NotFound("no person with this SSN on file", field="ssn")
    return RecordPublic(as_of=body.as_of, people=found)


@router.post(
    "/people/{person_id:int}/notices",
    response_model=NoticePrintedPublic,
    status_code=201,
    responses={201: {"content": {"application/pdf": {"schema": {"type": "string"}}}}},
)
def person_notice(
    person_id: PersonId, body: NoticePrintCreate, _: Printer, store: StoreDep, request: Request
) -> NoticePrintedPublic | Response:
    """The notice to send the person (a determination's, or a retraction's) with a new
    one-time access code: with it and their SSN they open their record at /console/my-record.
    The code is in this answer only (the file keeps its hash); `format: pdf` answers the
    PDF to print."""
    printed = print_notice(
        store,
        person_id=person_id,
        determination_id=body.determination_id,
        page=str(request.base_url).rstrip("/") + PAGE,
    )
    if body.format == "pdf":
        with tempfile.TemporaryDirectory(prefix="vf-notice-") as tmp:
            _txt, pdf = write_printed_notice(printed, Path(tmp))
            data = pdf.read_bytes()
        return Response(
            data,
            status_code=201,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{pdf.name}"'},
        )
    return NoticePrintedPublic(**asdict(printed))
