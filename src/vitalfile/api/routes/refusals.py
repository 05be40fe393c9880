"""Refusals, for auditors: every refused request of any kind (file, verify, match, feed,
request, determination) with its reason, newest first (`accounting.refusals`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from vitalfile.api.deps import StoreDep, flush_answers, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import RefusalPublic
from vitalfile.disclosure.access import Principal
from vitalfile.disclosure.accounting import refusals

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["refusals"], responses=COMMON_RESPONSES)
Auditor = Annotated[Principal, Depends(staff("refusals.read"))]


@router.get("/refusals", response_model=list[RefusalPublic], dependencies=[Depends(flush_answers)])
def list_refusals(
    _: Auditor,
    store: StoreDep,
    recipient: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[RefusalPublic]:
    """Refused requests, newest first; `recipient` ('' = the keeper) and `since` (an ISO date
    or date-time) narrow them."""
    return [
        RefusalPublic(**r) for r in refusals(store, recipient=recipient, since=since, limit=limit)
    ]
