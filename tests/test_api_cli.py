"""`vitalfile apikey` and `vitalfile serve`: keys made, listed, revoked; serve has its help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.disclosure.access import authenticate


def test_apikey_create_list_revoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "k.duckdb")
    monkeypatch.setenv("VITALFILE_DB", db)
    assert main(["recipient", "add", "bank", "--tier", "certified"]) == 0
    capsys.readouterr()
    assert main(["apikey", "create", "--role", "reviewer", "--label", "kim", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert main(["apikey", "create", "--recipient", "bank", "--json"]) == 0
    capsys.readouterr()
    assert main(["apikey", "create", "--role", "janitor"]) == 2  # not a role
    assert main(["apikey", "create", "--recipient", "nobody"]) == 3
    assert main(["apikey", "list"]) == 0
    listed = capsys.readouterr().out
    assert "role reviewer" in listed and "recipient bank" in listed
    assert made["key"] not in listed
    with open_store(db) as store:
        assert authenticate(store, made["key"]).label == "kim"
    assert main(["apikey", "revoke", made["key_id"], "--reason", "left"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_serve_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--workers" in out and "--port" in out
