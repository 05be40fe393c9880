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
    ReportAmended,
    ReportHeld,
    ReportLinked,
    ReportReceived,
    ReportUnlinked,
    ReportVoided,
)
from vitalfile.ledger.store import Store
from vitalfile.master.projection import (
    REPORT_COLUMNS,
    ReportState,
    evolve_report,
    find_person_ids,
    status_of,
)

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
        st.builds(ReportAmended, report_key=KEYS, dod=DATES, last_name=st.just("ROE")),
        st.builds(ReportVoided, report_key=KEYS, reason=st.sampled_from(["", "dup"])),
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


def _reports_by_fold(store: Store) -> list[tuple[object, ...]]:
    """The reports table as folding `evolve_report` over every event gives it."""
    states: dict[str, ReportState] = {}
    for se in store.iter_events():
        key = getattr(se.event, "report_key", None)
        if key is not None and se.event.type.startswith(("report.", "link.")):
            evolve_report(states.setdefault(key, ReportState(key)), se.seq, se.event)
    return [
        (
            r.report_key,
            *(r.fields.get(c, "") for c in REPORT_COLUMNS),
            r.received_seq,
            r.status,
            r.person_id,
            r.decided_by,
            r.match_probability,
            r.reason,
            ",".join(str(v) for v in r.vetoes),
        )
        for r in sorted(states.values(), key=lambda r: r.report_key)
    ]


_REPORT_ROW = (
    "SELECT report_key, "
    + ", ".join(REPORT_COLUMNS)
    + ", received_seq, status, person_id, decided_by, match_probability, reason, vetoes "
    "FROM reports ORDER BY report_key"
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.lists(_event(), min_size=1, max_size=8), min_size=1, max_size=6))
def test_the_reports_table_equals_the_fold_of_evolve(batches: list[list[Event]]) -> None:
    with open_store(":memory:") as store:
        for batch in batches:
            store.append(batch)
        assert store.query(_REPORT_ROW) == _reports_by_fold(store)


def test_the_reports_table_equals_the_fold_on_every_backend(store: Store) -> None:
    r = ReportReceived(report_key="TX/1", source_kind="state", source_id="TX", report_id="1")
    store.append([r, ReportLinked(report_key="TX/1", person_id=3, decided_by="rule")])
    store.append(
        [
            ReportHeld(report_key="TX/1", person_id=4, match_probability=0.5, reason="close"),
            ReportAmended(report_key="TX/1", dod="2026-01-00", last_name="ROE"),
            ReportLinked(report_key="FH/9", person_id=2, decided_by="model"),
        ]
    )
    store.append([ReportVoided(report_key="TX/1"), ReportUnlinked(report_key="FH/9", reason="x")])
    assert store.query(_REPORT_ROW) == _reports_by_fold(store)
