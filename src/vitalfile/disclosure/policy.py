"""Recipients, agreements, tiers and the disclosure gate: the one way anything leaves the file.

Every disclosure path (files, online answers, batch matches, feeds) calls `gate`, which
returns a `Grant` naming the agreement it is made under, or records a `disclosure.refused`
event and raises `Refused`. Call it outside any open transaction, so a refusal is kept.
The tier rules (`Grant.allows`, `Grant.death_sql`) are written once here, in Python and SQL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from vitalfile.dates import latest_iso, latest_sql
from vitalfile.errors import NotFound, Refused, StateConflict, UsageError
from vitalfile.events import (
    IDENTITY_FIELDS,
    AgreementAdded,
    AgreementEnded,
    DisclosureRefused,
    Event,
    RecipientAdded,
)
from vitalfile.ledger.store import Store, Tx, utc_now_text
from vitalfile.ledger.table import Table
from vitalfile.sources.dmf_layout import RECORD_FIELDS

__all__ = [
    "AGREEMENT_KINDS",
    "DEATH_FIELDS",
    "FIELDS",
    "KEEPER",
    "KEEPER_ID",
    "REQUEST_BASES",
    "REQUEST_FIELDS",
    "TIERS",
    "VERIFY_FIELDS",
    "Denial",
    "Grant",
    "PolicyProjection",
    "RequestTerms",
    "add_agreement",
    "add_recipient",
    "check",
    "end_agreement",
    "gate",
    "gate_file",
    "people_with_ssns",
    "public_cutoff",
    "recipient_tier",
    "refuse",
    "request_refusal",
    "request_terms",
    "today",
]

TIERS = ("federal", "certified", "public")
# what an agreement may grant: the identity as a death record names it, and the death
FIELDS = (*(f for f in IDENTITY_FIELDS if f != "sex"), "dod", "proof")
DEATH_FIELDS = RECORD_FIELDS  # a death as the DMF writes it
VERIFY_FIELDS = ("dod", "proof")  # an answer gives the date of death and its level
AGREEMENT_KINDS = ("disclosure", "request")
REQUEST_FIELDS = ("address", "city", "state", "zip")  # a request's answer: the last address
# basis → the published routine use a request is granted under (a request agreement permits
# some of these; nothing else is ever a basis)
REQUEST_BASES = {
    "violent_crime_indictment": "routine use: law enforcement, person indicted for a violent crime",
    "violent_crime_conviction": "routine use: law enforcement, person convicted of a violent crime",
    "program_fraud_investigation": "routine use: investigation of fraud against the program",
}


def today() -> date:
    return datetime.now(UTC).date()


def _iso_date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError("not an ISO date (YYYY-MM-DD)", field=field) from exc


def public_cutoff(on: date) -> str:
    """The latest date of death a public recipient may see on `on`: 3 calendar years back."""
    try:
        back = on.replace(year=on.year - 3)
    except ValueError:  # 29 February
        back = on.replace(year=on.year - 3, day=28)
    return back.isoformat()


@dataclass(frozen=True)
class Grant:
    """What the gate allowed: one recipient, under one agreement, on one date."""

    recipient: str
    tier: str
    agreement_id: str
    purpose: str
    authority: str
    fields: tuple[str, ...]
    determination_kinds: tuple[str, ...]
    on: str  # ISO date the rules are applied for

    @property
    def cutoff(self) -> str | None:
        return public_cutoff(date.fromisoformat(self.on)) if self.tier == "public" else None

    def allows(self, *, status: str, state_only: bool, dod: str) -> bool:
        """May this recipient receive this death (a row of `deaths`)?"""
        return allows(self.tier, self.on, status=status, state_only=state_only, dod=dod)

    def death_sql(self, alias: str = "d") -> tuple[str, list[Any]]:
        """SQL condition on a `deaths` row (alias `alias`) the recipient may receive."""
        return death_sql(self.tier, self.on, alias)


def allows(tier: str, on: str, *, status: str, state_only: bool, dod: str) -> bool:
    if status != "current":
        return False
    if tier == "federal":
        return True
    if state_only:
        return False
    if tier == "certified":
        return True
    return latest_iso(dod) <= public_cutoff(date.fromisoformat(on))


def death_sql(tier: str, on: str, alias: str = "d") -> tuple[str, list[Any]]:
    cond = f"{alias}.status = 'current'"
    if tier == "federal":
        return cond, []
    cond += f" AND NOT {alias}.state_only"
    if tier == "certified":
        return cond, []
    return (
        cond + f" AND {latest_sql(alias + '.dod')} <= ?",
        [public_cutoff(date.fromisoformat(on))],
    )


KEEPER_ID = ""  # the keeper's own deliveries are recorded for recipient ''


def keeper_grant(on: date | None = None, *, purpose: str = "", authority: str = "") -> Grant:
    """The keeper's own unrestricted extract (recipient ''), for a named purpose."""
    return Grant(
        KEEPER_ID,
        "federal",
        "",
        purpose or "the keeper's own file",
        authority,
        FIELDS,
        (),
        (on or today()).isoformat(),
    )


KEEPER = keeper_grant


# ── the projection ────────────────────────────────────────────────────────────────────
RECIPIENTS = Table(
    "recipients", "recipient VARCHAR PRIMARY KEY", "tier VARCHAR", "name VARCHAR", "seq BIGINT"
)
AGREEMENTS = Table(
    "agreements",
    "agreement_id VARCHAR PRIMARY KEY",
    "recipient VARCHAR",
    "purpose VARCHAR",
    "authority VARCHAR",
    "fields VARCHAR",  # comma-separated, as are determination_kinds and bases
    "determination_kinds VARCHAR",
    "start_date VARCHAR",
    "end_date VARCHAR",
    "ended_reason VARCHAR",
    "seq BIGINT",
    "kind VARCHAR",
    "bases VARCHAR",
    "case_ref_pattern VARCHAR",
    "certifying_official VARCHAR",
)


class PolicyProjection:
    """Recipients and agreements as they stand."""

    name = "policy"

    def ddl(self) -> list[str]:
        return [
            RECIPIENTS.ddl,
            AGREEMENTS.ddl,
            # issue 14: request agreements (older files gain the columns: all 'disclosure')
            "ALTER TABLE agreements ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'disclosure'",
            "ALTER TABLE agreements ADD COLUMN IF NOT EXISTS bases VARCHAR DEFAULT ''",
            "ALTER TABLE agreements ADD COLUMN IF NOT EXISTS case_ref_pattern VARCHAR DEFAULT ''",
            "ALTER TABLE agreements ADD COLUMN IF NOT EXISTS certifying_official VARCHAR "
            "DEFAULT ''",
        ]

    def tables(self) -> list[str]:
        return [RECIPIENTS.name, AGREEMENTS.name]

    def handles(self, event_type: str) -> bool:
        return event_type in (RecipientAdded.type, AgreementAdded.type, AgreementEnded.type)

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        _generation[0] += 1  # drop every cached agreement
        for seq, e in events:
            if isinstance(e, RecipientAdded):
                tx.execute(RECIPIENTS.insert_sql, [e.recipient, e.tier, e.name, seq])
            elif isinstance(e, AgreementAdded):
                tx.execute(
                    AGREEMENTS.insert_sql,
                    [
                        e.agreement_id,
                        e.recipient,
                        e.purpose,
                        e.authority,
                        ",".join(e.fields),
                        ",".join(e.determination_kinds),
                        e.start,
                        e.end,
                        "",
                        seq,
                        e.kind,
                        ",".join(e.bases),
                        e.case_ref_pattern,
                        e.certifying_official,
                    ],
                )
            elif isinstance(e, AgreementEnded):
                tx.execute(
                    "UPDATE agreements SET end_date = ?, ended_reason = ?, seq = ? "
                    "WHERE agreement_id = ?",
                    [e.end, e.reason, seq, e.agreement_id],
                )


# ── managing recipients and agreements (decide, then append) ─────────────────────────
def recipient_tier(store: Store, recipient: str) -> str | None:
    rows = store.query("SELECT tier FROM recipients WHERE recipient = ?", [recipient])
    return str(rows[0][0]) if rows else None


def add_recipient(store: Store, recipient: str, tier: str, name: str = "") -> None:
    if not recipient or recipient != recipient.strip():
        raise UsageError("a recipient id must be a non-empty word", field="recipient")
    if tier not in TIERS:
        raise UsageError(f"tier must be one of {', '.join(TIERS)}", field="tier")
    with store.transaction():
        if recipient_tier(store, recipient) is not None:
            raise StateConflict("this recipient is already registered", recipient=recipient)
        store.append([RecipientAdded(recipient=recipient, tier=tier, name=name)])


def add_agreement(
    store: Store,
    agreement_id: str,
    recipient: str,
    *,
    purpose: str,
    authority: str,
    fields: Sequence[str],
    start: str,
    end: str,
    determination_kinds: Sequence[str] = (),
    kind: str = "disclosure",
    bases: Sequence[str] = (),
    case_ref_pattern: str = "",
    certifying_official: str = "",
) -> None:
    """Record a written agreement. A `request` agreement (an agency asking for personal data)
    names the bases it permits (of REQUEST_BASES), the form of its case references (a
    regular expression a whole reference must match), the official who certifies each
    request, and address fields (of REQUEST_FIELDS)."""
    if kind not in AGREEMENT_KINDS:
        raise UsageError(f"kind must be one of {', '.join(AGREEMENT_KINDS)}", field="kind")
    allowed_fields = FIELDS if kind == "disclosure" else REQUEST_FIELDS
    unknown = sorted(set(fields) - set(allowed_fields))
    if unknown or not fields:
        raise UsageError(
            f"fields must be of: {', '.join(allowed_fields)}" if unknown else "no fields",
            field="fields",
        )
    if not purpose.strip() or not authority.strip():
        raise UsageError("an agreement names its purpose and its legal authority")
    if kind == "request":
        bad = sorted(set(bases) - set(REQUEST_BASES))
        if bad or not bases:
            raise UsageError(f"bases must be of: {', '.join(REQUEST_BASES)}", field="bases")
        if not certifying_official.strip():
            raise UsageError(
                "a request agreement names the official who certifies each request",
                field="certifying_official",
            )
        try:
            re.compile(case_ref_pattern)
        except re.error as exc:
            raise UsageError("not a regular expression", field="case_ref_pattern") from exc
        if not case_ref_pattern or re.fullmatch(case_ref_pattern, ""):
            raise UsageError(
                "the case reference form must not accept an empty reference",
                field="case_ref_pattern",
            )
    elif bases or case_ref_pattern or certifying_official:
        raise UsageError("bases, case references and officials belong to request agreements")
    if _iso_date(start, "start") > _iso_date(end, "end"):
        raise UsageError("the agreement ends before it starts", field="end")
    with store.transaction():
        if recipient_tier(store, recipient) is None:
            raise NotFound("no such recipient", recipient=recipient)
        if store.query("SELECT 1 FROM agreements WHERE agreement_id = ?", [agreement_id]):
            raise UsageError("this agreement id is taken", field="agreement_id")
        store.append(
            [
                AgreementAdded(
                    agreement_id=agreement_id,
                    recipient=recipient,
                    purpose=purpose,
                    authority=authority,
                    fields=list(dict.fromkeys(fields)),
                    determination_kinds=list(determination_kinds),
                    start=start,
                    end=end,
                    kind="request" if kind == "request" else "disclosure",
                    bases=list(dict.fromkeys(bases)),
                    case_ref_pattern=case_ref_pattern,
                    certifying_official=certifying_official.strip(),
                )
            ]
        )


def end_agreement(store: Store, agreement_id: str, *, end: str, reason: str = "") -> None:
    _iso_date(end, "end")
    with store.transaction():
        if not store.query("SELECT 1 FROM agreements WHERE agreement_id = ?", [agreement_id]):
            raise NotFound("no such agreement", field="agreement_id")
        store.append([AgreementEnded(agreement_id=agreement_id, end=end, reason=reason)])


def people_with_ssns(store: Store, ssns: Sequence[str]) -> list[int]:
    """The people on file with any of these SSNs (whom a refused batch is about)."""
    wanted = sorted(set(ssns))
    if not wanted:
        return []
    rows = store.reader().select_in("persons", ("person_id",), "ssn", wanted)
    return sorted({int(r[0]) for r in rows})


# ── the gate ──────────────────────────────────────────────────────────────────────────
def refuse(
    store: Store,
    recipient: str,
    reason: str,
    *,
    channel: str,
    fields: Sequence[str] = (),
    agreement_id: str = "",
    purpose: str = "",
    person_ids: Sequence[int] = (),
    whole_file: bool = False,
) -> Refused:
    """Record a refusal event and return the error to raise.

    `whole_file`: a refused file, about everyone whose death was on file then (the
    accounting shows it to each of them without listing millions of ids in one event).
    """
    store.append(
        [
            DisclosureRefused(
                recipient=recipient[:64],
                channel=channel,
                reason=reason,
                agreement_id=agreement_id,
                purpose=purpose,
                fields=list(fields),
                person_ids=list(person_ids),
                whole_file=whole_file,
                at=utc_now_text(),
            )
        ],
        note="refusal",
    )
    return Refused(reason, recipient=recipient)


# Agreements change rarely and every answer consults them: a short-lived cache, dropped
# at once when this process appends a policy event (other processes: within the TTL).
POLICY_CACHE_SECONDS = 2.0
_generation = [0]
_policy_cache: dict[tuple[int, str, str], tuple[float, int, str | None, list[Any]]] = {}


def _policy_of(store: Store, recipient: str) -> tuple[str | None, list[Any]]:
    key = (id(store), store.url, recipient)
    now = time.monotonic()
    hit = _policy_cache.get(key)
    if hit is not None and hit[1] == _generation[0] and now - hit[0] < POLICY_CACHE_SECONDS:
        return hit[2], hit[3]
    tier = recipient_tier(store, recipient)
    rows = store.query(
        "SELECT agreement_id, purpose, authority, fields, determination_kinds, start_date, "
        "end_date, coalesce(kind, 'disclosure'), coalesce(bases, ''), "
        "coalesce(case_ref_pattern, ''), coalesce(certifying_official, '') "
        "FROM agreements WHERE recipient = ? ORDER BY seq",
        [recipient],
    )
    if len(_policy_cache) > 10_000:
        _policy_cache.clear()
    _policy_cache[key] = (now, _generation[0], tier, rows)
    return tier, rows


@dataclass(frozen=True)
class Denial:
    """Why the gate would refuse (nothing recorded yet); `known` is False for a stranger."""

    reason: str
    agreement_id: str = ""
    purpose: str = ""
    known: bool = True


def check(
    store: Store,
    recipient: str,
    *,
    fields: Sequence[str],
    on: date | None = None,
    agreement_id: str | None = None,
    kind: str = "disclosure",
) -> Grant | Denial:
    """The agreement of `kind` under which `recipient` may receive `fields` on `on`, or why
    not. A request agreement never covers a file or an answer, nor the reverse.

    Pure reading: nothing is recorded. `gate` is this plus the recorded refusal.
    """
    day = (on or today()).isoformat()
    wanted = list(dict.fromkeys(fields))
    tier, rows = _policy_of(store, recipient)
    if tier is None:
        return Denial("unknown recipient", known=False)
    rows = [r for r in rows if r[7] == kind]
    if agreement_id is not None:
        rows = [r for r in rows if r[0] == agreement_id]
        if not rows:
            return Denial("no such agreement for this recipient", agreement_id)
    in_force = [r for r in rows if r[5] <= day <= r[6]]
    if not in_force:
        if rows:
            return Denial(
                f"agreement not in force on {day} (expired or not started)", str(rows[-1][0])
            )
        return Denial(
            "no agreement with this recipient"
            if kind == "disclosure"
            else "no request agreement with this agency"
        )
    for r in in_force:
        allowed = set(r[3].split(",")) if r[3] else set()
        if set(wanted) <= allowed:
            return Grant(
                recipient=recipient,
                tier=tier,
                agreement_id=str(r[0]),
                purpose=str(r[1]),
                authority=str(r[2]),
                fields=tuple(wanted),
                determination_kinds=tuple(x for x in str(r[4]).split(",") if x),
                on=day,
            )
    first = in_force[0]
    missing = sorted(set(wanted) - set(first[3].split(",")))
    return Denial(f"fields not in the agreement: {', '.join(missing)}", first[0], first[1])


def gate(
    store: Store,
    recipient: str,
    *,
    channel: str,
    fields: Sequence[str],
    on: date | None = None,
    agreement_id: str | None = None,
    person_ids: Sequence[int] = (),
    whole_file: bool = False,
) -> Grant:
    """The agreement under which `recipient` may receive `fields` on `on`, or a refusal.

    A refusal names the people it is about (their accounting shows it), except for an
    unknown recipient: a name anyone can type is never written into a person's accounting.
    """
    decision = check(store, recipient, fields=fields, on=on, agreement_id=agreement_id)
    if isinstance(decision, Grant):
        return decision
    raise refuse(
        store,
        recipient,
        decision.reason,
        channel=channel,
        fields=list(dict.fromkeys(fields)),
        agreement_id=decision.agreement_id,
        purpose=decision.purpose,
        person_ids=person_ids if decision.known else (),
        whole_file=whole_file and decision.known,
    )


def _holds_records(store: Store, recipient: str) -> bool:
    return bool(
        store.query(
            "SELECT 1 FROM deliveries WHERE recipient = ? AND kind = 'full' LIMIT 1", [recipient]
        )
    )


def gate_file(
    store: Store,
    recipient: str,
    *,
    kind: str,
    on: date | None = None,
    purpose: str = "",
    authority: str = "",
    signed: bool = True,
) -> tuple[Grant, str]:
    """The gate for a file: (grant, scope). Scope 'all', or 'corrections' for an update to a
    recipient whose agreement ended or narrowed but who holds records (it is owed the
    corrections and deletes, and nothing else). The keeper's own file ('') names its purpose
    and authority and is signed; a refusal is recorded either way, about the whole file."""
    day = on or today()
    if recipient == KEEPER_ID:
        why = ""
        if not purpose.strip() or not authority.strip():
            why = "the keeper's own extract names its purpose and its legal authority"
        elif not signed:
            why = "the keeper's own extract is signed: the keeper's key is needed"
        if why:
            raise refuse(
                store,
                KEEPER_ID,
                why,
                channel="file",
                fields=DEATH_FIELDS,
                purpose=purpose,
                whole_file=True,
            )
        return keeper_grant(day, purpose=purpose, authority=authority), "all"
    decision = check(store, recipient, fields=DEATH_FIELDS, on=day)
    if isinstance(decision, Grant):
        return decision, "all"
    if decision.known and kind == "update" and _holds_records(store, recipient):
        tier, rows = _policy_of(store, recipient)
        assert tier is not None
        last = next((r for r in reversed(rows) if r[0] == decision.agreement_id), None)
        if last is None and rows:
            last = rows[-1]
        return (
            Grant(
                recipient=recipient,
                tier=tier,
                agreement_id=str(last[0]) if last else "",
                purpose="corrections owed to a past recipient: " + (str(last[1]) if last else ""),
                authority=str(last[2]) if last else "",
                fields=DEATH_FIELDS,
                determination_kinds=(),
                on=day.isoformat(),
            ),
            "corrections",
        )
    raise refuse(
        store,
        recipient,
        decision.reason,
        channel="file",
        fields=DEATH_FIELDS,
        agreement_id=decision.agreement_id,
        purpose=decision.purpose,
        whole_file=decision.known,
    )


# ── requests for personal data (an agency asks for a person's last address) ───────────
@dataclass(frozen=True)
class RequestTerms:
    """The request agreement in force for an agency, and the limits the gate counts."""

    grant: Grant
    bases: tuple[str, ...]
    case_ref_pattern: str
    certifying_official: str


def request_terms(store: Store, agency: str, *, on: date | None = None) -> RequestTerms | Denial:
    """The agency's request agreement in force on `on`, or why there is none (nothing
    recorded: `requests` records the refusal with the request)."""
    decision = check(store, agency, fields=(), on=on, kind="request")
    if isinstance(decision, Denial):
        return decision
    _, rows = _policy_of(store, agency)
    row = next(r for r in rows if r[0] == decision.agreement_id)
    given = tuple(x for x in str(row[3]).split(",") if x)
    return RequestTerms(
        grant=Grant(**{**decision.__dict__, "fields": given}),
        bases=tuple(x for x in str(row[8]).split(",") if x),
        case_ref_pattern=str(row[9]),
        certifying_official=str(row[10]),
    )


def request_refusal(
    terms: RequestTerms,
    *,
    basis: str,
    case_ref: str,
    certified_by: str,
    used_by_reference: int,
    used_in_period: int,
    max_per_reference: int,
    max_per_period: int,
    period_days: int,
) -> str:
    """Pure: '' when the gate lets one request through, else why not. `used_*` count the
    people already granted (or awaiting approval) from the ledger, whatever the door."""
    if basis not in REQUEST_BASES or basis not in terms.bases:
        return (
            "basis not allowed: the agreement permits "
            + ", ".join(terms.bases)
            + " (personal data is given only for an indictment or conviction for a violent "
            "crime, or an investigation of fraud against the program)"
        )
    if not case_ref:
        return "no case reference: a request names the indictment, conviction or investigation"
    if not re.fullmatch(terms.case_ref_pattern, case_ref):
        return "the case reference is not in the form the agreement gives"
    if certified_by.strip().casefold() != terms.certifying_official.casefold():
        return "not certified by the official the agreement names"
    if used_by_reference >= max_per_reference:
        return (
            f"bulk: this case reference already covers {used_by_reference} person(s) "
            f"(at most {max_per_reference}): each request must name its own case"
        )
    if used_in_period >= max_per_period:
        return (
            f"bulk: the agency was given {used_in_period} people's data in {period_days} days "
            f"(at most {max_per_period})"
        )
    return ""
