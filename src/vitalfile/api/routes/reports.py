"""Death reports in: DMF fixed-width, canonical CSV, or FHIR VRDR bodies (intake).

A VRDR body is answered in the same response with the FHIR replies a state's EDRS expects
(`replies`: acknowledgements and extraction errors), made only after the append committed.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from vitalfile.api.deps import IntakeDep, StoreDep, body_of, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import IngestPublic, VrdrRepliesPublic
from vitalfile.errors import RecordError, UsageError
from vitalfile.events import SourceKind
from vitalfile.intake.reports import detect_format, ingest_file
from vitalfile.sources.dmf_layout import LAYOUT_NAMES, layout_named

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
    "dmf": {"type": "string", "pattern": "^[ ACD]\\d{9}", "minLength": 10},  # trimmed lines too
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
    intake: IntakeDep,
    body: Body,
    source_kind: SourceKind,
    source_id: Name = "",
    quarantine: Annotated[Literal["true", "false"], Query()] = "false",
    layout: Annotated[
        str,
        Query(
            max_length=10,
            description="DMF only: the record layout, "
            f"{' or '.join(LAYOUT_NAMES)} (pre-2011: state and ZIP of residence, lump-sum "
            "ZIP in columns 82-93); empty: detected from the file",
        ),
    ] = "",
) -> IngestPublic:
    """Take in one file of death reports; refused whole on a bad record unless quarantined.

    FHIR VRDR (a state's EDRS): the replies come back in this response, under `replies`,
    once the messages are committed — one acknowledgement (a FHIR `message` Bundle whose
    `MessageHeader.response.identifier` is the message id, code `ok`) per message taken in,
    and, with `quarantine=true`, one extraction error (code `fatal-error`, no personal data)
    per refused message that has a message id. Nothing is queued to poll: an EDRS that lost
    the response sends the same messages again, which records nothing new (idempotent by
    message id) and answers the same acknowledgements again (same ids). Refused whole
    (422, the problems by line) means nothing was taken in and nothing is acknowledged.
    A document bundle (not a message) is taken in but has nothing to acknowledge.

    DMF: the layout (2011, or 1980 before November 2011) is detected from the file unless
    `layout` names it; a line that does not fit it is refused with its column named.
    """
    ctype, data = body
    fmt = TYPES[ctype]
    layout_named(layout)  # an unknown layout is refused before the body is looked at
    if layout and fmt != "dmf":
        raise UsageError(f"layout applies to a DMF file, not to {fmt}", field="layout")
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
        outbox = Path(tmp) / "replies" if fmt == "vrdr" else None
        result = ingest_file(
            store,
            path,
            source_kind=source_kind,
            source_id=source_id,
            quarantine=quarantine == "true",
            rejects_path=Path(tmp) / "rejects.csv",
            ack_dir=outbox,
            linker=intake,
            layout=layout or None,
        )
        d = result.as_dict()
        replies = _replies(outbox, int(d.get("unanswered", 0))) if outbox is not None else None
    return IngestPublic(
        format=fmt,
        replies=replies,
        **{k: d[k] for k in IngestPublic.model_fields if k not in ("format", "replies") and k in d},
    )


def _replies(outbox: Path, unanswered: int) -> VrdrRepliesPublic:
    """The replies `ingest_vrdr.write_replies` wrote to the outbox, in message id order."""

    def read(suffix: str) -> list[dict[str, Any]]:
        if not outbox.is_dir():
            return []
        return [json.loads(p.read_text("utf-8")) for p in sorted(outbox.glob(f"*{suffix}"))]

    return VrdrRepliesPublic(
        acknowledgements=read(".ack.json"),
        extraction_errors=read(".error.json"),
        unanswered=unanswered,
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
