"""Requests for a person's personal data (for example a last known address) from agencies,
recorded by intake and put through the gate (`requests.submit_requests`: the agency's request
agreement, its bases, case-reference form and certifying official, and the bulk limits
counted from the ledger); a supervisor approves what the gate let through
(`requests.approve_request`). Every request, granted or refused, is kept."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from vitalfile.api.deps import StoreDep, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import (
    RequestApproval,
    RequestCreate,
    RequestOutcomePublic,
    RequestPublic,
)
from vitalfile.disclosure.access import Principal
from vitalfile.disclosure.requests import (
    RequestIn,
    approve_request,
    list_requests,
    request_outcome,
    submit_requests,
)
from vitalfile.ssn import parse as parse_ssn

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["requests for personal data"], responses=COMMON_RESPONSES)
Submitter = Annotated[Principal, Depends(staff("requests.submit"))]
Reader = Annotated[Principal, Depends(staff("requests.read"))]
Approver = Annotated[Principal, Depends(staff("requests.approve"))]
RequestId = Annotated[str, PathParam(pattern=r"^Q-[0-9a-f]{16}$")]


@router.post("/requests", response_model=RequestOutcomePublic, status_code=201)
def submit(body: RequestCreate, _: Submitter, store: StoreDep) -> RequestOutcomePublic:
    """Record one request and put it through the gate: refused, held (several people), or
    awaiting a supervisor's approval. One call per request counts against the same limits
    as a file of them."""
    item = RequestIn(
        body.agency, parse_ssn(body.ssn, field="ssn"), body.basis, body.case_ref, body.certified_by
    )
    res = submit_requests(store, [item])
    if not res.outcomes:  # the same request again: answer what was decided then
        outcome, reason, pid = request_outcome(store, item.request_id()) or ("", "", None)
        return RequestOutcomePublic(
            request_id=item.request_id(),
            outcome=outcome,
            reason=reason,
            person_id=pid,
            duplicate=True,
        )
    o = res.outcomes[0]
    return RequestOutcomePublic(
        request_id=o.request_id,
        outcome=o.outcome,
        reason=o.reason,
        person_id=o.person_id,
        answer=dict(o.answer),
        duplicate=False,
    )


@router.get("/requests", response_model=list[RequestPublic])
def requests(
    _: Reader,
    store: StoreDep,
    outcome: Literal["granted", "refused", "held", "awaiting_approval"] | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[RequestPublic]:
    """Every request received (newest first), with its basis, reference and outcome."""
    return [RequestPublic(**r) for r in list_requests(store, outcome=outcome, limit=limit)]


@router.post("/requests/{request_id}/approval", response_model=RequestOutcomePublic)
def approval(
    request_id: RequestId, body: RequestApproval, principal: Approver, store: StoreDep
) -> RequestOutcomePublic:
    """A supervisor approves (the address is given now, and accounted for) or declines a
    request awaiting approval."""
    o = approve_request(
        store,
        request_id,
        supervisor=principal.name,
        approve=body.approve,
        reason=body.reason,
    )
    return RequestOutcomePublic(
        request_id=o.request_id,
        outcome=o.outcome,
        reason=o.reason,
        person_id=o.person_id,
        answer=dict(o.answer),
        duplicate=False,
    )
