"""The synthetic data: valid unique SSNs, realistic traits, errors at their rates, truth that
agrees with the reports, canonical CSV, DMF layout, and byte-identical output per seed."""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nicknames import NickNamer

from vitalfile.events import partial_date
from vitalfile.link.typos import date_typo
from vitalfile.ssn import never_issued_reason
from vitalfile.synth import (
    ERROR_KINDS,
    ERROR_RATES,
    ERROR_SOURCES,
    PEOPLE_COLUMNS,
    PEOPLE_TRUTH_COLUMNS,
    REPORT_COLUMNS,
    TRUTH_COLUMNS,
    TWIN_BIRTH_RATE,
    TWIN_OPPOSITE_SEX,
    TWIN_SSN_IN_SEQUENCE,
    make_people,
    make_reports,
    months_back,
    write_dmf_full,
    write_synth,
)
from vitalfile.synth._vocab import _AREAS
from vitalfile.synth.people import FORMER_NAME_ON_FILE

N_PEOPLE = 100_000
MONTHS = 36
KINDS = {"state", "funeral_home", "family", "financial", "federal_agency"}
NAME = re.compile(r"^[A-Z][A-Z' -]*[A-Z]$")
SSN_ERRORS = {"ssn_digit", "ssn_swap", "relative_ssn", "never_issued_ssn", "missing_ssn"}


@pytest.fixture(scope="module")
def people() -> pa.Table:
    return make_people(N_PEOPLE, seed=42)


@pytest.fixture(scope="module")
def rows(people: pa.Table) -> list[dict[str, Any]]:
    return people.to_pylist()


@pytest.fixture(scope="module")
def reports(people: pa.Table) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rep, truth = make_reports(people, MONTHS, seed=42, start="2026-01-01")
    assert rep.column_names == list(REPORT_COLUMNS)
    assert truth.column_names == list(TRUTH_COLUMNS)
    return rep.to_pylist(), truth.to_pylist()


def _age(dob: str) -> float:
    return (date(2026, 1, 1) - date.fromisoformat(dob)).days / 365.25


def _errors(t: dict[str, Any]) -> set[str]:
    return set(t["errors"].split(";")) - {""}


# ── population ────────────────────────────────────────────────────────────────────────
def test_people_columns_and_types(people: pa.Table) -> None:
    assert people.column_names == [*PEOPLE_COLUMNS, *PEOPLE_TRUTH_COLUMNS]
    for name in [*PEOPLE_COLUMNS, "maiden_name", "nickname"]:
        assert people.schema.field(name).type == pa.string()
        assert people.column(name).null_count == 0
    assert people.column("person_row").to_pylist() == list(range(N_PEOPLE))
    assert people.schema.field("twin_row").type == pa.int64()


def test_former_names_hold_most_maiden_names(people: pa.Table) -> None:
    former = people.column("former_names").to_pylist()
    maiden = people.column("maiden_name").to_pylist()
    assert all(f in ("", m) for f, m in zip(former, maiden, strict=True))
    with_maiden = sum(1 for m in maiden if m)
    told = sum(1 for f in former if f)
    assert with_maiden > 100
    assert abs(told / with_maiden - FORMER_NAME_ON_FILE) < 0.05


def test_ssns_unique_issuable_and_area_by_birth_state(rows: list[dict[str, Any]]) -> None:
    ssns = [r["ssn"] for r in rows]
    assert len(set(ssns)) == len(ssns)
    for r in rows:
        assert re.fullmatch(r"\d{9}", r["ssn"]) and never_issued_reason(r["ssn"]) is None
        area = int(r["ssn"][:3])
        if r["dob"] < "2011-01-01":
            assert any(lo <= area <= hi for lo, hi in _AREAS[r["birth_state"]])
        else:
            assert 1 <= area <= 899 and area != 666
    later = [int(r["ssn"][:3]) for r in rows if r["dob"] >= "2011-01-01"]
    assert max(later) > 772  # areas never allocated to a state before 2011 do occur


def test_people_traits_are_realistic(rows: list[dict[str, Any]]) -> None:
    states = set(_AREAS)
    for r in rows:
        for field in ("first_name", "last_name", "city"):
            assert NAME.match(r[field]), r[field]
        assert r["middle_name"] == "" or NAME.match(r["middle_name"])
        assert "1920-01-01" <= r["dob"] <= "2025-12-31"
        date.fromisoformat(r["dob"])
        assert r["sex"] in ("M", "F")
        assert r["birth_state"] in states and r["state"] in states
        assert re.fullmatch(r"\d{5}", r["zip"])
        assert re.fullmatch(r"\d+ [A-Z0-9 ]+ [A-Z]+( APT \d+)?", r["address"]), r["address"]
        assert r["suffix"] in ("", "JR", "SR", "II", "III", "IV")
        assert "," not in "".join(str(v) for v in r.values())
    n = len(rows)
    ages = [_age(r["dob"]) for r in rows]
    assert 0.15 < sum(a < 18 for a in ages) / n < 0.30  # minors
    assert 0.12 < sum(a >= 65 for a in ages) / n < 0.25
    assert 0.45 < sum(r["sex"] == "F" for r in rows) / n < 0.56
    assert 0.08 < sum(r["middle_name"] == "" for r in rows) / n < 0.16
    assert 0.02 < sum(r["suffix"] != "" for r in rows) / n < 0.08
    last = Counter(r["last_name"] for r in rows)
    assert last.most_common(1)[0][0] == "SMITH"
    assert any("'" in name for name in last) and any("-" in name for name in last)
    assert Counter(r["state"] for r in rows).most_common(1)[0][0] == "CA"


def test_maiden_names_and_nicknames(rows: list[dict[str, Any]]) -> None:
    women = [r for r in rows if r["sex"] == "F" and _age(r["dob"]) > 25]
    with_maiden = [r for r in women if r["maiden_name"]]
    assert 0.45 < len(with_maiden) / len(women) < 0.55
    for r in rows:
        if r["maiden_name"]:
            assert r["sex"] == "F" and _age(r["dob"]) > 25
            assert r["maiden_name"] != r["last_name"] and NAME.match(r["maiden_name"])
    namer = NickNamer()
    with_nick = [r for r in rows if r["nickname"]]
    assert 0.3 < len(with_nick) / len(rows) < 0.8
    for r in with_nick[:2000]:
        assert r["nickname"].lower() in namer.nicknames_of(r["first_name"].lower())
    bill = Counter(r["nickname"] for r in rows if r["first_name"] == "WILLIAM")
    assert bill["BILL"] > 0 and bill[""] == 0


def _twin_pairs(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each twin pair once: (first row, second row) by row number."""
    for i, r in enumerate(rows):
        if r["twin_row"] >= 0:
            assert r["twin_row"] != i and rows[r["twin_row"]]["twin_row"] == i
    return [(r, rows[r["twin_row"]]) for i, r in enumerate(rows) if i < r["twin_row"]]


def _family_name(r: dict[str, Any]) -> str:
    return str(r["maiden_name"] or r["last_name"])


def _check_twins(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """What holds for every twin pair; returns the pairs."""
    pairs = _twin_pairs(rows)
    for a, b in pairs:
        assert a["dob"] == b["dob"] and a["birth_state"] == b["birth_state"]
        assert _family_name(a) == _family_name(b)
        if not a["maiden_name"] and not b["maiden_name"]:
            assert a["last_name"] == b["last_name"]
        assert a["first_name"] != b["first_name"] and a["ssn"] != b["ssn"]
        assert not (a["suffix"] and b["suffix"])
        if _age(a["dob"]) < 18:  # minors live together
            assert [a[c] for c in ("address", "city", "state", "zip")] == [
                b[c] for c in ("address", "city", "state", "zip")
            ]
    return pairs


def test_twins_at_their_share_and_alike(rows: list[dict[str, Any]]) -> None:
    pairs = _check_twins(rows)
    twins = 2 * len(pairs)
    sd = 2 * math.sqrt(N_PEOPLE / 2 * TWIN_BIRTH_RATE * (1 - TWIN_BIRTH_RATE))
    assert abs(twins - TWIN_BIRTH_RATE * N_PEOPLE) <= 5 * sd, (twins, N_PEOPLE)
    assert all(r["twin_row"] == -1 for r in rows if r["twin_row"] < 0)
    boy_girl = sum(a["sex"] != b["sex"] for a, b in pairs) / len(pairs)
    assert abs(boy_girl - TWIN_OPPOSITE_SEX) < 0.05
    same_last = sum(a["last_name"] == b["last_name"] for a, b in pairs) / len(pairs)
    assert same_last > 0.6  # all but pairs where a sister took a married name
    old = [(a, b) for a, b in pairs if a["dob"] < "2011-01-01"]
    new = [(a, b) for a, b in pairs if a["dob"] >= "2011-01-01"]
    assert len(old) > 500 and len(new) > 100

    def in_sequence(group: list[tuple[dict[str, Any], dict[str, Any]]]) -> float:
        return sum(abs(int(a["ssn"]) - int(b["ssn"])) == 1 for a, b in group) / len(group)

    assert abs(in_sequence(old) - TWIN_SSN_IN_SEQUENCE) < 0.07
    assert in_sequence(new) < 0.01  # assigned at random since 2011
    for a, b in old:  # numbers in sequence share the area and group
        if abs(int(a["ssn"]) - int(b["ssn"])) == 1:
            assert a["ssn"][:5] == b["ssn"][:5]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 4000), seed=st.integers(0, 2**32 - 1))
def test_twins_and_ssns_hold_for_any_seed(n: int, seed: int) -> None:
    rows = make_people(n, seed).to_pylist()
    ssns = [r["ssn"] for r in rows]
    assert len(set(ssns)) == n
    assert all(never_issued_reason(s) is None for s in ssns)
    pairs = _check_twins(rows)
    assert 2 * len(pairs) <= n
    for r in rows:
        if r["maiden_name"]:
            assert r["sex"] == "F" and _age(r["dob"]) > 25 and r["maiden_name"] != r["last_name"]


# ── deaths and reports ────────────────────────────────────────────────────────────────
def test_deaths_rate_age_and_sources(rows: list[dict[str, Any]], reports: Any) -> None:
    rep, truth = reports
    by_death: dict[str, list[str]] = {}
    for r, t in zip(rep, truth, strict=True):
        by_death.setdefault(t["true_ssn"], []).append(r["source_kind"])
    dead = {t["person_row"] for t in truth if t["person_row"] >= 0}
    yearly = len(dead) / N_PEOPLE / (MONTHS / 12)
    assert 0.0065 < yearly < 0.0105
    mean_age = sum(_age(r["dob"]) for r in rows) / len(rows)
    dead_age = sum(_age(rows[i]["dob"]) for i in dead) / len(dead)
    assert dead_age > mean_age + 25  # the old die far more often
    assert all(1 <= len(kinds) <= 3 for kinds in by_death.values())
    assert all(len(set(kinds)) == len(kinds) for kinds in by_death.values())
    with_state = sum("state" in kinds for kinds in by_death.values()) / len(by_death)
    assert 0.8 < with_state < 0.9
    assert sum(len(k) > 1 for k in by_death.values()) / len(by_death) > 0.3
    assert {r["source_kind"] for r in rep} == KINDS
    outside = {t["true_ssn"] for t in truth if t["person_row"] == -1}
    assert 0.005 < len(outside) / len(by_death) < 0.03


def test_report_fields_and_ids(reports: Any) -> None:
    rep, truth = reports
    ids = [(r["source_id"], r["report_id"]) for r in rep]
    assert len(set(ids)) == len(ids)
    assert [(t["source_id"], t["report_id"]) for t in truth] == ids
    assert [r["reported_at"] for r in rep] == sorted(r["reported_at"] for r in rep)
    for r, t in zip(rep, truth, strict=True):
        kind, source = r["source_kind"], r["source_id"]
        if kind == "state":
            assert source == r["death_state"] and r["report_id"].startswith(
                t["true_dod"][:4] + source
            )
        else:
            assert re.fullmatch(
                {
                    "funeral_home": r"FH\d{4}",
                    "family": "FAM",
                    "financial": r"BANK\d{3}",
                    "federal_agency": "VA|CMS",
                }[kind],
                source,
            )
        assert r["death_state"] in _AREAS
        partial_date(r["dod"])
        dod = date.fromisoformat(t["true_dod"])
        assert date(2026, 1, 1) <= dod < date(2029, 1, 1)
        reported = date.fromisoformat(r["reported_at"][:10])
        assert 1 <= (reported - dod).days <= 120
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", r["reported_at"])
        for field in ("first_name", "middle_name", "last_name"):
            assert r[field] == "" or re.fullmatch(r"[A-Z' -]+", r[field])


def test_truth_agrees_with_reports(rows: list[dict[str, Any]], reports: Any) -> None:
    rep, truth = reports
    population = {r["ssn"] for r in rows}
    for r, t in zip(rep, truth, strict=True):
        errs = _errors(t)
        assert errs <= set(ERROR_KINDS)
        assert len(errs & SSN_ERRORS) <= 1
        ssn, true_ssn = r["ssn"], t["true_ssn"]
        if t["person_row"] >= 0:
            p = rows[t["person_row"]]
            assert true_ssn == p["ssn"]
        else:
            assert true_ssn not in population and never_issued_reason(true_ssn) is None
            continue
        # SSN
        if not errs & SSN_ERRORS:
            assert ssn == true_ssn
        elif "missing_ssn" in errs:
            assert ssn == ""
        elif "ssn_digit" in errs:
            assert sum(a != b for a, b in zip(ssn, true_ssn, strict=True)) == 1
        elif "ssn_swap" in errs:
            diff = [i for i in range(9) if ssn[i] != true_ssn[i]]
            assert len(diff) == 2 and diff[1] == diff[0] + 1
            assert ssn[diff[0]] == true_ssn[diff[1]] and ssn[diff[1]] == true_ssn[diff[0]]
        elif "relative_ssn" in errs:
            assert ssn in population and ssn != true_ssn
        else:
            assert never_issued_reason(ssn) is not None
        # names
        first = "" if "missing_first" in errs else p["first_name"]
        first = p["nickname"] if "nickname" in errs else first
        last = p["maiden_name"] if "maiden_name" in errs else p["last_name"]
        if "name_swap" in errs:
            first, last = last, first
        if "name_typo" in errs:
            changed = [(w, g) for w, g in ((r["first_name"], first), (r["last_name"], last))]
            diffs = [sum(a != b for a, b in zip(w, g, strict=True)) for w, g in changed]
            assert sorted(diffs) == [0, 1] and all(len(w) == len(g) for w, g in changed)
        else:
            assert (r["first_name"], r["last_name"]) == (first, last)
        assert r["middle_name"] == ("" if "missing_middle" in errs else p["middle_name"])
        assert (r["suffix"], r["sex"]) == (p["suffix"], p["sex"])
        # dates
        dob = p["dob"]
        if "missing_dob" in errs:
            dob = ""
        elif "dob_day_month_swap" in errs:
            assert int(dob[8:]) <= 12 and dob[8:] != dob[5:7]
            dob = f"{dob[:4]}-{dob[8:]}-{dob[5:7]}"
        elif "dob_typo" in errs:
            assert date_typo(r["dob"], dob)
            dob = r["dob"]
        assert r["dob"] == dob
        if "partial_dod" in errs:
            assert r["source_kind"] != "state" and r["dod"] == t["true_dod"][:8] + "00"
        else:
            assert r["dod"] == t["true_dod"]
    relatives = [(r, t) for r, t in zip(rep, truth, strict=True) if "relative_ssn" in _errors(t)]
    by_ssn = {row["ssn"]: row for row in rows}
    same_name = sum(
        by_ssn[r["ssn"]]["last_name"] == rows[t["person_row"]]["last_name"]
        for r, t in relatives
        if t["person_row"] >= 0
    )
    assert relatives and same_name >= 0.7 * len(relatives)
    for r, t in relatives:  # a subject with a twin: the twin's SSN (few such reports here)
        if t["person_row"] >= 0 and rows[t["person_row"]]["twin_row"] >= 0:
            assert r["ssn"] == rows[rows[t["person_row"]]["twin_row"]]["ssn"]


def test_relative_ssn_is_the_twins_when_there_is_one() -> None:
    people = make_people(20_000, 8)
    rows = people.to_pylist()
    # Pair most of the file (as if twins were common) so that many reports show the rule;
    # every fifth pair is left without a twin, to check the surname pick still holds.
    twin = np.arange(people.num_rows) ^ 1
    twin[(np.arange(people.num_rows) // 2) % 5 == 0] = -1
    paired = people.set_column(
        people.column_names.index("twin_row"), "twin_row", pa.array(twin, pa.int64())
    )
    rep, truth = make_reports(paired, 120, seed=8, start="2026-01-01")
    with_twin = without = 0
    for r, t in zip(rep.to_pylist(), truth.to_pylist(), strict=True):
        if "relative_ssn" not in _errors(t) or t["person_row"] < 0:
            continue
        if twin[t["person_row"]] >= 0:
            with_twin += 1
            assert r["ssn"] == rows[twin[t["person_row"]]]["ssn"]
        else:
            without += 1
            assert r["ssn"] != t["true_ssn"] and r["ssn"] in {p["ssn"] for p in rows}
    assert with_twin > 20 and without > 3


def test_error_rates_as_configured(rows: list[dict[str, Any]], reports: Any) -> None:
    rep, truth = reports
    expected: dict[str, float] = dict.fromkeys(ERROR_KINDS, 0.0)
    seen: Counter[str] = Counter()
    for r, t in zip(rep, truth, strict=True):
        if t["person_row"] < 0:
            continue
        p, errs = rows[t["person_row"]], _errors(t)
        seen.update(errs)
        rate = {k: v[0] if r["source_kind"] == "state" else v[1] for k, v in ERROR_RATES.items()}
        possible = {k: 1.0 for k in ERROR_KINDS}
        possible["nickname"] = float(bool(p["nickname"]) and "missing_first" not in errs)
        possible["maiden_name"] = float(bool(p["maiden_name"]))
        possible["missing_middle"] = float(bool(p["middle_name"]))
        day, month = int(p["dob"][8:]), p["dob"][5:7]
        swappable = day <= 12 and p["dob"][8:] != month and "missing_dob" not in errs
        possible["dob_day_month_swap"] = float(swappable)
        possible["name_swap"] = float("missing_first" not in errs)
        typo_ok = "missing_dob" not in errs and "dob_day_month_swap" not in errs
        possible["dob_typo"] = 0.9 * float(typo_ok)  # some typed-over dates are no dates
        for k in ERROR_KINDS:
            expected[k] += rate[k] * possible[k]
    for k in ERROR_KINDS:
        assert abs(seen[k] - expected[k]) <= 4 * math.sqrt(expected[k]) + 5, (k, seen, expected)
    assert expected["ssn_digit"] > 40 and expected["nickname"] > 40
    share = sum(bool(t["errors"]) for t in truth) / len(truth)
    assert 0.1 < share < 0.5


def test_every_error_rate_says_where_it_comes_from() -> None:
    assert set(ERROR_SOURCES) == set(ERROR_RATES)
    assert all(note.strip() for note in ERROR_SOURCES.values())


def test_months_end_today() -> None:
    """`synth --months 24` writes no death after today: the months count back from today."""
    today = date(2026, 12, 1)
    people = make_people(3_000, 4)
    _rep, truth = make_reports(people, 24, seed=4, today=today)
    dods = truth.column("true_dod").to_pylist()
    assert dods and max(dods) < today.isoformat() and min(dods) >= "2024-12-01"
    assert months_back(24, today) == "2024-12-01"
    dob = {p["ssn"]: p["dob"] for p in people.to_pylist()}
    for t in truth.to_pylist():  # someone born during the span dies after birth
        if t["person_row"] >= 0 and dob[t["true_ssn"]]:
            assert t["true_dod"] >= dob[t["true_ssn"]]
    assert months_back(1, date(2026, 3, 31)) == "2026-02-28"


def test_swapped_names_and_typed_over_dates(rows: list[dict[str, Any]], reports: Any) -> None:
    rep, truth = reports
    swaps = typos = 0
    for r, t in zip(rep, truth, strict=True):
        if t["person_row"] < 0:
            continue
        p, errs = rows[t["person_row"]], _errors(t)
        if "name_swap" in errs and not errs & {"name_typo", "nickname", "maiden_name"}:
            assert (r["first_name"], r["last_name"]) == (p["last_name"], p["first_name"])
            swaps += 1
        if "dob_typo" in errs:
            assert r["dob"] != p["dob"] and date_typo(r["dob"], p["dob"])
            typos += 1
    assert swaps > 5 and typos > 5


def _assert_empty(rep: pa.Table, truth: pa.Table) -> None:
    assert rep.num_rows == 0 and truth.num_rows == 0
    assert rep.column_names == list(REPORT_COLUMNS)
    assert truth.column_names == list(TRUTH_COLUMNS)
    assert truth.schema.field("person_row").type == pa.int64()
    assert all(t == pa.string() for t in rep.schema.types)


def test_no_deaths_gives_empty_tables(tmp_path: Path) -> None:
    _assert_empty(*make_reports(make_people(300, 2), 0, seed=2))  # no time, no deaths
    _assert_empty(*make_reports(make_people(0, 2), 12, seed=2))  # no one to die
    counts = write_synth(tmp_path, people=0, months=1, seed=3)
    assert counts["reports"] == counts["deaths_in_file"] == counts["deaths_not_in_file"] == 0
    for name, columns in (("reports.csv", REPORT_COLUMNS), ("truth.csv", TRUTH_COLUMNS)):
        assert _read(tmp_path / name) == [list(columns)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 600), months=st.integers(0, 2), seed=st.integers(0, 2**32 - 1))
def test_small_batches_never_fail(n: int, months: int, seed: int) -> None:
    """Tiny populations and short spans: often no death at all, or only deaths of people
    who are not in the file; the tables keep their columns either way."""
    people = make_people(n, seed)
    rep, truth = make_reports(people, months, seed)
    assert rep.column_names == list(REPORT_COLUMNS)
    assert truth.column_names == list(TRUTH_COLUMNS)
    assert rep.num_rows == truth.num_rows
    assert rep.column("report_id").to_pylist() == truth.column("report_id").to_pylist()
    assert all(-1 <= row < n for row in truth.column("person_row").to_pylist())


# ── files ─────────────────────────────────────────────────────────────────────────────
def _read(path: Path) -> list[list[str]]:
    text = path.read_bytes()
    assert b"\r" not in text and b'"' not in text and text.endswith(b"\n")
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_write_synth_canonical_and_deterministic(tmp_path: Path) -> None:
    counts = write_synth(tmp_path / "a", people=5000, months=24, seed=11)
    write_synth(tmp_path / "b", people=5000, months=24, seed=11)
    write_synth(tmp_path / "c", people=5000, months=24, seed=12)
    names = ("people.csv", "reports.csv", "truth.csv")
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()
    people, reps, truth = (_read(tmp_path / "a" / name) for name in names)
    assert ",".join(people[0]) == (
        "ssn,first_name,middle_name,last_name,suffix,dob,sex,birth_state,address,city,state,zip,"
        "former_names"
    )
    assert ",".join(reps[0]) == (
        "report_id,source_kind,source_id,ssn,first_name,middle_name,last_name,suffix,dob,dod,"
        "sex,death_state,reported_at"
    )
    assert ",".join(truth[0]) == "report_id,source_id,person_row,true_ssn,true_dod,errors"
    assert all(len(line) == 13 for line in people) and len(people) == 5001
    assert all(len(line) == 13 for line in reps) and all(len(line) == 6 for line in truth)
    assert counts["people"] == 5000 and counts["reports"] == len(reps) - 1 > 0
    expected = make_people(5000, 11).select(list(PEOPLE_COLUMNS)).to_pylist()
    assert [dict(zip(people[0], line, strict=True)) for line in people[1:]] == expected


def test_dmf_full_layout_and_determinism(tmp_path: Path) -> None:
    n = 20_000
    assert write_dmf_full(tmp_path / "a.dmf", n, seed=5) == n
    write_dmf_full(tmp_path / "b.dmf", n, seed=5)
    data = (tmp_path / "a.dmf").read_bytes()
    assert data == (tmp_path / "b.dmf").read_bytes()
    lines = data.decode("ascii").split("\n")
    assert lines[-1] == "" and len(lines) == n + 1
    ssns: list[str] = []
    partial = 0
    for line in lines[:-1]:
        assert len(line) == 100 and line[0] == " " and line[81:] == " " * 19
        ssn, last, suffix = line[1:10], line[10:30], line[30:34]
        first, middle, proof = line[34:49], line[49:64], line[64]
        assert never_issued_reason(ssn) is None
        ssns.append(ssn)
        assert last == last.rstrip().ljust(20) and re.fullmatch(r"[A-Z][A-Z' -]*", last.rstrip())
        assert first.strip() and first == first.rstrip().ljust(15) and first[0] != " "
        assert middle.strip() == "" or re.fullmatch(r"[A-Z]+ *", middle)
        assert suffix.rstrip() in ("", "JR", "SR", "II", "III", "IV")
        assert proof in "VP"
        dod, dob = line[65:73], line[73:81]
        assert dod.isdigit() and dob.isdigit()
        partial_date(f"{dod[4:]}-{dod[:2]}-{dod[2:4]}")
        partial += dod[2:4] == "00"
        born = date(int(dob[4:]), int(dob[:2]), int(dob[2:4]))
        assert 1962 <= int(dod[4:]) <= 2025 and born.year <= int(dod[4:])
    assert ssns == sorted(set(ssns))
    assert 0.01 < partial / n < 0.1
    assert any(len(line[10:30].rstrip()) == 20 for line in lines[:-1])  # truncated names


def test_seed_changes_everything_but_shape() -> None:
    a, b = make_people(2000, 1), make_people(2000, 2)
    assert a.schema == b.schema and a.num_rows == b.num_rows
    assert a.column("ssn").to_pylist() != b.column("ssn").to_pylist()
    assert make_people(2000, 1).equals(a)
    ra, ta = make_reports(a, 12, 3)
    rb, tb = make_reports(a, 12, 3)
    assert ra.equals(rb) and ta.equals(tb)
    assert np.all(np.array(ta.column("person_row").to_pylist()) < 2000)
