"""API keys: create (the token is answered once), list (never the token or its hash), revoke;
supervisors only (`apikeys.manage`), through the same `access` calls as `vitalfile apikey`.

Revocation is an `apikey.revoked` event: every worker refuses the key once its cache entry
expires — each worker keeps a key it has seen for at most `KeyCache.ttl` (5 s) — and the
worker that took the revocation forgets its cached keys at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam

from vitalfile.api.deps import StoreDep, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import ApiKeyCreate, ApiKeyPublic, ApiKeyTokenPublic, RevocationCreate
from vitalfile.disclosure.access import Principal, create_key, list_keys, revoke_key
from vitalfile.errors import NotFound
from vitalfile.ledger.store import Store
from vitalfile.service.principal import KeyCache

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["API keys"], responses=COMMON_RESPONSES)
Manager = Annotated[Principal, Depends(staff("apikeys.manage"))]
KeyId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{16}$")]


def _key(store: Store, key_id: str) -> ApiKeyPublic:
    found = [k for k in list_keys(store) if k["key_id"] == key_id]
    if not found:
        raise NotFound("no such key", record_id=key_id)
    return ApiKeyPublic.model_validate(found[0])


def forget_cached_keys(request: Request) -> None:
    """Drop this worker's cached keys, so a key just revoked is refused on its next call
    here (other workers refuse it once their entry expires, within the cache's TTL)."""
    old: KeyCache = request.app.state.key_cache
    request.app.state.key_cache = KeyCache(ttl=old.ttl)


@router.post("/api-keys", response_model=ApiKeyTokenPublic, status_code=201)
def create(
    body: ApiKeyCreate, _: Manager, store: StoreDep, response: Response
) -> ApiKeyTokenPublic:
    """A new key for one staff role or one recipient. The token is in this answer only:
    the file keeps its SHA-256, and no route shows it again."""
    key_id, token = create_key(
        store,
        role=body.role or "",
        recipient=body.recipient or "",
        label=body.label,
        expires=body.expires,
    )
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyTokenPublic(**_key(store, key_id).model_dump(), token=token)


@router.get("/api-keys", response_model=list[ApiKeyPublic])
def keys(_: Manager, store: StoreDep) -> list[ApiKeyPublic]:
    """Every key: id, scope, label and whether it is revoked (never the token or its hash)."""
    return [ApiKeyPublic.model_validate(k) for k in list_keys(store)]


@router.post("/api-keys/{key_id}/revocation", response_model=ApiKeyPublic, status_code=201)
def revoke(
    key_id: KeyId, body: RevocationCreate, _: Manager, store: StoreDep, request: Request
) -> ApiKeyPublic:
    """Revoke a key: refused at once by this worker, by every worker within 5 seconds (the
    time a worker may keep a key it has seen). Revoking a revoked key changes nothing more."""
    if not _key(store, key_id).revoked:
        revoke_key(store, key_id, reason=body.reason)
    forget_cached_keys(request)
    return _key(store, key_id)
