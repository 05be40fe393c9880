"""Synthetic state death records as HL7 FHIR VRDR messages, from a synthetic reports table.

Each `state` report becomes a submission message (or a plain document), and a few records
are then changed by an update message (the date of death corrected by a day) or withdrawn by
a void message, so the demo and the tests run the whole state-records path. Seeded: the same
table and seed give the same bytes. Owns nothing else; nothing in the pipeline imports it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vitalfile.sources.vrdr import VrdrReport, write_document, write_message
from vitalfile.sources.vrdr_common import RECORD_ID

__all__ = [
    "Layout",
    "vrdr_report",
    "write_vrdr",
    "write_vrdr_from_csv",
]

Layout = Literal["ndjson", "folder"]
_NS = uuid.UUID("0b6f3c1e-2a8d-4f57-9c1a-5d0e7b2f4a90")  # synthetic VRDR message ids
_NDJSON = "vrdr.ndjson"
_FOLDER = "vrdr"


def _timestamp(reported_at: str) -> str:
    """The synthetic report time as a FHIR instant (UTC when no zone is given)."""
    if not reported_at:
        return "2026-01-01T00:00:00+00:00"
    return reported_at if reported_at.endswith(("Z", "+00:00")) else reported_at + "+00:00"


def _certifier(record_id: str, seed: int) -> str:
    """A made-up 10-digit NPI for the certifier (never a real person's name)."""
    digest = hashlib.sha256(f"{seed}/{record_id}/certifier".encode()).hexdigest()
    return "1" + str(int(digest[:12], 16) % 10**9).zfill(9)


def vrdr_report(row: Mapping[str, str], *, seed: int = 0) -> VrdrReport | None:
    """The VRDR record of one synthetic `state` report row, or None when it is not one.

    The record id is the report id (`YYYY` + jurisdiction + 6-digit certificate number).
    """
    if row.get("source_kind") != "state":
        return None
    m = RECORD_ID.match(row.get("report_id", ""))
    if m is None:
        return None
    year, jurisdiction, cert = int(m.group(1)), m.group(2), m.group(3)
    return VrdrReport(
        record_id=row["report_id"],
        jurisdiction=jurisdiction,
        cert_no=cert,
        death_year=year,
        first_name=row.get("first_name", ""),
        middle_name=row.get("middle_name", ""),
        last_name=row.get("last_name", ""),
        suffix=row.get("suffix", ""),
        ssn=row.get("ssn", ""),
        dob=row.get("dob", ""),
        dod=row.get("dod", ""),
        sex=row.get("sex", ""),
        death_state=row.get("death_state", ""),
        certifier=_certifier(row["report_id"], seed),
    )


def _corrected_dod(dod: str) -> str:
    """The date of death a day earlier (a typical correction); a partial date stays."""
    if not dod or "-00" in dod:
        return dod
    return (date.fromisoformat(dod) - timedelta(days=1)).isoformat()


def _messages(
    rows: list[dict[str, str]],
    *,
    updates: float,
    voids: float,
    seed: int,
    kind: Literal["submission", "document"],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, bundle) for every state row, then the updates, then the voids."""
    records: list[tuple[VrdrReport, str]] = []
    for row in rows:
        rec = vrdr_report(row, seed=seed)
        if rec is not None:
            records.append((rec, _timestamp(row.get("reported_at", ""))))
    for rec, when in records:
        if kind == "document":
            yield "document", write_document(rec, timestamp=when)
        else:
            mid = str(uuid.uuid5(_NS, f"{seed}/{rec.record_id}/submission"))
            yield "submission", write_message(rec, "submission", message_id=mid, timestamp=when)
    if not records or kind == "document":
        return
    rng = random.Random(seed)
    order = list(range(len(records)))
    rng.shuffle(order)
    n_update = min(len(order), max(1, round(len(records) * updates))) if updates > 0 else 0
    n_void = min(len(order) - n_update, max(1, round(len(records) * voids))) if voids > 0 else 0
    for i in sorted(order[:n_update]):
        rec, when = records[i]
        changed = replace(rec, dod=_corrected_dod(rec.dod))
        mid = str(uuid.uuid5(_NS, f"{seed}/{rec.record_id}/update"))
        yield "update", write_message(changed, "update", message_id=mid, timestamp=when)
    for i in sorted(order[n_update : n_update + n_void]):
        rec, when = records[i]
        mid = str(uuid.uuid5(_NS, f"{seed}/{rec.record_id}/void"))
        yield "void", write_message(rec, "void", message_id=mid, timestamp=when)


def write_vrdr(
    reports: pa.Table,
    out_dir: str | os.PathLike[str],
    *,
    layout: Layout = "ndjson",
    updates: float = 0.01,
    voids: float = 0.005,
    seed: int = 0,
    kind: Literal["submission", "document"] = "submission",
) -> dict[str, Any]:
    """Write every `state` report of `reports` as a VRDR bundle, then updates and voids.

    `layout` "ndjson" writes `vrdr.ndjson` (one bundle a line) in `out_dir`; "folder" writes
    `vrdr/NNNNNNN-<kind>.json`, numbered so that the sorted names give the sending order.
    `updates` and `voids` are shares of the state records (at least one each when > 0; none
    for plain documents, which are not messages). Returns the counts and the path written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = reports.filter(pc.equal(reports.column("source_kind"), "state"))
    rows = state.to_pylist()
    counts: dict[str, Any] = {"document": 0, "submission": 0, "update": 0, "void": 0}
    messages = _messages(rows, updates=updates, voids=voids, seed=seed, kind=kind)
    if layout == "ndjson":
        target = out / _NDJSON
        with target.open("w", encoding="utf-8", newline="\n") as fh:
            for what, bundle in messages:
                fh.write(json.dumps(bundle, separators=(",", ":")) + "\n")
                counts[what] += 1
    elif layout == "folder":
        target = out / _FOLDER
        target.mkdir(exist_ok=True)
        for n, (what, bundle) in enumerate(messages, start=1):
            (target / f"{n:07d}-{what}.json").write_text(json.dumps(bundle), encoding="utf-8")
            counts[what] += 1
    else:
        raise ValueError("layout must be ndjson or folder")
    written = sum(counts.values())
    return {
        "vrdr_path": str(target),
        "vrdr_bundles": written,
        "vrdr_submissions": counts["submission"] + counts["document"],
        "vrdr_updates": counts["update"],
        "vrdr_voids": counts["void"],
        "vrdr_skipped": state.num_rows - counts["submission"] - counts["document"],
    }


def write_vrdr_from_csv(
    reports_csv: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    **options: Any,
) -> dict[str, Any]:
    """`write_vrdr` over a canonical reports CSV (every column read as text)."""
    path = Path(reports_csv)
    with path.open("rb") as fh:
        header = fh.readline().decode("utf-8").strip().split(",")
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header},
            strings_can_be_null=False,
        ),
    )
    return write_vrdr(table, out_dir, **options)
