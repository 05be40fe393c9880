"""What a recipient is owed after the fact: pending corrections and its monitoring feed.

Both go through the disclosure gate: a recipient with no agreement in force is refused (and
the refusal recorded) before anything is shown. Supervisors and auditors see every
recipient's pending corrections.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from vitalfile.api.deps import PrincipalDep, RecipientDep, SettingsDep, StoreDep, body_of
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import CorrectionPublic, FeedPublic, MonitorPublic
from vitalfile.disclosure.access import Forbidden, may
from vitalfile.disclosure.corrections import pending_corrections
from vitalfile.disclosure.monitor import feed, register_monitor
from vitalfile.disclosure.policy import gate_file
from vitalfile.ledger.checkpoint import load_private_key
from vitalfile.master.lookup import ssns_of

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["corrections and feed"], responses=COMMON_RESPONSES)


@router.get("/corrections", response_model=list[CorrectionPublic])
def corrections(
    principal: PrincipalDep,
    store: StoreDep,
    recipient: Annotated[str | None, Query(max_length=100)] = None,
) -> list[CorrectionPublic]:
    """Records a recipient holds whose version is no longer right (retracted, changed…)."""
    if principal.recipient:
        if recipient not in (None, principal.recipient):
            raise Forbidden("a recipient sees only its own corrections")
        # an ended or narrowed agreement still sees the corrections it is owed
        gate_file(store, principal.recipient, kind="update")
        who: str | None = principal.recipient
    elif may(principal, "corrections.read"):
        who = recipient
    else:
        raise Forbidden(f"role {principal.role} may not do this (corrections.read)")
    found = pending_corrections(store, who)
    ssns = ssns_of(store, [c.person_id for c in found])
    return [
        CorrectionPublic(
            recipient=c.recipient,
            person_id=c.person_id,
            ssn=ssns.get(c.person_id, ""),
            change=c.change,
            held_version=c.held_version,
            current_version=c.current_version,
        )
        for c in found
    ]


_CSV = {
    "requestBody": {
        "required": True,
        "description": "customers CSV to watch: customer_id,ssn,first_name,last_name,dob",
        "content": {
            "text/csv": {
                "schema": {"type": "string", "pattern": "^customer_id,ssn,first_name,last_name,dob"}
            }
        },
    }
}


@router.post("/monitors", response_model=MonitorPublic, status_code=201, openapi_extra=_CSV)
def add_monitor(
    principal: RecipientDep,
    store: StoreDep,
    body: Annotated[tuple[str, bytes], Depends(body_of("text/csv"))],
) -> MonitorPublic:
    """Watch a list of customers: deaths about them reach the recipient's feed."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="vf-monitor-") as tmp:
        path = Path(tmp) / "customers.csv"
        path.write_bytes(body[1])
        list_id, n = register_monitor(store, principal.recipient, path)
    return MonitorPublic(list_id=list_id, customers=n)


@router.get("/feed", response_model=FeedPublic)
def feed_page(
    request: Request,
    principal: RecipientDep,
    store: StoreDep,
    settings: SettingsDep,
    since: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Any:
    """Notices about watched customers after `since` (a ledger position), one page."""
    key = load_private_key(settings.key_path) if settings.key_path.exists() else None
    page = feed(store, principal.recipient, since=since, limit=limit, key=key)
    return FeedPublic(
        notices=page.notices,
        next_since=page.next_since,
        disclosure_id=page.disclosure_id,
        checkpoint=page.checkpoint,
    )
