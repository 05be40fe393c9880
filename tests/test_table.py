"""A projection table declared once gives its DDL, its column list and its Arrow rows."""

from __future__ import annotations

import pyarrow as pa
import pytest

from vitalfile.cases.access import AccessCodesProjection
from vitalfile.cases.determinations import DeterminationsProjection
from vitalfile.cases.framework import CasesProjection
from vitalfile.disclosure.access import ApiKeysProjection
from vitalfile.disclosure.accounting import AccountingProjection
from vitalfile.disclosure.deliveries import DeliveredProjection, DeliveriesProjection
from vitalfile.disclosure.monitor import MonitorProjection
from vitalfile.disclosure.policy import PolicyProjection
from vitalfile.disclosure.requests import RequestsProjection
from vitalfile.intake.activity import ActivityProjection
from vitalfile.ledger.table import Table
from vitalfile.master.projection import MasterProjection


def test_one_declaration_gives_ddl_columns_and_arrow() -> None:
    t = Table("things", "key VARCHAR PRIMARY KEY", "n BIGINT", "p DOUBLE NULL", "ok BOOLEAN")
    assert t.ddl == (
        "CREATE TABLE IF NOT EXISTS things "
        "(key VARCHAR PRIMARY KEY, n BIGINT NOT NULL, p DOUBLE, ok BOOLEAN NOT NULL)"
    )
    assert t.columns == ("key", "n", "p", "ok")
    assert t.insert_sql == "INSERT INTO things (key, n, p, ok) VALUES (?, ?, ?, ?)"
    rows = t.from_rows([("a", 1, None, True), ("b", 2, 0.5, False)])
    assert rows.schema.names == ["key", "n", "p", "ok"]
    assert rows.schema.types == [pa.string(), pa.int64(), pa.float64(), pa.bool_()]
    assert rows.column("p").to_pylist() == [None, 0.5]


def test_a_missing_or_unknown_column_or_type_is_refused() -> None:
    t = Table("things", "key VARCHAR", "n INTEGER")
    with pytest.raises(ValueError, match="missing"):
        t.arrow({"key": ["a"]})
    with pytest.raises(ValueError, match="unknown"):
        t.arrow({"key": ["a"], "n": [1], "extra": [2]})
    with pytest.raises(ValueError, match="bad column"):
        Table("things", "key TEXT")
    with pytest.raises(ValueError, match="bad column"):
        Table("things", "key VARCHAR", "key BIGINT")


def test_projections_declare_each_table_once() -> None:
    projections = (
        MasterProjection(),
        CasesProjection(),
        DeterminationsProjection(),
        ActivityProjection(),
        RequestsProjection(),
        DeliveriesProjection(),
        AccountingProjection(),
        PolicyProjection(),
        ApiKeysProjection(),
        AccessCodesProjection(),
        MonitorProjection(),
        DeliveredProjection(),
    )
    for projection in projections:
        created = [d.split()[5] for d in projection.ddl() if d.startswith("CREATE TABLE")]
        assert created == projection.tables()
