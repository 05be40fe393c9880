"""The master file: incremental projections equal a rebuild from events; as-of replay."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalfile.db import open_store
from vitalfile.events import (
    DeathCorroborated,
    DeathPosted,
    DeathRetracted,
    DeathUpdated,
    DmfRecordLoaded,
    Event,
    LinkUndone,
    PersonRegistered,
    ReportHeld,
    ReportLinked,
    ReportReceived,
    ReportUnlinked,
)
from vitalfile.ledger.store import Store
from vitalfile.master.projection import find_person_ids, status_of

PIDS = st.integers(min_value=1, max_value=6)
KEYS = st.sampled_from(["TX/1", "TX/2", "FH/9", "FAM/3"])
KINDS = st.sampled_from(["state", "funeral_home", "family", "financial", "federal_agency"])
DATES = st.sampled_from(["2026-01-05", "2026-02-00", "2025-12-31", ""])
PROOF = st.sampled_from(["V", "P"])


def _event() -> st.SearchStrategy[Event]:
    return st.one_of(
        st.builds(
            PersonRegistered,
            person_id=PIDS,
            ssn=st.sampled_from(["123456789", "223456789"]),
            last_name=st.sampled_from(["DOE", "O'NEIL", "MÜLLER"]),
            dob=st.sampled_from(["1950-01-01", "1960-00-00", ""]),
            former_names=st.sampled_from(["", "SMITH", "SMITH;JONES-LEE"]),
        ),
        st.builds(
            DmfRecordLoaded, person_id=PIDS, ssn=st.just("323456789"), proof=PROOF, dod=DATES
        ),
        st.builds(
            DeathPosted,
            person_id=PIDS,
            dod=DATES,
            proof=PROOF,
            report_key=KEYS,
            source_kind=KINDS,
        ),
        st.builds(DeathCorroborated, person_id=PIDS, report_key=KEYS, source_kind=KINDS),
        st.builds(DeathUpdated, person_id=PIDS, dod=DATES, proof=PROOF, reason=st.just("r")),
        st.builds(DeathRetracted, person_id=PIDS, reason=st.just("alive")),
        st.builds(
            ReportReceived,
            report_key=KEYS,
            source_kind=KINDS,
            source_id=st.just("S"),
            report_id=st.just("1"),
            dod=DATES,
        ),
        st.builds(ReportLinked, report_key=KEYS, person_id=PIDS, decided_by=st.just("rule")),
        st.builds(ReportHeld, report_key=KEYS, reason=st.just("close call")),
        st.builds(ReportUnlinked, report_key=KEYS, reason=st.just("none")),
        st.builds(
            LinkUndone,
            report_key=KEYS,
            person_id=PIDS,
            reviewer=st.just("ann"),
            reason=st.just("wrong"),
        ),
    )


def _snapshot(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {
        "persons": store.query("SELECT * FROM persons ORDER BY person_id"),
        "deaths": store.query("SELECT * FROM deaths ORDER BY person_id"),
        "reports": store.query("SELECT * FROM reports ORDER BY report_key"),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.lists(_event(), min_size=1, max_size=6), min_size=1, max_size=6))
def test_rebuild_equals_incremental(batches: list[list[Event]]) -> None:
    with open_store(":memory:") as store:
        for batch in batches:
            store.append(batch)
        incremental = _snapshot(store)
        store.rebuild()
        assert _snapshot(store) == incremental


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(st.lists(_event(), min_size=1, max_size=5), min_size=2, max_size=5))
def test_replaying_one_person_equals_the_saved_state(batches: list[list[Event]]) -> None:
    with open_store(":memory:") as store:
        for batch in batches:
            store.append(batch)
        for pid in range(1, 7):
            replayed = status_of(store, pid)
            deaths = store.query(
                "SELECT dod, proof, version, status FROM deaths WHERE person_id = ?", [pid]
            )
            if replayed.death is None:
                assert deaths == []
            else:
                d = replayed.death
                assert deaths == [(d.dod, d.proof, d.version, d.status)]


def test_as_of_shows_the_file_as_it_was(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "a.duckdb")) as store:
        store.append([PersonRegistered(person_id=1, ssn="123456789", last_name="DOE")])
        posted = store.append(
            [
                DeathPosted(
                    person_id=1, dod="2026-01-02", proof="P", report_key="F/1", source_kind="family"
                )
            ]
        )
        store.append([DeathRetracted(person_id=1, reason="alive")])
        assert posted is not None
        (pid,) = find_person_ids(store, "123456789")
        then = status_of(store, pid, upto_seq=posted.last_seq)
        now = status_of(store, pid)
        before = status_of(store, pid, upto_seq=1)
    assert then.death is not None and then.death.status == "current"
    assert now.death is not None and now.death.status == "retracted"
    assert before.death is None and before.person is not None


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(st.lists(_event(), min_size=1, max_size=5), min_size=1, max_size=5))
def test_the_whole_file_as_of_any_commit_equals_replay(batches: list[list[Event]]) -> None:
    from vitalfile.master.projection import deaths_as_of

    with open_store(":memory:") as store:
        for batch in batches:
            store.append(batch)
        head = store.head()
        assert head is not None
        for upto in range(0, head.last_seq + 1):
            replayed = []
            for pid in range(1, 7):
                d = status_of(store, pid, upto_seq=upto).death
                if d is not None and d.status == "current":
                    replayed.append((pid, d.version, d.dod, d.proof, d.state_only))
            table = deaths_as_of(store, upto)
            got = list(zip(*(table.column(i).to_pylist() for i in range(5)), strict=True))
            assert got == replayed
