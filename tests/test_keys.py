"""Keys that change (issue 17): `keys rotate` retires the signing key into the keyring, every
checkpoint and delivered file signed before still verifies (with the keeper's key or the
exported keyring), and a retired key's signature after its retirement is refused.

Runs on DuckDB and, when VITALFILE_TEST_PG_URL is set, on PostgreSQL."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.helpers import add_death_recipient, death, person
from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.disclosure.deliveries import check_delivered
from vitalfile.disclosure.extracts import extract_full
from vitalfile.errors import CheckpointMismatch
from vitalfile.ledger.checkpoint import (
    export_keyring,
    init_key,
    keyring_path,
    load_keyring,
    load_private_key,
    make_checkpoint,
    read_checkpoint,
    read_keyring,
    rotate_key,
)
from vitalfile.ledger.store import Store, utc_now_text
from vitalfile.ledger.verify import checkpoint_now, verify_ledger

ON = date(2025, 6, 1)


def setup_bank(store: Store) -> None:
    add_death_recipient(store, "bank")


def verifies(store: Store, cp_path: Path, key: Path, file: Path | None = None) -> None:
    cp = read_checkpoint(cp_path)
    report = verify_ledger(store, cp, key)
    assert report.ok, report.problems
    if file is not None:
        check_delivered(store, cp.delivery, file)


def test_rotation_keeps_old_signatures_and_refuses_a_retired_key(
    store: Store, tmp_path: Path
) -> None:
    kp = tmp_path / "keys" / "keeper.pem"
    first_id = init_key(kp)
    setup_bank(store)
    store.append([person(1, dob=""), death(1, "2010-01-01", "family")])
    old_key = load_private_key(kp)
    r1 = extract_full(store, tmp_path / "one.dmf", recipient="bank", on=ON, key=old_key)
    assert r1.checkpoint is not None
    assert read_checkpoint(r1.checkpoint).key_id == first_id  # checkpoints name their key
    plain = tmp_path / "plain-1.json"
    plain.write_text(checkpoint_now(store, old_key).to_json())

    time.sleep(0.01)
    old_id, new_id = rotate_key(kp)
    assert old_id == first_id and new_id != old_id
    ring = read_keyring(keyring_path(kp))
    retired = ring.get(old_id)
    assert retired is not None and retired.retired and ring.get(new_id) is not None
    assert ring.get(new_id).retired == ""  # type: ignore[union-attr]
    assert load_private_key(kp).public_key() != old_key.public_key()

    time.sleep(0.01)
    store.append([person(2, dob=""), death(2, "2010-01-01", "family")])
    new_key = load_private_key(kp)
    r2 = extract_full(store, tmp_path / "two.dmf", recipient="bank", on=ON, key=new_key)
    assert r2.checkpoint is not None
    assert read_checkpoint(r2.checkpoint).key_id == new_id

    exported = tmp_path / "keyring.json"
    exported.write_text(export_keyring(kp).to_json())
    assert {k["key_id"] for k in json.loads(exported.read_text())["keys"]} == {old_id, new_id}
    assert "PRIVATE" not in exported.read_text()
    for key in (kp, exported):  # the keeper's key (its ring beside it), or the recipients'
        verifies(store, r1.checkpoint, key, tmp_path / "one.dmf")
        verifies(store, plain, key)
        verifies(store, r2.checkpoint, key, tmp_path / "two.dmf")

    # the old key signs after its retirement: refused, however the checkpoint is dated
    head = store.head()
    assert head is not None
    late = make_checkpoint(head, old_key, utc_now_text())
    with pytest.raises(CheckpointMismatch, match="after it was retired"):
        verify_ledger(store, late, exported)
    backdated = make_checkpoint(head, old_key, read_checkpoint(plain).signed_at)
    with pytest.raises(CheckpointMismatch, match="after it was retired"):
        verify_ledger(store, backdated, kp)  # the commit it signs came after
    early = read_checkpoint(plain)
    resigned = make_checkpoint(
        replace(head, committed_at=early.committed_at), old_key, early.signed_at
    )
    report = verify_ledger(store, resigned, kp)  # a made-up commit time: not this ledger's
    assert not report.ok and "commit time" in report.problems[0]
    # a key never in the ring
    stranger = make_checkpoint(head, Ed25519PrivateKey.generate(), utc_now_text())
    with pytest.raises(CheckpointMismatch, match="not in the keyring"):
        verify_ledger(store, stranger, exported)

    # rotate again: a ring of three, the first checkpoints still verify
    rotate_key(kp)
    assert len(load_keyring(kp).keys) == 3
    verifies(store, r1.checkpoint, kp, tmp_path / "one.dmf")
    verifies(store, r2.checkpoint, kp, tmp_path / "two.dmf")


def test_keys_rotate_and_export_on_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, kp = str(tmp_path / "k.duckdb"), tmp_path / "keeper.pem"
    with open_store(db) as store:
        store.append([person(1, dob="")])
    base = ["--db", db, "--key", str(kp)]
    assert main([*base, "keys", "init"]) == 0
    c1 = tmp_path / "c1.json"
    assert main([*base, "ledger", "checkpoint", "--out", str(c1)]) == 0
    assert main([*base, "keys", "rotate"]) == 0
    assert "retired" in capsys.readouterr().out
    with open_store(db) as store:
        store.append([person(2, dob="")])
    folder = tmp_path / "published"
    folder.mkdir()
    assert main([*base, "ledger", "checkpoint", "--out", str(folder)]) == 0
    (c2,) = folder.glob("checkpoint-*.json")
    assert main([*base, "keys", "export", "--out", str(tmp_path / "ring.json")]) == 0
    capsys.readouterr()
    assert main([*base, "keys", "export"]) == 0
    assert len(json.loads(capsys.readouterr().out)["keys"]) == 2
    for cp in (c1, c2):
        assert main([*base, "ledger", "verify", "--checkpoint", str(cp)]) == 0
        ring = ["--keyring", str(tmp_path / "ring.json")]
        assert main(["--db", db, "ledger", "verify", "--checkpoint", str(cp), *ring]) == 0
    # only the current public key: the first checkpoint's key is not there
    only_new = tmp_path / "only-new" / "k.pem"
    only_new.parent.mkdir()
    only_new.with_name("k.pem.pub").write_bytes(Path(str(kp) + ".pub").read_bytes())
    code = main(["--db", db, "--key", str(only_new), "ledger", "verify", "--checkpoint", str(c1)])
    assert code != 0
