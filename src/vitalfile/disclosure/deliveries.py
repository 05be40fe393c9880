"""Deliveries: which files went to whom, and which record versions each held.

`deliveries` has one row per file sent; `delivered` one row per person per delivery (action
' ' in a full file, else A, C or D), rebuilt from the events alone: the record set is a
function of the file as of `upto_seq`, the recipient's tier, the extract date and the
delivery's scope, all carried by the `delivery.made` event. A recipient *holds* the rows of
its last full delivery as changed by the updates after it. Nothing here writes a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vitalfile.disclosure.policy import allows, death_sql
from vitalfile.errors import CheckpointMismatch, InputError
from vitalfile.events import (
    DeathCorroborated,
    DeathPosted,
    DeathRetracted,
    DeathUpdated,
    DeliveryMade,
    DmfRecordLoaded,
    Event,
    PersonRegistered,
    decode,
)
from vitalfile.ledger.store import Store, Tx
from vitalfile.ledger.table import Table
from vitalfile.master.projection import PersonState, evolve_person

__all__ = [
    "DELIVERY_FIELDS",
    "DELIVERY_FROM",
    "DeliveredProjection",
    "DeliveriesProjection",
    "allowed_sql",
    "check_delivered",
    "delivered_deaths",
    "deliveries",
    "diff_sql",
    "holdings_sql",
    "last_delivery",
    "scoped_sql",
]

DELIVERY_FROM = "FROM deaths d JOIN persons p ON p.person_id = d.person_id"
_FROM = DELIVERY_FROM


# ── record sets ───────────────────────────────────────────────────────────────────────
def allowed_sql(tier: str, on: str) -> tuple[str, list[Any]]:
    """(person_id, version) of every death the tier may have on `on`."""
    cond, params = death_sql(tier, on, "d")
    return f"SELECT d.person_id, d.version {_FROM} WHERE {cond}", params


def holdings_sql(recipient: str, before_seq: int) -> tuple[str, list[Any]]:
    """(person_id, version) the recipient holds from deliveries before `before_seq`."""
    return (
        "SELECT t.person_id, t.version FROM (SELECT x.person_id, x.version, x.action, "
        "ROW_NUMBER() OVER (PARTITION BY x.person_id ORDER BY x.seq DESC) AS rn "
        "FROM delivered x WHERE x.recipient = ? AND x.seq < ? AND x.seq >= "
        "(SELECT coalesce(max(f.seq), 0) FROM deliveries f WHERE f.recipient = ? "
        "AND f.kind = 'full' AND f.seq < ?)) t WHERE t.rn = 1 AND t.action <> 'D'",
        [recipient, before_seq, recipient, before_seq],
    )


def diff_sql(
    s_sql: str, s_params: list[Any], h_sql: str, h_params: list[Any]
) -> tuple[str, list[Any]]:
    """(action, person_id, version): A/C for what may be had now, D for what must go."""
    sql = (
        f"WITH s AS ({s_sql}), h AS ({h_sql}) "
        "SELECT 'A' AS action, s.person_id, s.version FROM s LEFT JOIN h "
        "ON h.person_id = s.person_id WHERE h.person_id IS NULL "
        "UNION ALL SELECT 'C', s.person_id, s.version FROM s JOIN h "
        "ON h.person_id = s.person_id WHERE h.version <> s.version "
        "UNION ALL SELECT 'D', h.person_id, h.version FROM h LEFT JOIN s "
        "ON s.person_id = h.person_id WHERE s.person_id IS NULL"
    )
    return sql, [*s_params, *h_params]


def scoped_sql(
    scope: str, s_sql: str, s_params: list[Any], h_sql: str, h_params: list[Any]
) -> tuple[str, list[Any]]:
    """The record set a delivery of `scope` may carry: everything allowed ('all'), or, for a
    recipient whose agreement ended or narrowed ('corrections'), only what it already holds
    (so an update carries C and D lines and never an A)."""
    if scope != "corrections":
        return s_sql, s_params
    return (
        f"SELECT a.person_id, a.version FROM ({s_sql}) a "
        f"WHERE a.person_id IN (SELECT hh.person_id FROM ({h_sql}) hh)",
        [*s_params, *h_params],
    )


# ── projections ───────────────────────────────────────────────────────────────────────
DELIVERIES = Table(
    "deliveries",
    "delivery_id VARCHAR PRIMARY KEY",
    "recipient VARCHAR",
    "kind VARCHAR",
    "format VARCHAR",
    "since_seq BIGINT",
    "upto_seq BIGINT",
    "records BIGINT",
    "adds BIGINT",
    "changes BIGINT",
    "deletes BIGINT",
    "sha256 VARCHAR",
    "made_at VARCHAR",
    "tier VARCHAR",
    "agreement_id VARCHAR",
    "extract_date VARCHAR",
    "seq BIGINT",
    "scope VARCHAR",
    "purpose VARCHAR",
    "authority VARCHAR",
)


class DeliveriesProjection:
    """Every delivery made, by recipient: what the next update file starts from."""

    name = "deliveries"

    def ddl(self) -> list[str]:
        return [
            DELIVERIES.ddl,
            # files made before issue 14 gain the columns (every delivery then was 'all')
            "ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS scope VARCHAR DEFAULT 'all'",
            "ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS purpose VARCHAR DEFAULT ''",
            "ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS authority VARCHAR DEFAULT ''",
        ]

    def tables(self) -> list[str]:
        return [DELIVERIES.name]

    def handles(self, event_type: str) -> bool:
        return event_type == DeliveryMade.type

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        rows = [(s, e) for s, e in events if isinstance(e, DeliveryMade)]
        tx.insert_arrow(DELIVERIES.name, DELIVERIES.from_events(rows))


_PERSON_TYPES = frozenset(
    {
        PersonRegistered.type,
        DmfRecordLoaded.type,
        DeathPosted.type,
        DeathCorroborated.type,
        DeathUpdated.type,
        DeathRetracted.type,
    }
)


def _tier_and_date(e: DeliveryMade) -> tuple[str, str]:
    return e.tier or "federal", e.extract_date or (e.made_at[:10] or "9999-12-31")


DELIVERED = Table(
    "delivered",
    "recipient VARCHAR",
    "person_id BIGINT",
    "version INTEGER",
    "action VARCHAR",
    "delivery_id VARCHAR",
    "seq BIGINT",
)
# the record versions a file may hold, put back as they stood at its upto_seq
DELIVERED_STAGE = Table("delivered_stage", "person_id BIGINT", "version INTEGER")
_INSERT_DELIVERED = f"INSERT INTO {DELIVERED.name} ({', '.join(DELIVERED.columns)}) "


class DeliveredProjection:
    """Which record versions each delivery held: delivered(recipient, person_id, version,
    action, delivery_id, seq); action ' ' in a full file, else A, C or D."""

    name = "delivered"
    _STAGE = DELIVERED_STAGE.name

    def ddl(self) -> list[str]:
        return [
            DELIVERED.ddl,
            DELIVERED_STAGE.ddl,
        ]

    def tables(self) -> list[str]:
        return [DELIVERED.name, DELIVERED_STAGE.name]

    def handles(self, event_type: str) -> bool:
        # person events only to know, while replaying, who changed after a delivery
        return event_type == DeliveryMade.type or event_type in _PERSON_TYPES

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        for i, (seq, e) in enumerate(events):
            if not isinstance(e, DeliveryMade):
                continue
            # the master tables are already at the end of this batch: people whose events
            # come after upto_seq are put back as they stood then
            later = sorted(
                {
                    int(getattr(ev, "person_id"))  # noqa: B009
                    for s, ev in events[i + 1 :]
                    if ev.type in _PERSON_TYPES and s > e.upto_seq
                }
                | {
                    int(getattr(ev, "person_id"))  # noqa: B009
                    for s, ev in events[:i]
                    if ev.type in _PERSON_TYPES and s > e.upto_seq
                }
            )
            self._one(tx, seq, e, later)

    def _one(self, tx: Tx, seq: int, e: DeliveryMade, later: list[int]) -> None:
        tier, on = _tier_and_date(e)
        s_sql, s_params = allowed_sql(tier, on)
        if later:
            tx.execute(f"DELETE FROM {self._STAGE}")
            tx.execute(f"INSERT INTO {self._STAGE} {s_sql}", s_params)
            tx.delete_in(self._STAGE, "person_id", later)
            back = _replay(tx, later, e.upto_seq)
            keep = [
                (pid, st.death.version)
                for pid, st in back.items()
                if st.person is not None
                and st.death is not None
                and allows(
                    tier,
                    on,
                    status=st.death.status,
                    state_only=st.death.state_only,
                    dod=st.death.dod,
                )
            ]
            tx.insert_arrow(self._STAGE, DELIVERED_STAGE.from_rows(keep))
            s_sql, s_params = f"SELECT person_id, version FROM {self._STAGE}", []
        if e.kind == "full":
            tx.execute(
                _INSERT_DELIVERED + f"SELECT ?, s.person_id, s.version, ' ', ?, ? FROM ({s_sql}) s",
                [e.recipient, e.delivery_id, seq, *s_params],
            )
        else:
            h_sql, h_params = holdings_sql(e.recipient, seq)
            s_sql, s_params = scoped_sql(e.scope, s_sql, s_params, h_sql, h_params)
            diff, params = diff_sql(s_sql, s_params, h_sql, h_params)
            tx.execute(
                _INSERT_DELIVERED
                + f"SELECT ?, x.person_id, x.version, x.action, ?, ? FROM ({diff}) x",
                [e.recipient, e.delivery_id, seq, *params],
            )
        if later:
            tx.execute(f"DELETE FROM {self._STAGE}")


def _replay(tx: Tx, ids: Sequence[int], upto_seq: int) -> dict[int, PersonState]:
    states = {i: PersonState(i) for i in ids}
    for pid in ids:
        for s, body in tx.fetchall(
            "SELECT seq, body FROM ledger_events WHERE subject = ? AND seq <= ? ORDER BY seq",
            [pid, upto_seq],
        ):
            evolve_person(states[pid], int(s), decode(body))
    return states


def last_delivery(store: Store, recipient: str = "") -> tuple[str, int] | None:
    """(delivery id, upto_seq) of the recipient's latest delivery, if any."""
    rows = store.query(
        "SELECT delivery_id, upto_seq FROM deliveries WHERE recipient = ? "
        "ORDER BY seq DESC LIMIT 1",
        [recipient],
    )
    return (str(rows[0][0]), int(rows[0][1])) if rows else None


DELIVERY_FIELDS = (
    "delivery_id", "recipient", "kind", "format", "records", "adds", "changes", "deletes",
    "since_seq", "upto_seq", "sha256", "made_at",
)  # fmt: skip


def deliveries(
    store: Store,
    *,
    recipient: str | None = None,
    delivery_id: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Deliveries as `DELIVERY_FIELDS`, newest first: all, a recipient's, or one by id."""
    where: list[str] = []
    params: list[Any] = []
    for col, val in (("recipient", recipient), ("delivery_id", delivery_id)):
        if val is not None:
            where.append(f"{col} = ?")
            params.append(val)
    sql = f"SELECT {', '.join(DELIVERY_FIELDS)} FROM deliveries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [dict(zip(DELIVERY_FIELDS, r, strict=True)) for r in store.query(sql, params)]


def delivered_deaths(store: Store, recipient: str, *, proof: str, limit: int) -> list[str]:
    """SSNs of the first people (by person id) whose current death at verification level
    `proof` the recipient was delivered."""
    rows = store.query(
        "SELECT p.ssn FROM deaths d JOIN persons p ON p.person_id = d.person_id "
        "JOIN delivered x ON x.person_id = d.person_id AND x.recipient = ? "
        "WHERE d.status = 'current' AND d.proof = ? ORDER BY d.person_id LIMIT ?",
        [recipient, proof, limit],
    )
    return [str(r[0]) for r in rows]


def check_delivered(store: Store, delivery: dict[str, Any] | None, file: Path) -> None:
    """Raise CheckpointMismatch unless `file` is byte for byte what the ledger says was
    delivered: the SHA-256 and record count signed in the checkpoint's `delivery`, and the
    same delivery (recipient, SHA-256, records) in the ledger's `deliveries`.

    Check the checkpoint's signature first: only then is `delivery` the keeper's word.
    """
    import hashlib

    if delivery is None:
        raise CheckpointMismatch("this checkpoint names no delivery: nothing to check the file by")
    try:
        h = hashlib.sha256()
        with file.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except FileNotFoundError as exc:
        raise InputError("no such delivered file", file=str(file)) from exc
    did = str(delivery.get("delivery_id", ""))
    if h.hexdigest() != delivery.get("sha256"):
        raise CheckpointMismatch(
            "the file is not the one delivered (its SHA-256 differs)", file=file.name
        )
    rows = store.query(
        "SELECT recipient, sha256, records FROM deliveries WHERE delivery_id = ?", [did]
    )
    if not rows:
        raise CheckpointMismatch("the ledger holds no such delivery", record_id=did)
    rec, sha, records = rows[0]
    if (
        str(rec) != delivery.get("recipient")
        or str(sha) != delivery.get("sha256")
        or int(records) != int(delivery.get("records", -1))
    ):
        raise CheckpointMismatch(
            "the ledger's delivery differs from the checkpoint's", record_id=did
        )
