"""`vitalfile daily`: the day's work done once, however often or late it runs (both backends)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.helpers import add_death_recipient, ssn_of
from vitalfile.cases.determinations import DeterminationIn, get_determination, submit_determinations
from vitalfile.cases.framework import assign, open_case
from vitalfile.cases.window import issue_notice
from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.disclosure.daily import run_daily
from vitalfile.disclosure.distribute import extract_full
from vitalfile.disclosure.policy import add_recipient, end_agreement
from vitalfile.errors import UsageError
from vitalfile.events import DeathPosted, DeathRetracted, PersonRegistered
from vitalfile.ledger.checkpoint import init_key, load_private_key, read_checkpoint
from vitalfile.ledger.store import Store
from vitalfile.ledger.verify import verify_ledger

DAY0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
LATER = date(2025, 7, 10)  # past the 30-day contest window and the review due dates


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test clock: the world is made on DAY0, the daily work done on LATER (set below)."""
    monkeypatch.setenv("VITALFILE_TEST_CLOCK", DAY0.date().isoformat())


def later(monkeypatch: pytest.MonkeyPatch, day: date = LATER) -> None:
    monkeypatch.setenv("VITALFILE_TEST_CLOCK", day.isoformat())


def world(store: Store, key_dir: Path) -> Path:
    """Six people, two dead; a bank and an agency with full files; an agreement that ends; a
    determination in its contest window; a review case that will be overdue."""
    store.append(
        [
            PersonRegistered(
                person_id=p, ssn=ssn_of(p), first_name="PAT", last_name="JONES", dob="1960-01-02"
            )
            for p in range(1, 7)
        ]
    )
    store.append(
        [
            DeathPosted(
                person_id=p,
                dod="2025-01-0" + str(p),
                proof="P",
                report_key=f"r/{p}",
                source_kind="funeral_home",
            )
            for p in (1, 2)
        ]
    )
    for name, tier in (("bank", "certified"), ("agency", "federal"), ("old", "certified")):
        add_death_recipient(store, name, tier, determination_kinds=["benefit_ineligible"])
    add_recipient(store, "never", "certified")  # no full file yet: nothing is owed by update
    key_path = key_dir / "keeper.pem"
    init_key(key_path)
    key = load_private_key(key_path)
    for name in ("bank", "agency", "old"):
        extract_full(
            store, key_dir / f"{name}.full.dmf", recipient=name, key=key, on=date(2025, 6, 1)
        )
    end_agreement(store, "old-1", end="2025-06-30")
    (did,) = submit_determinations(
        store,
        [
            DeterminationIn(
                ssn=ssn_of(5),
                kind="benefit_ineligible",
                authority="42 USC 1320a-7",
                effective_date="2025-07-01",
                evidence_ref="c-5",
                first_name="PAT",
                last_name="JONES",
                dob="1960-01-02",
            )
        ],
        agency="SSA-OIG",
        now=DAY0,
    ).ids
    issue_notice(store, did, method="mail", sent_to="6 MAIN ST", issued_by="clerk")
    cid = open_case(store, "dispute", person_id=3, reason="test", now=DAY0)
    assign(store, cid, "rev-ann", now=DAY0)
    # what happened since the full files: a new death, and a retraction
    store.append(
        [
            DeathPosted(
                person_id=3,
                dod="2025-06-20",
                proof="P",
                report_key="r/3",
                source_kind="funeral_home",
            )
        ]
    )
    store.append([DeathRetracted(person_id=1, reason="alive")])
    return key_path


def test_daily_does_the_day_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_path = world(store, tmp_path)
    key = load_private_key(key_path)
    out = tmp_path / "out"
    with pytest.raises(UsageError):  # no day that has not come
        run_daily(store, out, key=key, on=LATER)
    later(monkeypatch)
    r = run_daily(store, out, key=key, on=LATER)

    assert len(r.in_effect) == 1
    assert get_determination(store, r.in_effect[0]).state == "in_effect"
    by = {f.recipient: f for f in r.files}
    assert sorted(by) == ["agency", "bank", "old"]  # 'never' has no full file to update
    assert (by["bank"].adds, by["bank"].deletes) == (1, 1)
    assert (by["old"].adds, by["old"].deletes, by["old"].scope) == (0, 1, "corrections")
    for f in by.values():
        lines = Path(f.path).read_text().splitlines()
        assert len(lines) == f.records
        delivery = read_checkpoint(Path(f.checkpoint)).delivery
        assert delivery is not None and delivery["recipient"] == f.recipient
    assert "D" + ssn_of(1) in Path(by["old"].path).read_text()
    assert r.overdue == {"rev-ann": [r.overdue["rev-ann"][0]]}
    assert r.checkpoint_written
    cp = read_checkpoint(Path(r.checkpoint))
    head = store.head()
    assert head is not None and cp.commit_no == head.commit_no  # the head after the day's work
    assert verify_ledger(store, cp, key_path).ok

    files_before = sorted(p.name for p in out.rglob("*"))
    commits_before = head.commit_no
    again = run_daily(store, out, key=key, on=LATER)  # the same day, again
    assert not again.wrote_anything
    assert again.in_effect == [] and again.files == []
    assert again.overdue == r.overdue  # still listed: still overdue
    assert again.checkpoint == r.checkpoint
    assert sorted(p.name for p in out.rglob("*")) == files_before
    head2 = store.head()
    assert head2 is not None and head2.commit_no == commits_before

    # a day later with something new: only that recipient's file, and a new checkpoint
    store.append(
        [
            DeathPosted(
                person_id=4,
                dod="2025-07-09",
                proof="P",
                report_key="r/4",
                source_kind="funeral_home",
            )
        ]
    )
    later(monkeypatch, date(2025, 7, 11))
    nxt = run_daily(store, out, key=key, on=date(2025, 7, 11))
    assert sorted(f.recipient for f in nxt.files) == ["agency", "bank"]  # 'old' ended: no A
    assert all(f.adds == 1 and f.records == 1 for f in nxt.files)
    assert nxt.checkpoint_written and nxt.checkpoint != r.checkpoint


def test_daily_cli_prints_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "d.duckdb"
    with open_store(str(db)) as s:
        key_path = world(s, tmp_path)
    later(monkeypatch)
    monkeypatch.setenv("VITALFILE_WORK_DIR", str(tmp_path / "work"))  # checkpoints go there
    base = [
        "--db",
        str(db),
        "--key",
        str(key_path),
        "daily",
        "--out",
        str(tmp_path / "o"),
        "--today",
        LATER.isoformat(),
    ]
    assert main([*base, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(first["files"]) == 3 and first["checkpoint_written"]
    assert Path(first["checkpoint"]).parent == tmp_path / "work" / "checkpoints"
    assert main([*base, "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["files"] == [] and second["in_effect"] == [] and not second["checkpoint_written"]
    assert second["overdue_cases"] == 1
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "0 update file(s) written" in text and "overdue for rev-ann" in text
    assert main([*base[:-1], "not-a-day"]) != 0  # one clear error, no traceback


def test_a_daily_run_killed_before_a_file_takes_its_name_is_finished_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILLed after the first update's delivery committed and its sidecar was signed, just
    before the file took its name: nothing is under that name yet, and the next run names
    it (one delivery, its bytes, its sidecar) and does the rest of the day's work."""
    import hashlib
    import signal
    import subprocess
    import sys

    from bench.crash import KILLER

    db = tmp_path / "d.duckdb"
    with open_store(str(db)) as s:
        key_path = world(s, tmp_path)
    later(monkeypatch)
    out = tmp_path / "o"
    base = ["--db", str(db), "--key", str(key_path), "daily", "--out", str(out)]
    at = ["vitalfile.disclosure.extracts:publish_file", "before", ""]
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, *at, *base, "--today", LATER.isoformat()],
        capture_output=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-400:]
    (part,) = out.glob("*.part")  # recorded, signed, not yet named
    named = part.with_name(part.name.rsplit(".", 2)[0])
    assert not named.exists()

    with open_store(str(db)) as s:
        r = run_daily(s, out, key=load_private_key(key_path), on=LATER)
        rows = s.query("SELECT recipient, sha256 FROM deliveries WHERE kind = 'update'")
    assert sorted(f.recipient for f in r.files) == ["agency", "bank", "old"]
    assert sorted(str(rec) for rec, _ in rows) == ["agency", "bank", "old"]  # each once
    assert named.exists() and not list(out.glob("*.part"))
    for f in r.files:
        delivery = read_checkpoint(Path(f.checkpoint)).delivery
        sha = dict(rows)[f.recipient]
        assert delivery is not None and delivery["sha256"] == sha
        assert hashlib.sha256(Path(f.path).read_bytes()).hexdigest() == sha
