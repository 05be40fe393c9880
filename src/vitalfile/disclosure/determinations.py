"""Answering determinations to recipients, through the gate: only those in effect, only
kinds the recipient's agreement names, each answer a `disclosure.made` event on the
`determination` channel (a refusal recorded and in the person's accounting). Never a death.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from vitalfile.cases.determinations import list_determinations
from vitalfile.dates import iso_now
from vitalfile.disclosure.policy import gate, refuse
from vitalfile.errors import NotFound
from vitalfile.events import DisclosureMade
from vitalfile.ledger.store import Store
from vitalfile.master.projection import find_person_ids

__all__ = ["determinations_for"]


def determinations_for(
    store: Store, recipient: str, ssn: str, *, on: date | None = None
) -> list[dict[str, Any]]:
    """The determinations in effect about this SSN that `recipient`'s agreement covers.

    Goes through the disclosure gate (a refusal is recorded and raised); the answer is a
    `disclosure.made` event on the `determination` channel, in the person's accounting.
    """
    day = on or date.today()
    pids = find_person_ids(store, ssn)
    if not pids:
        raise NotFound("no person with this SSN on file", field="ssn")
    grant = gate(
        store, recipient, channel="determination", fields=("ssn",), on=day, person_ids=pids
    )
    if not grant.determination_kinds:
        raise refuse(
            store,
            recipient,
            "the agreement names no kind of determination",
            channel="determination",
            agreement_id=grant.agreement_id,
            purpose=grant.purpose,
            person_ids=pids,
        )
    out: list[dict[str, Any]] = []
    given: list[str] = []
    for pid in pids:
        found = [
            d
            for d in list_determinations(store, person_id=pid, state="in_effect")
            if d.kind in grant.determination_kinds
        ]
        for d in found:
            out.append(
                {
                    "person_id": pid,
                    "determination_id": d.determination_id,
                    "kind": d.kind,
                    "authority": d.authority,
                    "agency": d.agency,
                    "effective_date": d.effective_date,
                    "in_effect_on": d.in_effect_on,
                }
            )
        given.append(
            "; ".join(f"{d.kind} under {d.authority} from {d.effective_date}" for d in found)
            or "no determination in effect"
        )
    store.append(
        [
            DisclosureMade(
                disclosure_id=hashlib.sha256(f"{recipient}|{ssn}|{iso_now()}".encode()).hexdigest()[
                    :20
                ],
                recipient=recipient,
                agreement_id=grant.agreement_id,
                purpose=grant.purpose,
                authority=grant.authority,
                channel="determination",
                fields=["determinations"],
                person_ids=pids,
                given=given,
                at=iso_now(),
            )
        ],
        note="determination answer",
    )
    return out
