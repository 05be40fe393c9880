"""Determinations about living people: submitted by agencies (intake), verified, noticed,
contested and put in effect by staff; answered to recipients whose agreement names the kind
(through the gate, in `determinations.determinations_for`); a notice as the PDF the subject
receives. Never a death."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi import Path as PathParam

from vitalfile.api.deps import RecipientDep, StoreDep, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import (
    AdvancePublic,
    CaseRef,
    ContestCreate,
    DeterminationAnswer,
    DeterminationPublic,
    DeterminationsCreate,
    NoticeCreate,
    PersonLookup,
    SubmitPublic,
    VerificationCreate,
)
from vitalfile.cases.determinations import (
    DeterminationIn,
    DeterminationState,
    get_determination,
    list_determinations,
    notice_text_of,
    submit_determinations,
)
from vitalfile.cases.window import advance, contest, issue_notice, verify_match, write_notice
from vitalfile.disclosure.access import Principal
from vitalfile.disclosure.determinations import determinations_for
from vitalfile.ledger.store import Store
from vitalfile.ssn import parse as parse_ssn

__all__ = ["determination_public", "router"]

router = APIRouter(prefix="/v1", tags=["determinations"], responses=COMMON_RESPONSES)
Submitter = Annotated[Principal, Depends(staff("determinations.submit"))]
Reader = Annotated[Principal, Depends(staff("determinations.read"))]
Actor = Annotated[Principal, Depends(staff("determinations.act"))]
DetId = Annotated[str, PathParam(pattern=r"^DT-[0-9a-f]{16}$")]


def determination_public(st: DeterminationState, store: Store | None = None) -> DeterminationPublic:
    text = None
    if store is not None and st.notice_id:
        text = notice_text_of(store, st.notice_id)
    return DeterminationPublic(
        determination_id=st.determination_id,
        kind=st.kind,
        authority=st.authority,
        agency=st.agency,
        effective_date=st.effective_date,
        person_id=st.person_id,
        origin=st.origin,
        state=st.state,
        hold_reasons=list(st.hold_reasons),
        verified=st.verified,
        notice_id=st.notice_id,
        notice_issued_on=st.notice_issued_on,
        contest_by=st.contest_by,
        contest_case=st.contest_case,
        in_effect_on=st.in_effect_on,
        closed_reason=st.closed_reason,
        notice_text=text,
    )


@router.post("/determinations", response_model=SubmitPublic, status_code=201)
def submit(body: DeterminationsCreate, _: Submitter, store: StoreDep) -> SubmitPublic:
    """An agency's submission, split into one determination per person, each checked alone."""
    items = [
        DeterminationIn(
            ssn=parse_ssn(it.ssn, field="ssn", line=i),
            kind=it.kind,
            authority=it.authority,
            effective_date=it.effective_date,
            evidence_ref=it.evidence_ref,
            first_name=it.first_name,
            middle_name=it.middle_name,
            last_name=it.last_name,
            dob=it.dob,
            line=i,
        )
        for i, it in enumerate(body.items, start=1)
    ]
    res = submit_determinations(
        store, items, agency=body.agency, origin=body.origin, batch_id=body.batch_id
    )
    d = res.as_dict()
    return SubmitPublic(
        submitted=d["submitted"],
        duplicates=d["duplicates"],
        proposed=d["proposed"],
        held=d["held"],
        notices=d["notices"],
        awaiting_verification=d["awaiting_verification"],
        holds_by_reason=d["holds_by_reason"],
        determination_ids=list(res.ids),
    )


@router.get("/determinations", response_model=list[DeterminationPublic])
def determinations(
    _: Reader,
    store: StoreDep,
    person_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    state: Literal[
        "submitted", "held", "proposed", "notice_issued", "contested", "in_effect", "withdrawn"
    ]
    | None = None,
) -> list[DeterminationPublic]:
    """The register, with notice and contest deadlines."""
    return [
        determination_public(d)
        for d in list_determinations(store, person_id=person_id, state=state)
    ]


@router.get("/determinations/{determination_id}", response_model=DeterminationPublic)
def determination(determination_id: DetId, _: Reader, store: StoreDep) -> DeterminationPublic:
    """One determination, with the text of its notice when one was issued."""
    return determination_public(get_determination(store, determination_id), store)


@router.get(
    "/determinations/{determination_id}/notice",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string"}}}}},
)
def notice_pdf(determination_id: DetId, _: Reader, store: StoreDep) -> Response:
    """The determination's notice as issued (the record's copy, made from the text fixed at
    issue, without an access code); 404 while no notice has been issued. The copy to send
    its subject, with a one-time access code: POST /v1/people/{person_id}/notices."""
    with tempfile.TemporaryDirectory(prefix="vf-notice-") as tmp:
        _txt, pdf = write_notice(store, determination_id, Path(tmp))
        data = pdf.read_bytes()
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{pdf.name}"'},
    )


@router.post(
    "/determinations/{determination_id}/verification",
    response_model=DeterminationPublic,
    status_code=201,
)
def verification(
    determination_id: DetId, body: VerificationCreate, who: Actor, store: StoreDep
) -> DeterminationPublic:
    """The independent verification of a computer-match result (its notice is then issued
    as its own step: POST .../notice)."""
    verify_match(
        store, determination_id, verified_by=who.name, method=body.method, evidence=body.evidence
    )
    return determination_public(get_determination(store, determination_id), store)


@router.post(
    "/determinations/{determination_id}/notice",
    response_model=DeterminationPublic,
    status_code=201,
)
def issue(
    determination_id: DetId, body: NoticeCreate, who: Actor, store: StoreDep
) -> DeterminationPublic:
    """Record that the notice was sent today (how, to which address): the 30-day window
    starts from today's date in real time."""
    issue_notice(
        store, determination_id, method=body.method, sent_to=body.sent_to, issued_by=who.name
    )
    return determination_public(get_determination(store, determination_id), store)


@router.post("/determinations/{determination_id}/contest", response_model=CaseRef, status_code=201)
def contest_determination(
    determination_id: DetId, body: ContestCreate, _: Actor, store: StoreDep
) -> CaseRef:
    """The subject contests within the window (recorded by staff): a case opens."""
    cid = contest(store, determination_id, ground=body.ground, evidence=body.evidence)
    return CaseRef(case_id=cid)


@router.post("/determinations-advance", response_model=AdvancePublic)
def advance_all(_: Actor, store: StoreDep) -> AdvancePublic:
    """Put in effect every determination whose contest window passed uncontested, judged
    by today's date in real time (the request carries no date)."""
    return AdvancePublic(in_effect=advance(store))


@router.post("/determinations-lookup", response_model=list[DeterminationAnswer])
def lookup(
    body: PersonLookup, principal: RecipientDep, store: StoreDep
) -> list[DeterminationAnswer]:
    """The determinations in effect about an SSN that the recipient's agreement covers."""
    found = determinations_for(store, principal.recipient, parse_ssn(body.ssn, field="ssn"))
    return [DeterminationAnswer(**d) for d in found]
