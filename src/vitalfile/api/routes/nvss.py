"""The NVSS API a state's EDRS already talks to: messages in, the jurisdiction's replies out.

`POST /{jurisdiction}/Bundle` (one message, or a batch Bundle of them), `GET
/{jurisdiction}/Bundle` (the replies queued for the jurisdiction), `GET
/{jurisdiction}/metadata` (a CapabilityStatement). Keys are scoped to one jurisdiction (a
recipient `nvss-XX`); the rules are in `disclosure.nvss`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from vitalfile.api.deps import IntakeDep, PrincipalDep, StoreDep, body_of
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.disclosure.nvss import (
    MAX_COUNT,
    capability_statement,
    post_bundle,
    queued_replies,
    require_jurisdiction,
)
from vitalfile.errors import RecordError

__all__ = ["router"]

router = APIRouter(tags=["nvss"], responses=COMMON_RESPONSES)

FHIR = "application/fhir+json"
Jurisdiction = Annotated[str, Path(pattern=r"^[A-Z]{2}$", description="e.g. MA, NY, YC")]
Body = Annotated[tuple[str, bytes], Depends(body_of(FHIR, "application/json"))]
_BUNDLE: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}
_FHIR_JSON = {"content": {FHIR: {"schema": _BUNDLE}, "application/json": {"schema": _BUNDLE}}}
_POST_BODY = {
    "requestBody": {
        "required": True,
        "description": "one VRDR message Bundle, or a `batch` Bundle whose entries are messages",
        **_FHIR_JSON,
    }
}


def _fhir(data: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, media_type=FHIR)


@router.post(
    "/{jurisdiction}/Bundle",
    openapi_extra=_POST_BODY,
    responses={
        200: {"description": "a batch: the per-message outcome (`batch-response`)", **_FHIR_JSON},
        204: {"description": "one message, taken in (its reply is queued)"},
    },
)
def post_messages(
    jurisdiction: Jurisdiction,
    principal: PrincipalDep,
    store: StoreDep,
    intake: IntakeDep,
    body: Body,
) -> Response:
    """Take one message (204) or a batch of messages (200, a `batch-response` Bundle).

    Every message taken or refused gets one reply, queued for the jurisdiction (GET); a
    single message that is refused is answered 422 with the one error shape naming it (and
    its extraction error is queued too). A message resent gets the same acknowledgement
    again and changes nothing."""
    require_jurisdiction(principal, jurisdiction)
    done = post_bundle(store, jurisdiction, body[1], linker=intake)
    if done.batch:
        return _fhir(done.response())
    (outcome,) = done.outcomes
    if outcome.result == "refused":
        raise RecordError(outcome.reason, record_id=outcome.message_id or None)
    return Response(status_code=204)


@router.get(
    "/{jurisdiction}/Bundle",
    response_class=JSONResponse,
    responses={200: {"description": "the replies queued (`searchset`)", **_FHIR_JSON}},
)
def get_replies(
    request: Request,
    jurisdiction: Jurisdiction,
    principal: PrincipalDep,
    store: StoreDep,
    since: Annotated[str, Query(alias="_since", max_length=40)] = "",
    count: Annotated[int, Query(alias="_count", ge=1, le=MAX_COUNT)] = 100,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    certificate_number: Annotated[str, Query(alias="certificateNumber", pattern=r"^\d{1,6}$")] = "",
    death_year: Annotated[int | None, Query(alias="deathYear", ge=1900, le=2100)] = None,
) -> JSONResponse:
    """The acknowledgements and extraction errors queued for this jurisdiction, oldest first."""
    require_jurisdiction(principal, jurisdiction)
    base = str(request.base_url).rstrip("/")
    return _fhir(
        queued_replies(
            store,
            jurisdiction,
            since=since,
            count=count,
            page=page,
            certificate_number=certificate_number,
            death_year=death_year,
            base_url=base,
        )
    )


@router.get(
    "/{jurisdiction}/metadata",
    response_class=JSONResponse,
    responses={200: {"description": "a FHIR CapabilityStatement", **_FHIR_JSON}},
)
def metadata(jurisdiction: Jurisdiction, principal: PrincipalDep) -> JSONResponse:
    """What this server does for the jurisdiction (FHIR CapabilityStatement)."""
    require_jurisdiction(principal, jurisdiction)
    return _fhir(capability_statement(jurisdiction))
