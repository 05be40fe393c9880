"""Taking in state death records sent as HL7 FHIR VRDR: documents, submissions, updates, voids.

Each bundle read becomes, in order: a `ReportReceived` (a record not seen before), a
`ReportAmended` (an update, or a submission that changes a record on file), a `ReportVoided`
(a void), or nothing (a message or record already taken in). The deaths follow through pure
decisions (`decide_amendment`, `decide_void`); everything is appended in one transaction, and
acknowledgements (or extraction errors) are written only after that append succeeded.
Owns the VRDR ingest path only; the format is `sources.vrdr`, the rules are `screen`/`post`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from vitalfile.errors import FileRejected, RecordError, UsageError
from vitalfile.events import (
    SOURCE_KINDS,
    DeathRetracted,
    DeathUpdated,
    Event,
    IngestRejected,
    ReportAmended,
    ReportReceived,
    ReportVoided,
)
from vitalfile.intake.post import decide_report
from vitalfile.intake.reports import IngestResult, _count
from vitalfile.intake.screen import Finding, screen
from vitalfile.ledger.store import Store, Tx
from vitalfile.link.base import Linker, LinkResult
from vitalfile.link.rule import RuleLinker
from vitalfile.master.projection import (
    PersonState,
    ReportState,
    evolve_person,
    evolve_report,
    load_people,
    load_reports,
)
from vitalfile.sources.vrdr import VrdrReport, acknowledgement, extraction_error, iter_bundles

__all__ = [
    "MessagesProjection",
    "VrdrIngestResult",
    "decide_amendment",
    "decide_void",
    "ingest_vrdr",
    "ingest_vrdr_file",
    "read_vrdr",
    "read_vrdr_reports",
    "report_key",
    "to_report",
    "write_replies",
]

_FIELDS = (
    "ssn",
    "ssn_flag",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "dob",
    "dod",
    "sex",
    "death_state",
    "reported_at",
)
_VOID_REASON = "the state voided its death record"
_MOVED_REASON = "the source's amended record is about another person"
_DATE_REASON = "date of death amended by the source's record"
_OWN_REASONS = (_VOID_REASON, _MOVED_REASON, _DATE_REASON)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class VrdrIngestResult(IngestResult):
    """`IngestResult` and what only state records do: amendments, voids, replies."""

    bundles: int = 0  # bundles read, refused ones included
    amended: int = 0
    voided: int = 0
    void_unknown: int = 0  # voids of records not on file (answered, nothing to do)
    deaths_retracted: int = 0
    deaths_updated: int = 0  # date or proof changed by an amendment or a void
    acks: int = 0
    extraction_errors: int = 0
    unanswered: int = 0  # refused bundles with no message id to answer


# ── message ids taken in (idempotency by message id) ──────────────────────────────────────
class MessagesProjection:
    """Every VRDR message id taken in, with its report: a resent message changes nothing."""

    name = "vrdr_messages"

    def ddl(self) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS vrdr_messages (message_id VARCHAR NOT NULL, "
            "report_key VARCHAR NOT NULL, kind VARCHAR NOT NULL, seq BIGINT NOT NULL)"
        ]

    def tables(self) -> list[str]:
        return ["vrdr_messages"]

    def handles(self, event_type: str) -> bool:
        return event_type in (ReportReceived.type, ReportAmended.type, ReportVoided.type)

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        rows: list[tuple[str, str, str, int]] = []
        for seq, e in events:
            if isinstance(e, ReportReceived):
                mid = e.extra.get("message_id")
                if isinstance(mid, str) and mid:
                    rows.append((mid, e.report_key, "received", seq))
            elif isinstance(e, ReportAmended) and e.message_id:
                rows.append((e.message_id, e.report_key, "amended", seq))
            elif isinstance(e, ReportVoided) and e.message_id:
                rows.append((e.message_id, e.report_key, "voided", seq))
        if rows:
            cols = list(zip(*rows, strict=True))
            tx.insert_arrow(
                "vrdr_messages",
                pa.table(
                    {
                        "message_id": pa.array(cols[0], pa.string()),
                        "report_key": pa.array(cols[1], pa.string()),
                        "kind": pa.array(cols[2], pa.string()),
                        "seq": pa.array(cols[3], pa.int64()),
                    }
                ),
            )


def _seen_messages(store: Store, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    rows = store.reader().select_in(
        "vrdr_messages", ("message_id",), "message_id", sorted(set(ids))
    )
    return {str(r[0]) for r in rows}


# ── reading ───────────────────────────────────────────────────────────────────────────────
def _display_name(root: Path, file: str | None) -> str:
    """A refused bundle's file as the user named it (folder/name), never an absolute path."""
    name = root.name or root.resolve().name
    if file is None or not root.is_dir():
        return name
    return f"{name}/{Path(file).name}"


def read_vrdr(
    path: str | Path, *, progress: Callable[[int], None] | None = None
) -> tuple[list[VrdrReport], list[RecordError]]:
    """Every bundle of a .json file, a folder of them, or NDJSON, in order, and every refusal.

    A refusal names the file (as given, folder/name) and the line; never personal data.
    """
    root = Path(path)
    reports: list[VrdrReport] = []
    errors: list[RecordError] = []
    pending = 0
    for item in iter_bundles(root):
        if isinstance(item, RecordError):
            errors.append(item.in_file(_display_name(root, item.context.get("file"))))
        else:
            reports.append(item)
        pending += 1
        if progress is not None and pending >= 200:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)
    return reports, errors


def report_key(report: VrdrReport, source_id: str) -> str:
    """`<source id>/<state record id>`; the record's jurisdiction when no source id is given."""
    return f"{source_id or report.jurisdiction}/{report.record_id}"


def _extra(report: VrdrReport) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "format": "vrdr",
        "record_id": report.record_id,
        "jurisdiction": report.jurisdiction,
        "message_kind": report.message_kind,
    }
    if report.message_id:
        extra["message_id"] = report.message_id
    if report.certifier:
        extra["certifier"] = report.certifier
    if report.aliases:
        extra["aliases"] = list(report.aliases)
    if report.warnings:
        extra["warnings"] = list(report.warnings)
    return extra


def to_report(report: VrdrReport, *, source_kind: str, source_id: str) -> ReportReceived:
    """The `ReportReceived` a bundle stands for (raises `RecordError` if it cannot be one)."""
    sid = source_id or report.jurisdiction
    try:
        return ReportReceived(
            report_key=report_key(report, source_id),
            source_kind=source_kind,  # checked by the model
            source_id=sid,
            report_id=report.record_id,
            **{f: getattr(report, f) for f in _FIELDS if f != "reported_at"},
            extra=_extra(report),
        )
    except ValueError:
        raise RecordError(
            "record does not fit the report model", record_id=report.record_id
        ) from None


def read_vrdr_reports(
    path: Path, *, source_kind: str, source_id: str
) -> tuple[list[ReportReceived], list[RecordError]]:
    """The reports of VRDR documents and submissions, as `ingest.read_report_file` gives them.

    Updates and voids change reports already on file, so they are problems here: they are
    taken by `ingest_vrdr_file`.
    """
    bundles, errors = read_vrdr(path)
    reports: list[ReportReceived] = []
    seen: set[str] = set()
    for b in bundles:
        if b.message_kind in ("update", "void"):
            errors.append(
                RecordError(
                    f"a {b.message_kind} message changes a report on file; ingest the file",
                    file=_display_name(Path(path), None),
                    record_id=b.record_id,
                )
            )
            continue
        try:
            r = to_report(b, source_kind=source_kind, source_id=source_id)
        except RecordError as exc:
            errors.append(exc.in_file(_display_name(Path(path), None)))
            continue
        if r.report_key in seen:
            continue  # the same record sent twice: one report
        seen.add(r.report_key)
        reports.append(r)
    return reports, errors


def _amended(report: ReportReceived) -> ReportAmended:
    return ReportAmended(
        report_key=report.report_key,
        message_id=str(report.extra.get("message_id", "")),
        **{f: getattr(report, f) for f in _FIELDS},
        extra=report.extra,
    )


# ── decisions (pure: state in, events out) ────────────────────────────────────────────────
def _backing(
    key: str,
    person_id: int,
    person: PersonState,
    others: Mapping[str, ReportState],
) -> tuple[bool, bool]:
    """(does anything but report `key` back the person's death, is any of that verified?)

    A report backs a death while it is linked to that person; a DMF record taken over
    always backs it (and keeps its own proof).
    """
    death = person.death
    assert death is not None
    rest = [
        others[k]
        for k in death.report_keys
        if k != key
        and k in others
        and others[k].status == "linked"
        and others[k].person_id == person_id
    ]
    dmf = "dmf" in death.sources
    verified = dmf or any(r.fields.get("source_kind") == "state" for r in rest)
    return bool(rest) or dmf, verified


def _withdraw(
    key: str,
    person_id: int,
    person: PersonState | None,
    others: Mapping[str, ReportState],
    reason: str,
) -> list[Event]:
    """Report `key` no longer backs person's death: retract it, or drop its proof to P."""
    if person is None or person.death is None or person.death.status != "current":
        return []
    death = person.death
    if key not in death.report_keys:
        return []
    backed, verified = _backing(key, person_id, person, others)
    if not backed:
        return [
            DeathRetracted(
                person_id=person_id,
                reason=reason,
                evidence=[key],
                decided_by="source",
                report_keys=[key],
            )
        ]
    if death.proof == "V" and not verified:
        return [
            DeathUpdated(
                person_id=person_id,
                dod=death.dod,
                proof="P",
                reason=f"{reason}; no verified report left",
            )
        ]
    return []


def decide_void(
    report: ReportState,
    message_id: str,
    person: PersonState | None,
    others: Mapping[str, ReportState],
) -> list[Event]:
    """A void: the report is withdrawn, and a death it alone backed is retracted."""
    events: list[Event] = [
        ReportVoided(report_key=report.report_key, message_id=message_id, reason=_VOID_REASON)
    ]
    if report.status == "linked" and report.person_id is not None:
        events.extend(_withdraw(report.report_key, report.person_id, person, others, _VOID_REASON))
    return events


def decide_amendment(
    old: ReportState,
    new: ReportReceived,
    link: LinkResult,
    findings: list[Finding],
    old_person: PersonState | None,
    new_person: PersonState | None,
    others: Mapping[str, ReportState],
) -> list[Event]:
    """An update: the report's new fields, then the death follows the new link and date.

    Same person and a new date: the death's date follows (a state record's date wins). Another
    person (or no longer linkable): the old death is withdrawn as for a void, and the report
    is decided afresh for the new person like a new report.
    """
    events: list[Event] = [_amended(new)]
    key = new.report_key
    old_pid = old.person_id if old.status == "linked" else None
    holds = [f for f in findings if f.hold]
    new_pid = link.person_id if link.outcome == "linked" and not holds else None
    if old_pid is not None and old_pid == new_pid:
        death = old_person.death if old_person is not None else None
        if (
            old_person is not None
            and death is not None
            and death.status == "current"
            and key in death.report_keys
            and new.dod != death.dod
            # a state record's date wins; another source's only when it alone backs the death
            and (new.source_kind == "state" or not _backing(key, old_pid, old_person, others)[0])
        ):
            events.append(
                DeathUpdated(
                    person_id=old_pid,
                    dod=new.dod,
                    proof=death.proof,
                    reason=_DATE_REASON,
                    report_key=key,
                )
            )
        return events
    if old_pid is not None:
        events.extend(_withdraw(key, old_pid, old_person, others, _MOVED_REASON))
    events.extend(decide_report(new, link, new_person, findings))
    return events


def _same(state: ReportState, report: ReportReceived) -> bool:
    return all(state.fields.get(f, "") == getattr(report, f) for f in _FIELDS)


# ── the ingest ────────────────────────────────────────────────────────────────────────────
@dataclass
class _Plan:
    """One bundle's place in the batch: what it is and the report it stands for."""

    vrdr: VrdrReport
    key: str
    report: ReportReceived | None  # None for a void
    duplicate: bool = False
    link: LinkResult | None = None


class _States:
    """Report and person states for one batch: loaded once, evolved as events are decided."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reports: dict[str, ReportState] = {}
        self.people: dict[int, PersonState] = {}
        self._loaded_keys: set[str] = set()

    def load_reports(self, keys: Iterable[str]) -> None:
        missing = sorted({k for k in keys if k not in self._loaded_keys})
        if missing:
            self.reports.update(
                {
                    k: v
                    for k, v in load_reports(self.store, missing).items()
                    if k not in self.reports
                }
            )
            self._loaded_keys.update(missing)

    def load_people(self, ids: Iterable[int | None]) -> None:
        """Load these people at once (one query per batch, not one per report)."""
        missing = sorted({i for i in ids if i is not None and i not in self.people})
        if missing:
            self.people.update(load_people(self.store, missing))
            for pid in missing:
                self.people.setdefault(pid, PersonState(pid))

    def person(self, pid: int | None) -> PersonState | None:
        if pid is None:
            return None
        if pid not in self.people:
            self.people.update(load_people(self.store, [pid]))
            self.people.setdefault(pid, PersonState(pid))
        return self.people[pid]

    def others_of(self, person: PersonState | None) -> Mapping[str, ReportState]:
        if person is None or person.death is None:
            return {}
        self.load_reports(person.death.report_keys)
        return self.reports

    def apply(self, events: Sequence[Event]) -> None:
        for e in events:
            key = getattr(e, "report_key", None)
            if e.type.startswith(("report.", "link.")) and isinstance(key, str):
                evolve_report(self.reports.setdefault(key, ReportState(key)), 0, e)
            if e.type.startswith("death."):
                pid = int(getattr(e, "person_id"))  # noqa: B009
                person = self.person(pid)
                assert person is not None
                evolve_person(person, 0, e)


def _link_in_waves(
    linker: Linker, store: Store, reports: Sequence[ReportReceived]
) -> list[LinkResult]:
    """Link every report; the same key twice (a submission and its update) goes in two calls."""
    results: list[LinkResult | None] = [None] * len(reports)
    waves: list[list[int]] = []
    seen: dict[str, int] = {}
    for i, r in enumerate(reports):
        n = seen.get(r.report_key, 0)
        seen[r.report_key] = n + 1
        if n == len(waves):
            waves.append([])
        waves[n].append(i)
    for wave in waves:
        found = linker.link(store, [reports[i] for i in wave])
        by_key = {lr.report_key: lr for lr in found}
        for i in wave:
            results[i] = by_key[reports[i].report_key]
    return [r for r in results if r is not None]


def ingest_vrdr(
    store: Store,
    bundles: Sequence[VrdrReport],
    *,
    source_kind: str = "state",
    source_id: str = "",
    linker: Linker | None = None,
    today: date | None = None,
    note: str = "",
    extra_events: Sequence[Event] = (),
    commit_size: int = 100_000,
) -> VrdrIngestResult:
    """Decide what every bundle does to the file, in order, and append it all at once.

    A message id already taken in, or a document or unchanged submission for a record on
    file, changes nothing (counted as a duplicate).
    """
    if source_kind not in SOURCE_KINDS:
        raise UsageError(f"unknown source kind; use one of {', '.join(SOURCE_KINDS)}")
    linker = linker or RuleLinker()
    today = today or date.today()
    result = VrdrIngestResult(bundles=len(bundles))
    with store.transaction():
        seen_mids = _seen_messages(store, [b.message_id for b in bundles if b.message_id])
        plans: list[_Plan] = []
        for b in bundles:
            if b.message_id and b.message_id in seen_mids:
                plans.append(_Plan(b, report_key(b, source_id), None, duplicate=True))
                continue
            if b.message_id:
                seen_mids.add(b.message_id)
            report = (
                None
                if b.message_kind == "void"
                else to_report(b, source_kind=source_kind, source_id=source_id)
            )
            plans.append(_Plan(b, report_key(b, source_id), report))
        states = _States(store)
        states.load_reports(p.key for p in plans)
        # documents of records on file are duplicates: no need to link them
        to_link = [
            i
            for i, p in enumerate(plans)
            if p.report is not None
            and not p.duplicate
            and not (p.vrdr.message_kind == "document" and p.key in states.reports)
        ]
        inputs = [r for i in to_link if (r := plans[i].report) is not None]
        found = _link_in_waves(linker, store, inputs)
        for i, lr in zip(to_link, found, strict=True):
            plans[i].link = lr
        states.load_people(
            [lr.person_id for lr in found]
            + [r.person_id for r in states.reports.values() if r.status == "linked"]
        )
        events: list[Event] = list(extra_events)
        for plan in plans:
            decided = _decide_one(plan, states, today, result)
            states.apply(decided)
            events.extend(decided)
        for lo in range(0, len(events), commit_size):
            info = store.append(events[lo : lo + commit_size], note=note)
            if info is not None:
                result.commits.append(info.commit_no)
    return result


def _decide_one(
    plan: _Plan,
    states: _States,
    today: date,
    result: VrdrIngestResult,
) -> list[Event]:
    if plan.duplicate:
        result.duplicates += 1
        return []
    key, b, report = plan.key, plan.vrdr, plan.report
    old = states.reports.get(key)
    if b.message_kind == "void":
        if old is None:
            result.void_unknown += 1
            return []
        if old.status == "voided":
            result.duplicates += 1
            return []
        person = states.person(old.person_id if old.status == "linked" else None)
        decided = decide_void(old, b.message_id, person, states.others_of(person))
        result.voided += 1
        _count_changes(result, decided[1:])
        return decided
    assert report is not None
    if old is None:
        link = plan.link
        assert link is not None
        person = states.person(link.person_id)
        decided = decide_report(report, link, person, screen(report, today))
        result.received += 1
        for e in decided:
            _count(result, e)
        return [report, *decided]
    if b.message_kind == "document" or (
        b.message_kind == "submission" and old.status != "voided" and _same(old, report)
    ):
        result.duplicates += 1
        return []
    link = plan.link
    assert link is not None
    old_person = states.person(old.person_id if old.status == "linked" else None)
    new_person = states.person(link.person_id)
    others = states.others_of(old_person)
    decided = decide_amendment(
        old, report, link, screen(report, today), old_person, new_person, others
    )
    result.amended += 1
    _count_changes(result, decided[1:])
    return decided


def _count_changes(result: VrdrIngestResult, events: Sequence[Event]) -> None:
    for e in events:
        if isinstance(e, DeathRetracted):
            result.deaths_retracted += 1
        elif isinstance(e, DeathUpdated) and e.reason.startswith(_OWN_REASONS):
            result.deaths_updated += 1
        else:
            _count(result, e)


# ── replies to the state ──────────────────────────────────────────────────────────────────
def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text)[:120] or "message"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _refused_message(
    root: Path, error: RecordError, texts: dict[Path, str | None]
) -> dict[str, Any] | None:
    """The raw bundle a refusal came from, when it is JSON with a MessageHeader id."""
    file = error.context.get("file")
    if not isinstance(file, str):
        return None
    path = root / Path(file).name if root.is_dir() else root
    if path not in texts:
        try:
            texts[path] = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            texts[path] = None
    text = texts[path]
    if text is None:
        return None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        lines = text.splitlines()
        line = error.line or 0
        if not 1 <= line <= len(lines):
            return None
        try:
            data = json.loads(lines[line - 1])
        except json.JSONDecodeError:
            return None
    if not isinstance(data, dict):
        return None
    for entry in data.get("entry") or ():
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "MessageHeader":
            mid = res.get("id")
            return data if isinstance(mid, str) and mid else None
    return None


def write_replies(
    out_dir: Path,
    bundles: Sequence[VrdrReport],
    refused: Sequence[RecordError],
    *,
    root: Path | None = None,
    timestamp: str | None = None,
) -> tuple[int, int, int]:
    """One acknowledgement per message taken in, one extraction error per refused message.

    Files are `<message id>.ack.json` and `<message id>.error.json` in `out_dir`, written
    whole (a temporary name, then renamed). Returns (acks, errors, refusals left unanswered
    because no message id could be read).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    acks = errs = unanswered = 0
    for b in bundles:
        if not b.message_id:
            continue  # a plain document is not a message: nothing to answer
        reply = acknowledgement(b, timestamp=timestamp)
        _write_json(out_dir / f"{_safe(b.message_id)}.ack.json", reply)
        acks += 1
    texts: dict[Path, str | None] = {}
    for error in refused:
        raw = _refused_message(root, error, texts) if root is not None else None
        if raw is None:
            unanswered += 1
            continue
        try:
            reply = extraction_error(raw, error.message, timestamp=timestamp)
        except RecordError:
            unanswered += 1
            continue
        mid = reply["entry"][0]["resource"]["response"]["identifier"]
        _write_json(out_dir / f"{_safe(mid)}.error.json", reply)
        errs += 1
    return acks, errs, unanswered


def _write_rejects(path: Path, problems: Iterable[RecordError]) -> None:
    """One line per refused bundle: file, line, field, why (never the bundle's values)."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("file,line,field,reason\n")
        for p in problems:
            fh.write(
                f"{p.context.get('file', '')},{p.line or ''},{p.field or ''},"
                f"{p.message.replace(',', ';')}\n"
            )


def ingest_vrdr_file(
    store: Store,
    path: Path,
    *,
    source_kind: str = "state",
    source_id: str = "",
    quarantine: bool = False,
    rejects_path: Path | None = None,
    ack_dir: Path | None = None,
    linker: Linker | None = None,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> VrdrIngestResult:
    """Read a VRDR file, folder or NDJSON and take it in; refuse it whole on a bad bundle.

    With `quarantine` the good bundles are taken in, the refusals recorded (`ingest.rejected`)
    and listed in a rejects file. With `ack_dir`, once the append has succeeded, every
    message gets its acknowledgement and every refused message its extraction error.
    """
    path = Path(path)
    if source_kind not in SOURCE_KINDS:
        raise UsageError(f"unknown source kind; use one of {', '.join(SOURCE_KINDS)}")
    bundles, errors = read_vrdr(path, progress=progress)
    if errors and not quarantine:
        raise FileRejected(errors, file=path.name)
    extra: list[Event] = []
    if errors:
        extra.append(
            IngestRejected(
                file=path.name,
                source_id=source_id,
                problems=[
                    {
                        "file": e.context.get("file"),
                        "line": e.line,
                        "field": e.field,
                        "reason": e.message,
                    }
                    for e in errors
                ],
            )
        )
        _write_rejects(rejects_path or path.with_name(path.name + ".rejects.csv"), errors)
    result = ingest_vrdr(
        store,
        bundles,
        source_kind=source_kind,
        source_id=source_id,
        linker=linker,
        today=today,
        note=f"ingest {path.name} (VRDR)",
        extra_events=extra,
    )
    result.rejected = len(errors)
    result.bundles = len(bundles) + len(errors)
    if ack_dir is not None:
        result.acks, result.extraction_errors, result.unanswered = write_replies(
            ack_dir, bundles, errors, root=path
        )
    return result
