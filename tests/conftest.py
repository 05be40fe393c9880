"""Shared fixtures: a store per backend (the contract tests run on each)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vitalfile.db import open_store
from vitalfile.ledger.store import Store

BACKENDS = ["duckdb"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "duckdb":
        s = open_store(str(tmp_path / "test.duckdb"))
    else:  # pragma: no cover - added by the PostgreSQL backend
        raise NotImplementedError(request.param)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "vf.duckdb"


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("VITALFILE_") and name != "VITALFILE_TEST_PG_URL":
            monkeypatch.delenv(name)
