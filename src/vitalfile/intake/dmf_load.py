"""The initial load of an existing DMF full file, set-wise on either database.

Ten million records cannot go through a Python call each: the database reads the file
(DuckDB `read_csv`, PostgreSQL `COPY`), the lines are checked and turned into
`dmf.record_loaded` events by SQL (the same field rules as `sources.dmf`, cross-checked by a
test), hashed per commit, and the master-file rows are written by SQL from the same staged
rows — exactly what replaying the events gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vitalfile.errors import FileRejected, RecordError, UsageError
from vitalfile.events.people import DMF_OPTIONAL_FIELDS
from vitalfile.ledger.store import StepProgress, Store, Tx
from vitalfile.master.projection import PERSON_COLUMNS
from vitalfile.sources.dmf import MIN_TRIMMED_LENGTH, MIN_YEAR, SUFFIX_WORDS
from vitalfile.sources.dmf_layout import (
    LAYOUT_1980,
    RECORD_FIELDS,
    RECORD_LENGTH,
    RESIDENCE_FIELDS,
    Layout,
    layout_named,
)

__all__ = ["LoadResult", "check_dmf_full", "load_dmf_full", "split_dmf_sql", "stage_dmf_sql"]

# A DMF record names the person (and, before 2011, the state and ZIP of residence); what
# else a person carries is unknown ('').
_DMF_PERSON_FIELDS = {
    **{c: c for c in RECORD_FIELDS if c in PERSON_COLUMNS},
    "state": "residence_state",
    "zip": "residence_zip",
}
_DMF_PERSON_SQL = ", ".join(_DMF_PERSON_FIELDS.get(c, "''") for c in PERSON_COLUMNS)

MAX_LISTED_PROBLEMS = 1000


@dataclass
class LoadResult:
    records: int
    commits: int
    first_person_id: int
    layout: str = "2011"  # '1980' when a record carries a pre-2011 field


def _col(name: str, layout: Layout = LAYOUT_1980) -> str:
    col = layout.column(name)
    return f"substr(line, {col.start}, {col.length})"


def _iso(raw: str) -> str:
    """SQL: MMDDYYYY → YYYY-MM-DD; blank or zeros → ''."""
    return (
        f"CASE WHEN {raw} IN ('        ', '00000000') THEN '' "
        f"ELSE substr({raw}, 5, 4) || '-' || substr({raw}, 1, 2) || '-' || substr({raw}, 3, 2) END"
    )


def _sql_text(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def split_dmf_sql(lines: str, layout: str | None = None) -> str:
    """SQL (portable) selecting one staged row per line of relation `lines` (rid, line):
    rid, line_no, the fields, and `line`.

    `layout` as for `sources.dmf.parse_line` ('2011', '1980', None for either). A line
    whose trailing blanks were trimmed is padded back (`sources.dmf.padded`); a surname
    written `CARTER,` ends at its comma (`sources.dmf._surname`).
    """
    lay = layout_named(layout) or LAYOUT_1980
    raw = f"SELECT rid, line FROM {lines}"
    padded = (
        f"SELECT rid, CASE WHEN length(line) BETWEEN {MIN_TRIMMED_LENGTH} AND "
        f"{RECORD_LENGTH - 1} AND right(line, 1) <> ' ' THEN rpad(line, {RECORD_LENGTH}, ' ') "
        f"ELSE line END AS line FROM ({raw}) t1"
    )
    last = _col("last_name")
    comma = (
        f"SELECT *, strpos({last}, ',') AS comma_at, rtrim({_col('suffix')}) AS suffix_col "
        f"FROM ({padded}) t2"
    )
    surname = (
        "SELECT *, CASE WHEN comma_at = 0 THEN rtrim(last_raw) "
        "ELSE rtrim(substr(last_raw, 1, comma_at - 1)) END AS last_name, "
        "CASE WHEN comma_at = 0 THEN '' ELSE trim(substr(last_raw, comma_at + 1), ' ') END "
        f"AS comma_tail FROM (SELECT *, {last} AS last_raw FROM ({comma}) t3) t4"
    )
    if lay is LAYOUT_1980:
        geography = ", ".join(
            f"{_col(f)} AS {f}_raw, trim({_col(f)}, ' ') AS {f}" for f in RESIDENCE_FIELDS
        )
    else:
        geography = ", ".join(f"'' AS {f}" for f in RESIDENCE_FIELDS)
    names = ("first_name", "middle_name")
    return (
        "SELECT rid, rid + 1 AS line_no, line, "
        f"{_col('action')} AS action, {_col('ssn')} AS ssn, last_name, comma_at, comma_tail, "
        "suffix_col, CASE WHEN suffix_col = '' THEN comma_tail ELSE suffix_col END AS suffix, "
        + ", ".join(f"rtrim({_col(n)}) AS {n}" for n in names)
        + f", {_col('proof')} AS proof_raw, {_col('dod')} AS dod_raw, {_col('dob')} AS dob_raw, "
        f"{geography}, substr(line, {lay.filler.start}, {lay.filler.length}) AS filler, "
        f"{_iso(_col('dod'))} AS dod, {_iso(_col('dob'))} AS dob, "
        f"{_col('dod')} = '{' ' * 8}' AS dod_blank, {_col('dob')} = '{' ' * 8}' AS dob_blank "
        f"FROM ({surname}) t5"
    )


def stage_dmf_sql(path: Path, layout: str | None = None) -> str:
    """DuckDB: the file read and split in one SELECT (what the load is measured against)."""
    src = (
        f"read_csv('{str(path).replace(chr(39), chr(39) * 2)}', columns={{'line': 'VARCHAR'}}, "
        "header=false, delim=chr(1), quote='', escape='', auto_detect=false, "
        "strict_mode=false, null_padding=false)"
    )
    return split_dmf_sql(
        f"(SELECT (row_number() OVER ()) - 1 AS rid, coalesce(line, '') AS line FROM {src}) t0",
        layout,
    )


_STAGE = "__dmf_stage"


def _unreadable(path: Path) -> RecordError:
    """The first line the database could not stage as one record (blank, or not UTF-8)."""
    with path.open("rb") as fh:
        for no, raw in enumerate(fh, start=1):
            line = raw.rstrip(b"\r\n")
            if not line:
                return RecordError("record is blank", line=no, field="record")
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return RecordError("record is not UTF-8 text", line=no, field="record")
    return RecordError("the file is not one record per line", field="record")


def _stage(store: Store, path: Path, layout: str | None) -> int:
    """The file's lines split into their fields in `_STAGE`; the line count."""
    n = store.stage_csv(
        _STAGE,
        path,
        ["line"],
        header=False,
        delimiter="\x01",
        quote="\x02",
        transform=lambda lines: split_dmf_sql(lines, layout),
    )
    if n is None:
        raise FileRejected([_unreadable(path)], file=path.name)
    return n


def _date_ok(store: Store, raw: str) -> str:
    """SQL true when a staged date is blank, zeros, or a real (partial) date ≥ MIN_YEAR.

    CASE, not AND: PostgreSQL may evaluate AND's operands in any order (the casts fail).
    """
    y, m, d = (f"CAST(substr({raw}, {a}, {b}) AS INTEGER)" for a, b in ((5, 4), (1, 2), (3, 2)))
    days = (
        f"CASE WHEN {m} IN (4, 6, 9, 11) THEN 30 WHEN {m} = 2 THEN CASE WHEN {y} % 4 = 0 "
        f"AND ({y} % 100 <> 0 OR {y} % 400 = 0) THEN 29 ELSE 28 END ELSE 31 END"
    )
    return (
        f"CASE WHEN {raw} IN ('        ', '00000000') THEN true "
        f"WHEN NOT {store.regex_sql(raw, '[0-9]{8}')} THEN false "
        f"WHEN substr({raw}, 5, 4) < '{MIN_YEAR}' THEN false "
        f"WHEN substr({raw}, 1, 4) = '0000' THEN true "
        f"ELSE {m} BETWEEN 1 AND 12 AND ({d} = 0 OR {d} <= {days}) END"
    )


_NAME_RE = "([A-Z\\-''.][A-Z \\-''.]*)?"


def _checks(store: Store, layout: str | None) -> tuple[tuple[str, str, str], ...]:
    """(field, SQL true when the staged line is fine, message), in column order."""
    lay = layout_named(layout) or LAYOUT_1980
    rx = store.regex_sql
    checks: list[tuple[str, str, str]] = [
        ("record", "length(line) = 100", "record is not 100 characters long"),
        ("action", "action = ' '", "action code is not blank in a full file"),
        ("ssn", rx("ssn", "[0-9]{9}"), "SSN is not 9 digits"),
        (
            "ssn",
            "NOT (substr(ssn, 1, 3) IN ('000', '666') OR substr(ssn, 1, 1) = '9' "
            "OR substr(ssn, 4, 2) = '00' OR substr(ssn, 6, 4) = '0000' "
            "OR ssn IN ('078051120', '219099999'))",
            "SSN is never issued",
        ),
        (
            "last_name",
            f"comma_at = 0 OR (last_name <> '' AND comma_tail IN ('', {_sql_text(SUFFIX_WORDS)}))",
            "last name has a comma without a surname before it or more than a suffix after it",
        ),
        (
            "last_name",
            rx("last_name", _NAME_RE),
            "last name has bad characters",
        ),
        (
            "suffix",
            rx("suffix_col", _NAME_RE),
            "name suffix has bad characters",
        ),
        (
            "first_name",
            rx("first_name", _NAME_RE),
            "first name has bad characters",
        ),
        (
            "middle_name",
            rx("middle_name", _NAME_RE),
            "middle name has bad characters",
        ),
        ("proof", "proof_raw IN (' ', 'V', 'P')", "proof code is not blank, V or P"),
        ("dod", _date_ok(store, "dod_raw"), "date of death is not a valid MMDDYYYY date"),
        ("dob", _date_ok(store, "dob_raw"), "date of birth is not a valid MMDDYYYY date"),
        (
            "dod",
            "dod = '' OR dob = '' OR dod >= dob OR substr(dod, 1, 4) > substr(dob, 1, 4) OR ("
            "substr(dod, 1, 4) = substr(dob, 1, 4) AND (substr(dod, 6, 2) = '00' OR "
            "substr(dob, 6, 2) = '00' OR substr(dod, 6, 2) > substr(dob, 6, 2) OR ("
            "substr(dod, 6, 2) = substr(dob, 6, 2) AND (substr(dod, 9, 2) = '00' OR "
            "substr(dob, 9, 2) = '00' OR substr(dod, 9, 2) >= substr(dob, 9, 2)))))",
            "date of death is before date of birth",
        ),
    ]
    if lay is LAYOUT_1980:
        state = lay.column("residence_state")
        checks.append(
            (
                state.name,
                rx("residence_state_raw", "[A-Z]{2}|[0-9]{2}| {2}"),
                f"state of residence (columns {state.columns}) is not two letters or two "
                "digits (or blank)",
            )
        )
        for name in ("residence_zip", "lump_sum_zip"):
            col = lay.column(name)
            checks.append(
                (
                    name,
                    rx(f"{name}_raw", "[0-9]{5}| {5}"),
                    f"{col.label} (columns {col.columns}) is not 5 digits (or blank)",
                )
            )
    checks.append(
        (
            "filler",
            f"filler = repeat(' ', {lay.filler.length})",
            f"{lay.filler.label} are not blank",
        )
    )
    return tuple(checks)


def _body_sql(base_pid: int) -> str:
    """SQL rendering the canonical JSON of DmfRecordLoaded (names are JSON-safe by check).

    One `concat(...)` call: several times faster in DuckDB than a chain of `||`.
    """
    proof = "CASE WHEN proof_raw = ' ' THEN '' ELSE proof_raw END"
    fields = [
        ("ssn", "ssn"),
        ("last_name", "last_name"),
        ("suffix", "suffix"),
        ("first_name", "first_name"),
        ("middle_name", "middle_name"),
        ("proof", proof),
        ("dod", "dod"),
        ("dob", "dob"),
    ]
    args = ['\'{"type":"dmf.record_loaded","v":1,"person_id":\'', f"rid + {base_pid}"]
    for name, expr in fields:
        args += [f'\',"{name}":"\'', expr, "'\"'"]
    # each optional field only when it is not empty (as DmfRecordLoaded.to_json does)
    for name in DMF_OPTIONAL_FIELDS:
        if name in RESIDENCE_FIELDS:
            args.append(
                f"CASE WHEN {name} = '' THEN '' ELSE concat(',\"{name}\":\"', {name}, '\"') END"
            )
        else:
            args.append(f"CASE WHEN {name} THEN ',\"{name}\":true' ELSE '' END")
    args.append("'}'")
    return f"concat({', '.join(args)})"


def load_dmf_full(
    store: Store,
    path: Path,
    *,
    commit_size: int = 1_000_000,
    progress: StepProgress | None = None,
    layout: str | None = None,
) -> LoadResult:
    """Load a DMF full file: every record a person with a death; all or nothing.

    `layout`: '2011', '1980' or None for either (see `sources.dmf.parse_line`).
    `progress(step, rows)` is told of the rows read, checked, and committed.
    """
    layout_named(layout)  # an unknown layout is a usage error before anything is read
    if not path.exists():
        raise UsageError("no such file", file=path.name)
    with store.transaction() as tx:
        n = _stage(store, path, layout)
        if progress:
            progress("read", n)
        problems = _problems(store, path, layout)
        if problems:
            store.drop_stage(_STAGE)
            raise FileRejected(problems, file=path.name)
        dup = tx.fetchall(
            f"SELECT min(line_no) FROM {_STAGE} GROUP BY ssn HAVING count(*) > 1 "
            f"UNION ALL SELECT s.line_no FROM {_STAGE} s "
            "WHERE EXISTS (SELECT 1 FROM persons p WHERE p.ssn = s.ssn) "
            "ORDER BY 1 LIMIT 1000"
        )
        if dup:
            store.drop_stage(_STAGE)
            raise FileRejected(
                [
                    RecordError(
                        "SSN appears twice (in the file or already on file)",
                        line=int(r[0]),
                        field="ssn",
                        file=path.name,
                    )
                    for r in dup
                ],
                file=path.name,
            )
        base = int(tx.fetchall("SELECT coalesce(max(person_id), 0) + 1 FROM persons")[0][0])
        old = tx.fetchall(
            f"SELECT 1 FROM {_STAGE} WHERE "
            + " OR ".join(f"{f} <> ''" for f in RESIDENCE_FIELDS)
            + " LIMIT 1"
        )
        if progress:
            progress("check", n)
        proof = "CASE WHEN proof_raw = ' ' THEN '' ELSE proof_raw END"

        def on_chunk(t: Tx, lo: int, hi: int, first_seq: int) -> None:
            where = f"FROM {_STAGE} WHERE rid >= {lo} AND rid < {hi}"
            seq = f"rid + {first_seq - lo}"
            t.execute(
                f"INSERT INTO persons (person_id, {', '.join(PERSON_COLUMNS)}, registered_seq) "
                f"SELECT rid + {base}, {_DMF_PERSON_SQL}, {seq} {where}"
            )
            t.execute(
                "INSERT INTO deaths (person_id, dod, proof, sources, report_keys, state_only, "
                "version, status, changed_seq, dmf_names, lump_sum_zip, dod_blank, dob_blank) "
                f"SELECT rid + {base}, dod, {proof}, 'dmf', '', false, 1, 'current', {seq}, "
                "CASE WHEN comma_at = 0 THEN substr(line, 11, 54) "
                "ELSE concat(rpad(last_name, 20, ' '), rpad(suffix, 4, ' '), "
                f"substr(line, 35, 30)) END, lump_sum_zip, dod_blank, dob_blank {where}"
            )
            t.execute(
                "INSERT INTO death_versions (person_id, version, dod, proof, state_only, "
                f"status, from_seq, to_seq) SELECT rid + {base}, 1, dod, {proof}, false, "
                f"'current', {seq}, NULL {where}"
            )

        infos = store.append_staged(
            _STAGE,
            n,
            event_type="dmf.record_loaded",
            subject_sql=f"rid + {base}",
            body_sql=_body_sql(base),
            note=f"initial load {path.name}",
            chunk=commit_size,
            on_chunk=on_chunk,
            progress=(lambda k: progress("commit", k)) if progress else None,
        )
        store.drop_stage(_STAGE)
    return LoadResult(
        records=n, commits=len(infos), first_person_id=base, layout="1980" if old else "2011"
    )


def _all_ok(store: Store, layout: str | None) -> str:
    """SQL true for a line that passes every check (the CASE then runs on the few others)."""
    return " AND ".join(f"({cond})" for _, cond, _ in _checks(store, layout))


def check_dmf_full(store: Store, path: Path, layout: str | None = None) -> list[RecordError]:
    """The problems a load of `path` would refuse it for (nothing is written)."""
    layout_named(layout)
    with store.transaction():
        _stage(store, path, layout)
        try:
            return _problems(store, path, layout)
        finally:
            store.drop_stage(_STAGE)


def _problems(store: Store, path: Path, layout: str | None) -> list[RecordError]:
    """Every failed check, first problem per line, up to MAX_LISTED_PROBLEMS lines."""
    cases = " ".join(
        f"WHEN NOT coalesce({cond}, false) THEN '{field}|{msg}'"
        for field, cond, msg in _checks(store, layout)
    )
    rows = store.reader().fetchall(
        f"SELECT line_no, problem FROM (SELECT line_no, CASE {cases} ELSE NULL END AS problem "
        f"FROM {_STAGE} WHERE NOT coalesce({_all_ok(store, layout)}, false)) t "
        "WHERE problem IS NOT NULL ORDER BY line_no "
        f"LIMIT {MAX_LISTED_PROBLEMS}"
    )
    out = []
    for line_no, problem in rows:
        field, msg = str(problem).split("|", 1)
        out.append(RecordError(msg, line=int(line_no), field=field, file=path.name))
    return out
