"""Issue 14: corrections always reach, files carry their proof, every refusal is findable.

Run on DuckDB and PostgreSQL (the shared `store` fixture).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.helpers import add_death_recipient, death, person, ssn_of
from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.disclosure.accounting import accounting, refusals
from vitalfile.disclosure.corrections import pending_corrections
from vitalfile.disclosure.deliveries import check_delivered
from vitalfile.disclosure.extracts import extract_full, extract_update
from vitalfile.disclosure.monitor import feed, register_monitor
from vitalfile.disclosure.policy import (
    end_agreement,
)
from vitalfile.disclosure.verify import match_batch
from vitalfile.errors import CheckpointMismatch, NotFound, Refused, UsageError
from vitalfile.events import DeathRetracted, DeathUpdated
from vitalfile.ledger.checkpoint import (
    Checkpoint,
    init_key,
    load_private_key,
    load_public_key,
    make_checkpoint,
    read_checkpoint,
    verify_signature,
)
from vitalfile.ledger.store import Store, utc_now_text

ON = date(2025, 6, 1)


def agree(store: Store, rec: str, tier: str = "certified", end: str = "2030-12-31") -> None:
    add_death_recipient(store, rec, tier, authority="15 USC 1681", end=end)


def actions(path: Path) -> dict[str, str]:
    return {line[1:10]: line[0] for line in path.read_text().splitlines()}


# ── 1. corrections always reach ──────────────────────────────────────────────────────
def test_an_ended_agreement_still_receives_the_corrections_it_is_owed(
    store: Store, tmp_path: Path
) -> None:
    agree(store, "bank")
    store.append([person(1), death(1, "2010-01-01"), person(2), death(2, "2011-01-01")])
    store.append([person(3), death(3, "2012-01-01")])
    extract_full(store, tmp_path / "full", recipient="bank", on=ON)
    end_agreement(store, "bank-1", end="2025-01-31", reason="contract ended")
    store.append([DeathRetracted(person_id=1, reason="seen alive")])
    store.append([DeathUpdated(person_id=2, dod="2011-01-02", proof="P", reason="fix")])
    store.append([person(4), death(4, "2013-01-01")])  # new: never owed to an ended agreement
    owed = {(c.person_id, c.change) for c in pending_corrections(store, "bank")}
    assert owed == {(1, "retracted"), (2, "changed")}
    # a full file is refused (recorded); the update carries only C/D lines for what it holds
    with pytest.raises(Refused):
        extract_full(store, tmp_path / "again", recipient="bank", on=ON)
    r = extract_update(store, tmp_path / "upd", recipient="bank", on=ON)
    assert r.scope == "corrections"
    assert actions(tmp_path / "upd") == {ssn_of(1): "D", ssn_of(2): "C"}
    assert (r.adds, r.changes, r.deletes) == (0, 1, 1)
    assert pending_corrections(store, "bank") == []
    # nothing more is owed: the next update is empty; the delivered rows survive a rebuild
    assert extract_update(store, tmp_path / "upd2", recipient="bank", on=ON).records == 0
    snapshot = store.query("SELECT * FROM delivered ORDER BY seq, person_id")
    store.rebuild()
    assert store.query("SELECT * FROM delivered ORDER BY seq, person_id") == snapshot
    # an unknown recipient is an error, not "0 pending"
    with pytest.raises(NotFound):
        pending_corrections(store, "ghost")


def test_a_recipient_with_nothing_held_gets_nothing(store: Store, tmp_path: Path) -> None:
    agree(store, "late", end="2021-01-01")
    store.append([person(1), death(1, "2010-01-01")])
    with pytest.raises(Refused):
        extract_update(store, tmp_path / "u", recipient="late", on=ON)
    assert not (tmp_path / "u").exists()
    assert store.query("SELECT count(*) FROM deliveries")[0][0] == 0


# ── 2. proof of what was sent ────────────────────────────────────────────────────────
def test_the_signed_checkpoint_covers_the_delivered_file(store: Store, tmp_path: Path) -> None:
    agree(store, "bank")
    store.append([person(1), death(1, "2010-01-01"), person(2), death(2, "2011-01-01")])
    key_path = tmp_path / "keys" / "k.pem"
    init_key(key_path)
    key, pub = load_private_key(key_path), load_public_key(key_path)
    out = tmp_path / "bank.dmf"
    r = extract_full(store, out, recipient="bank", on=ON, key=key)
    assert r.checkpoint is not None
    cp = read_checkpoint(r.checkpoint)
    assert cp.delivery is not None
    assert cp.delivery["recipient"] == "bank" and cp.delivery["records"] == 2
    assert cp.delivery["delivery_id"] == r.delivery_id and cp.delivery["sha256"] == r.sha256
    verify_signature(cp, pub)
    check_delivered(store, cp.delivery, out)
    # a sidecar whose delivery.sha256 was zeroed no longer verifies
    doc = json.loads(r.checkpoint.read_text())
    doc["delivery"]["sha256"] = "0" * 64
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    with pytest.raises(CheckpointMismatch):
        verify_signature(read_checkpoint(forged), pub)
    # a changed file is not the delivered one
    changed = tmp_path / "changed.dmf"
    changed.write_bytes(out.read_bytes().replace(b"SMITH", b"SMYTH", 1))
    with pytest.raises(CheckpointMismatch):
        check_delivered(store, cp.delivery, changed)
    # an older checkpoint (no delivery) still verifies; it cannot vouch for a file
    head = store.head()
    assert head is not None
    old = make_checkpoint(head, key, utc_now_text())
    assert old.delivery is None and "delivery" not in json.loads(old.to_json())
    verify_signature(old, pub)
    with pytest.raises(CheckpointMismatch):
        check_delivered(store, None, out)


def test_a_feed_page_checkpoint_carries_the_page(store: Store, tmp_path: Path) -> None:
    agree(store, "bank")
    store.append([person(1)])
    csv = tmp_path / "c.csv"
    csv.write_text(
        f"customer_id,ssn,first_name,last_name,dob\nc1,{ssn_of(1)},ANN,SMITH,1950-01-02\n"
    )
    register_monitor(store, "bank", csv, on=ON)
    store.append([death(1, "2010-01-01")])
    key = Ed25519PrivateKey.generate()
    page = feed(store, "bank", on=ON, key=key)
    assert page.checkpoint is not None
    cp = read_checkpoint_doc(page.checkpoint, tmp_path)
    assert cp.delivery is not None and cp.delivery["records"] == len(page.notices) == 1
    verify_signature(cp, key.public_key())


def read_checkpoint_doc(doc: dict[str, Any], tmp_path: Path) -> Checkpoint:
    p = tmp_path / "page.json"
    p.write_text(json.dumps(doc))
    return read_checkpoint(p)


def test_ledger_verify_checks_the_file_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db, key_path = tmp_path / "v.duckdb", tmp_path / "keys" / "k.pem"
    monkeypatch.setenv("VITALFILE_DB", str(db))
    monkeypatch.setenv("VITALFILE_KEY_PATH", str(key_path))
    init_key(key_path)
    with open_store(str(db)) as store:
        agree(store, "bank")
        store.append([person(1), death(1, "2010-01-01")])
    out = tmp_path / "bank.dmf"
    assert main(["extract", "full", "--recipient", "bank", "--out", str(out)]) == 0
    sidecar = out.with_name(out.name + ".checkpoint.json")
    capsys.readouterr()
    assert main(["ledger", "verify", "--checkpoint", str(sidecar), "--file", str(out)]) == 0
    assert "is the delivered file" in capsys.readouterr().out
    doc = json.loads(sidecar.read_text())
    doc["delivery"]["sha256"] = "0" * 64
    sidecar.write_text(json.dumps(doc))
    assert main(["ledger", "verify", "--checkpoint", str(sidecar), "--file", str(out)]) != 0
    errors = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith("error[checkpoint]")  # one error line
    # --file alone: one error line
    assert main(["ledger", "verify", "--file", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error[usage]")


# ── 3. every refusal recorded and findable ───────────────────────────────────────────
def test_refusals_reach_the_accounting_whatever_the_channel(store: Store, tmp_path: Path) -> None:
    agree(store, "gone", end="2021-01-01")
    store.append([person(1), death(1, "2010-01-01"), person(2)])
    csv = tmp_path / "c.csv"
    csv.write_text(
        "customer_id,ssn,first_name,last_name,dob\n"
        f"c1,{ssn_of(1)},ANN,SMITH,1950-01-02\nc2,{ssn_of(2)},ANN,SMITH,1950-01-02\n"
    )
    with pytest.raises(Refused):
        match_batch(store, "gone", csv, tmp_path / "out.csv", on=ON)
    with pytest.raises(Refused):
        register_monitor(store, "gone", csv, on=ON)
    with pytest.raises(Refused):
        extract_full(store, tmp_path / "f", recipient="gone", on=ON)
    # a stranger is refused as unknown, and written into no one's accounting
    with pytest.raises(Refused):
        match_batch(store, "ghost", csv, tmp_path / "out.csv", on=ON)
    with pytest.raises(Refused):
        extract_full(store, tmp_path / "f", recipient="ghost", on=ON)
    acc1 = [(a["channel"], a["recipient"]) for a in accounting(store, ssn_of(1))]
    assert acc1 == [("match", "gone"), ("feed", "gone"), ("file", "gone")]
    acc2 = [(a["channel"], a["recipient"]) for a in accounting(store, ssn_of(2))]
    assert acc2 == [("match", "gone"), ("feed", "gone")]  # no death on file: not in a file
    listed = refusals(store)
    assert [(r["recipient"], r["channel"]) for r in listed] == [
        ("ghost", "file"),
        ("ghost", "match"),
        ("gone", "file"),
        ("gone", "feed"),
        ("gone", "match"),
    ]
    assert all(r["reason"] == "unknown recipient" for r in listed if r["recipient"] == "ghost")
    assert [r["people"] for r in listed if r["recipient"] == "gone"] == [0, 2, 2]
    assert len(refusals(store, recipient="gone")) == 3
    assert refusals(store, since="2999-01-01") == []
    with pytest.raises(UsageError):
        refusals(store, since="yesterday")


def test_the_keepers_own_extract_is_gated_and_accounted(store: Store, tmp_path: Path) -> None:
    store.append([person(1), death(1, "2010-01-01")])
    key = Ed25519PrivateKey.generate()
    with pytest.raises(Refused):
        extract_full(store, tmp_path / "k", key=key)  # no purpose, no authority
    with pytest.raises(Refused):
        extract_full(store, tmp_path / "k", purpose="audit", authority="5 USC 552a")  # unsigned
    assert not (tmp_path / "k").exists()
    r = extract_full(store, tmp_path / "k", purpose="audit", authority="5 USC 552a", key=key)
    assert r.records == 1 and r.checkpoint is not None
    acc = accounting(store, ssn_of(1))
    assert [(a["kind"], a["purpose"]) for a in acc] == [
        ("refusal", ""),
        ("refusal", "audit"),
        ("disclosure", "audit"),
    ]
    assert acc[-1]["authority"] == "5 USC 552a"
    assert [r["recipient"] for r in refusals(store, recipient="")] == ["", ""]


def test_refusals_command_and_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.duckdb"
    monkeypatch.setenv("VITALFILE_DB", str(db))
    with open_store(str(db)) as store:
        store.append([person(1), death(1, "2010-01-01")])
    assert main(["corrections", "pending", "--recipient", "ghost"]) == 3
    assert capsys.readouterr().err.startswith("error[not_found]")
    main(["verify-ssn", "--recipient", "ghost", "--ssn", ssn_of(1), "--last-name", "SMITH",
          "--dob", "1950-01-02"])  # fmt: skip
    capsys.readouterr()
    assert main(["refusals", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["recipient"], r["channel"], r["people"]) for r in rows] == [("ghost", "verify", 0)]
    with open_store(str(db)) as store:
        before = store.head()
    assert main(["refusals", "--since", "not-a-date"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "since" in err
    with open_store(str(db)) as store:
        assert store.head() == before
