"""Signs of life in: an activity feed (earnings, claims, accounts opened, office visits) as
a CSV body (intake). Activity after a recorded date of death opens one review case on that
death (`activity.ingest_activity`); a death is never changed here."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends

from vitalfile.api.deps import StoreDep, body_of, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import ActivityPublic
from vitalfile.errors import RecordError
from vitalfile.intake.activity import HEADER, ingest_activity

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["signs of life"], responses=COMMON_RESPONSES)
_BODY = {
    "requestBody": {
        "required": True,
        "description": f"activity CSV: {','.join(HEADER)} (kind: earnings, claim, "
        "account_opened, office_visit; date: YYYY-MM-DD)",
        "content": {"text/csv": {"schema": {"type": "string", "pattern": f"^{','.join(HEADER)}"}}},
    }
}
Body = Annotated[tuple[str, bytes], Depends(body_of("text/csv"))]


@router.post(
    "/activity",
    response_model=ActivityPublic,
    openapi_extra=_BODY,
    dependencies=[Depends(staff("activity.ingest"))],
)
def ingest_activity_body(store: StoreDep, body: Body) -> ActivityPublic:
    """Record an activity feed, refused whole (422, problems by line) on any bad line; a line
    sent before is a duplicate, recorded once. Answers what was recorded and the review cases
    opened on deaths the activity postdates."""
    try:
        body[1].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError("the body is not UTF-8 text", line=1, field="body") from exc
    with tempfile.TemporaryDirectory(prefix="vf-activity-") as tmp:
        path = Path(tmp) / "activity.csv"
        path.write_bytes(body[1])
        try:
            result = ingest_activity(store, path)
        except csv.Error as exc:  # a malformed CSV (say, a field past the size limit)
            raise RecordError("the body is not a readable CSV", field="body") from exc
    return ActivityPublic(**result.as_dict())
