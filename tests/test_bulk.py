"""The set-wise DMF load: same rules as the Python reader, byte-exact extract after load."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalfile.db import open_store
from vitalfile.disclosure.distribute import extract_full
from vitalfile.errors import FileRejected, RecordError
from vitalfile.events import decode
from vitalfile.intake.dmf_load import check_dmf_full, load_dmf_full
from vitalfile.ledger.store import Store
from vitalfile.master.projection import status_of
from vitalfile.sources.dmf import DmfRecord, format_record, parse_line
from vitalfile.ssn import never_issued_reason

NAME = st.text(alphabet=string.ascii_uppercase + " -'.", min_size=0, max_size=15).map(
    lambda s: s.strip()
)


@st.composite
def _partial(draw: st.DrawFn, lo: int, hi: int) -> str:
    y = draw(st.integers(lo, hi))
    m = draw(st.integers(0, 12))
    d = 0 if m == 0 else draw(st.integers(0, 28))
    return f"{y:04d}-{m:02d}-{d:02d}" if draw(st.booleans()) or m else f"{y:04d}-00-00"


@st.composite
def _record(draw: st.DrawFn, ssn: int) -> DmfRecord:
    dob = draw(st.one_of(st.just(""), _partial(1880, 1950)))
    dod = draw(st.one_of(st.just(""), _partial(1960, 2026)))
    return DmfRecord(
        action="",
        ssn=f"{ssn:09d}",
        last_name=draw(NAME).lstrip(" "),
        suffix=draw(st.sampled_from(["", "JR", "SR", "III"])),
        first_name=draw(NAME),
        middle_name=draw(NAME),
        proof=draw(st.sampled_from(["", "V", "P"])),
        dod=dod,
        dob=dob,
        dod_zeros=True,
        dob_zeros=True,
    )


def _valid_ssns(draw: st.DrawFn, n: int) -> list[int]:
    raw = draw(st.lists(st.integers(1_001_0001, 665_999_999), min_size=n, max_size=n, unique=True))
    return sorted(x for x in raw if never_issued_reason(f"{x:09d}") is None)


@st.composite
def _file(draw: st.DrawFn) -> list[str]:
    ssns = _valid_ssns(draw, draw(st.integers(1, 25)))
    lines = []
    for s in ssns:
        rec = draw(_record(s))
        try:
            lines.append(format_record(rec))
        except RecordError:
            continue
    return lines


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_file())
def test_load_then_extract_gives_back_the_same_bytes(
    lines: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not lines:
        return
    d = tmp_path_factory.mktemp("rt")
    src = d / "full.dmf"
    src.write_text("\n".join(lines) + "\n")
    with open_store(":memory:") as store:
        result = load_dmf_full(store, src, commit_size=7)
        assert result.records == len(lines)
        out = d / "out.dmf"
        extract_full(store, out, record=False, purpose="round trip", authority="test")
        assert out.read_bytes() == src.read_bytes()
        # the SQL-rendered events are exactly the canonical events
        for (body,) in store.query("SELECT body FROM ledger_events"):
            assert decode(body).to_json() == body
        snapshot = (
            store.query("SELECT * FROM persons ORDER BY 1"),
            store.query("SELECT * FROM deaths ORDER BY 1"),
        )
        assert store.verify().ok
        store.rebuild()
        assert snapshot == (
            store.query("SELECT * FROM persons ORDER BY 1"),
            store.query("SELECT * FROM deaths ORDER BY 1"),
        )


MUTATIONS = st.tuples(st.integers(0, 104), st.sampled_from([*"0A9 x'-/\t", "", "EXTRA"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_file(), muts=st.lists(MUTATIONS, max_size=6), data=st.data())
def test_sql_checks_agree_with_the_python_reader(
    lines: list[str],
    muts: list[tuple[int, str]],
    data: st.DataObject,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    if not lines:
        return
    lines = list(lines)
    for pos, text in muts:
        i = data.draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        lines[i] = line[:pos] + text + line[pos + 1 :] if text != "EXTRA" else line + "X"
    d = tmp_path_factory.mktemp("chk")
    src = d / "full.dmf"
    src.write_text("\n".join(lines) + "\n")
    python_bad = set()
    for n, line in enumerate(lines, start=1):
        try:
            parse_line(line, n)
            if line[0] != " ":
                python_bad.add(n)
        except RecordError:
            python_bad.add(n)
    with open_store(":memory:") as store:
        sql_bad = {p.line for p in check_dmf_full(store, src)}
    assert sql_bad == python_bad


def test_bad_file_is_refused_whole_and_names_line_and_field(tmp_path: Path) -> None:
    good = format_record(
        DmfRecord("", "123456789", "DOE", "", "JOHN", "", "V", "2026-01-02", "1950-01-01")
    )
    bad = good[:1] + "666456789" + good[10:]
    src = tmp_path / "f.dmf"
    src.write_text(good + "\n" + bad + "\n")
    with open_store(":memory:") as store:
        with pytest.raises(FileRejected) as info:
            load_dmf_full(store, src)
        assert store.head() is None
        assert store.query("SELECT count(*) FROM persons")[0][0] == 0
    (problem,) = info.value.problems
    assert problem.line == 2 and problem.field == "ssn"
    assert "666456789" not in str(problem) and "DOE" not in str(problem)


def test_loading_the_same_file_twice_is_refused_not_doubled(tmp_path: Path) -> None:
    rec = DmfRecord("", "123456789", "DOE", "", "JOHN", "", "V", "2026-01-02", "1950-01-01")
    src = tmp_path / "f.dmf"
    src.write_text(format_record(rec) + "\n")
    with open_store(":memory:") as store:
        load_dmf_full(store, src)
        with pytest.raises(FileRejected):
            load_dmf_full(store, src)
        assert store.query("SELECT count(*) FROM persons")[0][0] == 1
        state = status_of(store, 1)
    assert state.death is not None and state.death.proof == "V"


PEOPLE_ROWS = [
    "212345678,ANN,,QUILLFEATHER,,1947-09-15,F,MN,,,MN,",
    "223456789,BOB,,ROE,,1950-05-06,M,TX,,,TX,",
]


@pytest.mark.parametrize("former", [True, False])
def test_people_files_with_or_without_former_names_load_alike(tmp_path: Path, former: bool) -> None:
    """The set-wise and the per-event people loads agree, with the column or without it."""
    from tests.test_people_load import load_by_events
    from vitalfile.intake.people import load_people_file
    from vitalfile.master.projection import PERSON_COLUMNS

    header = ",".join(PERSON_COLUMNS if former else PERSON_COLUMNS[:-1])
    rows = [r + (",BALDOCK;TREMAYNE" if i == 0 else ",") if former else r
            for i, r in enumerate(PEOPLE_ROWS)]  # fmt: skip
    src = tmp_path / "people.csv"
    src.write_text("\n".join([header, *rows]) + "\n")
    got = []
    for load in (load_people_file, load_by_events):
        with open_store(":memory:") as store:
            load(store, src)
            bodies = [r[0] for r in store.query("SELECT body FROM ledger_events ORDER BY seq")]
            persons = store.query(
                f"SELECT person_id, {', '.join(PERSON_COLUMNS)} FROM persons ORDER BY 1"
            )
            got.append((bodies, persons))
    assert got[0] == got[1]
    bodies, persons = got[0]
    assert [decode(b).to_json() for b in bodies] == bodies
    assert [p[-1] for p in persons] == (["BALDOCK;TREMAYNE", ""] if former else ["", ""])


def test_a_people_table_without_former_names_loads(tmp_path: Path) -> None:
    import pyarrow as pa

    from vitalfile.intake.people import load_people_file
    from vitalfile.master.projection import PERSON_COLUMNS

    cols = PERSON_COLUMNS[:-1]
    table = pa.table({c: [v] for c, v in zip(cols, PEOPLE_ROWS[0].split(","), strict=True)})
    with open_store(":memory:") as store:
        load_people_file(store, table)
        assert store.query("SELECT last_name, former_names FROM persons") == [("QUILLFEATHER", "")]


def test_a_file_made_before_former_names_gains_the_column(tmp_path: Path) -> None:
    import duckdb

    from vitalfile.events import PersonRegistered

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE persons (person_id BIGINT NOT NULL, ssn VARCHAR NOT NULL, "
        "first_name VARCHAR NOT NULL, middle_name VARCHAR NOT NULL, last_name VARCHAR NOT NULL, "
        "suffix VARCHAR NOT NULL, dob VARCHAR NOT NULL, sex VARCHAR NOT NULL, "
        "birth_state VARCHAR NOT NULL, address VARCHAR NOT NULL, city VARCHAR NOT NULL, "
        "state VARCHAR NOT NULL, zip VARCHAR NOT NULL, registered_seq BIGINT NOT NULL)"
    )
    con.execute("INSERT INTO persons VALUES (9, '212345678', 'ANN', '', 'DOE', '', '', '', "
                "'', '', '', '', '', 0)")  # fmt: skip
    con.close()
    with open_store(str(db)) as store:
        store.append([PersonRegistered(person_id=10, ssn="223456789", former_names="ROE")])
        assert store.query("SELECT person_id, former_names FROM persons ORDER BY 1") == [
            (9, ""),
            (10, "ROE"),
        ]


def test_the_dmf_load_is_the_same_on_every_backend(store: Store, tmp_path: Path) -> None:
    """PostgreSQL (COPY) and DuckDB (read_csv) load, check and render alike."""
    from vitalfile.synth import write_dmf_full

    src = tmp_path / "full.dmf"
    write_dmf_full(src, 500, seed=4)
    queries = [
        "SELECT body FROM ledger_events ORDER BY seq",
        "SELECT * FROM persons ORDER BY person_id",
        "SELECT * FROM deaths ORDER BY person_id",
        "SELECT * FROM death_versions ORDER BY person_id",
    ]
    result = load_dmf_full(store, src, commit_size=120)
    assert result.records == 500 and store.verify().ok
    with open_store(str(tmp_path / "ref.duckdb")) as ref:
        load_dmf_full(ref, src)
        for q in queries:
            assert store.query(q) == ref.query(q)
        lines = src.read_text().splitlines()
        lines[3] = lines[3][:65] + "13012020" + lines[3][73:]  # month 13
        lines[7] = lines[7][:1] + "666" + lines[7][4:]
        lines[9] = lines[9][:40] + "é" + lines[9][41:]
        lines[11] = lines[11] + "X"
        bad = tmp_path / "bad.dmf"
        bad.write_text("\n".join(lines) + "\n")
        got = [(p.line, p.field) for p in check_dmf_full(store, bad)]
        assert got == [(p.line, p.field) for p in check_dmf_full(ref, bad)]
        assert got == [(4, "dod"), (8, "ssn"), (10, "first_name"), (12, "record")]
    with pytest.raises(FileRejected):
        load_dmf_full(store, src)  # already on file
