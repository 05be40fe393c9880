"""Taking in state death records sent as HL7 FHIR VRDR: every message of the NVSS guide.

Each message read becomes, in order: a `ReportReceived` (a record not seen before), a
`ReportAmended` (an update, or a document or submission that changes a record on file: a new
date of death is an amendment, never a duplicate), `ReportVoided` (a void: every
certificate of its block), `ReportAliasAdded` (an alias: never a new death),
`VrdrMessageRecorded` (an acknowledgement, extraction error, coding response or status,
matched to what it answers), or nothing (a message or record already taken in). The deaths
follow through pure decisions; the verification level is `post`'s alone (`decide_report`,
`decide_withdrawal`). With replies on, each message taken or refused gets exactly one reply
(`VrdrReplyQueued`, in the same commit), addressed to the sender's `source.endpoint`;
answers are never answered, and an outbox is written only after the commit.
Owns the VRDR ingest path only; the format is `sources.vrdr`, the rules are `screen`/`post`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from vitalfile import ssn as ssn_rules
from vitalfile.dates import iso_now
from vitalfile.errors import FileRejected, RecordError, UsageError
from vitalfile.events import (
    REPORT_FIELDS,
    SOURCE_KINDS,
    DeathRetracted,
    DeathUpdated,
    DmfRecordLoaded,
    Event,
    IngestRejected,
    ReportAliasAdded,
    ReportAmended,
    ReportReceived,
    ReportVoided,
    VrdrMessageRecorded,
    VrdrReplyQueued,
)
from vitalfile.intake.pipeline import Intake, intake_for
from vitalfile.intake.post import backing, decide_report, decide_withdrawal
from vitalfile.intake.reports import IngestResult, _count
from vitalfile.intake.screen import Finding, screen
from vitalfile.ledger.store import Store, Tx, utc_now_text
from vitalfile.ledger.table import Table
from vitalfile.link.base import Linker, LinkResult
from vitalfile.master.projection import (
    PersonState,
    ReportState,
    evolve_person,
    evolve_report,
    load_people,
    load_reports,
)
from vitalfile.sources.vrdr import (
    EVENT_ACKNOWLEDGEMENT,
    VrdrReport,
    acknowledgement,
    extraction_error,
    format_record_id,
    iter_bundles,
)
from vitalfile.sources.vrdr_common import ANSWER_KINDS, CODING_KINDS

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

_FIELDS = REPORT_FIELDS
_VOID_REASON = "the state voided its death record"
_MOVED_REASON = "the source's amended record is about another person"
_DATE_REASON = "date of death amended by the source's record"
_OWN_REASONS = (_VOID_REASON, _MOVED_REASON, _DATE_REASON)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Outcome:
    """What became of one message of a batch, and the reply it got (None: not answered)."""

    message_id: str
    kind: str
    result: str  # taken | duplicate | recorded | refused | document
    reason: str = ""
    reply: dict[str, Any] | None = None
    line: int | None = None


@dataclass
class VrdrIngestResult(IngestResult):
    """`IngestResult` and what only state records do: amendments, voids, replies."""

    bundles: int = 0  # bundles read, refused ones included
    amended: int = 0
    voided: int = 0
    void_unknown: int = 0  # voids of records not on file (answered, nothing to do)
    aliases: int = 0
    answers: int = 0  # acknowledgements, extraction errors, coding responses, status recorded
    deaths_retracted: int = 0
    deaths_updated: int = 0  # date or proof changed by an amendment or a void
    acks: int = 0
    extraction_errors: int = 0
    unanswered: int = 0  # refused bundles with no message id to answer
    outcomes: list[Outcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "outcomes"}


# ── message ids taken in (idempotency by message id), replies queued ──────────────────────
MESSAGES = Table(
    "vrdr_messages", "message_id VARCHAR", "report_key VARCHAR", "kind VARCHAR", "seq BIGINT"
)
REPLIES = Table(
    "vrdr_replies",
    "seq BIGINT",
    "reply_id VARCHAR",
    "in_reply_to VARCHAR",
    "kind VARCHAR",
    "jurisdiction VARCHAR",
    "record_id VARCHAR",
    "cert_no VARCHAR",
    "death_year INTEGER",
    "queued_at VARCHAR",
    "bundle VARCHAR",
)


class MessagesProjection:
    """Every VRDR message id taken in (with its report), and every reply queued for a state.

    A resent message changes nothing and gets the reply it got the first time."""

    name = "vrdr_messages"

    def ddl(self) -> list[str]:
        return [MESSAGES.ddl, REPLIES.ddl]

    def tables(self) -> list[str]:
        return [MESSAGES.name, REPLIES.name]

    def handles(self, event_type: str) -> bool:
        return event_type in _MESSAGE_EVENTS

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        rows: list[tuple[str, str, str, int]] = []
        replies: list[VrdrReplyQueued] = []
        reply_seqs: list[int] = []
        for seq, e in events:
            if isinstance(e, ReportReceived):
                mid = e.extra.get("message_id")
                if isinstance(mid, str) and mid:
                    rows.append((mid, e.report_key, "received", seq))
            elif isinstance(e, ReportAmended) and e.message_id:
                rows.append((e.message_id, e.report_key, "amended", seq))
            elif isinstance(e, ReportVoided) and e.message_id:
                rows.append((e.message_id, e.report_key, "voided", seq))
            elif isinstance(e, ReportAliasAdded):
                rows.append((e.message_id, e.report_key, "alias", seq))
            elif isinstance(e, VrdrMessageRecorded):
                rows.append((e.message_id, e.report_key, e.kind, seq))
            elif isinstance(e, VrdrReplyQueued):
                replies.append(e)
                reply_seqs.append(seq)
        if rows:
            tx.insert_arrow(MESSAGES.name, MESSAGES.from_rows(rows))
        if replies:
            rows_out = [
                (seq, r.reply_id, r.in_reply_to, r.kind, r.jurisdiction, r.record_id,
                 r.cert_no, r.death_year, r.at, json.dumps(r.bundle, separators=(",", ":")))
                for seq, r in zip(reply_seqs, replies, strict=True)
            ]  # fmt: skip
            tx.insert_arrow(REPLIES.name, REPLIES.from_rows(rows_out))


_MESSAGE_EVENTS = frozenset(
    {
        ReportReceived.type,
        ReportAmended.type,
        ReportVoided.type,
        ReportAliasAdded.type,
        VrdrMessageRecorded.type,
        VrdrReplyQueued.type,
    }
)


def _seen_messages(store: Store, ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
    """Message ids already taken in, with the acknowledgement each got (None: none kept)."""
    if not ids:
        return {}
    wanted = sorted(set(ids))
    reader = store.reader()
    seen: dict[str, dict[str, Any] | None] = {
        str(r[0]): None
        for r in reader.select_in("vrdr_messages", ("message_id",), "message_id", wanted)
    }
    for mid, kind, bundle in reader.select_in(
        "vrdr_replies", ("in_reply_to", "kind", "bundle"), "in_reply_to", wanted
    ):
        if kind == "acknowledgement":
            seen[str(mid)] = json.loads(str(bundle))
    return seen


def _known_ids(store: Store, ids: Sequence[str]) -> dict[str, str]:
    """Which answered ids are replies we sent ("reply") or messages we took ("message")."""
    if not ids:
        return {}
    wanted = sorted(set(ids))
    reader = store.reader()
    found = {
        str(r[0]): "message"
        for r in reader.select_in("vrdr_messages", ("message_id",), "message_id", wanted)
    }
    for (rid,) in reader.select_in("vrdr_replies", ("reply_id",), "reply_id", wanted):
        found[str(rid)] = "reply"
    return found


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

    Other messages (updates, voids, aliases, answers) change or concern reports already on
    file, so they are problems here: they are taken by `ingest_vrdr_file`.
    """
    bundles, errors = read_vrdr(path)
    reports: list[ReportReceived] = []
    seen: set[str] = set()
    for b in bundles:
        if b.message_kind not in ("document", "submission"):
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
def decide_void(
    report: ReportState,
    message_id: str,
    person: PersonState | None,
    others: Mapping[str, ReportState],
    *,
    dmf_proof: str = "",
) -> list[Event]:
    """A void: the report is withdrawn, and its death follows (`post.decide_withdrawal`)."""
    events: list[Event] = [
        ReportVoided(report_key=report.report_key, message_id=message_id, reason=_VOID_REASON)
    ]
    if report.status == "linked" and report.person_id is not None:
        events.extend(
            decide_withdrawal(
                report.report_key,
                report.person_id,
                person,
                others,
                _VOID_REASON,
                dmf_proof=dmf_proof,
            )
        )
    return events


def decide_amendment(
    old: ReportState,
    new: ReportReceived,
    link: LinkResult,
    findings: list[Finding],
    old_person: PersonState | None,
    new_person: PersonState | None,
    others: Mapping[str, ReportState],
    *,
    dmf_proof: str = "",
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
            and (new.source_kind == "state" or not backing(key, old_pid, old_person, others)[0])
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
        events.extend(
            decide_withdrawal(key, old_pid, old_person, others, _MOVED_REASON, dmf_proof=dmf_proof)
        )
    events.extend(decide_report(new, link, new_person, findings))
    return events


def _same(state: ReportState, report: ReportReceived) -> bool:
    return all(state.fields.get(f, "") == getattr(report, f) for f in _FIELDS)


# ── the ingest ────────────────────────────────────────────────────────────────────────────
@dataclass
class Refused:
    """A message that could not be read: the error, and the bundle when it was JSON."""

    error: RecordError
    raw: dict[str, Any] | None = None


@dataclass
class _Plan:
    """One message's place in the batch: what it is and the report it stands for."""

    vrdr: VrdrReport | None  # None: refused when read
    key: str
    report: ReportReceived | None  # a document, submission or update
    duplicate: bool = False
    link: LinkResult | None = None
    refused: str = ""  # why the message is refused ("" when it is not)
    raw: dict[str, Any] | None = None
    line: int | None = None
    keys: tuple[str, ...] = ()  # a void: every certificate of its block


class _States:
    """Report and person states for one batch: loaded once, evolved as events are decided."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reports: dict[str, ReportState] = {}
        self.people: dict[int, PersonState] = {}
        self._loaded_keys: set[str] = set()
        self._dmf: dict[int, str] = {}

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

    def dmf_proof(self, person: PersonState | None) -> str:
        """The proof the person's DMF record itself had ("" when none was taken over)."""
        if person is None or person.death is None or "dmf" not in person.death.sources:
            return ""
        pid = person.person_id
        if pid not in self._dmf:
            proof = ""
            for stored in self.store.iter_events(subject=pid, types=[DmfRecordLoaded.type]):
                if isinstance(stored.event, DmfRecordLoaded):
                    proof = stored.event.proof
            self._dmf[pid] = proof
        return self._dmf[pid]

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
    linker: Intake, store: Store, reports: Sequence[ReportReceived]
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


def _plan(
    item: VrdrReport | Refused,
    *,
    source_kind: str,
    source_id: str,
    jurisdiction: str | None,
    seen: dict[str, dict[str, Any] | None],
    batch_ids: set[str],
) -> _Plan:
    if isinstance(item, Refused):
        return _Plan(None, "", None, refused=item.error.message, raw=item.raw, line=item.error.line)
    b = item
    key = report_key(b, source_id) if b.record_id else ""
    if b.message_id and (b.message_id in seen or b.message_id in batch_ids):
        return _Plan(b, key, None, duplicate=True)
    if b.message_id:
        batch_ids.add(b.message_id)
    if jurisdiction is not None and b.jurisdiction and b.jurisdiction != jurisdiction:
        return _Plan(b, key, None, refused="the record's jurisdiction is not the sender's")
    if b.message_kind == "void":
        first = int(b.cert_no)
        keys = tuple(
            report_key(
                replace(b, record_id=format_record_id(b.death_year, b.jurisdiction, f"{c:06d}")),
                source_id,
            )
            for c in range(first, first + b.block_count)
        )
        return _Plan(b, key, None, keys=keys)
    if b.message_kind in ("document", "submission", "update"):
        try:
            report = to_report(b, source_kind=source_kind, source_id=source_id)
        except RecordError as exc:
            return _Plan(b, key, None, refused=exc.message)
        return _Plan(b, key, report)
    return _Plan(b, key, None)  # alias, answers, coding responses, status


def ingest_vrdr(
    store: Store,
    bundles: Sequence[VrdrReport | Refused],
    *,
    source_kind: str = "state",
    source_id: str = "",
    linker: Linker | Intake | str | None = None,
    today: date | None = None,
    note: str = "",
    extra_events: Sequence[Event] = (),
    commit_size: int = 100_000,
    replies: bool = False,
    jurisdiction: str | None = None,
    requeue: bool = False,
) -> VrdrIngestResult:
    """Decide what every message does to the file, in order, and append it all at once.

    A message id already taken in, or a document or submission unchanged from the record on
    file, changes nothing (a duplicate). With `replies`, every message taken or refused gets
    one reply (an acknowledgement or an extraction error) kept in the ledger in the same
    commit; acknowledgements and extraction errors received are recorded, never answered; a
    resent message gets the reply it got the first time. `jurisdiction` (the sender's, when
    the door knows it) refuses a record of another jurisdiction and names the queue the
    replies go to. With `requeue` (a door the state polls), a resent message's first reply is
    queued again (the same reply, sent again) so a state that lost it finds it.
    """
    if source_kind not in SOURCE_KINDS:
        raise UsageError(f"unknown source kind; use one of {', '.join(SOURCE_KINDS)}")
    intake = intake_for(linker)  # the one pipeline: the engine proposes, the holds stage
    today = today or date.today()
    result = VrdrIngestResult(bundles=len(bundles))
    with store.transaction():
        mids = [b.message_id for b in bundles if isinstance(b, VrdrReport) and b.message_id]
        seen = _seen_messages(store, mids)
        batch_ids: set[str] = set()
        plans = [
            _plan(
                b,
                source_kind=source_kind,
                source_id=source_id,
                jurisdiction=jurisdiction,
                seen=seen,
                batch_ids=batch_ids,
            )
            for b in bundles
        ]
        answered = _known_ids(
            store,
            [
                p.vrdr.response_to
                for p in plans
                if p.vrdr is not None and p.vrdr.response_to and not p.duplicate
            ],
        )
        states = _States(store)
        states.load_reports(
            k
            for p in plans
            if not p.duplicate and not p.refused
            for k in (p.keys or ((p.key,) if p.key else ()))
        )
        # documents and submissions unchanged from the record on file: no need to link them
        to_link = [
            i
            for i, p in enumerate(plans)
            if p.report is not None
            and not p.duplicate
            and not p.refused
            and not _unchanged(p, states.reports.get(p.key))
        ]
        inputs = [r for i in to_link if (r := plans[i].report) is not None]
        found = _link_in_waves(intake, store, inputs)
        for i, lr in zip(to_link, found, strict=True):
            plans[i].link = lr
        states.load_people(
            [lr.person_id for lr in found]
            + [r.person_id for r in states.reports.values() if r.status == "linked"]
        )
        events: list[Event] = list(extra_events)
        at = utc_now_text()
        made: dict[str, dict[str, Any]] = {}  # this batch's acknowledgements, by message id
        for plan in plans:
            decided, outcome = _decide_one(plan, states, today, result, answered, source_id)
            if plan.vrdr is None or plan.vrdr.message_kind != "void":
                states.apply(decided)  # a void's certificates were applied one by one
            events.extend(decided)
            if replies:
                queue = source_id or jurisdiction or ""
                reply = _reply(plan, outcome, seen, made, at, queue, result, requeue=requeue)
                if reply is not None:
                    events.append(reply)
            result.outcomes.append(outcome)
        for lo in range(0, len(events), commit_size):
            info = store.append(events[lo : lo + commit_size], note=note)
            if info is not None:
                result.commits.append(info.commit_no)
    return result


def _unchanged(plan: _Plan, old: ReportState | None) -> bool:
    return (
        old is not None
        and plan.report is not None
        and plan.vrdr is not None
        and plan.vrdr.message_kind in ("document", "submission")
        and old.status != "voided"
        and _same(old, plan.report)
    )


def _decide_one(
    plan: _Plan,
    states: _States,
    today: date,
    result: VrdrIngestResult,
    answered: Mapping[str, str],
    source_id: str,
) -> tuple[list[Event], Outcome]:
    b = plan.vrdr
    mid = b.message_id if b is not None else _raw_message_id(plan.raw)
    kind = b.message_kind if b is not None else ""
    if plan.refused:
        result.rejected += 1
        return [], Outcome(mid, kind, "refused", plan.refused, line=plan.line)
    assert b is not None
    if plan.duplicate:
        result.duplicates += 1
        return [], Outcome(mid, kind, "duplicate")
    key, report = plan.key, plan.report
    if kind == "void":
        return _decide_block_void(plan, states, result)
    if kind in ANSWER_KINDS or kind in CODING_KINDS or kind == "status":
        on_file = key if key and key in states.reports else ""
        result.answers += 1
        event = VrdrMessageRecorded(
            message_id=mid,
            kind=kind,
            source_id=source_id or b.jurisdiction,
            record_id=b.record_id,
            report_key=on_file,
            answers=b.response_to,
            answers_found=answered.get(b.response_to, ""),
            code=b.response_code,
            status=b.status,
        )
        return [event], Outcome(mid, kind, "recorded")
    old = states.reports.get(key)
    if kind == "alias":
        if old is None or old.status == "voided":
            result.rejected += 1
            return [], Outcome(mid, kind, "refused", "an alias of a record not on file")
        result.aliases += 1
        return [_alias(key, b)], Outcome(mid, kind, "taken")
    assert report is not None
    if old is None:
        link = plan.link
        assert link is not None
        person = states.person(link.person_id)
        decided = decide_report(report, link, person, screen(report, today), at=iso_now())
        result.received += 1
        for e in decided:
            _count(result, e)
        return [report, *decided], Outcome(mid, kind, "taken" if mid else "document")
    if _unchanged(plan, old):
        result.duplicates += 1
        return [], Outcome(mid, kind, "duplicate")
    link = plan.link
    assert link is not None
    old_person = states.person(old.person_id if old.status == "linked" else None)
    new_person = states.person(link.person_id)
    others = states.others_of(old_person)
    decided = decide_amendment(
        old,
        report,
        link,
        screen(report, today),
        old_person,
        new_person,
        others,
        dmf_proof=states.dmf_proof(old_person),
    )
    result.amended += 1
    _count_changes(result, decided[1:])
    return decided, Outcome(mid, kind, "taken" if mid else "document")


def _decide_block_void(
    plan: _Plan, states: _States, result: VrdrIngestResult
) -> tuple[list[Event], Outcome]:
    """Void every certificate of the block; each death falls back as a single void's would."""
    b = plan.vrdr
    assert b is not None
    events: list[Event] = []
    voided: list[str] = []
    already: list[str] = []
    absent: list[str] = []
    for key in plan.keys:
        old = states.reports.get(key)
        record_id = key.rsplit("/", 1)[-1]
        if old is None:
            absent.append(record_id)
            continue
        if old.status == "voided":
            already.append(record_id)
            continue
        person = states.person(old.person_id if old.status == "linked" else None)
        decided = decide_void(
            old,
            b.message_id,
            person,
            states.others_of(person),
            dmf_proof=states.dmf_proof(person),
        )
        states.apply(decided)  # the next certificate sees this one's effect
        events.extend(decided)
        _count_changes(result, decided[1:])
        voided.append(record_id)
    result.voided += len(voided)
    if not voided and already:
        result.duplicates += 1
    elif not voided:
        result.void_unknown += 1
    note = _void_note(voided, already, absent)
    return events, Outcome(b.message_id, "void", "taken", note)


def _void_note(voided: Sequence[str], already: Sequence[str], absent: Sequence[str]) -> str:
    """What a void did, certificate by certificate (record ids only, no personal data)."""
    parts = []
    if voided:
        parts.append("voided " + ", ".join(voided))
    if already:
        parts.append("already void " + ", ".join(already))
    if absent:
        parts.append("not on file (nothing to void) " + ", ".join(absent))
    return "; ".join(parts)


def _alias(key: str, b: VrdrReport) -> ReportAliasAdded:
    given = dict(b.alias)
    ssn = ""
    raw_ssn = given.get("alias_social_security_number", "")
    if raw_ssn:
        try:
            ssn = ssn_rules.parse(raw_ssn)
        except RecordError:
            ssn = ""
    return ReportAliasAdded(
        report_key=key,
        message_id=b.message_id,
        first_name=given.get("alias_decedent_first_name", ""),
        middle_name=given.get("alias_decedent_middle_name", ""),
        last_name=given.get("alias_decedent_last_name", ""),
        suffix=given.get("alias_decedent_name_suffix", ""),
        father_surname=given.get("alias_father_surname", ""),
        ssn=ssn,
    )


def _count_changes(result: VrdrIngestResult, events: Sequence[Event]) -> None:
    for e in events:
        if isinstance(e, DeathRetracted):
            result.deaths_retracted += 1
        elif isinstance(e, DeathUpdated) and e.reason.startswith(_OWN_REASONS):
            result.deaths_updated += 1
        else:
            _count(result, e)


# ── replies to the state ──────────────────────────────────────────────────────────────────
def _raw_message_id(raw: dict[str, Any] | None) -> str:
    for entry in (raw or {}).get("entry") or ():
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "MessageHeader":
            mid = res.get("id")
            return mid if isinstance(mid, str) else ""
    return ""


def _reply(
    plan: _Plan,
    outcome: Outcome,
    seen: Mapping[str, dict[str, Any] | None],
    made: dict[str, dict[str, Any]],
    at: str,
    source_id: str,
    result: VrdrIngestResult,
    *,
    requeue: bool = False,
) -> VrdrReplyQueued | None:
    """The reply one message gets (an event to append), or None (see `outcome.reply`).

    Answers are never answered; a resent message gets its first reply again (a new event
    only with `requeue`: the same reply queued again).
    """
    b = plan.vrdr
    if outcome.result == "duplicate":
        outcome.reply = seen.get(outcome.message_id) or made.get(outcome.message_id)
        if not requeue or outcome.message_id not in seen or outcome.reply is None or b is None:
            return None  # twice in one batch: one reply
        first = outcome.reply
        head = first["entry"][0]["resource"]
        jur, cert, year, rid = _record_of(b, None)
        return VrdrReplyQueued(
            reply_id=str(head["id"]),
            in_reply_to=outcome.message_id,
            kind="acknowledgement",
            jurisdiction=source_id or jur,
            destination=str(head["destination"][0]["endpoint"]),
            record_id=rid,
            cert_no=cert,
            death_year=year,
            bundle=first,
            at=at,
        )
    if outcome.result in ("document", "recorded") and (
        b is None or b.message_kind in ANSWER_KINDS or not b.message_id
    ):
        return None  # a plain document is no message; an answer is never answered
    stamp = at.replace("Z", "+00:00")
    if outcome.result == "refused":
        basis: dict[str, Any] | VrdrReport | None = plan.raw if plan.raw is not None else b
        if basis is None or not outcome.message_id:
            result.unanswered += 1
            return None
        try:
            bundle = extraction_error(basis, outcome.reason, timestamp=stamp)
        except RecordError:
            result.unanswered += 1
            return None
        kind = "extraction_error"
        result.extraction_errors += 1
    else:
        assert b is not None
        bundle = acknowledgement(
            b, timestamp=stamp, note=outcome.reason if b.message_kind == "void" else ""
        )
        kind = "acknowledgement"
        made[b.message_id] = bundle
        result.acks += 1
    outcome.reply = bundle
    header = bundle["entry"][0]["resource"]
    jur, cert, year, rid = _record_of(b, plan.raw)
    return VrdrReplyQueued(
        reply_id=str(header["id"]),
        in_reply_to=outcome.message_id,
        kind=kind,
        jurisdiction=source_id or jur,
        destination=str(header["destination"][0]["endpoint"]),
        record_id=rid,
        cert_no=cert,
        death_year=year,
        bundle=bundle,
        at=at,
    )


def _record_of(b: VrdrReport | None, raw: dict[str, Any] | None) -> tuple[str, str, int, str]:
    """(jurisdiction, cert no, year, record id) of a message, as far as it can be read."""
    if b is not None and b.record_id:
        return b.jurisdiction, b.cert_no, b.death_year, b.record_id
    params: dict[str, Any] = {}
    for entry in (raw or {}).get("entry") or ():
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "Parameters":
            for prm in res.get("parameter") or ():
                if isinstance(prm, dict) and isinstance(prm.get("name"), str):
                    for k, v in prm.items():
                        if k.startswith("value"):
                            params[prm["name"]] = v
            break
    jur = params.get("jurisdiction_id")
    jur = jur.strip().upper()[:2] if isinstance(jur, str) else ""
    cert = params.get("cert_no")
    cert_text = f"{cert:06d}" if isinstance(cert, int) and 0 <= cert <= 999_999 else ""
    year = params.get("event_year", params.get("death_year"))
    year_n = year if isinstance(year, int) and 0 <= year <= 9999 else 0
    return jur, cert_text, year_n, ""


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
    return data if _raw_message_id(data) else None


def write_replies(out_dir: Path, outcomes: Sequence[Outcome]) -> None:
    """Write each reply of `outcomes` to `out_dir`: `<message id>.ack.json` or `.error.json`.

    Files are written whole (a temporary name, then renamed), after the commit.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for o in outcomes:
        if o.reply is None:
            continue
        header = o.reply["entry"][0]["resource"]
        suffix = "ack" if header.get("eventUri") == EVENT_ACKNOWLEDGEMENT else "error"
        _write_json(out_dir / f"{_safe(o.message_id)}.{suffix}.json", o.reply)


def _write_rejects(path: Path, problems: Iterable[RecordError]) -> None:
    """One line per refused bundle: file, line, field, why (never the bundle's values)."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("file,line,field,reason\n")
        for p in problems:
            fh.write(
                f"{p.context.get('file', '')},{p.line or ''},{p.field or ''},"
                f"{p.message.replace(',', ';')}\n"
            )


_REFUSED_WITH_FILE = "not taken: the file was refused whole (another message in it was refused)"


def ingest_vrdr_file(
    store: Store,
    path: Path,
    *,
    source_kind: str = "state",
    source_id: str = "",
    quarantine: bool = False,
    rejects_path: Path | None = None,
    ack_dir: Path | None = None,
    linker: Linker | Intake | str | None = None,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> VrdrIngestResult:
    """Read a VRDR file, folder or NDJSON and take it in; refuse it whole on a bad bundle.

    With `quarantine` the good bundles are taken in, the refusals recorded (`ingest.rejected`)
    and listed in a rejects file. With `ack_dir` (an outbox), every message taken or refused
    gets one reply, kept in the ledger and written there once the commit succeeded, quarantine
    or not: refused whole, each message gets an extraction error (its own problem, or that its
    file was refused) and nothing else is taken in.
    """
    path = Path(path)
    if source_kind not in SOURCE_KINDS:
        raise UsageError(f"unknown source kind; use one of {', '.join(SOURCE_KINDS)}")
    bundles, errors = read_vrdr(path, progress=progress)
    texts: dict[Path, str | None] = {}
    refused = [Refused(e, _refused_message(path, e, texts)) for e in errors]
    if errors and not quarantine:
        if ack_dir is not None:
            _answer_refused_file(store, path, bundles, refused, source_id, ack_dir)
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
        [*bundles, *refused],
        source_kind=source_kind,
        source_id=source_id,
        linker=linker,
        today=today,
        note=f"ingest {path.name} (VRDR)",
        extra_events=extra,
        replies=ack_dir is not None,
    )
    result.rejected = len(errors)
    result.bundles = len(bundles) + len(errors)
    if ack_dir is not None:
        write_replies(ack_dir, result.outcomes)
    return result


def _answer_refused_file(
    store: Store,
    path: Path,
    bundles: Sequence[VrdrReport],
    refused: Sequence[Refused],
    source_id: str,
    ack_dir: Path,
) -> None:
    """A file refused whole: every message in it gets an extraction error (kept, written).

    The bad ones name their own problem; the good ones, that their file was refused. Answers
    (acknowledgements, extraction errors) get none, as ever.
    """
    plans = [_Plan(None, "", None, refused=r.error.message, raw=r.raw) for r in refused]
    plans += [
        _Plan(b, "", None, refused=_REFUSED_WITH_FILE)
        for b in bundles
        if b.message_id and b.message_kind not in ANSWER_KINDS
    ]
    result = VrdrIngestResult()
    at = utc_now_text()
    events: list[Event] = []
    outcomes: list[Outcome] = []
    for plan in plans:
        mid = plan.vrdr.message_id if plan.vrdr is not None else _raw_message_id(plan.raw)
        outcome = Outcome(mid, "", "refused", plan.refused)
        reply = _reply(plan, outcome, {}, {}, at, source_id, result)
        if reply is not None:
            events.append(reply)
            outcomes.append(outcome)
    if events:
        with store.transaction():
            store.append(events, note=f"replies to the refused {path.name} (VRDR)")
    write_replies(ack_dir, outcomes)
