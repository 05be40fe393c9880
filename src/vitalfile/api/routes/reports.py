"""Death reports in: DMF fixed-width, canonical CSV, or FHIR VRDR bodies (intake)."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from vitalfile.api.deps import StoreDep, body_of, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import IngestPublic
from vitalfile.errors import RecordError, UsageError
from vitalfile.ingest import detect_format, ingest_file
from vitalfile.model import SourceKind

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["reports"], responses=COMMON_RESPONSES)

TYPES = {
    "text/plain": "dmf",
    "text/x-dmf": "dmf",
    "text/csv": "csv",
    "application/fhir+json": "vrdr",
    "application/json": "vrdr",
    "application/x-ndjson": "vrdr",
}
_SUFFIX = {"dmf": ".dmf", "csv": ".csv", "vrdr": ".json"}
_SCHEMAS: dict[str, dict[str, Any]] = {
    "dmf": {"type": "string", "pattern": "^[ ACD]\\d{9}", "minLength": 100},
    "csv": {"type": "string", "pattern": "^(report_id|ssn),"},
    "vrdr": {"type": "string", "pattern": "^\\s*\\{", "minLength": 2},
}
_VRDR_JSON: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string", "enum": ["Bundle", "Parameters"]}},
}
_BODY = {
    "requestBody": {
        "required": True,
        "description": "a DMF file (text/plain), a canonical reports CSV (text/csv) or FHIR "
        "VRDR JSON / NDJSON",
        "content": {t: {"schema": _SCHEMAS[TYPES[t]]} for t in TYPES}
        | {t: {"schema": _VRDR_JSON} for t in ("application/fhir+json", "application/json")},
    }
}
Body = Annotated[tuple[str, bytes], Depends(body_of(*TYPES))]
Ingest = Depends(staff("reports.ingest"))
Name = Annotated[str, Query(max_length=100, pattern=r"^[A-Za-z0-9_.\-]*$")]


@router.post("/reports", response_model=IngestPublic, openapi_extra=_BODY, dependencies=[Ingest])
def ingest_reports_body(
    store: StoreDep,
    body: Body,
    source_kind: SourceKind,
    source_id: Name = "",
    quarantine: Annotated[Literal["true", "false"], Query()] = "false",
) -> IngestPublic:
    """Take in one file of death reports; refused whole on a bad record unless quarantined."""
    ctype, data = body
    fmt = TYPES[ctype]
    if ctype in ("application/fhir+json", "application/json"):
        _check_resource(data)
    elif not re.match(_SCHEMAS[fmt]["pattern"].encode(), data):
        raise RecordError(f"the body does not start as a {fmt} file does", line=1, field="body")
    with tempfile.TemporaryDirectory(prefix="vf-ingest-") as tmp:
        name = source_id or "upload"
        path = Path(tmp) / f"{name}{_SUFFIX[fmt]}"
        path.write_bytes(data)
        found = detect_format(path)
        if found != fmt:
            raise UsageError(f"the body is {found}, not what its content type says ({fmt})")
        result = ingest_file(
            store,
            path,
            source_kind=source_kind,
            source_id=source_id,
            quarantine=quarantine == "true",
            rejects_path=Path(tmp) / "rejects.csv",
        )
    d = result.as_dict()
    return IngestPublic(
        format=fmt,
        **{k: d[k] for k in IngestPublic.model_fields if k != "format" and k in d},
    )


def _check_resource(data: bytes) -> None:
    """A JSON body is one FHIR resource: a Bundle (a death record) or Parameters (a message)."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RecordError("not JSON", field="body") from exc
    kind = doc.get("resourceType") if isinstance(doc, dict) else None
    if kind not in ("Bundle", "Parameters"):
        raise RecordError("not a FHIR Bundle or Parameters resource", field="resourceType")
