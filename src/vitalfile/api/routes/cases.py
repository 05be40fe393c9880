"""Cases (the review queue, disputes, contests, held requests) and their decisions.

Reviewers and supervisors decide; auditors read; intake opens disputes. The decision is the
library's `cases.decide` (one commit with everything it causes), made against the case's
version the reviewer read; a retraction answers with the recipients a correction was queued
for.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from vitalfile.api.deps import StoreDep, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import (
    AssignCreate,
    CasePublic,
    CaseRef,
    DecisionCreate,
    DecisionPublic,
    DecisionResultPublic,
    DisputeCreate,
)
from vitalfile.cases.decide import decide
from vitalfile.cases.framework import CaseState, assign, get_case, list_cases, open_dispute
from vitalfile.disclosure.access import Principal
from vitalfile.ssn import parse as parse_ssn

__all__ = ["case_public", "router"]

router = APIRouter(prefix="/v1", tags=["cases"], responses=COMMON_RESPONSES)
Reader = Annotated[Principal, Depends(staff("cases.read"))]
Decider = Annotated[Principal, Depends(staff("cases.decide"))]
Assigner = Annotated[Principal, Depends(staff("cases.assign"))]
Opener = Annotated[Principal, Depends(staff("disputes.open"))]


def case_public(c: CaseState, today: date | None = None) -> CasePublic:
    return CasePublic(
        case_id=c.case_id,
        kind=c.kind,
        person_id=c.person_id,
        about=c.about,
        state=c.state,
        owner=c.owner,
        due=c.due,
        overdue=c.overdue(today or date.today()),
        opened_at=c.opened_at,
        reason=c.reason,
        evidence=list(c.evidence),
        explanation=list(c.explanation),
        decision=c.decision,
        version=c.updated_seq,
        history=[
            DecisionPublic(
                seq=h.seq,
                decision=h.decision,
                reviewer=h.reviewer,
                reason=h.reason,
                evidence=list(h.evidence),
                at=h.at,
                closes=h.closes,
            )
            for h in c.history
        ],
    )


@router.get("/cases", response_model=list[CasePublic])
def cases(
    _: Reader,
    store: StoreDep,
    kind: Literal["review", "dispute", "determination", "disclosure_request"] | None = None,
    state: Literal["open", "closed", "any"] = "open",
    overdue: Annotated[Literal["true", "false"], Query()] = "false",
    person_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[CasePublic]:
    """The queue: cases oldest due first."""
    found = list_cases(
        store,
        kind=kind,
        state=None if state == "any" else state,
        overdue=overdue == "true",
        person_id=person_id,
        limit=limit,
    )
    return [case_public(c) for c in found]


@router.get("/cases/{case_id:path}", response_model=CasePublic)
def case(
    _: Reader,
    store: StoreDep,
    case_id: Annotated[str, PathParam(min_length=1, max_length=300)],
) -> CasePublic:
    """One case with its history of decisions."""
    return case_public(get_case(store, case_id))


@router.post("/decisions", response_model=DecisionResultPublic, status_code=201)
def make_decision(body: DecisionCreate, who: Decider, store: StoreDep) -> DecisionResultPublic:
    """Decide a case as read at `version`; a case changed since (another reviewer decided
    it) is not decided (409). Linking a report held to protect a living person needs
    `override` (why it is safe). A retraction queues corrections for every recipient
    holding the death."""
    result = decide(
        store,
        body.case_id,
        body.decision,
        reviewer=who.name,
        reason=body.reason,
        evidence=body.evidence,
        person_id=body.person_id,
        finding=body.finding,
        expected_version=body.version,
        override=body.override,
    )
    return DecisionResultPublic(
        case_id=result.case_id,
        decision=result.decision,
        events=result.events,
        corrections_sent_to=result.recipients,
        commit_no=result.commit_no,
    )


@router.post("/assignments", response_model=CaseRef, status_code=201)
def make_assignment(body: AssignCreate, _: Assigner, store: StoreDep) -> CaseRef:
    """Give a case an owner."""
    assign(store, body.case_id, body.owner)
    return CaseRef(case_id=body.case_id)


@router.post("/disputes", response_model=CaseRef, status_code=201)
def make_dispute(body: DisputeCreate, who: Opener, store: StoreDep) -> CaseRef:
    """A person says they are alive: open a dispute on their current death."""
    cid = open_dispute(
        store,
        parse_ssn(body.ssn, field="ssn"),
        evidence=body.evidence,
        reason=body.reason,
        opened_by=who.name,
    )
    return CaseRef(case_id=cid)
