"""The accounting of disclosures about a person, and a person's own record, as of any time.

Answers, batch matches and feed pages are `disclosure.made` / `disclosure.refused` events,
kept one row per person in `disclosures`. Files are accounted per person through the
`delivered` projection (which record version each delivery held), not one event per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from vitalfile.events import DisclosureMade, DisclosureRefused, Event
from vitalfile.ledger.store import Store, Tx
from vitalfile.master.projection import status_of

__all__ = ["AccountingProjection", "accounting", "my_record", "person_ids_for"]


class AccountingProjection:
    """disclosures: one row per person per answer or refusal (NULL person when none)."""

    name = "accounting"

    def ddl(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS disclosures (seq BIGINT NOT NULL,
                kind VARCHAR NOT NULL, channel VARCHAR NOT NULL, recipient VARCHAR NOT NULL,
                agreement_id VARCHAR NOT NULL, purpose VARCHAR NOT NULL,
                authority VARCHAR NOT NULL, person_id BIGINT, fields VARCHAR NOT NULL,
                given VARCHAR NOT NULL, at_time VARCHAR NOT NULL)"""
        ]

    def tables(self) -> list[str]:
        return ["disclosures"]

    def handles(self, event_type: str) -> bool:
        return event_type in (DisclosureMade.type, DisclosureRefused.type)

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        cols: dict[str, list[Any]] = {
            k: []
            for k in (
                "seq",
                "kind",
                "channel",
                "recipient",
                "agreement_id",
                "purpose",
                "authority",
                "person_id",
                "fields",
                "given",
                "at_time",
            )
        }

        def row(seq: int, kind: str, e: Any, pid: int | None, given: str, authority: str) -> None:
            for k, v in (
                ("seq", seq),
                ("kind", kind),
                ("channel", e.channel),
                ("recipient", e.recipient),
                ("agreement_id", e.agreement_id),
                ("purpose", e.purpose),
                ("authority", authority),
                ("person_id", pid),
                ("fields", ",".join(e.fields)),
                ("given", given),
                ("at_time", e.at),
            ):
                cols[k].append(v)

        for seq, e in events:
            if isinstance(e, DisclosureMade):
                if not e.person_ids:
                    row(seq, "disclosure", e, None, "", e.authority)
                for pid, given in zip(e.person_ids, e.given, strict=False):
                    row(seq, "disclosure", e, pid, given, e.authority)
            elif isinstance(e, DisclosureRefused):
                pids: list[int | None] = list(e.person_ids) or [None]
                for maybe in pids:
                    row(seq, "refusal", e, maybe, f"refused: {e.reason}", "")
        table = pa.table(
            {
                **{k: v for k, v in cols.items() if k not in ("seq", "person_id")},
                "seq": pa.array(cols["seq"], pa.int64()),
                "person_id": pa.array(cols["person_id"], pa.int64()),
            }
        )
        tx.insert_arrow("disclosures", table)


def person_ids_for(store: Store, ssn: str, upto_seq: int | None = None) -> list[int]:
    """People with this SSN (registered by `upto_seq`, when given)."""
    rows = store.query(
        "SELECT person_id FROM persons WHERE ssn = ? AND registered_seq <= ? ORDER BY person_id",
        [ssn, upto_seq if upto_seq is not None else 2**62],
    )
    return [int(r[0]) for r in rows]


def accounting(store: Store, ssn: str, *, upto_seq: int | None = None) -> list[dict[str, Any]]:
    """Every disclosure and refusal about the people with this SSN, oldest first."""
    upto = upto_seq if upto_seq is not None else 2**62
    ids = person_ids_for(store, ssn, upto_seq)
    out: list[dict[str, Any]] = []
    for pid in ids:
        for at, kind, channel, rec, agr, purpose, authority, fields, given in store.query(
            "SELECT at_time, kind, channel, recipient, agreement_id, purpose, authority, fields, "
            "given FROM disclosures WHERE person_id = ? AND seq <= ? ORDER BY seq",
            [pid, upto],
        ):
            out.append(
                {
                    "date": at,
                    "kind": kind,
                    "channel": channel,
                    "recipient": rec,
                    "agreement_id": agr,
                    "purpose": purpose,
                    "authority": authority,
                    "fields": fields,
                    "given": given,
                    "person_id": pid,
                }
            )
        for made_at, rec, agr, purpose, authority, action, version, kind, did in store.query(
            "SELECT dl.made_at, x.recipient, dl.agreement_id, "
            "coalesce(a.purpose, ''), coalesce(a.authority, ''), x.action, x.version, dl.kind, "
            "x.delivery_id FROM delivered x JOIN deliveries dl ON dl.delivery_id = x.delivery_id "
            "LEFT JOIN agreements a ON a.agreement_id = dl.agreement_id "
            "WHERE x.person_id = ? AND x.seq <= ? ORDER BY x.seq",
            [pid, upto],
        ):
            what = {" ": "death record", "A": "added", "C": "changed", "D": "deleted"}[action]
            out.append(
                {
                    "date": made_at,
                    "kind": "disclosure",
                    "channel": "file",
                    "recipient": rec,
                    "agreement_id": agr,
                    "purpose": purpose or ("the keeper's own file" if rec == "" else ""),
                    "authority": authority,
                    "fields": "ssn,names,dob,dod,proof",
                    "given": f"{kind} file {did[:12]}: {what} (record version {version})",
                    "person_id": pid,
                }
            )
    out.sort(key=lambda r: r["date"])
    return out


def my_record(store: Store, ssn: str, *, upto_seq: int | None = None) -> list[dict[str, Any]]:
    """What the file holds about the people with this SSN (as of `upto_seq`)."""
    out: list[dict[str, Any]] = []
    for pid in person_ids_for(store, ssn, upto_seq):
        st = status_of(store, pid, upto_seq=upto_seq)
        if st.person is None:
            continue
        d = st.death
        out.append(
            {
                "person_id": pid,
                "person": dict(st.person),
                "death": None
                if d is None
                else {
                    "status": d.status,
                    "date_of_death": d.dod,
                    "verification": d.proof,
                    "sources": list(d.sources),
                    "reports": list(d.report_keys),
                    "version": d.version,
                },
            }
        )
    return out
