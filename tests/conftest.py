"""Shared fixtures: a store per backend (the contract tests run on each)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from vitalfile.db import open_store
from vitalfile.ledger.store import Store

# Property tests judge results, not speed (benchmarks live in bench/): no per-example
# deadline, which a loaded machine or a test worker beside a JVM would miss by chance
settings.register_profile("vitalfile", deadline=None)
settings.load_profile("vitalfile")

PG_URL = os.environ.get("VITALFILE_TEST_PG_URL", "")
NO_PG = "VITALFILE_TEST_PG_URL is not set: PostgreSQL tests skipped"
BACKENDS = [
    "duckdb",
    pytest.param(
        "postgres", marks=[pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=NO_PG)]
    ),
]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "duckdb":
        s = open_store(str(tmp_path / "test.duckdb"))
    else:
        s = open_store(request.getfixturevalue("pg_url"))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the test server: a URL whose search_path selects it; dropped after."""
    if not PG_URL:
        pytest.skip(NO_PG)
    from vitalfile.ledger.postgres import create_schema, drop_schema, with_schema

    schema = create_schema(PG_URL)
    try:
        yield with_schema(PG_URL, schema)
    finally:
        drop_schema(PG_URL, schema)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "vf.duckdb"


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting leaks in from the environment. Tests of what a linked report does (posting,
    corrections, disclosure) take their hand-made records through the exact rule, named here
    once; the tests of linkage and of the doors (test_link, test_doors) name their linker,
    and `test_the_default_linker_is_the_model` checks the default without this."""
    for name in list(os.environ):
        if name.startswith("VITALFILE_") and name != "VITALFILE_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("VITALFILE_LINKER", "rule")
