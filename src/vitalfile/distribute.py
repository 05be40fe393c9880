"""Extract files: the full DMF file and update files (A/C/D since the last delivery).

A full file is every current death, sorted by SSN, written set-wise by SQL. An update file
compares, for each person whose death changed since the previous delivery, the record that
was on file then with the one on file now. Every extract is a `delivery.made` event.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from vitalfile.errors import UsageError
from vitalfile.ledger.store import Store, Tx, utc_now_text
from vitalfile.master import PersonState, evolve_person
from vitalfile.model import DeliveryMade, Event, decode
from vitalfile.sources.dmf import DmfRecord, format_record

__all__ = [
    "DeliveriesProjection",
    "ExtractResult",
    "dmf_line",
    "extract_full",
    "extract_update",
    "last_delivery",
]

_ALLOWED = "ABCDEFGHIJKLMNOPQRSTUVWXYZ -'."


def _clean_sql(col: str, width: int) -> str:
    """SQL: a name as the DMF layout wants it (upper case, no accents, allowed characters)."""
    return (
        f"rpad(ltrim(regexp_replace(upper(strip_accents({col})), '[^A-Z \\-''.]', ' ', 'g')), "
        f"{width}, ' ')"
    )


def _date_sql(col: str) -> str:
    return (
        f"CASE WHEN {col} = '' THEN '00000000' "
        f"ELSE substr({col}, 6, 2) || substr({col}, 9, 2) || substr({col}, 1, 4) END"
    )


FULL_SQL = (
    "SELECT ' ' || p.ssn || "
    + _clean_sql("p.last_name", 20)
    + " || "
    + _clean_sql("p.suffix", 4)
    + " || "
    + _clean_sql("p.first_name", 15)
    + " || "
    + _clean_sql("p.middle_name", 15)
    + " || CASE WHEN d.proof = '' THEN ' ' ELSE d.proof END || "
    + _date_sql("d.dod")
    + " || "
    + _date_sql("p.dob")
    + " || repeat(' ', 19) AS line "
    "FROM deaths d JOIN persons p ON p.person_id = d.person_id "
    "WHERE d.status = 'current' ORDER BY p.ssn, p.person_id"
)


def _clean(text: str, width: int) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text.upper())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    kept = "".join(c if c in _ALLOWED else " " for c in plain).lstrip()
    return kept[:width].rstrip()


def dmf_line(state: PersonState, action: str = "") -> str:
    """The DMF record of a person with a death (the same bytes the full-file SQL writes)."""
    assert state.person is not None and state.death is not None
    p, d = state.person, state.death
    return format_record(
        DmfRecord(
            action=action,
            ssn=p["ssn"],
            last_name=_clean(p["last_name"], 20),
            suffix=_clean(p["suffix"], 4),
            first_name=_clean(p["first_name"], 15),
            middle_name=_clean(p["middle_name"], 15),
            proof=d.proof,
            dod=d.dod,
            dob=p["dob"],
            dod_zeros=True,
            dob_zeros=True,
        )
    )


@dataclass
class ExtractResult:
    path: Path
    kind: str
    records: int
    adds: int = 0
    changes: int = 0
    deletes: int = 0
    since_seq: int = 0
    upto_seq: int = 0
    delivery_id: str = ""


class DeliveriesProjection:
    """Every delivery made, by recipient: what the next update file starts from."""

    name = "deliveries"

    def ddl(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS deliveries (
                delivery_id VARCHAR PRIMARY KEY, recipient VARCHAR NOT NULL,
                kind VARCHAR NOT NULL, format VARCHAR NOT NULL, since_seq BIGINT NOT NULL,
                upto_seq BIGINT NOT NULL, records BIGINT NOT NULL, adds BIGINT NOT NULL,
                changes BIGINT NOT NULL, deletes BIGINT NOT NULL, sha256 VARCHAR NOT NULL,
                made_at VARCHAR NOT NULL, seq BIGINT NOT NULL)"""
        ]

    def tables(self) -> list[str]:
        return ["deliveries"]

    def handles(self, event_type: str) -> bool:
        return event_type == DeliveryMade.type

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        rows = [(s, e) for s, e in events if isinstance(e, DeliveryMade)]
        cols = (
            "delivery_id",
            "recipient",
            "kind",
            "format",
            "since_seq",
            "upto_seq",
            "records",
            "adds",
            "changes",
            "deletes",
            "sha256",
            "made_at",
        )
        data = {c: [getattr(e, c) for _, e in rows] for c in cols}
        data["seq"] = [s for s, _ in rows]
        tx.insert_arrow("deliveries", pa.table(data))


def last_delivery(store: Store, recipient: str = "") -> tuple[str, int] | None:
    """(delivery id, upto_seq) of the recipient's latest delivery, if any."""
    rows = store.query(
        "SELECT delivery_id, upto_seq FROM deliveries WHERE recipient = ? "
        "ORDER BY seq DESC LIMIT 1",
        [recipient],
    )
    return (str(rows[0][0]), int(rows[0][1])) if rows else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _record(store: Store, result: ExtractResult, recipient: str, fmt: str) -> None:
    result.delivery_id = uuid.uuid4().hex
    store.append(
        [
            DeliveryMade(
                delivery_id=result.delivery_id,
                recipient=recipient,
                kind="full" if result.kind == "full" else "update",
                format=fmt,
                since_seq=result.since_seq,
                upto_seq=result.upto_seq,
                records=result.records,
                adds=result.adds,
                changes=result.changes,
                deletes=result.deletes,
                sha256=_sha256(result.path),
                made_at=utc_now_text(),
            )
        ],
        note=f"delivery {result.kind}",
    )


def extract_full(
    store: Store, out: Path, *, record: bool = True, progress: Callable[[int], None] | None = None
) -> ExtractResult:
    """Every current death in DMF layout, sorted by SSN; recorded as a delivery."""
    with store.transaction():
        head = store.head()
        upto = head.last_seq if head else 0
        tmp = out.with_name(out.name + ".part")
        n = 0
        with tmp.open("w", encoding="ascii", newline="\n") as fh:
            table = store.query_arrow(FULL_SQL)
            for batch in table.to_batches(max_chunksize=1 << 18):
                lines = batch.column(0).to_pylist()
                if lines:
                    fh.write("\n".join(lines))
                    fh.write("\n")
                n += len(lines)
                if progress:
                    progress(len(lines))
        tmp.replace(out)
        result = ExtractResult(out, "full", n, adds=n, since_seq=0, upto_seq=upto)
        if record:
            _record(store, result, "", "dmf")
    return result


def _states_at(
    store: Store, ids: Sequence[int], seqs: Sequence[int]
) -> list[dict[int, PersonState]]:
    """Each person's state as of every seq in `seqs` (ascending), from their events alone."""
    out: list[dict[int, PersonState]] = [{} for _ in seqs]
    if not ids:
        return out
    table = store.query_arrow(
        "SELECT seq, subject, body FROM ledger_events WHERE subject IN "
        "(SELECT unnest(?::BIGINT[])) AND seq <= ? ORDER BY seq",
        [list(ids), max(seqs)],
    )
    current: dict[int, PersonState] = {i: PersonState(i) for i in ids}
    import copy

    k = 0
    for seq, subject, body in zip(*(table.column(i).to_pylist() for i in range(3)), strict=True):
        while k < len(seqs) and seq > seqs[k]:
            out[k] = copy.deepcopy(current)
            k += 1
        evolve_person(current[int(subject)], int(seq), decode(body))
    while k < len(seqs):
        out[k] = copy.deepcopy(current)
        k += 1
    return out


def extract_update(
    store: Store, out: Path, *, since_seq: int | None = None, record: bool = True
) -> ExtractResult:
    """Adds, changes and deletes since the previous delivery (or since `since_seq`)."""
    with store.transaction():
        if since_seq is None:
            last = last_delivery(store)
            if last is None:
                raise UsageError("no earlier delivery: make a full file first")
            since_seq = last[1]
        head = store.head()
        upto = head.last_seq if head else 0
        ids = [
            int(r[0])
            for r in store.query(
                "SELECT DISTINCT subject FROM ledger_events WHERE seq > ? AND subject IS NOT NULL"
                " AND type LIKE 'death.%' OR (seq > ? AND type = 'dmf.record_loaded')"
                " ORDER BY 1",
                [since_seq, since_seq],
            )
        ]
        before, after = _states_at(store, ids, [since_seq, upto])
        lines: list[tuple[str, str]] = []
        adds = changes = deletes = 0
        for pid in ids:
            old, new = before[pid], after[pid]
            was = old.death is not None and old.death.status == "current"
            now = new.death is not None and new.death.status == "current"
            if now and not was:
                lines.append((new.person["ssn"] if new.person else "", dmf_line(new, "A")))
                adds += 1
            elif was and not now:
                lines.append((old.person["ssn"] if old.person else "", dmf_line(old, "D")))
                deletes += 1
            elif was and now and dmf_line(old) != dmf_line(new):
                lines.append((new.person["ssn"] if new.person else "", dmf_line(new, "C")))
                changes += 1
        lines.sort()
        tmp = out.with_name(out.name + ".part")
        with tmp.open("w", encoding="ascii", newline="\n") as fh:
            for _, line in lines:
                fh.write(line + "\n")
        tmp.replace(out)
        result = ExtractResult(
            out, "update", len(lines), adds, changes, deletes, since_seq=since_seq, upto_seq=upto
        )
        if record:
            _record(store, result, "", "dmf")
    return result
