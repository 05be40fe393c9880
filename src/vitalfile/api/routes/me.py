"""Who is calling: the key's scope (a staff role or a recipient and its tier)."""

from __future__ import annotations

from fastapi import APIRouter

from vitalfile.api.deps import PrincipalDep, StoreDep
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import MePublic
from vitalfile.disclosure.policy import recipient_tier

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["me"], responses=COMMON_RESPONSES)


@router.get("/me", response_model=MePublic)
def whoami(principal: PrincipalDep, store: StoreDep) -> MePublic:
    tier = recipient_tier(store, principal.recipient) if principal.recipient else None
    return MePublic(
        key_id=principal.key_id,
        role=principal.role,
        recipient=principal.recipient,
        label=principal.label,
        tier=tier,
    )
