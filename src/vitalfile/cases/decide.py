"""Deciding a case: who may decide it and when, and the one transactional entry, `decide`.

`decide` checks the case is open, unchanged since the reviewer read it and not one they
submitted; then hands it to the decider of its kind — the framework's own rules for review
and dispute cases (`framework.decide_review`, `framework.decide_retraction`), or a decider
a module registered (determinations here in cases/, requests for personal data at the
disclosure gate) — and appends what it returns in one commit. The rules themselves are not
here; the case state and its projection are the framework's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from vitalfile.cases.framework import (
    CASE_KINDS,
    CaseState,
    decide_retraction,
    decide_review,
    decision_event,
    get_case,
    holders_of,
)
from vitalfile.cases.review import protective_hold
from vitalfile.dates import iso_now
from vitalfile.errors import NotFound, PolicyError, StateConflict, UsageError
from vitalfile.events import CaseOpened, CorrectionQueued, Event, ReportReceived
from vitalfile.ledger.store import Store
from vitalfile.master.projection import load_people, load_reports

__all__ = [
    "DECISIONS",
    "CaseDecider",
    "DecideResult",
    "check_decidable",
    "decide",
    "register_decider",
    "submitter_of",
]


@dataclass
class DecideResult:
    case_id: str
    decision: str
    events: list[str] = field(default_factory=list)  # the event types appended
    recipients: list[str] = field(default_factory=list)  # corrections queued for
    commit_no: int | None = None
    appended: list[Event] = field(default_factory=list)  # the events themselves
    preview: bool = False  # True: worked out, nothing recorded


DECISIONS = {
    "review": ("link", "reject", "retract", "uphold", "note"),
    "dispute": ("retract", "uphold", "note"),
    "determination": ("propose", "withdraw", "uphold", "note"),
    "disclosure_request": ("grant", "refuse", "note"),
    # a state's certificate that matched no one: link it to the person found, or confirm
    # that no one on file is its subject
    "research": ("link", "reject", "note"),
}


def submitter_of(store: Store, case: CaseState) -> str:
    """Who submitted what the case is about: whoever opened it, or for a held report the
    staff member whose upload brought the report in ('' when not known)."""
    for se in store.iter_events(after_seq=case.opened_seq - 1, upto_seq=case.opened_seq):
        if isinstance(se.event, CaseOpened):
            return se.event.opened_by
    if case.kind == "review" and not case.about.startswith("death:"):
        reports = load_reports(store, [case.about])
        rs = reports.get(case.about)
        if rs is not None:
            for se in store.iter_events(after_seq=rs.received_seq - 1, upto_seq=rs.received_seq):
                if isinstance(se.event, ReportReceived):
                    return str(se.event.extra.get("submitted_by", ""))
    return ""


def check_decidable(
    store: Store, case: CaseState, reviewer: str, expected_version: int | None = None
) -> None:
    """The rules on who may decide a case, and when: the case is open, unchanged since the
    reviewer read it, and not one the reviewer submitted."""
    if expected_version is not None and case.updated_seq != expected_version:
        last = case.history[-1] if case.history else None
        if last is not None:
            raise StateConflict(
                f"{last.reviewer} recorded '{last.decision}' on this case while you had it "
                "open; nothing of yours was recorded: reload the case",
                case=case.case_id,
            )
        raise StateConflict(
            "the case changed while you had it open; nothing was recorded: reload the case",
            case=case.case_id,
        )
    if case.state != "open":
        raise StateConflict("the case is already decided", case=case.case_id)
    submitter = submitter_of(store, case)
    if submitter and submitter == reviewer:
        raise PolicyError("you submitted this case: another reviewer decides it", case=case.case_id)


# Case kinds decided by the module that owns them (determinations here in cases/, requests for
# personal data at the disclosure gate): each registers its decider when it is imported, so
# this framework imports none of them. (store, case, decision, reviewer=, reason=, evidence=,
# now=, person_id=) -> events.
CaseDecider = Callable[..., list[Event]]
_DECIDERS: dict[str, CaseDecider] = {}


def register_decider(kind: str, decider: CaseDecider) -> None:
    """Let `decide` hand cases of `kind` to `decider`."""
    if kind not in CASE_KINDS:
        raise ValueError(f"unknown case kind {kind}")
    _DECIDERS[kind] = decider


def decide(
    store: Store,
    case_id: str,
    decision: str,
    *,
    reviewer: str,
    reason: str,
    evidence: Sequence[str] = (),
    person_id: int | None = None,
    finding: str = "not-this-person",
    now: datetime | None = None,
    expected_version: int | None = None,
    preview: bool = False,
    override: str | None = None,
) -> DecideResult:
    """Decide a case and append the decision with everything it causes, in one commit.

    `expected_version` is the case's version (`updated_seq`) the reviewer saw: if the case
    changed since (another reviewer decided it), nothing is recorded (StateConflict).
    `preview` works out the events without recording them (a confirm step shows them).
    A reviewer never decides a case they submitted (PolicyError). `override`: why linking
    a report held to protect a living person (a minor, a relative's SSN, no usable SSN) is
    safe. Every door asks for it (the console's confirm step, the API's `override`, the
    CLI's --override); without it such a link is refused, and it is recorded with the
    reason."""
    if not reviewer or (not reason and not preview):
        raise UsageError("a decision names its reviewer and its reason")
    at = iso_now(now)
    with store.transaction():
        case = get_case(store, case_id)
        check_decidable(store, case, reviewer, expected_version)
        allowed = DECISIONS.get(case.kind, ())
        if decision not in allowed:
            raise UsageError(
                f"a {case.kind} case is decided one of: {', '.join(allowed)}", field="decision"
            )
        events: list[Event]
        holders: list[tuple[str, int]] = []
        if decision == "note":
            events = [decision_event(case, "note", reviewer, reason, evidence, at, closes=False)]
        elif case.kind in _DECIDERS:
            events = _DECIDERS[case.kind](
                store,
                case,
                decision,
                reviewer=reviewer,
                reason=reason,
                evidence=evidence,
                now=now,
                person_id=person_id,
            )
        elif decision == "uphold":
            events = [decision_event(case, "uphold", reviewer, reason, evidence, at)]
        elif decision == "retract":
            if case.person_id is None:
                raise UsageError("the case names no person", case=case_id)
            person = load_people(store, [case.person_id]).get(case.person_id)
            if person is None:
                raise NotFound("the case's person is not on file", case=case_id)
            holders = holders_of(store, case.person_id)
            on_file = set(load_reports(store, person.death.report_keys if person.death else []))
            events = decide_retraction(
                case,
                person,
                holders,
                reviewer=reviewer,
                reason=reason,
                evidence=evidence,
                finding=finding,
                at=at,
                reports=on_file,
            )
        else:  # link / reject a held report
            reports = load_reports(store, [case.about])
            if case.about not in reports:
                raise NotFound("the case's report is not on file", case=case_id)
            target = person_id if person_id is not None else case.person_id
            person = None
            if target is not None:
                person = load_people(store, [target]).get(target)
                if person is None or person.person is None:
                    raise NotFound("no such person", case=case_id)
            if decision == "link" and not preview and protective_hold(case, reports[case.about]):
                override = (override or "").strip()
                if not override:
                    raise UsageError(
                        "this report was held to protect a living person: say why it is "
                        "safe to post this death",
                        field="override",
                    )
                reason = f"{reason} (hold overridden: {override})"
            events = decide_review(
                case,
                reports[case.about],
                person,
                decision,
                reviewer=reviewer,
                reason=reason,
                evidence=evidence,
                at=at,
            )
        info = None if preview else store.append(events, note=f"case {case_id}: {decision}")
    result = DecideResult(case_id, decision, [e.type for e in events])
    result.commit_no = info.commit_no if info else None
    result.appended, result.preview = list(events), preview
    for e in events:
        if isinstance(e, CorrectionQueued):
            result.recipients = list(e.recipients)
    return result
