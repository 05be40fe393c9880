"""The master file: current vital status of every person, and the same as of any commit.

`evolve` is the one place where events change a person's state; the projection tables
(`persons`, `deaths`, `reports`, `link_vetoes`) are that state saved, and `status_of` replays
a person's events up to a past commit with the same `evolve`. No rule runs here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from vitalfile.events import (
    REPORT_FIELDS,
    REPORT_KEY_FIELDS,
    DeathCorroborated,
    DeathPosted,
    DeathRetracted,
    DeathUpdated,
    DmfRecordLoaded,
    Event,
    LinkUndone,
    PersonRegistered,
    ReportAmended,
    ReportHeld,
    ReportLinked,
    ReportReceived,
    ReportUnlinked,
    ReportVoided,
)
from vitalfile.ledger.store import Store, Tx
from vitalfile.ledger.table import Table
from vitalfile.sources.csv import PEOPLE_COLUMNS
from vitalfile.sources.dmf import name_block
from vitalfile.sources.dmf_layout import RECORD_FIELDS

__all__ = [
    "PERSON_COLUMNS",
    "Death",
    "MasterProjection",
    "PersonState",
    "ReportState",
    "deaths_as_of",
    "evolve_person",
    "evolve_report",
    "find_person_ids",
    "load_people",
    "load_reports",
    "status_of",
]

PERSON_COLUMNS = PEOPLE_COLUMNS  # a person is what the canonical people CSV carries
_DMF_PERSON = tuple(f for f in RECORD_FIELDS if f in PERSON_COLUMNS)  # what a DMF record names
REPORT_COLUMNS = (*REPORT_KEY_FIELDS, *REPORT_FIELDS)


@dataclass
class Death:
    dod: str
    proof: str
    sources: list[str]
    report_keys: list[str]
    version: int
    status: str  # "current" or "retracted"
    changed_seq: int
    # from a DMF record taken over (`dmf.record_loaded`): the ZIP the lump-sum payment went
    # to (pre-2011 layout), and whether an unknown date was written blank, not 00000000
    lump_sum_zip: str = ""
    dod_blank: bool = False
    dob_blank: bool = False

    @property
    def state_only(self) -> bool:
        """Known only from state reports (so only benefit-paying agencies may get it)."""
        return bool(self.sources) and all(s == "state" for s in self.sources)


@dataclass
class PersonState:
    person_id: int
    person: dict[str, str] | None = None
    registered_seq: int = 0
    death: Death | None = None


@dataclass
class ReportState:
    report_key: str
    fields: dict[str, str] = field(default_factory=dict)
    received_seq: int = 0
    status: str = "received"  # received | linked | held | unlinked | undone
    person_id: int | None = None
    decided_by: str = ""
    match_probability: float | None = None
    reason: str = ""
    vetoes: list[int] = field(default_factory=list)


def _add(items: list[str], item: str) -> list[str]:
    return items if item in items else [*items, item]


def evolve_person(state: PersonState, seq: int, event: Event) -> PersonState:
    """Apply one event to a person's state (no checks: decisions were made before)."""
    if isinstance(event, PersonRegistered):
        state.person = {c: getattr(event, c) for c in PERSON_COLUMNS}
        state.registered_seq = seq
    elif isinstance(event, DmfRecordLoaded):
        state.person = {c: "" for c in PERSON_COLUMNS}
        state.person.update({c: getattr(event, c) for c in _DMF_PERSON})
        # the pre-2011 layout's state and ZIP of residence: the last known address
        state.person["state"] = event.residence_state
        state.person["zip"] = event.residence_zip
        state.registered_seq = seq
        version = state.death.version + 1 if state.death else 1
        state.death = Death(
            event.dod,
            event.proof,
            ["dmf"],
            [],
            version,
            "current",
            seq,
            event.lump_sum_zip,
            event.dod_blank,
            event.dob_blank,
        )
    elif isinstance(event, DeathPosted):
        version = state.death.version + 1 if state.death else 1
        state.death = Death(
            event.dod,
            event.proof,
            [event.source_kind],
            [event.report_key],
            version,
            "current",
            seq,
        )
    elif isinstance(event, DeathCorroborated) and state.death is not None:
        was_state_only = state.death.state_only
        state.death.sources = _add(state.death.sources, event.source_kind)
        state.death.report_keys = _add(state.death.report_keys, event.report_key)
        if state.death.state_only != was_state_only:  # who may receive it changed
            state.death.version += 1
            state.death.changed_seq = seq
    elif isinstance(event, DeathUpdated) and state.death is not None:
        state.death.dod, state.death.proof = event.dod, event.proof
        if event.report_key:
            state.death.report_keys = _add(state.death.report_keys, event.report_key)
        state.death.version += 1
        state.death.changed_seq = seq
    elif isinstance(event, DeathRetracted) and state.death is not None:
        state.death.status = "retracted"
        state.death.version += 1
        state.death.changed_seq = seq
    return state


def evolve_report(state: ReportState, seq: int, event: Event) -> ReportState:
    """Apply one event to a report's state."""
    if isinstance(event, ReportReceived):
        state.fields = {c: getattr(event, c) for c in REPORT_COLUMNS}
        state.received_seq = seq
    elif isinstance(event, ReportLinked):
        state.status, state.person_id = "linked", event.person_id
        state.decided_by, state.match_probability = event.decided_by, event.match_probability
        state.reason = ""
    elif isinstance(event, ReportHeld):
        state.status, state.person_id = "held", event.person_id
        state.decided_by, state.match_probability = "model", event.match_probability
        state.reason = event.reason
    elif isinstance(event, ReportUnlinked):
        state.status, state.person_id, state.reason = "unlinked", None, event.reason
        state.decided_by, state.match_probability = "", None
    elif isinstance(event, LinkUndone):
        state.status, state.person_id = "undone", None
        state.decided_by, state.reason = f"reviewer:{event.reviewer}", event.reason
        state.vetoes = sorted({*state.vetoes, event.person_id})
    elif isinstance(event, ReportAmended):
        # the source's new statement replaces the old one; source and report id stay
        state.fields.update({c: getattr(event, c) for c in _AMENDED_COLUMNS})
    elif isinstance(event, ReportVoided):
        state.status, state.reason = "voided", event.reason or "voided by its source"
        state.decided_by, state.match_probability = "source", None
    return state


_AMENDED_COLUMNS = REPORT_FIELDS  # an amendment restates the claim; the key stays


_PERSON_TYPES = frozenset(
    {
        PersonRegistered.type,
        DmfRecordLoaded.type,
        DeathPosted.type,
        DeathCorroborated.type,
        DeathUpdated.type,
        DeathRetracted.type,
    }
)
_REPORT_TYPES = frozenset(
    {
        ReportReceived.type,
        ReportLinked.type,
        ReportHeld.type,
        ReportUnlinked.type,
        LinkUndone.type,
        ReportAmended.type,
        ReportVoided.type,
    }
)

PERSONS = Table(
    "persons",
    "person_id BIGINT",
    *(f"{c} VARCHAR" for c in PERSON_COLUMNS),
    "registered_seq BIGINT",
)
DEATHS = Table(
    "deaths",
    "person_id BIGINT",
    "dod VARCHAR",
    "proof VARCHAR",
    "sources VARCHAR",
    "report_keys VARCHAR",
    "state_only BOOLEAN",
    "version INTEGER",
    "status VARCHAR",
    "changed_seq BIGINT",
    "dmf_names VARCHAR",  # the DMF name block, kept so files are written fast
    "lump_sum_zip VARCHAR",
    "dod_blank BOOLEAN",
    "dob_blank BOOLEAN",
)
DEATH_VERSIONS = Table(
    "death_versions",
    "person_id BIGINT",
    "version INTEGER",
    "dod VARCHAR",
    "proof VARCHAR",
    "state_only BOOLEAN",
    "status VARCHAR",
    "from_seq BIGINT",
    "to_seq BIGINT NULL",
)
REPORTS = Table(
    "reports",
    "report_key VARCHAR PRIMARY KEY",
    *(f"{c} VARCHAR" for c in REPORT_COLUMNS),
    "received_seq BIGINT",
    "status VARCHAR",
    "person_id BIGINT NULL",
    "decided_by VARCHAR",
    "match_probability DOUBLE NULL",
    "reason VARCHAR",
    "vetoes VARCHAR",
)
# what a person's death is read back from (the name block is only written)
_DEATH_COLS = tuple(c for c in DEATHS.columns if c != "dmf_names")


def _join(items: Sequence[str]) -> str:
    return ",".join(items)


def _split(text: str) -> list[str]:
    return text.split(",") if text else []


class MasterProjection:
    """Saves `evolve_person` / `evolve_report` state into the master-file tables."""

    name = "master"

    def ddl(self) -> list[str]:
        return [
            PERSONS.ddl,
            # a file made before people had former names gains the column (empty)
            "ALTER TABLE persons ADD COLUMN IF NOT EXISTS former_names VARCHAR DEFAULT ''",
            DEATHS.ddl,
            # a file made before the pre-2011 DMF layout was kept gains its columns
            "ALTER TABLE deaths ADD COLUMN IF NOT EXISTS lump_sum_zip VARCHAR DEFAULT ''",
            "ALTER TABLE deaths ADD COLUMN IF NOT EXISTS dod_blank BOOLEAN DEFAULT false",
            "ALTER TABLE deaths ADD COLUMN IF NOT EXISTS dob_blank BOOLEAN DEFAULT false",
            DEATH_VERSIONS.ddl,
            REPORTS.ddl,
            # point lookups (verification, linking by SSN) must not scan the file
            "CREATE INDEX IF NOT EXISTS persons_ssn ON persons (ssn)",
            "CREATE INDEX IF NOT EXISTS deaths_person_id ON deaths (person_id)",
        ]

    def tables(self) -> list[str]:
        return [t.name for t in (PERSONS, DEATHS, DEATH_VERSIONS, REPORTS)]

    def handles(self, event_type: str) -> bool:
        return event_type in _PERSON_TYPES or event_type in _REPORT_TYPES

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        person_events = [(s, e) for s, e in events if e.type in _PERSON_TYPES]
        report_events = [(s, e) for s, e in events if e.type in _REPORT_TYPES]
        if person_events:
            self._apply_people(tx, person_events)
        if report_events:
            self._apply_reports(tx, report_events)

    # people and deaths
    def _apply_people(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        ids = sorted({int(getattr(e, "person_id")) for _, e in events})  # noqa: B009
        states = _load_people(tx, ids)
        versions: list[tuple[int, int, Death]] = []  # (person, from_seq, snapshot)
        for seq, event in events:
            pid = int(getattr(event, "person_id"))  # noqa: B009
            st = states.setdefault(pid, PersonState(pid))
            before = (st.death.version, st.death.status) if st.death else None
            evolve_person(st, seq, event)
            if st.death is not None and (st.death.version, st.death.status) != before:
                versions.append((pid, seq, dataclasses.replace(st.death)))
        _save_versions(tx, versions)
        # a person's row changes only when they are registered (or loaded from a DMF file):
        # a death posted leaves it alone, so the batch rewrites only those rows
        registered = sorted(
            {
                int(getattr(e, "person_id"))  # noqa: B009
                for _, e in events
                if isinstance(e, PersonRegistered | DmfRecordLoaded)
            }
        )
        tx.delete_in("persons", "person_id", registered)
        tx.delete_in("deaths", "person_id", ids)
        people = [states[pid] for pid in registered if states[pid].person is not None]
        tx.insert_arrow(
            PERSONS.name,
            PERSONS.from_rows(
                [
                    (s.person_id, *(s.person[c] for c in PERSON_COLUMNS), s.registered_seq)
                    for s in people
                    if s.person
                ]
            ),
        )
        dead = [(s.person_id, s.death) for s in states.values() if s.death is not None]
        names = [_names(states[pid]) for pid, _ in dead]
        tx.insert_arrow(DEATHS.name, _deaths_table(dead, names))

    def _apply_reports(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        # Measured against a merge by SQL over the batch's Arrow table (the last event
        # setting each part wins; ordered array_agg per column): on DuckDB that merge took
        # twice as long as loading the batch's saved states, evolving and rewriting them.
        keys = sorted({str(getattr(e, "report_key")) for _, e in events})  # noqa: B009
        states = _load_reports(tx, keys)
        for seq, event in events:
            key = str(getattr(event, "report_key"))  # noqa: B009
            evolve_report(states.setdefault(key, ReportState(key)), seq, event)
        tx.delete_in("reports", "report_key", keys)
        rs = list(states.values())
        tx.insert_arrow(
            REPORTS.name,
            REPORTS.from_rows(
                [
                    (
                        r.report_key,
                        *(r.fields.get(c, "") for c in REPORT_COLUMNS),
                        r.received_seq,
                        r.status,
                        r.person_id,
                        r.decided_by,
                        r.match_probability,
                        r.reason,
                        _join([str(v) for v in r.vetoes]),
                    )
                    for r in rs
                ]
            ),
        )


def _save_versions(tx: Tx, versions: Sequence[tuple[int, int, Death]]) -> None:
    """Close each person's open version and add the new ones (a valid-from/to history)."""
    if not versions:
        return
    pids = sorted({p for p, _, _ in versions})
    first: dict[int, int] = {}
    for pid, seq, _ in versions:
        first.setdefault(pid, seq)
    rows = [
        (*r[:7], first[int(r[0])] if r[7] is None else r[7])
        for r in tx.select_in(DEATH_VERSIONS.name, DEATH_VERSIONS.columns, "person_id", pids)
    ]
    # each version is valid until the person's next one (walk backwards: linear time)
    ends: list[int | None] = [None] * len(versions)
    later: dict[int, int] = {}
    for i in range(len(versions) - 1, -1, -1):
        pid, seq, _ = versions[i]
        ends[i] = later.get(pid)
        later[pid] = seq
    for (pid, seq, d), nxt in zip(versions, ends, strict=True):
        rows.append((pid, d.version, d.dod, d.proof, d.state_only, d.status, seq, nxt))
    tx.delete_in(DEATH_VERSIONS.name, "person_id", pids)
    tx.insert_arrow(DEATH_VERSIONS.name, DEATH_VERSIONS.from_rows(rows))


def _names(state: PersonState) -> str:
    """The DMF name block of a person (kept on the death row so files are written fast)."""
    p = state.person or {}
    return name_block(
        p.get("last_name", ""),
        p.get("suffix", ""),
        p.get("first_name", ""),
        p.get("middle_name", ""),
    )


def _deaths_table(dead: Sequence[tuple[int, Death]], names: Sequence[str]) -> pa.Table:
    return DEATHS.from_rows(
        [
            (
                pid,
                d.dod,
                d.proof,
                _join(d.sources),
                _join(d.report_keys),
                d.state_only,
                d.version,
                d.status,
                d.changed_seq,
                name,
                d.lump_sum_zip,
                d.dod_blank,
                d.dob_blank,
            )
            for (pid, d), name in zip(dead, names, strict=True)
        ]
    )


class _Fetch(Protocol):
    def select_in(
        self, table: str, columns: Sequence[str], column: str, values: Sequence[Any]
    ) -> list[tuple[Any, ...]]: ...


def load_people(store: Store, ids: Sequence[int]) -> dict[int, PersonState]:
    """The saved state of these people (absent ids are simply missing)."""
    return _load_people(store.reader(), sorted(set(ids)))


def _load_people(tx: _Fetch, ids: Sequence[int]) -> dict[int, PersonState]:
    states: dict[int, PersonState] = {}
    for row in tx.select_in(PERSONS.name, PERSONS.columns, "person_id", ids):
        person = dict(zip(PERSON_COLUMNS, row[1:-1], strict=True))
        states[int(row[0])] = PersonState(int(row[0]), person, int(row[-1]))
    for row in tx.select_in("deaths", _DEATH_COLS, "person_id", ids):
        st = states.setdefault(int(row[0]), PersonState(int(row[0])))
        st.death = Death(
            dod=row[1],
            proof=row[2],
            sources=_split(row[3]),
            report_keys=_split(row[4]),
            version=int(row[6]),
            status=row[7],
            changed_seq=int(row[8]),
            lump_sum_zip=row[9] or "",
            dod_blank=bool(row[10]),
            dob_blank=bool(row[11]),
        )
    return states


def load_reports(store: Store, keys: Sequence[str]) -> dict[str, ReportState]:
    """The saved state of these reports (absent keys are simply missing)."""
    return _load_reports(store.reader(), sorted(set(keys)))


def _load_reports(tx: _Fetch, keys: Sequence[str]) -> dict[str, ReportState]:
    states: dict[str, ReportState] = {}
    n = len(REPORT_COLUMNS)
    for row in tx.select_in(REPORTS.name, REPORTS.columns, "report_key", keys):
        states[row[0]] = ReportState(
            report_key=row[0],
            fields=dict(zip(REPORT_COLUMNS, row[1 : 1 + n], strict=True)),
            received_seq=int(row[1 + n]),
            status=row[2 + n],
            person_id=None if row[3 + n] is None else int(row[3 + n]),
            decided_by=row[4 + n],
            match_probability=row[5 + n],
            reason=row[6 + n],
            vetoes=[int(v) for v in _split(row[7 + n])],
        )
    return states


# ── reading the master file ───────────────────────────────────────────────────────────
def find_person_ids(store: Store, ssn: str) -> list[int]:
    """Every person on file (now) with this SSN."""
    rows = store.query("SELECT person_id FROM persons WHERE ssn = ? ORDER BY person_id", [ssn])
    return [int(r[0]) for r in rows]


def status_of(store: Store, person_id: int, *, upto_seq: int | None = None) -> PersonState:
    """A person's state now, or as of `upto_seq`, replayed from their events alone."""
    state = PersonState(person_id)
    for se in store.iter_events(subject=person_id, upto_seq=upto_seq):
        evolve_person(state, se.seq, se.event)
    return state


def deaths_as_of(store: Store, upto_seq: int) -> pa.Table:
    """Every death current as of `upto_seq` (person, version, date, proof), set-wise."""
    return store.query_arrow(
        "SELECT v.person_id, v.version, v.dod, v.proof, v.state_only FROM death_versions v "
        "WHERE v.from_seq <= ? AND (v.to_seq IS NULL OR v.to_seq > ?) AND v.status = 'current' "
        "ORDER BY v.person_id",
        [upto_seq, upto_seq],
    )


def death_dict(death: Death | None) -> dict[str, Any] | None:
    return dataclasses.asdict(death) if death is not None else None
