"""Online verification: one recipient asks about one person (through the disclosure gate)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vitalfile.api.deps import RecipientDep, StoreDep, answer_journal
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import VerifyCreate, VerifyPublic
from vitalfile.disclosure.verify import verify_online

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["verification"], responses=COMMON_RESPONSES)


@router.post("/verify", response_model=VerifyPublic)
async def verify(
    request: Request, body: VerifyCreate, principal: RecipientDep, store: StoreDep
) -> VerifyPublic:
    """Death on file (date and level) only for a unique match the recipient's tier allows.

    On PostgreSQL the disclosure is written ahead to this worker's journal and committed to
    the ledger with other answers within a fraction of a second (group commit). The route
    runs on the event loop: its work is two indexed reads, shorter than a hop to a thread."""
    answers = answer_journal(request)
    answer = verify_online(
        store,
        principal.recipient,
        ssn=body.ssn,
        last_name=body.last_name,
        dob=body.dob,
        first_name=body.first_name,
        journal=answers.journal if answers is not None else None,
    )
    return VerifyPublic(
        result=answer.result,
        dod=answer.dod,
        proof=answer.proof,
        disclosure_id=answer.disclosure_id,
    )
