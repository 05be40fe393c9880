"""Extract files for recipients (full and A/C/D updates), deliveries, and pending corrections.

What a recipient may have is the tier rule of `policy` applied set-wise in SQL; every
extract passes the gate and is a `delivery.made` event. The `delivered` projection records
which record versions each delivery held (one row per person per delivery), rebuilt from the
events alone: the record set is a function of the file as of `upto_seq`, the recipient's
tier and the extract date, all carried by the event. A recipient *holds* the rows of its
last full delivery as changed by the updates after it; an update file is the difference
between what it holds and what it may have now, so a retraction, a change, or a death it may
no longer receive reaches exactly the recipients that hold the old version.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vitalfile.disclosure.policy import DEATH_FIELDS, Grant, allows, death_sql, gate, keeper_grant
from vitalfile.errors import UsageError
from vitalfile.events import (
    DeathCorroborated,
    DeathPosted,
    DeathRetracted,
    DeathUpdated,
    DeliveryMade,
    DmfRecordLoaded,
    Event,
    PersonRegistered,
    decode,
)
from vitalfile.ledger.checkpoint import make_checkpoint
from vitalfile.ledger.store import Store, Tx, utc_now_text
from vitalfile.master.projection import PersonState, evolve_person
from vitalfile.sources.dmf import DmfRecord, clean_name, format_record

__all__ = [
    "FORMATS",
    "FULL_SQL",
    "Correction",
    "DeliveredProjection",
    "DeliveriesProjection",
    "ExtractResult",
    "dmf_line",
    "extract",
    "extract_full",
    "extract_update",
    "holdings_sql",
    "last_delivery",
    "pending_corrections",
    "write_sidecar",
]

FORMATS = ("dmf", "csv", "parquet")


# ── the record layouts, in SQL (names come cleaned and padded on the death row) ──
def _date_sql(col: str) -> str:
    return (
        f"CASE WHEN {col} = '' THEN '00000000' "
        f"ELSE concat(substr({col}, 6, 2), substr({col}, 9, 2), substr({col}, 1, 4)) END"
    )


def _line_sql(action: str) -> str:
    # one concat(): several times faster in DuckDB than a chain of ||
    return (
        f"concat({action}, p.ssn, d.dmf_names, "
        "CASE WHEN d.proof = '' THEN ' ' ELSE d.proof END, "
        f"{_date_sql('d.dod')}, {_date_sql('p.dob')}, '{' ' * 19}') AS line"
    )


def _columns_sql(action: str | None) -> str:
    cols = [f"{action} AS action"] if action else []
    cols.append("p.ssn AS ssn")
    for name, start, width in (
        ("last_name", 1, 20),
        ("suffix", 21, 4),
        ("first_name", 25, 15),
        ("middle_name", 40, 15),
    ):
        cols.append(f"rtrim(substr(d.dmf_names, {start}, {width})) AS {name}")
    cols += ["d.proof AS proof", "d.dod AS dod", "p.dob AS dob"]
    return ", ".join(cols)


_FROM = "FROM deaths d JOIN persons p ON p.person_id = d.person_id"
FULL_SQL = f"SELECT {_line_sql(chr(39) + ' ' + chr(39))} {_FROM} " + (
    "WHERE d.status = 'current' ORDER BY p.ssn, p.person_id"
)


def _select(fmt: str, action: str | None) -> str:
    if fmt == "dmf":
        return _line_sql(action or "' '")
    return _columns_sql(action)


def dmf_line(state: PersonState, action: str = "") -> str:
    """The DMF record of a person with a death (the same bytes the full-file SQL writes)."""
    assert state.person is not None and state.death is not None
    p, d = state.person, state.death
    return format_record(
        DmfRecord(
            action=action,
            ssn=p["ssn"],
            last_name=clean_name(p["last_name"], 20),
            suffix=clean_name(p["suffix"], 4),
            first_name=clean_name(p["first_name"], 15),
            middle_name=clean_name(p["middle_name"], 15),
            proof=d.proof,
            dod=d.dod,
            dob=p["dob"],
            dod_zeros=True,
            dob_zeros=True,
        )
    )


# ── record sets ───────────────────────────────────────────────────────────────────────
def _allowed_sql(tier: str, on: str) -> tuple[str, list[Any]]:
    """(person_id, version) of every death the tier may have on `on`."""
    cond, params = death_sql(tier, on, "d")
    return f"SELECT d.person_id, d.version {_FROM} WHERE {cond}", params


def holdings_sql(recipient: str, before_seq: int) -> tuple[str, list[Any]]:
    """(person_id, version) the recipient holds from deliveries before `before_seq`."""
    return (
        "SELECT t.person_id, t.version FROM (SELECT x.person_id, x.version, x.action, "
        "ROW_NUMBER() OVER (PARTITION BY x.person_id ORDER BY x.seq DESC) AS rn "
        "FROM delivered x WHERE x.recipient = ? AND x.seq < ? AND x.seq >= "
        "(SELECT coalesce(max(f.seq), 0) FROM deliveries f WHERE f.recipient = ? "
        "AND f.kind = 'full' AND f.seq < ?)) t WHERE t.rn = 1 AND t.action <> 'D'",
        [recipient, before_seq, recipient, before_seq],
    )


def _diff_sql(
    s_sql: str, s_params: list[Any], h_sql: str, h_params: list[Any]
) -> tuple[str, list[Any]]:
    """(action, person_id, version): A/C for what may be had now, D for what must go."""
    sql = (
        f"WITH s AS ({s_sql}), h AS ({h_sql}) "
        "SELECT 'A' AS action, s.person_id, s.version FROM s LEFT JOIN h "
        "ON h.person_id = s.person_id WHERE h.person_id IS NULL "
        "UNION ALL SELECT 'C', s.person_id, s.version FROM s JOIN h "
        "ON h.person_id = s.person_id WHERE h.version <> s.version "
        "UNION ALL SELECT 'D', h.person_id, h.version FROM h LEFT JOIN s "
        "ON s.person_id = h.person_id WHERE s.person_id IS NULL"
    )
    return sql, [*s_params, *h_params]


# ── projections ───────────────────────────────────────────────────────────────────────
_DELIVERY_COLS = (
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
    "tier",
    "agreement_id",
    "extract_date",
)


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
                made_at VARCHAR NOT NULL, tier VARCHAR NOT NULL, agreement_id VARCHAR NOT NULL,
                extract_date VARCHAR NOT NULL, seq BIGINT NOT NULL)"""
        ]

    def tables(self) -> list[str]:
        return ["deliveries"]

    def handles(self, event_type: str) -> bool:
        return event_type == DeliveryMade.type

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        rows = [(s, e) for s, e in events if isinstance(e, DeliveryMade)]
        data: dict[str, list[Any]] = {c: [getattr(e, c) for _, e in rows] for c in _DELIVERY_COLS}
        data["seq"] = [s for s, _ in rows]
        tx.insert_arrow("deliveries", pa.table(data))


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


def _tier_and_date(e: DeliveryMade) -> tuple[str, str]:
    return e.tier or "federal", e.extract_date or (e.made_at[:10] or "9999-12-31")


class DeliveredProjection:
    """Which record versions each delivery held: delivered(recipient, person_id, version,
    action, delivery_id, seq); action ' ' in a full file, else A, C or D."""

    name = "delivered"
    _STAGE = "delivered_stage"

    def ddl(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS delivered (recipient VARCHAR NOT NULL,
                person_id BIGINT NOT NULL, version INTEGER NOT NULL, action VARCHAR NOT NULL,
                delivery_id VARCHAR NOT NULL, seq BIGINT NOT NULL)""",
            """CREATE TABLE IF NOT EXISTS delivered_stage (person_id BIGINT NOT NULL,
                version INTEGER NOT NULL)""",
        ]

    def tables(self) -> list[str]:
        return ["delivered", "delivered_stage"]

    def handles(self, event_type: str) -> bool:
        # person events only to know, while replaying, who changed after a delivery
        return event_type == DeliveryMade.type or event_type in _PERSON_TYPES

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        for i, (seq, e) in enumerate(events):
            if not isinstance(e, DeliveryMade):
                continue
            # the master tables are already at the end of this batch: people whose events
            # come after upto_seq are put back as they stood then
            later = sorted(
                {
                    int(getattr(ev, "person_id"))  # noqa: B009
                    for s, ev in events[i + 1 :]
                    if ev.type in _PERSON_TYPES and s > e.upto_seq
                }
                | {
                    int(getattr(ev, "person_id"))  # noqa: B009
                    for s, ev in events[:i]
                    if ev.type in _PERSON_TYPES and s > e.upto_seq
                }
            )
            self._one(tx, seq, e, later)

    def _one(self, tx: Tx, seq: int, e: DeliveryMade, later: list[int]) -> None:
        tier, on = _tier_and_date(e)
        s_sql, s_params = _allowed_sql(tier, on)
        if later:
            tx.execute(f"DELETE FROM {self._STAGE}")
            tx.execute(f"INSERT INTO {self._STAGE} {s_sql}", s_params)
            tx.delete_in(self._STAGE, "person_id", later)
            back = _replay(tx, later, e.upto_seq)
            keep = [
                (pid, st.death.version)
                for pid, st in back.items()
                if st.person is not None
                and st.death is not None
                and allows(
                    tier,
                    on,
                    status=st.death.status,
                    state_only=st.death.state_only,
                    dod=st.death.dod,
                )
            ]
            tx.insert_arrow(
                self._STAGE,
                pa.table(
                    {
                        "person_id": pa.array([k[0] for k in keep], pa.int64()),
                        "version": pa.array([k[1] for k in keep], pa.int32()),
                    }
                ),
            )
            s_sql, s_params = f"SELECT person_id, version FROM {self._STAGE}", []
        if e.kind == "full":
            tx.execute(
                "INSERT INTO delivered (recipient, person_id, version, action, delivery_id, seq) "
                f"SELECT ?, s.person_id, s.version, ' ', ?, ? FROM ({s_sql}) s",
                [e.recipient, e.delivery_id, seq, *s_params],
            )
        else:
            h_sql, h_params = holdings_sql(e.recipient, seq)
            diff, params = _diff_sql(s_sql, s_params, h_sql, h_params)
            tx.execute(
                "INSERT INTO delivered (recipient, person_id, version, action, delivery_id, seq) "
                f"SELECT ?, x.person_id, x.version, x.action, ?, ? FROM ({diff}) x",
                [e.recipient, e.delivery_id, seq, *params],
            )
        if later:
            tx.execute(f"DELETE FROM {self._STAGE}")


def _replay(tx: Tx, ids: Sequence[int], upto_seq: int) -> dict[int, PersonState]:
    states = {i: PersonState(i) for i in ids}
    for pid in ids:
        for s, body in tx.fetchall(
            "SELECT seq, body FROM ledger_events WHERE subject = ? AND seq <= ? ORDER BY seq",
            [pid, upto_seq],
        ):
            evolve_person(states[pid], int(s), decode(body))
    return states


# ── making files ──────────────────────────────────────────────────────────────────────
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
    recipient: str = ""
    format: str = "dmf"
    sha256: str = ""
    checkpoint: Path | None = None


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


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _write(store: Store, sql: str, params: list[Any], path: Path, fmt: str) -> int:
    """Write the rows of `sql` to `path`: DuckDB's COPY where we can, Arrow elsewhere."""
    con = getattr(store, "con", None)
    if con is not None and type(store).__name__ == "DuckDBStore":
        opts = {
            "dmf": "FORMAT csv, HEADER false, QUOTE '', ESCAPE ''",
            "csv": "FORMAT csv, HEADER true",
            "parquet": "FORMAT parquet",
        }[fmt]
        rows = store.query(f"COPY ({sql}) TO {_quote_path(path)} ({opts})", params)
        return int(rows[0][0]) if rows and rows[0] else 0
    table = store.query_arrow(sql, params)
    if fmt == "parquet":
        pq.write_table(table, path)
    elif fmt == "csv":
        pa_csv.write_csv(table, path)
    else:
        with path.open("w", encoding="ascii", newline="\n") as fh:
            for batch in table.to_batches(max_chunksize=1 << 18):
                lines = batch.column(0).to_pylist()
                if lines:
                    fh.write("\n".join(lines) + "\n")
    return table.num_rows


def write_sidecar(store: Store, result: ExtractResult, key: Ed25519PrivateKey) -> Path:
    """`FILE.checkpoint.json`: the signed head (after the delivery) and what the file is."""
    head = store.head()
    assert head is not None
    cp = make_checkpoint(head, key, utc_now_text())
    doc = json.loads(cp.to_json())
    doc["delivery"] = {
        "delivery_id": result.delivery_id,
        "recipient": result.recipient,
        "kind": result.kind,
        "format": result.format,
        "upto_seq": result.upto_seq,
        "records": result.records,
        "sha256": result.sha256,
    }
    path = result.path.with_name(result.path.name + ".checkpoint.json")
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return path


def extract(
    store: Store,
    out: Path,
    *,
    recipient: str = "",
    kind: str = "full",
    fmt: str = "dmf",
    on: date | None = None,
    key: Ed25519PrivateKey | None = None,
    record: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ExtractResult:
    """A full or update file for `recipient` ('' = the keeper, unrestricted) through the gate.

    The file and its `delivery.made` event are made in one transaction; with `key`, the file
    gets a signed checkpoint sidecar. An update needs an earlier full delivery.
    """
    if fmt not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}", field="format")
    if kind not in ("full", "update"):
        raise UsageError("kind must be full or update", field="kind")
    grant: Grant = (
        keeper_grant(on)
        if recipient == ""
        else gate(store, recipient, channel="file", fields=DEATH_FIELDS, on=on)
    )
    tmp = out.with_name(out.name + ".part")
    with store.transaction():
        head = store.head()
        upto = head.last_seq if head else 0
        s_sql, s_params = _allowed_sql(grant.tier, grant.on)
        result = ExtractResult(out, kind, 0, upto_seq=upto, recipient=recipient, format=fmt)
        if kind == "full":
            cond, c_params = death_sql(grant.tier, grant.on, "d")
            sql = f"SELECT {_select(fmt, None)} {_FROM} WHERE {cond} ORDER BY p.ssn, p.person_id"
            result.records = result.adds = _write(store, sql, c_params, tmp, fmt)
        else:
            prev = store.query(
                "SELECT upto_seq FROM deliveries WHERE recipient = ? ORDER BY seq DESC LIMIT 1",
                [recipient],
            )
            has_full = store.query(
                "SELECT 1 FROM deliveries WHERE recipient = ? AND kind = 'full'", [recipient]
            )
            if not prev or not has_full:
                raise UsageError("no earlier full delivery to this recipient: make a full file")
            result.since_seq = int(prev[0][0])
            h_sql, h_params = holdings_sql(recipient, upto + 1)
            diff, params = _diff_sql(s_sql, s_params, h_sql, h_params)
            sql = (
                f"SELECT {_select(fmt, 'x.action')} FROM ({diff}) x "
                "JOIN persons p ON p.person_id = x.person_id "
                "JOIN deaths d ON d.person_id = x.person_id ORDER BY p.ssn, p.person_id"
            )
            counts = dict(
                store.query(f"SELECT x.action, count(*) FROM ({diff}) x GROUP BY x.action", params)
            )
            result.adds = int(counts.get("A", 0))
            result.changes = int(counts.get("C", 0))
            result.deletes = int(counts.get("D", 0))
            result.records = _write(store, sql, params, tmp, fmt)
        if fmt == "dmf" and result.records == 0:
            tmp.write_bytes(b"")
        tmp.replace(out)
        result.sha256 = _sha256(out)
        if progress:
            progress(result.records)
        if record:
            result.delivery_id = uuid.uuid4().hex
            store.append(
                [
                    DeliveryMade(
                        delivery_id=result.delivery_id,
                        recipient=recipient,
                        kind="full" if kind == "full" else "update",
                        format=fmt,
                        since_seq=result.since_seq,
                        upto_seq=upto,
                        records=result.records,
                        adds=result.adds,
                        changes=result.changes,
                        deletes=result.deletes,
                        sha256=result.sha256,
                        made_at=utc_now_text(),
                        tier=grant.tier,
                        agreement_id=grant.agreement_id,
                        extract_date=grant.on,
                    )
                ],
                note=f"delivery {kind}",
            )
    if record and key is not None:
        result.checkpoint = write_sidecar(store, result, key)
    return result


def extract_full(
    store: Store,
    out: Path,
    *,
    record: bool = True,
    progress: Callable[[int], None] | None = None,
    recipient: str = "",
    fmt: str = "dmf",
    on: date | None = None,
    key: Ed25519PrivateKey | None = None,
) -> ExtractResult:
    """Every current death the recipient may have, sorted by SSN; recorded as a delivery."""
    return extract(
        store,
        out,
        recipient=recipient,
        kind="full",
        fmt=fmt,
        on=on,
        key=key,
        record=record,
        progress=progress,
    )


def extract_update(
    store: Store,
    out: Path,
    *,
    record: bool = True,
    recipient: str = "",
    fmt: str = "dmf",
    on: date | None = None,
    key: Ed25519PrivateKey | None = None,
) -> ExtractResult:
    """Adds, changes and deletes since the recipient's previous delivery."""
    return extract(
        store, out, recipient=recipient, kind="update", fmt=fmt, on=on, key=key, record=record
    )


# ── corrections ───────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Correction:
    recipient: str
    person_id: int
    change: str  # retracted | changed | no longer allowed
    held_version: int
    current_version: int


def pending_corrections(
    store: Store, recipient: str | None = None, *, on: date | None = None
) -> list[Correction]:
    """For each recipient, the records it holds whose version is no longer the right one."""
    day = (on or date.today()).isoformat()
    where = "" if recipient is None else "WHERE x.recipient = ?"
    params: list[Any] = [] if recipient is None else [recipient]
    rows = store.query(
        "SELECT t.recipient, t.person_id, t.version, d.version, d.status, d.state_only, d.dod, "
        "coalesce(r.tier, 'federal') FROM (SELECT x.recipient, x.person_id, x.version, x.action,"
        " ROW_NUMBER() OVER (PARTITION BY x.recipient, x.person_id ORDER BY x.seq DESC) AS rn"
        " FROM delivered x JOIN (SELECT recipient, max(seq) AS full_seq FROM deliveries"
        " WHERE kind = 'full' GROUP BY recipient) f ON f.recipient = x.recipient"
        f" AND x.seq >= f.full_seq {where}) t"
        " JOIN deaths d ON d.person_id = t.person_id"
        " LEFT JOIN recipients r ON r.recipient = t.recipient"
        " WHERE t.rn = 1 AND t.action <> 'D' AND (d.version <> t.version OR d.status <> 'current'"
        " OR (coalesce(r.tier, 'federal') <> 'federal' AND d.state_only)"
        " OR coalesce(r.tier, 'federal') = 'public')"
        " ORDER BY t.recipient, t.person_id",
        params,
    )
    out: list[Correction] = []
    for rec, pid, held, cur, status, state_only, dod, tier in rows:
        if status != "current":
            change = "retracted"
        elif not allows(tier, day, status=status, state_only=bool(state_only), dod=dod):
            change = "no longer allowed"
        elif held != cur:
            change = "changed"
        else:
            continue
        out.append(Correction(str(rec), int(pid), change, int(held), int(cur)))
    return out
