"""Online verification and batch matching of a recipient's customers, through the gate.

An online query (SSN, last name, date of birth) answers "death on file" with date and level,
or "no death on file". A batch CSV of customers is matched set-wise (exact SSN, then mis-keyed
SSN neighbours, names, birth date; the linkage model for rows the rules leave open, when one
is given) and answered one line per row. A death is given only on a unique match, and only
when the recipient's tier allows it. Every answer is a `disclosure.made` event.
"""

from __future__ import annotations

import csv
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv

from vitalfile.disclosure.policy import VERIFY_FIELDS, gate, people_with_ssns
from vitalfile.errors import FileRejected, RecordError
from vitalfile.events import DisclosureMade, ReportReceived, partial_date
from vitalfile.ledger.journal import Journal
from vitalfile.ledger.store import Store, utc_now_text
from vitalfile.link.base import Linker
from vitalfile.link.rule import norm_name
from vitalfile.ssn import neighbours
from vitalfile.ssn import parse as parse_ssn

__all__ = [
    "CUSTOMER_COLUMNS",
    "Answer",
    "Customer",
    "MatchResult",
    "match_batch",
    "read_customers",
    "verify_online",
]

CUSTOMER_COLUMNS = ("customer_id", "ssn", "first_name", "last_name", "dob")
MATCH_CLASSES = ("matched", "multiple_candidates", "no_match", "pending_review")
_CHUNK = 50_000


@dataclass(frozen=True)
class Answer:
    result: Literal["death", "no_death"]
    dod: str = ""
    proof: str = ""
    disclosure_id: str = ""


def _given(death: tuple[str, str] | None) -> str:
    return f"death on file {death[0]} {death[1] or '-'}" if death else "no death on file"


def _with_ssn(store: Store, digits: str) -> list[tuple[Any, ...]]:
    """(person id, last name, dob, dod, proof, status, state_only) of the people with this
    SSN; the death columns are None when no death is on file — or, where a join is not a
    point look-up (DuckDB hashes the whole deaths table), not yet read. The lateral join
    keeps PostgreSQL on the index whatever its statistics say (a copied file may have none)."""
    if store.indexed_joins:
        return store.query(
            "SELECT p.person_id, p.last_name, p.dob, d.dod, d.proof, d.status, d.state_only "
            "FROM persons p LEFT JOIN LATERAL (SELECT dod, proof, status, state_only "
            "FROM deaths WHERE person_id = p.person_id LIMIT 1) d ON true WHERE p.ssn = ?",
            [digits],
        )
    rows = store.query("SELECT person_id, last_name, dob FROM persons WHERE ssn = ?", [digits])
    return [(*r, None, None, None, None) for r in rows]


def verify_online(
    store: Store,
    recipient: str,
    *,
    ssn: str,
    last_name: str,
    dob: str,
    first_name: str = "",
    on: date | None = None,
    agreement_id: str | None = None,
    journal: Journal | None = None,
) -> Answer:
    """One answer: a death only when exactly one person has this SSN, last name and birth date.

    With a `journal` (a busy service), the disclosure is written ahead and committed to the
    ledger with others in one batch; without, it is appended before the answer returns.
    """
    digits = parse_ssn(ssn, field="ssn")
    try:
        dob = partial_date(dob)
    except ValueError as exc:
        raise RecordError("date of birth is not a valid date", field="dob") from exc
    last = norm_name(last_name)
    rows = _with_ssn(store, digits)
    matched = [int(r[0]) for r in rows if dob and r[2] == dob and norm_name(r[1]) == last]
    grant = gate(
        store,
        recipient,
        channel="verify",
        fields=VERIFY_FIELDS,
        on=on,
        agreement_id=agreement_id,
        person_ids=matched,
    )
    death = None
    if len(matched) == 1:
        found = next(r[3:] for r in rows if int(r[0]) == matched[0])
        if found[0] is None and not store.indexed_joins:
            on_file = store.query(
                "SELECT dod, proof, status, state_only FROM deaths WHERE person_id = ?",
                [matched[0]],
            )
            found = on_file[0] if on_file else found
        if found[0] is not None and grant.allows(
            status=found[2], state_only=bool(found[3]), dod=found[0]
        ):
            death = (str(found[0]), str(found[1]))
    did = uuid.uuid4().hex
    record = (
        journal.record
        if journal is not None
        else (lambda e: store.append([e], note="verification"))
    )
    record(
        DisclosureMade(
            disclosure_id=did,
            recipient=recipient,
            agreement_id=grant.agreement_id,
            purpose=grant.purpose,
            authority=grant.authority,
            channel="verify",
            fields=list(grant.fields),
            person_ids=matched if len(matched) == 1 else [],
            given=[_given(death)] if len(matched) == 1 else [],
            at=utc_now_text(),
        )
    )
    if death:
        return Answer("death", death[0], death[1], did)
    return Answer("no_death", disclosure_id=did)


# ── batch ─────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Customer:
    line: int
    customer_id: str
    ssn: str
    first_name: str
    last_name: str
    dob: str


def read_customers(path: Path) -> list[Customer]:
    """A customers CSV (customer_id,ssn,first_name,last_name,dob), or FileRejected by line."""
    problems: list[RecordError] = []
    out: list[Customer] = []
    name = str(path)
    try:
        fh = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise FileRejected([RecordError("cannot read the file", file=name)], file=name) from exc
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None or [h.strip() for h in header][:5] != list(CUSTOMER_COLUMNS):
                raise FileRejected(
                    [
                        RecordError(
                            f"header must start {','.join(CUSTOMER_COLUMNS)}", line=1, file=name
                        )
                    ],
                    file=name,
                )
            seen: set[str] = set()
            for i, row in enumerate(reader, start=2):
                if len(row) < 5:
                    problems.append(RecordError("too few columns", line=i, file=name))
                    continue
                cid, ssn, first, last, dob = (c.strip() for c in row[:5])
                try:
                    if not cid:
                        raise RecordError("empty", field="customer_id", line=i)
                    if cid in seen:
                        raise RecordError("repeated", field="customer_id", line=i)
                    digits = parse_ssn(ssn, field="ssn", line=i)
                    try:
                        dob = partial_date(dob)
                    except ValueError as exc:
                        raise RecordError("not a YYYY-MM-DD date", field="dob", line=i) from exc
                except RecordError as err:
                    problems.append(err.in_file(name))
                    continue
                seen.add(cid)
                out.append(Customer(i, cid, digits, norm_name(first), norm_name(last), dob))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise FileRejected(
                [RecordError("not a UTF-8 CSV file", line=reader.line_num, file=name)], file=name
            ) from exc
    if problems:
        raise FileRejected(problems, file=name)
    return out


@dataclass
class MatchResult:
    out: Path
    rows: int
    counts: dict[str, int] = field(default_factory=dict)
    deaths_given: int = 0
    disclosure_ids: list[str] = field(default_factory=list)


def _stage(store: Store, tx: Any, table: str, data: pa.Table, ddl: str) -> None:
    tx.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({ddl})")
    tx.execute(f"DELETE FROM {table}")
    tx.insert_arrow(table, data)


def _candidates(store: Store, sql: str) -> dict[str, list[Any]]:
    t = store.query_arrow(sql)
    return {n: t.column(n).to_pylist() for n in t.column_names}


def match_batch(
    store: Store,
    recipient: str,
    path: Path,
    out: Path,
    *,
    linker: Linker | None = None,
    on: date | None = None,
    agreement_id: str | None = None,
) -> MatchResult:
    """Match a customers CSV and write one answer line per row to `out` (CSV).

    The file is read first (a malformed one is rejected whole, nothing recorded); a refusal
    is in the accounting of each person on file the batch names by SSN."""
    customers = read_customers(path)
    grant = gate(
        store,
        recipient,
        channel="match",
        fields=VERIFY_FIELDS,
        on=on,
        agreement_id=agreement_id,
        person_ids=people_with_ssns(store, [c.ssn for c in customers]),
    )
    n = len(customers)
    with store.transaction() as tx:
        _stage(
            store,
            tx,
            "match_customers",
            pa.table(
                {
                    "idx": pa.array(range(n), pa.int64()),
                    "ssn": [c.ssn for c in customers],
                    "first_name": [c.first_name for c in customers],
                    "last_name": [c.last_name for c in customers],
                    "dob": [c.dob for c in customers],
                }
            ),
            "idx BIGINT, ssn VARCHAR, first_name VARCHAR, last_name VARCHAR, dob VARCHAR",
        )
        exact = _candidates(
            store,
            "SELECT b.idx, p.person_id, (b.dob <> '' AND p.dob = b.dob) AS dob_ok, "
            "upper(trim(p.last_name)) = b.last_name AS last_ok, "
            "upper(trim(p.first_name)) = b.first_name AS first_ok "
            "FROM match_customers b JOIN persons p ON p.ssn = b.ssn",
        )
        strong: dict[int, set[int]] = defaultdict(set)
        partial: dict[int, set[int]] = defaultdict(set)
        for idx, pid, dob_ok, last_ok, first_ok in zip(
            exact["idx"],
            exact["person_id"],
            exact["dob_ok"],
            exact["last_ok"],
            exact["first_ok"],
            strict=True,
        ):
            if dob_ok and (last_ok or first_ok):
                strong[idx].add(pid)
            elif dob_ok or (last_ok and first_ok):
                partial[idx].add(pid)
        # mis-keyed SSNs: only for rows the exact SSN did not settle
        open_rows = [i for i in range(n) if i not in strong]
        miskeyed: dict[int, set[int]] = defaultdict(set)
        if open_rows:
            idxs: list[int] = []
            keys: list[str] = []
            for i in open_rows:
                for nb in neighbours(customers[i].ssn):
                    idxs.append(i)
                    keys.append(nb)
            _stage(
                store,
                tx,
                "match_neighbours",
                pa.table({"idx": pa.array(idxs, pa.int64()), "ssn": keys}),
                "idx BIGINT, ssn VARCHAR",
            )
            near = _candidates(
                store,
                "SELECT q.idx, p.person_id FROM match_neighbours q "
                "JOIN persons p ON p.ssn = q.ssn JOIN match_customers b ON b.idx = q.idx "
                "WHERE b.dob <> '' AND p.dob = b.dob AND upper(trim(p.last_name)) = b.last_name "
                "AND upper(trim(p.first_name)) = b.first_name",
            )
            for idx, pid in zip(near["idx"], near["person_id"], strict=True):
                miskeyed[idx].add(pid)
        result: list[str] = []
        person: list[int | None] = []
        basis: list[str] = []
        undecided: list[int] = []
        for i in range(n):
            cands, how = (strong[i], "ssn") if i in strong else (miskeyed.get(i, set()), "miskeyed")
            if len(cands) == 1:
                result.append("matched")
                person.append(next(iter(cands)))
                basis.append(how)
            elif len(cands) > 1:
                result.append("multiple_candidates")
                person.append(None)
                basis.append(how)
            else:
                result.append("pending_review" if i in partial else "no_match")
                person.append(None)
                basis.append("partial" if i in partial else "")
                undecided.append(i)
        if linker is not None and undecided:
            _ask_linker(store, linker, customers, undecided, result, person, basis)
        matched = sorted({p for p in person if p is not None})
        deaths: dict[int, tuple[str, str]] = {}
        if matched:
            _stage(
                store,
                tx,
                "match_people",
                pa.table({"person_id": pa.array(matched, pa.int64())}),
                "person_id BIGINT",
            )
            d = _candidates(
                store,
                "SELECT d.person_id, d.dod, d.proof, d.status, d.state_only FROM deaths d "
                "JOIN match_people m ON m.person_id = d.person_id",
            )
            for pid, dod, proof, status, state_only in zip(
                d["person_id"], d["dod"], d["proof"], d["status"], d["state_only"], strict=True
            ):
                if grant.allows(status=status, state_only=bool(state_only), dod=dod):
                    deaths[pid] = (dod, proof)
        # the answer file, then the disclosures (one event per chunk of answered rows)
        death_col = [("Y" if p in deaths else "N") if p is not None else "" for p in person]
        table = pa.table(
            {
                "line": pa.array([c.line for c in customers], pa.int64()),
                "customer_id": [c.customer_id for c in customers],
                "result": result,
                "death": death_col,
                "dod": [deaths[p][0] if p in deaths else "" for p in person],
                "proof": [deaths[p][1] if p in deaths else "" for p in person],
                "basis": basis,
            }
        )
        tmp = out.with_name(out.name + ".part")
        pa_csv.write_csv(table, tmp)
        res = MatchResult(
            out,
            n,
            {k: result.count(k) for k in MATCH_CLASSES},
            len([p for p in person if p in deaths]),
        )
        answered = [(p, _given(deaths.get(p))) for p in person if p is not None]
        at = utc_now_text()
        events = []
        for lo in range(0, len(answered), _CHUNK):
            part = answered[lo : lo + _CHUNK]
            did = uuid.uuid4().hex
            res.disclosure_ids.append(did)
            events.append(
                DisclosureMade(
                    disclosure_id=did,
                    recipient=recipient,
                    agreement_id=grant.agreement_id,
                    purpose=grant.purpose,
                    authority=grant.authority,
                    channel="match",
                    fields=list(grant.fields),
                    person_ids=[p for p, _ in part],
                    given=[g for _, g in part],
                    at=at,
                )
            )
        if events:
            store.append(events, note="batch match")
        tmp.replace(out)
    return res


def _ask_linker(
    store: Store,
    linker: Linker,
    customers: Sequence[Customer],
    rows: Sequence[int],
    result: list[str],
    person: list[int | None],
    basis: list[str],
) -> None:
    """Rows the rules left open, put to the linkage model as if they were reports."""
    reports = [
        ReportReceived(
            report_key=f"match/{i}",
            source_kind="financial",
            source_id="match",
            report_id=str(i),
            ssn=customers[i].ssn,
            first_name=customers[i].first_name,
            last_name=customers[i].last_name,
            dob=customers[i].dob,
        )
        for i in rows
    ]
    for i, lr in zip(rows, linker.link(store, reports), strict=True):
        if lr.outcome == "linked" and lr.person_id is not None:
            result[i], person[i], basis[i] = "matched", lr.person_id, f"model:{linker.version}"
        elif lr.outcome == "held":
            result[i], basis[i] = "pending_review", f"model:{linker.version}"
