"""Linkage with the shipped Splink model on DuckDB: special cases, determinism, explain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitalfile.db import open_store
from vitalfile.events import LinkUndone, PersonRegistered, ReportLinked, ReportReceived
from vitalfile.intake.holds import HoldFacts, Person, apply_holds
from vitalfile.intake.people import load_people_file, person_body_sql
from vitalfile.intake.pipeline import Intake, intake_for
from vitalfile.intake.reports import ingest_reports
from vitalfile.ledger.store import Store
from vitalfile.link.base import LinkResult
from vitalfile.link.decide import (
    Candidate,
    DecideSettings,
    decide_batch,
    decide_link,
    dod_agreement,
)
from vitalfile.link.frames import person_frame, report_frame, reports_table
from vitalfile.link.names import first_name_forms, last_name_parts, norm_name, surname_parts
from vitalfile.link.settings import gamma_of, level_words, settings_creator
from vitalfile.link.splink_linker import SplinkLinker, candidate_people, term_frequencies
from vitalfile.synth import make_people

# Hand-made people (ids from 100_001, after the synthetic background).
PEOPLE = {
    "william": dict(ssn="212345678", first_name="WILLIAM", last_name="HARGROVE", dob="1941-05-03",
                    sex="M", state="OH"),
    "anna": dict(ssn="213456789", first_name="ANNA", last_name="KOWALCZYK-BRENNAN",
                 dob="1950-11-24", sex="F", state="PA"),
    "jose": dict(ssn="214567890", first_name="JOSE MARIA", last_name="DE LA CRUZ",
                 dob="1938-02-14", sex="M", state="TX"),
    "parent": dict(ssn="215678901", first_name="THEODORE", last_name="VANTERPOOL",
                   dob="1939-07-21", sex="M", state="NJ"),
    "child": dict(ssn="216789012", first_name="MELANIE", last_name="VANTERPOOL",
                  dob="1970-12-02", sex="F", state="NJ"),
    "kid": dict(ssn="217890123", first_name="OLIVER", last_name="FENWICKE", dob="2016-04-09",
                sex="M", state="VT"),
    "swapper": dict(ssn="218901234", first_name="GRETCHEN", last_name="OYELARAN",
                    dob="1944-03-08", sex="F", state="GA"),
    # married name on file, her birth surname among her former names (name history)
    "married": dict(ssn="219012345", first_name="ROSALIND", last_name="QUILLFEATHER",
                    dob="1947-09-15", sex="F", state="MN", former_names="TREMAYNE-OKAFOR;BALDOCK"),
}  # fmt: skip
IDS = {name: 100_001 + i for i, name in enumerate(PEOPLE)}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = open_store(str(tmp_path_factory.mktemp("link") / "link.duckdb"))
    load_people_file(s, make_people(30_000, 3))  # ids 1..30_000
    s.append([PersonRegistered(person_id=IDS[k], **v) for k, v in PEOPLE.items()], note="people")
    yield s
    s.close()


@pytest.fixture(scope="module")
def linker() -> Intake:
    """The model and the holds stage, as every door links (the model alone only proposes)."""
    return intake_for(SplinkLinker())


_N = iter(range(1, 10_000))


def report(who: str | None = None, *, kind: str = "state", **changes: str) -> ReportReceived:
    base = dict(PEOPLE[who]) if who else {}
    state = base.pop("state", "")
    base.pop("former_names", None)  # a report gives one surname
    fields = {**base, "death_state": state, "dod": "2026-02-01", **changes}
    n = next(_N)
    return ReportReceived(
        report_key=f"T/{n}", source_kind=kind, source_id="T", report_id=str(n), **fields
    )


def one(store: Store, linker: Intake, r: ReportReceived) -> LinkResult:
    (result,) = linker.link(store, [r])
    return result


def level(result: LinkResult, store: Store, linker: Intake, r: ReportReceived) -> dict:
    scored = linker.linker.score(store, [r])  # type: ignore[attr-defined]
    best = next(c for c in scored.candidates[0] if c.person_id == result.person_id)
    return {k: best.level(k) for k in best.levels}


def test_exact_report_links_with_model_version_and_weights(store, linker) -> None:
    r = report("william")
    res = one(store, linker, r)
    assert (res.outcome, res.person_id, res.decided_by) == ("linked", IDS["william"], "model")
    assert res.model_version == linker.version
    assert res.probability is not None and res.probability > 0.999
    assert set(res.weights) >= {"prior", "ssn", "first_name", "last_name", "dob", "sex", "state"}


def test_same_inputs_same_weights_and_outcome(store, linker) -> None:
    r = report("swapper", first_name="GRETHCEN")
    a, b = one(store, linker, r), intake_for(SplinkLinker()).link(store, [r])[0]
    assert a == b


def test_neighbour_swap_in_ssn_links(store, linker) -> None:
    r = report("william", ssn="213245678")  # 12 -> 21... digits 2,3 swapped
    res = one(store, linker, r)
    assert (res.outcome, res.person_id) == ("linked", IDS["william"])
    assert level(res, store, linker, r)["ssn"] == "swap"


def test_one_digit_wrong_in_ssn_links(store, linker) -> None:
    r = report("swapper", ssn="218901235")
    res = one(store, linker, r)
    assert (res.outcome, res.person_id) == ("linked", IDS["swapper"])
    assert level(res, store, linker, r)["ssn"] == "one_digit"


def test_day_month_swap_links_and_says_so(store, linker) -> None:
    r = report("swapper", dob="1944-08-03")
    res = one(store, linker, r)
    assert (res.outcome, res.person_id) == ("linked", IDS["swapper"])
    assert level(res, store, linker, r)["dob"] == "swap"
    assert any(line.startswith("birth date: day and month swapped, +") for line in res.explanation)


def test_nickname_links(store, linker) -> None:
    r = report("william", first_name="Bill")
    res = one(store, linker, r)
    assert (res.outcome, res.person_id) == ("linked", IDS["william"])
    assert level(res, store, linker, r)["first_name"] == "nickname"


def test_maiden_name_in_double_barrelled_surname_links(store, linker) -> None:
    r = report("anna", last_name="Kowalczyk")
    res = one(store, linker, r)
    assert (res.outcome, res.person_id) == ("linked", IDS["anna"])
    assert level(res, store, linker, r)["last_name"] == "parts"


def test_maiden_name_alone_still_links_on_the_rest(store, linker) -> None:
    res = one(store, linker, report("anna", last_name="NOWAK"))
    assert (res.outcome, res.person_id) == ("linked", IDS["anna"])


@pytest.mark.parametrize("maiden", ["Tremayne-Okafor", "OKAFOR", "Baldock"])
def test_report_with_a_former_surname_reaches_parts_and_links(store, linker, maiden) -> None:
    r = report("married", last_name=maiden)
    res = one(store, linker, r)
    assert (res.outcome, res.person_id) == ("linked", IDS["married"])
    assert level(res, store, linker, r)["last_name"] == "parts"


def test_former_surname_without_ssn_links_by_birth_date_and_first_name(store, linker) -> None:
    r = report("married", last_name="BALDOCK", ssn="")
    res = one(store, linker, r)
    assert (res.outcome, res.person_id) == ("linked", IDS["married"])
    assert level(res, store, linker, r)["last_name"] == "parts"


def test_a_surname_not_in_the_name_history_is_no_part(store, linker) -> None:
    r = report("married", last_name="PENDERGAST")
    scored = linker.linker.score(store, [r])
    best = next(c for c in scored.candidates[0] if c.person_id == IDS["married"])
    assert best.level("last_name") == "else"


def test_non_ascii_names_with_particles_link(store, linker) -> None:
    res = one(store, linker, report("jose", first_name="José María", last_name="de la Cruz"))
    assert (res.outcome, res.person_id) == ("linked", IDS["jose"])


def test_relatives_ssn_is_held_never_linked_to_its_owner(store, linker) -> None:
    # the parent's SSN on a report about someone not on file (same surname, other name/dob)
    r = report(
        ssn=PEOPLE["parent"]["ssn"], first_name="EUGENIA", last_name="VANTERPOOL",
        dob="1942-09-30", sex="F", death_state="NJ",
    )  # fmt: skip
    res = one(store, linker, r)
    assert res.outcome == "held" and "relative" in res.reason
    assert IDS["parent"] in (res.person_id, res.runner_up)
    assert res.explanation


def test_relatives_ssn_on_a_person_on_file_never_links_the_owner(store, linker) -> None:
    r = report("child", ssn=PEOPLE["parent"]["ssn"])
    res = one(store, linker, r)
    assert res.person_id != IDS["parent"] or res.outcome != "linked"
    assert res.outcome in ("held", "linked")


def test_minor_is_held_unless_a_state_certified_it(store, linker) -> None:
    held = one(store, linker, report("kid", kind="family"))
    assert held.outcome == "held" and "minor" in held.reason
    assert held.person_id == IDS["kid"]
    state = one(store, linker, report("kid", kind="state"))
    assert state.outcome == "linked"
    strict = intake_for(SplinkLinker(), settings=DecideSettings(minor_hold_sources=("state",)))
    assert strict.link(store, [report("kid", kind="state")])[0].outcome == "held"


def test_a_certified_death_on_the_same_date_lets_a_minors_report_link(store, linker) -> None:
    family, state = report("kid", kind="family"), report("kid", kind="state")
    later = report("kid", kind="family", dod="2026-01-15")  # another date: no corroboration
    # the state's report comes last in the batch; it is decided first all the same
    res = linker.link(store, [family, later, state])
    assert [r.outcome for r in res] == ["linked", "held", "linked"]
    assert res[0].person_id == IDS["kid"] and res[0].weights["death_on_file"] > 0
    assert any("death already on file" in line for line in res[0].explanation)
    assert "minor" in res[1].reason and "death_on_file" not in res[1].weights
    assert linker.link(store, [family])[0].outcome == "held"  # alone: a person looks


def test_a_relatives_ssn_links_to_the_person_a_state_certified(store, linker) -> None:
    relative = report("child", kind="family", ssn=PEOPLE["parent"]["ssn"])
    alone = linker.link(store, [relative])[0]
    assert alone.outcome != "linked" or alone.person_id == IDS["child"]
    res = linker.link(store, [relative, report("child", kind="state")])
    assert (res[0].outcome, res[0].person_id) == ("linked", IDS["child"])
    assert IDS["parent"] not in [r.person_id for r in res if r.outcome == "linked"]


def test_certified_deaths_on_file_count_like_those_in_the_batch(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "d.duckdb"))
    load_people_file(s, make_people(2_000, 4))
    s.append([PersonRegistered(person_id=IDS["kid"], **PEOPLE["kid"])])
    linker = SplinkLinker()
    ingest_reports(s, [report("kid", kind="state")], linker=linker, today=date(2026, 3, 1))
    family = report("kid", kind="family")
    result = ingest_reports(s, [family], linker=linker, today=date(2026, 3, 1))
    assert result.as_dict()["linked"] == 1
    rows = s.query("SELECT proof, sources FROM deaths WHERE person_id = ?", [IDS["kid"]])
    assert rows[0][0] == "V" and "family" in rows[0][1]
    s.close()


def test_vetoed_link_is_never_made_again(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "v.duckdb"))
    s.append([PersonRegistered(person_id=IDS[k], **v) for k, v in PEOPLE.items()])
    r = report("william")
    s.append(
        [r, ReportLinked(report_key=r.report_key, person_id=IDS["william"], decided_by="model")]
    )
    s.append([LinkUndone(report_key=r.report_key, person_id=IDS["william"], reviewer="ann",
                         reason="wrong person")])  # fmt: skip
    res = SplinkLinker().link(s, [r])[0]
    assert res.person_id != IDS["william"] and res.outcome != "linked"
    assert any("undid" in line for line in res.explanation)
    s.close()


def test_missing_fields_link_on_what_they_have_or_hold_with_reason(store, linker) -> None:
    no_ssn = one(store, linker, report("swapper", ssn=""))
    assert (no_ssn.outcome, no_ssn.person_id) == ("linked", IDS["swapper"])
    no_dob = one(store, linker, report("william", dob=""))
    assert (no_dob.outcome, no_dob.person_id) == ("linked", IDS["william"])
    only_ssn = one(store, linker, report(ssn=PEOPLE["william"]["ssn"]))
    assert only_ssn.outcome == "held" and only_ssn.reason
    empty = one(store, linker, report(dod=""))
    assert empty.outcome == "unlinked" and empty.reason
    odd = one(store, linker, report(first_name="  ", last_name="'", dob="1950-00-00", sex="U"))
    assert odd.outcome in ("unlinked", "held")


def test_empty_batch(store, linker) -> None:
    assert linker.link(store, []) == []


def test_batch_order_does_not_change_results(store, linker) -> None:
    rs = [report("william"), report("anna"), report("jose", dob="")]
    forward = linker.link(store, rs)
    backward = linker.link(store, rs[::-1])[::-1]
    assert forward == backward


def test_a_batch_scores_the_same_as_splinks_own_run_on_any_thread(store, monkeypatch) -> None:
    """The SQL Splink wrote for an earlier batch, run again on this one, gives exactly what
    Splink's own run gives (weights, probabilities, levels), and batches on two threads at
    once do not meet each other's tables."""
    from concurrent.futures import ThreadPoolExecutor

    from vitalfile.link import predict_sql

    typo = report("swapper", first_name="GRETHCEN", ssn="218901235")
    rs = [report("william", dob="1941-03-05"), report("anna", ssn=""), typo, report("jose")]
    rs += [report(who) for who in ("parent", "child", "kid", "married")]
    fresh = SplinkLinker()
    own = fresh.score(store, rs, keep_splink=True)  # a Linker of its own, as charts need
    assert own.linker is not None and own.connection is not None
    own.connection.close()
    fresh.score(store, rs[:1])  # the statements recorded (or already, by another test)
    frames = []
    for batch in (rs, rs[::-1]):  # read here: a store's connection serves one thread
        people = candidate_people(store, batch)
        reps = report_frame(reports_table(batch))
        tf = term_frequencies(store, reps, fresh.release)
        frames.append((person_frame(people), reps, tf, people))
    runs: list[int] = []
    real = predict_sql.splink_predict

    def counted(*args: Any) -> Any:
        runs.append(1)
        return real(*args)

    monkeypatch.setattr(predict_sql, "splink_predict", counted)
    with ThreadPoolExecutor(2) as pool:
        batches = list(pool.map(lambda f: fresh.score_frames(*f).candidates, frames * 3))
    assert runs == []  # no Splink Linker made: the recorded SQL ran
    assert all(b == own.candidates for b in batches[::2])
    assert all(b[::-1] == own.candidates for b in batches[1::2])
    assert any(c.levels["first_name"] != gamma_of("first_name", "exact") for c in own.candidates[2])


# ── pure parts ─────────────────────────────────────────────────────────────────────────
def test_names() -> None:
    assert norm_name(" José-María d'Arc ") == "JOSE-MARIA DARC"
    assert norm_name("") == "" and norm_name("'") == ""
    assert "WILLIAM" in first_name_forms("bill")
    assert last_name_parts("de la Cruz-Ortiz") == ("CRUZ", "ORTIZ")
    assert surname_parts("SMITH", "Jones; de la Cruz;") == ("CRUZ", "JONES", "SMITH")
    assert surname_parts("SMITH") == ("SMITH",)


def test_person_frame_parts_hold_former_surnames_reports_do_not() -> None:
    import pyarrow as pa

    people = pa.table(
        {
            "person_id": [1, 2, 3],
            "last_name": ["Quillfeather", "Smith", ""],
            "former_names": ["Tremayne;Baldock", "", "Nowak"],
        }
    )
    parts = person_frame(people).column("last_name_parts").to_pylist()
    assert parts == [["BALDOCK", "QUILLFEATHER", "TREMAYNE"], ["SMITH"], ["NOWAK"]]
    assert person_frame(people.drop(["former_names"])).column("last_name_parts").to_pylist() == [
        ["QUILLFEATHER"],
        ["SMITH"],
        None,
    ]
    reps = report_frame(people.rename_columns(["unique_id", "last_name", "former_names"]))
    assert reps.column("last_name_parts").to_pylist() == [["QUILLFEATHER"], ["SMITH"], None]


def test_levels_round_trip() -> None:
    assert level_words("dob", gamma_of("dob", "swap"))[1] == "day and month swapped"
    assert level_words("ssn", -1)[2] == "null"


def test_settings_compile_for_other_engines() -> None:
    for dialect in ("duckdb", "spark"):
        assert settings_creator().get_settings(dialect).as_dict()["comparisons"]


def test_decide_is_pure_and_deterministic() -> None:
    r = report("william")
    c1 = Candidate(1, 0.9999, 30.0, {"ssn": 4, "first_name": 6, "dob": 6}, {"ssn": 26.5})
    c2 = Candidate(2, 0.9999, 30.0, {"ssn": 0, "first_name": 6, "dob": 6}, {"ssn": -7})
    a = decide_link(r, [c1, c2])
    assert a == decide_link(r, [c2, c1]) and a.runner_up_weight == 30.0
    (held,) = apply_holds([r], [a], HoldFacts(), DecideSettings())
    assert held.outcome == "held" and "close" in held.reason


def test_dod_agreement() -> None:
    assert dod_agreement("2026-02-01", "2026-02-01") == "exact"
    assert dod_agreement("2026-02-00", "2026-02-01") == "month"
    assert dod_agreement("2026-02-01", "2026-02-00") == "month"
    assert dod_agreement("2026-00-00", "2026-02-01") == ""
    assert dod_agreement("2026-02-02", "2026-02-01") == ""
    assert dod_agreement("", "2026-02-01") == "" and dod_agreement("2026-02-01", "") == ""


@given(
    st.lists(st.sampled_from(["state", "family", "funeral_home"]), min_size=1, max_size=6),
    st.randoms(use_true_random=False),
)
def test_decide_batch_is_the_same_in_any_order(kinds: list[str], rnd) -> None:
    kid = Candidate(7, 0.99999, 20.0, {"ssn": 4, "first_name": 6, "dob": 6}, {"ssn": 12.0},
                    dob="2016-04-09")  # fmt: skip
    reps = [report("kid", kind=k) for k in kinds]
    order = list(range(len(reps)))
    rnd.shuffle(order)
    facts = HoldFacts(people={7: Person(7, dob="2016-04-09")})

    def decided(batch: list[ReportReceived]) -> list[LinkResult]:
        return apply_holds(batch, decide_batch(batch, [[kid]] * len(batch)), facts,
                           DecideSettings())  # fmt: skip

    forward = decided(reps)
    shuffled = decided([reps[i] for i in order])
    assert [shuffled[order.index(i)] for i in range(len(reps))] == forward
    linked = {r.report_key for r, lr in zip(reps, forward, strict=True) if lr.outcome == "linked"}
    assert linked == ({r.report_key for r in reps} if "state" in kinds else set())


def test_bulk_people_json_is_the_events_json(tmp_path: Path) -> None:
    import duckdb

    from vitalfile.master.projection import PERSON_COLUMNS

    row = {c: "" for c in PERSON_COLUMNS} | {
        "ssn": "212345678", "first_name": 'O"Ná\\me', "last_name": "ŁUKASZ-ß", "dob": "1950-00-00",
    }  # fmt: skip
    con = duckdb.connect()
    cols = ", ".join(f"?::VARCHAR AS {c}" for c in PERSON_COLUMNS)
    got = con.execute(
        f"SELECT {person_body_sql('7')} FROM (SELECT {cols})", [row[c] for c in PERSON_COLUMNS]
    ).fetchone()
    assert got is not None and got[0] == PersonRegistered(person_id=7, **row).to_json()


def _keys_as_defined(reports: list[ReportReceived]) -> list[set[tuple[str, ...]]]:
    """The blocking keys as defined: each key over the names as written, normalised and
    (for SWAPPED_KEYS) exchanged; a key with an empty part is no key."""
    from vitalfile.link import settings as model_settings

    def part(values: dict[str, str], column: str, n: int | None) -> str:
        v = values[column][:n] if n else values[column]
        return v.upper() if column in ("first_name", "last_name") else v

    keys: list[set[tuple[str, ...]]] = [set() for _ in model_settings.BLOCKING_KEYS]
    for r in reports:
        raw = {
            "ssn": r.ssn, "dob": r.dob, "state": r.death_state.strip().upper(),
            "first_name": " ".join(r.first_name.split()),
            "last_name": " ".join(r.last_name.split()),
        }  # fmt: skip
        normal = raw | {"first_name": norm_name(r.first_name), "last_name": norm_name(r.last_name)}
        swapped = normal | {"first_name": normal["last_name"], "last_name": normal["first_name"]}
        for i, key in enumerate(model_settings.BLOCKING_KEYS):
            forms = [raw, normal] + ([swapped] if i in model_settings.SWAPPED_KEYS else [])
            for values in forms:
                k = tuple(part(values, c, n) for c, n in key)
                if all(k):
                    keys[i].add(k)
    return keys


def test_the_batch_blocking_keys_are_the_defined_ones() -> None:
    from vitalfile.link.splink_linker import _report_keys

    at = {"ssn": "123456789", "dob": "1950-03-04", "death_state": "TX"}
    reports = [
        report(**at, first_name="josé ", last_name="d'Arc-Ñuñez"),
        report(**at | {"ssn": ""}, first_name="straße", last_name="Ørsted"),
        report(**at, first_name="SMITH", last_name="JOHN"),  # written the other way round
        report(**at | {"dob": ""}, first_name="ANN", last_name="ANN"),
        report(**at | {"death_state": " ny"}, first_name="  mary  ann", last_name="o'neil"),
        report(**at, first_name="", last_name="X"),
    ]
    got = [set(k) for k in _report_keys(reports)]
    assert got == _keys_as_defined(reports)
