"""`people load`: the set-wise path equals the event-by-event one, on DuckDB and PostgreSQL.

The reference (`load_by_events`) reads the file with `sources.csv` and appends Pydantic
`PersonRegistered` events through `Store.append` and the master projection; the library's
one path must leave the same event texts and the same `persons` rows.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalfile.db import open_store
from vitalfile.errors import FileRejected, RecordError
from vitalfile.events import PersonRegistered, decode
from vitalfile.intake.people import load_people_file, person_body_sql
from vitalfile.ledger.store import Store
from vitalfile.master.projection import PERSON_COLUMNS
from vitalfile.sources.csv import read_people
from vitalfile.synth import write_synth

PERSONS = f"SELECT person_id, {', '.join(PERSON_COLUMNS)} FROM persons ORDER BY person_id"
BODIES = "SELECT body FROM ledger_events ORDER BY seq"


def load_by_events(store: Store, path: Path) -> None:
    """The reference: one Pydantic event per person, appended the ordinary way."""
    people, problems, seen = [], [], set()
    for line, r in enumerate(read_people(path), start=2):
        if isinstance(r, RecordError):
            problems.append(r)
        elif r.ssn in seen:
            problems.append(RecordError("SSN appears twice in the file", line=line, field="ssn"))
        else:
            seen.add(r.ssn)
            people.append(r)
    if problems:
        raise FileRejected(problems)
    events = [
        PersonRegistered(person_id=i, **{c: getattr(r, c) for c in PERSON_COLUMNS})
        for i, r in enumerate(people, start=1)
    ]
    store.append(events)


def _write(path: Path, rows: list[list[str]], columns: tuple[str, ...] = PERSON_COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
    return path


def _row(ssn: str, **kw: str) -> list[str]:
    values = {c: "" for c in PERSON_COLUMNS} | {"ssn": ssn} | kw
    return [values[c] for c in PERSON_COLUMNS]


TRICKY = [
    _row("212345678", first_name='O"NEIL', last_name="ŁUKASZ-ß", dob="1950-00-00"),
    _row("223-45-6789", first_name="ANN", last_name="BACK\\SLASH", dob="2000-02-29"),
    _row("323456789", first_name="名前", last_name="😀", dob="1999-12-00", sex="U", zip="12345"),
    _row("423456789", address="1 MAIN ST, APT 2", city="X", state="PR", zip="12345-6789"),
    _row("523456789", former_names="BALDOCK;TREMAYNE", birth_state="AE"),
]


# staged as read (nothing odd) but written escaped in JSON: a backslash
ESCAPED = [
    _row("212345678", first_name="ANN", last_name="BACK\\SLASH", dob="2000-02-29"),
    _row("323456789", first_name="名前", last_name="😀", dob="1999-12-00", zip="12345"),
]


@pytest.mark.parametrize("rows", ["synth", "tricky", "escaped"])
def test_the_set_wise_load_equals_the_event_path(store: Store, tmp_path: Path, rows: str) -> None:
    if rows == "synth":
        write_synth(tmp_path, people=1_500, months=1, seed=3)
        src = tmp_path / "people.csv"
    else:
        src = _write(tmp_path / "people.csv", TRICKY if rows == "tricky" else ESCAPED)
    result = load_people_file(store, src, commit_size=400)
    with open_store(str(tmp_path / "ref.duckdb")) as ref:
        load_by_events(ref, src)
        assert store.query(BODIES) == ref.query(BODIES)
        assert store.query(PERSONS) == ref.query(PERSONS)
    assert result.registered == store.query("SELECT count(*) FROM persons")[0][0]
    assert store.verify().ok
    bodies = [b for (b,) in store.query(BODIES)]
    assert [decode(b).to_json() for b in bodies] == bodies


def test_the_sql_rendering_is_the_pydantic_rendering(store: Store) -> None:
    row = {c: "" for c in PERSON_COLUMNS} | {
        "ssn": "212345678", "first_name": 'O"Ná\\me', "last_name": "ŁUKASZ-ß 😀",
        "dob": "1950-00-00", "address": "1/2 \u2028 ST", "former_names": "A;B",
    }  # fmt: skip
    cols = ", ".join(f"CAST(? AS VARCHAR) AS {c}" for c in PERSON_COLUMNS)
    got = store.query(
        f"SELECT {person_body_sql('7')} FROM (SELECT {cols}) t", [row[c] for c in PERSON_COLUMNS]
    )
    assert got[0][0] == PersonRegistered(person_id=7, **row).to_json()


DATES = [
    "", "2000-02-29", "1900-02-29", "2004-02-29", "2023-02-29", "2023-02-28", "2023-04-31",
    "2023-04-30", "2023-12-31", "2023-13-01", "2023-00-00", "2023-00-05", "2023-05-00",
    "0000-01-01", "0001-01-01", "2023-01-32", "2023-1-01", "20230101", "2023-01-00x",
    "2023-06-29", "2023-11-31", "1600-02-29", "2023-01-3a",
]  # fmt: skip


def test_the_sql_date_check_is_the_readers(store: Store) -> None:
    from vitalfile.dates import partial_date
    from vitalfile.intake.people import _valid_date_sql

    def readers(text: str) -> bool:
        try:
            return partial_date(text) == text
        except ValueError:
            return False

    rows = store.query(
        f"SELECT d, {_valid_date_sql(store, 'd')} FROM "
        "(SELECT unnest(CAST(? AS VARCHAR[])) AS d) t",
        [DATES],
    )
    assert {d: bool(ok) for d, ok in rows} == {d: readers(d) for d in DATES}


def test_a_file_without_former_names_loads(store: Store, tmp_path: Path) -> None:
    src = _write(
        tmp_path / "p.csv", [_row("212345678")[:-1], _row("223456789")[:-1]], PERSON_COLUMNS[:-1]
    )
    assert load_people_file(store, src).registered == 2
    assert store.query("SELECT former_names FROM persons") == [("",), ("",)]


def test_bad_records_refuse_the_file_whole_naming_line_and_field(
    store: Store, tmp_path: Path
) -> None:
    rows = [
        _row("212345678", last_name="QUILLFEATHER"),
        _row("666456789", last_name="QUILLFEATHER"),
        _row("223456789", dob="1950-02-30"),
        _row("323456789", sex="X"),
        _row("423456789", zip="1234"),
        _row("212345678", last_name="QUILLFEATHER"),
    ]
    src = _write(tmp_path / "p.csv", rows)
    with pytest.raises(FileRejected) as err:
        load_people_file(store, src)
    got = {(p.line, p.field) for p in err.value.problems}
    assert got == {(3, "ssn"), (4, "dob"), (5, "sex"), (6, "zip"), (7, "ssn")}
    text = str(err.value.to_dict())
    assert "666456789" not in text and "QUILLFEATHER" not in text
    assert store.query("SELECT count(*) FROM ledger_events")[0][0] == 0
    assert store.query("SELECT count(*) FROM persons")[0][0] == 0


def test_an_ssn_twice_is_named_by_its_second_line(store: Store, tmp_path: Path) -> None:
    src = _write(tmp_path / "p.csv", [_row("212345678"), _row("223456789"), _row("212345678")])
    with pytest.raises(FileRejected) as err:
        load_people_file(store, src)
    assert [(p.line, p.field) for p in err.value.problems] == [(4, "ssn")]


@pytest.mark.parametrize("content", [b"ssn\n1\n", b"", b"\xff\xfe", None])
def test_malformed_files_are_refused_not_crashed(
    store: Store, tmp_path: Path, content: bytes | None
) -> None:
    src = tmp_path / "p.csv"
    if content is None:  # a blank line, a ragged row, bytes that are not UTF-8
        head = ",".join(PERSON_COLUMNS).encode()
        ok = ",".join(_row("212345678")).encode()
        content = head + b"\n" + ok + b"\n\n" + ok.replace(b"2123", b"\xff123") + b",x\n"
    src.write_bytes(content)
    with pytest.raises(FileRejected) as err:
        load_people_file(store, src)
    assert all(p.line is not None for p in err.value.problems)
    assert store.query("SELECT count(*) FROM ledger_events")[0][0] == 0


def test_people_already_on_file_are_skipped(store: Store, tmp_path: Path) -> None:
    load_people_file(store, _write(tmp_path / "a.csv", [_row("223456789")]))
    both = _write(tmp_path / "b.csv", [_row("212345678"), _row("223456789"), _row("323456789")])
    r = load_people_file(store, both)
    assert (r.registered, r.already_on_file, r.first_person_id) == (2, 1, 2)
    assert store.query("SELECT person_id, ssn FROM persons ORDER BY 1") == [
        (1, "223456789"),
        (2, "212345678"),
        (3, "323456789"),
    ]
    assert load_people_file(store, both).registered == 0
    assert store.verify().ok


_TEXT = st.text(alphabet=st.sampled_from('AZaz09 -"\\,;é\x01ŁÑ\t'), max_size=6)
_VALUE = {
    "ssn": st.one_of(
        st.from_regex(r"[0-9]{9}", fullmatch=True),
        st.from_regex(r" ?[0-9]{3}-[0-9]{2}-[0-9]{4} ?", fullmatch=True),
        _TEXT,
    ),
    "dob": st.one_of(
        st.from_regex(r"(19|20|00)[0-9]{2}-[01][0-9]-[0-3][0-9]", fullmatch=True), _TEXT
    ),
    "sex": st.sampled_from(["M", "F", "U", "", "X", "m"]),
    "birth_state": st.sampled_from(["", "CA", "PR", "ZZ", "ca"]),
    "state": st.sampled_from(["", "TX", "AE", "XX"]),
    "zip": st.one_of(st.from_regex(r"[0-9]{5}(-[0-9]{4})?", fullmatch=True), _TEXT),
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.fixed_dictionaries({c: _VALUE.get(c, _TEXT) for c in PERSON_COLUMNS}),
        min_size=1,
        max_size=6,
    )
)
def test_the_sql_checks_never_take_what_the_reader_refuses(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, str]]
) -> None:
    src = _write(
        tmp_path_factory.mktemp("p") / "p.csv", [[r[c] for c in PERSON_COLUMNS] for r in rows]
    )
    outcome: list[tuple[str, list[Any]]] = []
    for load in (load_people_file, load_by_events):
        with open_store(":memory:") as s:
            try:
                load(s, src)
            except FileRejected as err:
                outcome.append(("refused", sorted((p.line, p.field) for p in err.problems)))
                continue
            outcome.append(("taken", [*s.query(PERSONS), *s.query(BODIES)]))
    assert outcome[0] == outcome[1]
