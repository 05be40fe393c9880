"""Extract files for recipients: full files and A/C/D update files, made through the gate.

What a recipient may have is the tier rule of `policy` applied set-wise in SQL; an update file
is the difference between what the recipient holds (`deliveries`) and what it may have now.
A recipient whose agreement ended or narrowed still receives the corrections it is owed (C/D
lines for what it holds, nothing new). The keeper's own file names its purpose and authority
and is signed. Every file is a `delivery.made` event; with the key it gets a sidecar whose
signed checkpoint carries the delivery (recipient, id, SHA-256, record count).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypedDict, Unpack

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vitalfile.disclosure.deliveries import (
    DELIVERY_FROM,
    allowed_sql,
    diff_sql,
    holdings_sql,
    scoped_sql,
)
from vitalfile.disclosure.extracts_files import (
    locked_folder,
    new_delivery_id,
    part_path,
    parts_in,
    publish_file,
    sync_file,
    write_text_atomically,
)
from vitalfile.disclosure.policy import Grant, death_sql, gate_file
from vitalfile.errors import CheckpointMismatch, UsageError
from vitalfile.events import DeliveryMade
from vitalfile.ledger.checkpoint import make_checkpoint
from vitalfile.ledger.store import Store, utc_now_text
from vitalfile.master.projection import PersonState
from vitalfile.sources.dmf import DmfRecord, clean_name, format_record
from vitalfile.sources.dmf_layout import LAYOUT_1980, LAYOUT_2011, layout_named

__all__ = [
    "FORMATS",
    "FULL_SQL",
    "ExtractOptions",
    "ExtractResult",
    "delivery_payload",
    "dmf_line",
    "extract",
    "extract_full",
    "extract_update",
    "finish_pending",
    "sha256_of",
    "write_sidecar",
]

FORMATS = ("dmf", "csv", "parquet")


# ── the record layouts, in SQL (names come cleaned and padded on the death row) ──
def _date_sql(col: str, blank: str) -> str:
    """MMDDYYYY; a wholly unknown date as the DMF record taken over wrote it (`blank`), else
    00000000."""
    return (
        f"CASE WHEN {col} = '' THEN (CASE WHEN {blank} THEN '{' ' * 8}' ELSE '00000000' END) "
        f"ELSE concat(substr({col}, 6, 2), substr({col}, 9, 2), substr({col}, 1, 4)) END"
    )


def _geography_sql() -> str:
    """Columns 82-100 of the pre-2011 layout: the person's state and ZIP (the first five
    digits of a ZIP+4) and the death's lump-sum ZIP, padded; then blanks."""
    cols = {c.name: c.length for c in LAYOUT_1980.columns}
    return (
        f"rpad(p.state, {cols['residence_state']}, ' '), "
        f"rpad(left(p.zip, 5), {cols['residence_zip']}, ' '), "
        f"rpad(d.lump_sum_zip, {cols['lump_sum_zip']}, ' '), '{' ' * LAYOUT_1980.filler.length}'"
    )


def _line_sql(action: str, layout: str = "2011") -> str:
    # one concat(): several times faster in DuckDB than a chain of ||
    tail = _geography_sql() if layout == "1980" else f"'{' ' * LAYOUT_2011.filler.length}'"
    return (
        f"concat({action}, p.ssn, d.dmf_names, "
        "CASE WHEN d.proof = '' THEN ' ' ELSE d.proof END, "
        f"{_date_sql('d.dod', 'd.dod_blank')}, {_date_sql('p.dob', 'd.dob_blank')}, "
        f"{tail}) AS line"
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


_FROM = DELIVERY_FROM
FULL_SQL = f"SELECT {_line_sql(chr(39) + ' ' + chr(39))} {_FROM} " + (
    "WHERE d.status = 'current' ORDER BY p.ssn, p.person_id"
)


def _select(fmt: str, action: str | None, layout: str = "2011") -> str:
    if fmt == "dmf":
        return _line_sql(action or "' '", layout)
    return _columns_sql(action)


def dmf_line(state: PersonState, action: str = "") -> str:
    """The DMF record of a person with a death (the same bytes the full-file SQL writes in
    the 2011 layout)."""
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
            dod_zeros=not d.dod_blank,
            dob_zeros=not d.dob_blank,
        )
    )


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
    scope: str = "all"  # or "corrections": C/D lines only (agreement ended or narrowed)


def sha256_of(path: Path) -> str:
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


def delivery_payload(result: ExtractResult) -> dict[str, Any]:
    """What the signed checkpoint says was delivered (the signature covers it)."""
    return {
        "delivery_id": result.delivery_id,
        "recipient": result.recipient,
        "kind": result.kind,
        "format": result.format,
        "upto_seq": result.upto_seq,
        "records": result.records,
        "sha256": result.sha256,
    }


def write_sidecar(store: Store, result: ExtractResult, key: Ed25519PrivateKey) -> Path:
    """`FILE.checkpoint.json`: the head after the delivery, signed together with the delivery
    (recipient, delivery id, SHA-256, record count): a recipient can prove what it was sent."""
    head = store.head()
    assert head is not None
    cp = make_checkpoint(head, key, utc_now_text(), delivery=delivery_payload(result))
    path = result.path.with_name(result.path.name + ".checkpoint.json")
    write_text_atomically(path, cp.to_json())
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
    purpose: str = "",
    authority: str = "",
    layout: str = "2011",
    delivery_id: str = "",
) -> ExtractResult:
    """A full or update file for `recipient` through the gate (`policy.gate_file`).

    `layout` '1980' writes the DMF file in the pre-2011 layout (state and ZIP of residence,
    lump-sum ZIP): the keeper's own file only, since no agreement names those fields.

    The keeper's own file (recipient '') names its `purpose` and `authority` and needs `key`.
    A recipient whose agreement ended or narrowed gets, in an update, only the corrections
    and deletes of what it holds. An update needs an earlier full delivery.

    The file is written aside and its `delivery.made` event committed before the file takes
    its name (`extracts_files`); with `key`, its signed checkpoint sidecar (carrying the
    delivery) is written before that too. So `out` appears only with its delivery recorded;
    a run killed between the commit and the rename is finished by the next extract into the
    same folder (or `finish_pending`): run again for the same `out`, recipient, kind and
    format, it returns that delivery instead of making another. `delivery_id` may be chosen
    by the caller (a fresh one by default).
    """
    if fmt not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}", field="format")
    if kind not in ("full", "update"):
        raise UsageError("kind must be full or update", field="kind")
    layout_named(layout)
    if layout == "1980" and (fmt != "dmf" or recipient != ""):
        raise UsageError(
            "the pre-2011 layout is a DMF file for the keeper only: no agreement names the "
            "state and ZIP of residence or the lump-sum ZIP",
            field="layout",
        )
    with locked_folder(out.parent):
        for done in _finish_pending(store, out.parent, key):
            if done.path == out and (done.recipient, done.kind, done.format) == (
                recipient,
                kind,
                fmt,
            ):
                return done  # a killed run recorded this file: finished now, not made again
        grant, scope = gate_file(
            store,
            recipient,
            kind=kind,
            on=on,
            purpose=purpose,
            authority=authority,
            signed=key is not None or not record,
        )
        result = ExtractResult(out, kind, 0, recipient=recipient, format=fmt, scope=scope)
        delivery_id = delivery_id or new_delivery_id()
        part = part_path(out, delivery_id)
        try:
            with store.transaction():  # the file and its delivery from one snapshot
                _make(store, result, part, grant, layout)
                if record:
                    result.delivery_id = delivery_id
                    store.append([_delivery_event(result, grant)], note=f"delivery {kind}")
        except BaseException:
            part.unlink(missing_ok=True)  # nothing recorded: nothing left behind
            raise
        if progress:
            progress(result.records)
        _publish(store, result, part, key if record else None)
    return result


def _make(store: Store, result: ExtractResult, part: Path, grant: Grant, layout: str) -> None:
    """Write `result`'s file to `part`, synced to disk, and count it (in the caller's
    transaction: the snapshot its delivery is recorded in)."""
    head = store.head()
    recipient, fmt, scope = result.recipient, result.format, result.scope
    upto = result.upto_seq = head.last_seq if head else 0
    s_sql, s_params = allowed_sql(grant.tier, grant.on)
    if result.kind == "full":
        cond, c_params = death_sql(grant.tier, grant.on, "d")
        sql = (
            f"SELECT {_select(fmt, None, layout)} {_FROM} WHERE {cond} ORDER BY p.ssn, p.person_id"
        )
        result.records = result.adds = _write(store, sql, c_params, part, fmt)
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
        s_sql, s_params = scoped_sql(scope, s_sql, s_params, h_sql, h_params)
        diff, params = diff_sql(s_sql, s_params, h_sql, h_params)
        sql = (
            f"SELECT {_select(fmt, 'x.action', layout)} FROM ({diff}) x "
            "JOIN persons p ON p.person_id = x.person_id "
            "JOIN deaths d ON d.person_id = x.person_id ORDER BY p.ssn, p.person_id"
        )
        counts = dict(
            store.query(f"SELECT x.action, count(*) FROM ({diff}) x GROUP BY x.action", params)
        )
        result.adds = int(counts.get("A", 0))
        result.changes = int(counts.get("C", 0))
        result.deletes = int(counts.get("D", 0))
        result.records = _write(store, sql, params, part, fmt)
    if not part.exists():  # an empty DMF file is still a file
        part.write_bytes(b"")
    sync_file(part)
    result.sha256 = sha256_of(part)


def _delivery_event(result: ExtractResult, grant: Grant) -> DeliveryMade:
    keeper = result.recipient == ""
    return DeliveryMade(
        delivery_id=result.delivery_id,
        recipient=result.recipient,
        kind="full" if result.kind == "full" else "update",
        format=result.format,
        since_seq=result.since_seq,
        upto_seq=result.upto_seq,
        records=result.records,
        adds=result.adds,
        changes=result.changes,
        deletes=result.deletes,
        sha256=result.sha256,
        made_at=utc_now_text(),
        tier=grant.tier,
        agreement_id=grant.agreement_id,
        extract_date=grant.on,
        scope="corrections" if result.scope == "corrections" else "all",
        purpose=grant.purpose if keeper else "",
        authority=grant.authority if keeper else "",
    )


def _publish(
    store: Store, result: ExtractResult, part: Path, key: Ed25519PrivateKey | None
) -> None:
    """The signed sidecar, then the file under its name: once the name is there, so are its
    delivery and its sidecar."""
    if key is not None:
        result.checkpoint = write_sidecar(store, result, key)
    publish_file(part, result.path)


_PENDING_COLS = (
    "recipient, kind, format, since_seq, upto_seq, records, adds, changes, deletes, sha256, scope"
)


def _finish_pending(
    store: Store, folder: Path, key: Ed25519PrivateKey | None
) -> list[ExtractResult]:
    """Publish each part in `folder` whose delivery is recorded; remove the others (runs
    killed before their commit). Call with the folder locked."""
    done = []
    for part, out, delivery_id in parts_in(folder):
        rows = store.query(
            f"SELECT {_PENDING_COLS} FROM deliveries WHERE delivery_id = ?", [delivery_id]
        )
        if not rows:
            part.unlink(missing_ok=True)
            continue
        rec, kind, fmt, since, upto, records, adds, changes, deletes, sha, scope = rows[0]
        if sha256_of(part) != sha:
            raise CheckpointMismatch(
                "a recorded file waiting for its name is not the one recorded (its SHA-256 "
                "differs): left where it is",
                file=part.name,
                record_id=delivery_id,
            )
        result = ExtractResult(
            out, str(kind), int(records), int(adds), int(changes), int(deletes), int(since),
            int(upto), delivery_id, str(rec), str(fmt), str(sha), scope=str(scope or "all"),
        )  # fmt: skip
        _publish(store, result, part, key)
        done.append(result)
    return done


def finish_pending(
    store: Store, folder: Path, key: Ed25519PrivateKey | None = None
) -> list[ExtractResult]:
    """Finish what killed extracts left in `folder`: each file whose delivery was recorded
    gets its sidecar (with `key`) and its name; a file never recorded is removed."""
    if not folder.is_dir():
        return []
    with locked_folder(folder):
        return _finish_pending(store, folder, key)


class ExtractOptions(TypedDict, total=False):
    """What `extract_full` and `extract_update` pass on to `extract` (see there)."""

    recipient: str
    fmt: str
    on: date | None
    key: Ed25519PrivateKey | None
    record: bool
    progress: Callable[[int], None] | None
    purpose: str
    authority: str
    layout: str
    delivery_id: str


def extract_full(store: Store, out: Path, **options: Unpack[ExtractOptions]) -> ExtractResult:
    """Every current death the recipient may have, sorted by SSN; recorded as a delivery."""
    return extract(store, out, kind="full", **options)


def extract_update(store: Store, out: Path, **options: Unpack[ExtractOptions]) -> ExtractResult:
    """Adds, changes and deletes since the recipient's previous delivery."""
    return extract(store, out, kind="update", **options)
