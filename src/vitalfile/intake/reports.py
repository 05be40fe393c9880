"""Taking in death reports: read → screen → link → holds → post → one all-or-nothing append.

A report is identified by (source id, report id): sending the same file twice records
nothing new. A file with a bad record is refused whole unless `quarantine` is asked for,
which appends the good records and an `ingest.rejected` event, and writes a rejects file.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from vitalfile.dates import iso_now
from vitalfile.errors import FileRejected, RecordError, UsageError
from vitalfile.events import SOURCE_KINDS, Event, IngestRejected, ReportReceived
from vitalfile.intake.gcpause import gc_paused
from vitalfile.intake.pipeline import Intake, intake_for
from vitalfile.intake.post import decide_report
from vitalfile.intake.screen import screen
from vitalfile.ledger.store import Store
from vitalfile.link.base import Linker, state_first
from vitalfile.master.projection import load_people
from vitalfile.sources import csv as csv_source
from vitalfile.sources import dmf as dmf_source
from vitalfile.sources.dmf_layout import RESIDENCE_FIELDS
from vitalfile.ssn import never_issued_reason

__all__ = [
    "IngestResult",
    "detect_format",
    "ingest_file",
    "ingest_reports",
    "read_report_file",
    "submissions",
    "write_rejects",
]


@dataclass
class IngestResult:
    received: int = 0
    duplicates: int = 0
    linked: int = 0
    held: int = 0
    unlinked: int = 0
    posted_v: int = 0
    posted_p: int = 0
    corroborated: int = 0
    upgraded: int = 0
    rejected: int = 0
    research: int = 0  # state certificates with no one on file: research cases opened
    unmatched_by_source: dict[str, int] = field(default_factory=dict)
    commits: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def detect_format(path: Path) -> str:
    """'dmf', 'csv' (canonical reports) or 'vrdr' (FHIR JSON, NDJSON or a folder), by content."""
    if path.is_dir():
        return "vrdr"
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        first = fh.readline().rstrip("\r\n")
    if first.startswith("report_id,") or first.startswith("ssn,"):
        return "csv"
    if dmf_source.looks_like_dmf(first):
        return "dmf"
    if first.lstrip("\ufeff \t").startswith("{"):
        return "vrdr"
    raise UsageError(
        "unrecognised file format (expected DMF fixed-width, canonical CSV or FHIR VRDR JSON)",
        file=path.name,
    )


def _key(source_id: str, report_id: str) -> str:
    return f"{source_id}/{report_id}"


def read_report_file(
    path: Path, *, source_kind: str, source_id: str, layout: str | None = None
) -> tuple[list[ReportReceived], list[RecordError]]:
    """Every report in the file, and every per-record problem (nothing is dropped silently).

    `layout` applies to a DMF file: '2011', '1980' or None for either.
    """
    with gc_paused():
        return _read_report_file(path, source_kind=source_kind, source_id=source_id, layout=layout)


def _read_report_file(
    path: Path, *, source_kind: str, source_id: str, layout: str | None
) -> tuple[list[ReportReceived], list[RecordError]]:
    if source_kind not in SOURCE_KINDS:
        raise UsageError(f"unknown source kind; use one of {', '.join(SOURCE_KINDS)}")
    fmt = detect_format(path)
    reports: list[ReportReceived] = []
    errors: list[RecordError] = []
    seen: set[str] = set()

    def keep(r: ReportReceived, line: int) -> None:
        if r.report_key in seen:
            errors.append(
                RecordError("report id appears twice in the file", line=line, field="report_id")
            )
        else:
            seen.add(r.report_key)
            reports.append(r)

    if fmt == "csv":
        for i, item in enumerate(
            csv_source.read_reports(
                path, default_source_kind=source_kind, default_source_id=source_id
            ),
            start=2,
        ):
            if isinstance(item, RecordError):
                errors.append(item)
                continue
            try:
                r = ReportReceived(
                    report_key=_key(item.source_id, item.report_id),
                    source_kind=item.source_kind,
                    source_id=item.source_id,
                    report_id=item.report_id,
                    ssn=item.ssn,
                    ssn_flag=item.ssn_flag,
                    first_name=item.first_name,
                    middle_name=item.middle_name,
                    last_name=item.last_name,
                    suffix=item.suffix,
                    dob=item.dob,
                    dod=item.dod,
                    sex=item.sex,
                    death_state=item.death_state,
                    reported_at=item.reported_at,
                )
            except ValueError:
                errors.append(RecordError("record does not fit the report model", line=i))
                continue
            keep(r, i)
    elif fmt == "dmf":
        with path.open("r", encoding="utf-8", newline="") as fh:
            lines = fh.read().splitlines()
        for i, line in enumerate(lines, start=1):
            parsed = _parse_dmf_report(line, i, layout)
            if isinstance(parsed, RecordError):
                errors.append(parsed)
                continue
            rec, flag = parsed
            # a trimmed line is the same report as the whole one
            rid = hashlib.sha256(dmf_source.padded(line).encode()).hexdigest()[:20]
            r = ReportReceived(
                report_key=_key(source_id, rid),
                source_kind=source_kind,
                source_id=source_id,
                report_id=rid,
                ssn=rec.ssn,
                ssn_flag=flag,
                first_name=rec.first_name,
                middle_name=rec.middle_name,
                last_name=rec.last_name,
                suffix=rec.suffix,
                dob=rec.dob,
                dod=rec.dod,
                extra=_dmf_extra(rec),
            )
            keep(r, i)
    else:
        from vitalfile.intake.vrdr import read_vrdr_reports

        return read_vrdr_reports(path, source_kind=source_kind, source_id=source_id)
    return reports, [e.in_file(path.name) for e in errors]


_PLACEHOLDER_SSN = "123456789"


def _dmf_extra(rec: dmf_source.DmfRecord) -> dict[str, str]:
    """The proof code and the pre-2011 fields of a DMF report, those that are not blank."""
    extra = {"dmf_proof": rec.proof} if rec.proof else {}
    for name in RESIDENCE_FIELDS:
        if getattr(rec, name):
            extra[f"dmf_{name}"] = getattr(rec, name)
    return extra


def _parse_dmf_report(
    line: str, line_no: int, layout: str | None = None
) -> tuple[dmf_source.DmfRecord, str] | RecordError:
    """A death report in DMF layout; a never-issued SSN is kept and flagged, not refused."""
    flag = ""
    try:
        rec = dmf_source.parse_line(line, line_no, layout)
    except RecordError as exc:
        digits = line[1:10]
        reason = never_issued_reason(digits) if digits.isdigit() and len(digits) == 9 else None
        if exc.field != "ssn" or reason is None:
            return exc
        try:
            rec = dmf_source.parse_line(line[:1] + _PLACEHOLDER_SSN + line[10:], line_no, layout)
        except RecordError as other:
            return other
        rec = dataclasses.replace(rec, ssn=digits)
        flag = reason
    if rec.action not in ("", "A"):
        return RecordError(
            "a death report carries a blank or A action code", line=line_no, field="action"
        )
    return rec, flag


def ingest_reports(
    store: Store,
    reports: Sequence[ReportReceived],
    *,
    linker: Linker | Intake | str | None = None,
    today: date | None = None,
    note: str = "",
    extra_events: Sequence[Event] = (),
    commit_size: int = 100_000,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Link, hold and post `reports` and append everything in one transaction.

    `linker`: the configured pipeline, a linker, or a linker's name; None is the one the
    settings name (the trained model by default)."""
    intake = intake_for(linker)
    today = today or date.today()
    result = IngestResult()
    with gc_paused(), store.transaction():
        known = _known_keys(store, [r.report_key for r in reports])
        new = [r for r in reports if r.report_key not in known]
        result.duplicates = len(reports) - len(new)
        result.received = len(new)
        links = {lr.report_key: lr for lr in intake.link(store, new)} if new else {}
        people = load_people(
            store, [lr.person_id for lr in links.values() if lr.person_id is not None]
        )
        events: list[Event] = list(extra_events)
        from vitalfile.master.projection import PersonState, evolve_person

        now = iso_now()

        for r in (new[i] for i in state_first(new)):  # as they were decided
            link = links[r.report_key]
            person = (
                people.setdefault(link.person_id, PersonState(link.person_id))
                if link.person_id is not None
                else None
            )
            decided = decide_report(r, link, person, screen(r, today), at=now)
            events.append(r)
            events.extend(decided)
            for e in decided:
                _count(result, e)
                if e.type == "report.unlinked":
                    kind = r.source_kind
                    result.unmatched_by_source[kind] = result.unmatched_by_source.get(kind, 0) + 1
                if person is not None and e.type.startswith("death."):
                    evolve_person(person, 0, e)
        for lo in range(0, len(events), commit_size):
            chunk = events[lo : lo + commit_size]
            info = store.append(chunk, note=note)
            if info is not None:
                result.commits.append(info.commit_no)
            if progress is not None:
                progress(sum(1 for e in chunk if isinstance(e, ReportReceived)))
    return result


def _count(result: IngestResult, e: Event) -> None:
    t = e.type
    if t == "report.linked":
        result.linked += 1
    elif t == "report.held":
        result.held += 1
    elif t == "report.unlinked":
        result.unlinked += 1
    elif t == "case.opened" and getattr(e, "kind", "") == "research":
        result.research += 1
    elif t == "death.posted":
        if getattr(e, "proof", "") == "V":
            result.posted_v += 1
        else:
            result.posted_p += 1
    elif t == "death.corroborated":
        result.corroborated += 1
    elif t == "death.updated":
        result.upgraded += 1


def _known_keys(store: Store, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    table = store.query_arrow(
        "SELECT report_key FROM reports WHERE report_key IN (SELECT unnest(?::VARCHAR[]))",
        [list(keys)],
    )
    return set(table.column(0).to_pylist())


def write_rejects(path: Path, problems: Iterable[RecordError]) -> None:
    """One line per rejected record: line, field, why (never the record's values)."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("line,field,reason\n")
        for p in problems:
            fh.write(f"{p.line or ''},{p.field or ''},{p.message.replace(',', ';')}\n")


def ingest_file(
    store: Store,
    path: Path,
    *,
    source_kind: str,
    source_id: str,
    quarantine: bool = False,
    rejects_path: Path | None = None,
    linker: Linker | Intake | str | None = None,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
    ack_dir: Path | None = None,
    layout: str | None = None,
    submitted_by: str = "",
) -> IngestResult:
    """Read, check and ingest one reports file; refuse it whole on any bad record.

    `submitted_by` names the staff member who sent the file in (kept with each CSV or DMF
    report, so that person never decides a review of it).

    VRDR (a JSON file, NDJSON or a folder) goes to `ingest_vrdr.ingest_vrdr_file`, which also
    takes updates and voids and writes acknowledgements to `ack_dir`. An empty `source_id` is
    the file's name (for VRDR: each record's jurisdiction). `layout` ('2011', '1980', or
    None for either) applies to a DMF file.
    """
    if detect_format(path) == "vrdr":
        from vitalfile.intake.vrdr import ingest_vrdr_file

        return ingest_vrdr_file(
            store,
            path,
            source_kind=source_kind,
            source_id=source_id,
            quarantine=quarantine,
            rejects_path=rejects_path,
            ack_dir=ack_dir,
            linker=linker,
            today=today,
            progress=progress,
        )
    if ack_dir is not None:
        raise UsageError("acknowledgements answer VRDR messages only", field="ack_dir")
    source_id = source_id or path.stem
    reports, errors = read_report_file(
        path, source_kind=source_kind, source_id=source_id, layout=layout
    )
    if errors and not quarantine:
        raise FileRejected(errors, file=path.name)
    if submitted_by:
        reports = [
            r.model_copy(update={"extra": {**r.extra, "submitted_by": submitted_by}})
            for r in reports
        ]
    extra: list[Event] = []
    if errors:
        extra.append(
            IngestRejected(
                file=path.name,
                source_id=source_id,
                problems=[{"line": e.line, "field": e.field, "reason": e.message} for e in errors],
            )
        )
        write_rejects(rejects_path or path.with_suffix(path.suffix + ".rejects.csv"), errors)
    result = ingest_reports(
        store,
        reports,
        linker=linker,
        today=today,
        note=f"ingest {path.name}" + (f" by {submitted_by}" if submitted_by else ""),
        extra_events=extra,
        progress=progress,
    )
    result.rejected = len(errors)
    return result


def submissions(store: Store, submitted_by: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """The files a staff member sent in (newest first) and what each became: for each
    report, its outcome (linked, held, unlinked) and the person it is about."""
    suffix = f" by {submitted_by}"
    out: list[dict[str, Any]] = []
    for no, first, n, at, note in store.query(
        "SELECT commit_no, first_seq, n_events, committed_at, note FROM ledger_commits "
        "WHERE note LIKE 'ingest %' ORDER BY commit_no DESC"
    ):
        if not str(note).endswith(suffix):
            continue
        rows = store.query(
            "SELECT report_key, status, person_id, reason FROM reports "
            "WHERE received_seq >= ? AND received_seq < ? ORDER BY report_key",
            [first, int(first) + int(n)],
        )
        out.append(
            {
                "commit_no": int(no),
                "at": str(at),
                "file": str(note)[len("ingest ") : -len(suffix)],
                "reports": [
                    {"report_key": k, "status": s, "person_id": p, "reason": r}
                    for k, s, p, r in rows
                ],
            }
        )
        if len(out) >= limit:
            break
    return out
