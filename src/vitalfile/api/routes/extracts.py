"""Extract files for a recipient (full or update, through the gate) and its deliveries;
the keeper's own unrestricted file (supervisors).

A file made here is kept under `work_dir` by delivery id, with its signed checkpoint when
the keeper's key is configured; a recipient lists and downloads only its own deliveries;
supervisors and auditors list them all. The keeper's file is a delivery to recipient ''
(as `vitalfile extract full` without `--recipient` makes it): recorded, accounted for per
person, and downloaded only by a role that may make it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from vitalfile.api.deps import PrincipalDep, RecipientDep, SettingsDep, StoreDep, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import DeliveryPublic, ExtractCreate, KeeperExtractCreate
from vitalfile.api.settings import ApiSettings
from vitalfile.disclosure.access import Forbidden, Principal, may
from vitalfile.disclosure.deliveries import deliveries
from vitalfile.disclosure.extracts import extract
from vitalfile.errors import NotFound
from vitalfile.ledger.checkpoint import load_private_key
from vitalfile.ledger.store import Store

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["extracts and deliveries"], responses=COMMON_RESPONSES)
DeliveryId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]
Keeper = Annotated[Principal, Depends(staff("extracts.keeper"))]
KEEPER = ""  # the keeper's own deliveries are recorded for recipient ''
_EXT = {"dmf": "txt", "csv": "csv", "parquet": "parquet"}
_MEDIA = {"dmf": "text/plain", "csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


def _folder(work_dir: Path, recipient: str) -> Path:
    return work_dir / "deliveries" / hashlib.sha256(recipient.encode()).hexdigest()[:16]


def _public(d: dict[str, Any], work_dir: Path) -> DeliveryPublic:
    folder = _folder(work_dir, str(d["recipient"]))
    path = folder / f"{d['delivery_id']}.{_EXT.get(str(d['format']), 'dat')}"
    cp_path = path.with_name(path.name + ".checkpoint.json")
    base = "/v1/keeper-extracts" if d["recipient"] == KEEPER else "/v1/deliveries"
    return DeliveryPublic(
        **d,
        file_url=f"{base}/{d['delivery_id']}/file" if path.exists() else None,
        checkpoint=json.loads(cp_path.read_text()) if cp_path.exists() else None,
    )


def _make(
    store: Store, settings: ApiSettings, recipient: str, body: ExtractCreate
) -> DeliveryPublic:
    """Make the file (`distribute.extract`: the gate, the delivery event) and keep it."""
    delivery_id = uuid.uuid4().hex  # the file's name is its delivery id from the start
    out = _folder(settings.work_dir, recipient) / f"{delivery_id}.{_EXT[body.format]}"
    key = load_private_key(settings.key_path) if settings.key_path.exists() else None
    why = body if isinstance(body, KeeperExtractCreate) else None
    result = extract(
        store,
        out,
        recipient=recipient,
        kind=body.kind,
        fmt=body.format,
        key=key,
        purpose=why.purpose if why else "",
        authority=why.authority if why else "",
        delivery_id=delivery_id,
    )
    return _public(deliveries(store, delivery_id=result.delivery_id)[0], settings.work_dir)


def _file(store: Store, settings: ApiSettings, recipient: str, delivery_id: str) -> FileResponse:
    rows = deliveries(store, recipient=recipient, delivery_id=delivery_id)
    path = None
    if rows:
        fmt = str(rows[0]["format"])
        path = _folder(settings.work_dir, recipient) / f"{delivery_id}.{_EXT[fmt]}"
    if path is None or not path.exists():
        raise NotFound("no such delivery file for this recipient", record_id=delivery_id)
    return FileResponse(path, media_type=_MEDIA[fmt], filename=path.name)


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {t: {"schema": {"type": "string"}} for t in _MEDIA.values()}}
}


@router.post("/extracts", response_model=DeliveryPublic, status_code=201)
def make_extract(
    body: ExtractCreate, principal: RecipientDep, store: StoreDep, settings: SettingsDep
) -> DeliveryPublic:
    """A full file, or the adds, changes and deletes since the recipient's last delivery."""
    return _make(store, settings, principal.recipient, body)


@router.post("/keeper-extracts", response_model=DeliveryPublic, status_code=201)
def make_keeper_extract(
    body: KeeperExtractCreate, _: Keeper, store: StoreDep, settings: SettingsDep
) -> DeliveryPublic:
    """The keeper's own file, not restricted to any agreement: every current death, state
    records included (full), or the changes since the keeper's last file (update). It names
    its purpose and authority and needs the keeper's signing key (else refused, recorded).
    Recorded as a delivery to recipient '' and in each person's accounting, as the CLI's is."""
    return _make(store, settings, KEEPER, body)


@router.get(
    "/keeper-extracts/{delivery_id}/file", response_class=FileResponse, responses=_FILE_RESPONSES
)
def keeper_file(delivery_id: DeliveryId, _: Keeper, store: StoreDep, settings: SettingsDep) -> Any:
    """The file of one of the keeper's own extracts."""
    return _file(store, settings, KEEPER, delivery_id)


@router.get("/deliveries", response_model=list[DeliveryPublic])
def list_deliveries(
    principal: PrincipalDep,
    store: StoreDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryPublic]:
    """A recipient's own deliveries; every delivery for supervisors and auditors."""
    if principal.recipient:
        rows = deliveries(store, recipient=principal.recipient, limit=limit)
    elif may(principal, "deliveries.read"):
        rows = deliveries(store, limit=limit)
    else:
        raise Forbidden(f"role {principal.role} may not do this (deliveries.read)")
    return [_public(r, settings.work_dir) for r in rows]


@router.get(
    "/deliveries/{delivery_id}/file", response_class=FileResponse, responses=_FILE_RESPONSES
)
def delivery_file(
    delivery_id: DeliveryId, principal: RecipientDep, store: StoreDep, settings: SettingsDep
) -> Any:
    """The file of one of the recipient's own deliveries."""
    return _file(store, settings, principal.recipient, delivery_id)
